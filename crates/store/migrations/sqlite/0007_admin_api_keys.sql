-- Keys for the admin JSON API (SPEC §7), each acting as one admin; stored as SHA-256 hashes.
CREATE TABLE admin_api_keys (
    id         INTEGER PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    key_hash   BLOB   NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX admin_api_keys_by_admin ON admin_api_keys (admin_id, name);
