-- Where an account came from, as reports name it. `moved_by`: the admin who moved the account
-- to its profile and storage (R-45), after which its mapping no longer speaks for it.
-- `idp_token` and `idp_client`: the IdP connection (token name, IdP named by its requests)
-- that created, adopted or reactivated a SCIM account. Existing accounts have neither.
ALTER TABLE users ADD COLUMN moved_by TEXT;
ALTER TABLE users ADD COLUMN idp_token TEXT;
ALTER TABLE users ADD COLUMN idp_client TEXT;
