-- Profiles, storages and mappings (SPEC §2, §5). Names are unique per tenant, compared folded.
CREATE TABLE profiles (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    name_ci     TEXT    NOT NULL,
    max_users   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX profiles_by_name ON profiles (tenant_id, name_ci);

CREATE TABLE storages (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    name_ci     TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX storages_by_name ON storages (tenant_id, name_ci);

-- `attribute` NULL is AllowAnyUser; `attribute_values` is a JSON array of strings. Priorities of a
-- tenant are 1..n, and unique, so two mappings can never share a place.
CREATE TABLE mappings (
    id                    INTEGER PRIMARY KEY,
    tenant_id             INTEGER NOT NULL REFERENCES tenants (id),
    name                  TEXT    NOT NULL,
    name_ci               TEXT    NOT NULL,
    priority              INTEGER NOT NULL,
    attribute             TEXT,
    attribute_values      TEXT    NOT NULL,
    profile_id            INTEGER NOT NULL REFERENCES profiles (id),
    storage_id            INTEGER NOT NULL REFERENCES storages (id),
    quota_bytes           INTEGER,
    send_activation_email BOOLEAN NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX mappings_by_name ON mappings (tenant_id, name_ci);
CREATE UNIQUE INDEX mappings_by_priority ON mappings (tenant_id, priority);
