-- Admin accounts can be disabled (no sign-in, no session, no key works while disabled), and
-- admin API keys expire. Keys made before this migration get a year from now, the default
-- lifetime of a new key, rather than expiring at once.
ALTER TABLE admins ADD COLUMN disabled_at BIGINT;
ALTER TABLE admin_api_keys ADD COLUMN expires_at BIGINT;
UPDATE admin_api_keys SET expires_at = (extract(epoch FROM now()) * 1000)::BIGINT + 365::BIGINT * 86400000;
