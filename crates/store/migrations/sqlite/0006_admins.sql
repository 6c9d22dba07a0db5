-- Console and admin-API accounts (SPEC §7) and their sessions, kept in the database so that
-- several instances share them. An operator has no tenant (it works across tenants); emails are
-- unique, compared folded. Sessions are found by the SHA-256 of the cookie secret.
CREATE TABLE admins (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER REFERENCES tenants (id),
    email           TEXT    NOT NULL,
    email_ci        TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('operator', 'admin', 'viewer')),
    failed_sign_ins INTEGER NOT NULL,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL,
    CHECK ((role = 'operator') = (tenant_id IS NULL))
);

CREATE TABLE admin_sessions (
    id_hash      BLOB   PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);
