-- Admin accounts can be disabled (no sign-in, no session, no key works while disabled), and
-- admin API keys expire. Keys made before this migration get a year from now, the default
-- lifetime of a new key, rather than expiring at once.
ALTER TABLE admins ADD COLUMN disabled_at INTEGER;
ALTER TABLE admin_api_keys ADD COLUMN expires_at INTEGER;
UPDATE admin_api_keys SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 365 * 86400000;
