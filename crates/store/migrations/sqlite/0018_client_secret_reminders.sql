-- The last expiry reminder (days before) a client secret's admins were sent, as for tokens.
ALTER TABLE oauth_client_secrets ADD COLUMN reminded_days INTEGER;
