-- Where a user was placed at creation (R-26): the mapping that classified it (by name, so it
-- stays shown after the mapping is deleted), its profile, storage and quota.
ALTER TABLE users ADD COLUMN profile_id INTEGER REFERENCES profiles (id);
ALTER TABLE users ADD COLUMN storage_id INTEGER REFERENCES storages (id);
ALTER TABLE users ADD COLUMN mapping_name TEXT;
ALTER TABLE users ADD COLUMN quota_bytes INTEGER;
CREATE INDEX users_by_profile ON users (tenant_id, profile_id) WHERE deleted_at IS NULL;
