-- Keys for the admin JSON API (SPEC §7), each acting as one admin; stored as SHA-256 hashes.
CREATE TABLE admin_api_keys (
    id         BIGSERIAL PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    key_hash   BYTEA   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX admin_api_keys_by_admin ON admin_api_keys (admin_id, name);
