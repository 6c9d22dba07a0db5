-- A user row is now the product account (SPEC §2, §4): it outlives its SCIM id. `scim_id` is
-- NULL for a manual account and after a DELETE retired the id (which then answers 404 for
-- ever); a later create of the same email reactivates this row under a new id. So an email
-- names one account per tenant for the account's whole life, and the unique index on it is
-- total: that index is what makes racing creates of one email end in exactly one account.
--
-- SQLite cannot relax NOT NULL in place, so the table is rebuilt. `user_emails` goes first:
-- dropping `users` while it still points there would cascade-delete its rows.

-- Under the old model a DELETE left a tombstone and a later create made a second row for the
-- same email. The newer row is that account now; the superseded tombstones go.
CREATE TEMPORARY TABLE superseded AS
SELECT u.pk FROM users u
WHERE u.deleted_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM users o
              WHERE o.tenant_id = u.tenant_id AND o.user_name_ci = u.user_name_ci
                AND o.pk <> u.pk AND (o.deleted_at IS NULL OR o.pk > u.pk));

CREATE TEMPORARY TABLE saved_emails AS
SELECT user_pk, tenant_id, value_ci FROM user_emails
WHERE user_pk NOT IN (SELECT pk FROM superseded);
DROP TABLE user_emails;

CREATE TABLE accounts (
    pk           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    scim_id      TEXT,
    user_name    TEXT    NOT NULL,
    user_name_ci TEXT    NOT NULL,
    external_id  TEXT,
    active       BOOLEAN NOT NULL,
    resource     TEXT    NOT NULL,
    resource_ci  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('active', 'preserved')),
    preserved_by TEXT             CHECK (preserved_by IN ('idp', 'admin')),
    preserved_at INTEGER,
    managed_by   TEXT    NOT NULL CHECK (managed_by IN ('manual', 'scim')),
    display_name TEXT    NOT NULL,
    upn          TEXT    NOT NULL,
    mapping_name TEXT,
    profile_id   INTEGER REFERENCES profiles (id),
    storage_id   INTEGER REFERENCES storages (id),
    quota_bytes  INTEGER,
    CHECK ((state = 'active') = (preserved_by IS NULL)),
    CHECK (active = (state = 'active'))
);

-- Display names of existing rows approximate R-32/R-41 (displayName, else the email's local
-- part); the next write of each user derives them exactly.
INSERT INTO accounts
SELECT pk, tenant_id,
       CASE WHEN deleted_at IS NULL THEN scim_id END,
       user_name, user_name_ci, external_id,
       active AND deleted_at IS NULL,
       resource, resource_ci, version, created_at, updated_at,
       CASE WHEN active AND deleted_at IS NULL THEN 'active' ELSE 'preserved' END,
       CASE WHEN active AND deleted_at IS NULL THEN NULL ELSE 'idp' END,
       CASE WHEN active AND deleted_at IS NULL THEN NULL ELSE COALESCE(deleted_at, updated_at) END,
       'scim',
       name, COALESCE(NULLIF(upn, ''), name),
       mapping_name, profile_id, storage_id, quota_bytes
FROM (
    SELECT users.*,
           replace(replace(replace(replace(replace(replace(
               COALESCE(NULLIF(trim(json_extract(resource, '$.displayName')), ''),
                        substr(user_name, 1, instr(user_name, '@') - 1)),
               '?', '_'), '*', '_'), '/', '_'), '\', '_'), '<', '_'), '>', '_') AS name,
           trim(json_extract(resource,
               '$."urn:ietf:params:scim:schemas:extension:Druva:2.0:User".userPrincipalName')) AS upn
    FROM users
    WHERE pk NOT IN (SELECT pk FROM superseded)
);

DROP TABLE users;
ALTER TABLE accounts RENAME TO users;

CREATE TABLE user_emails (
    user_pk   INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    tenant_id INTEGER NOT NULL,
    value_ci  TEXT    NOT NULL
);
INSERT INTO user_emails SELECT user_pk, tenant_id, value_ci FROM saved_emails;
DROP TABLE saved_emails;
DROP TABLE superseded;

CREATE UNIQUE INDEX users_by_scim_id ON users (scim_id);
CREATE UNIQUE INDEX users_by_user_name ON users (tenant_id, user_name_ci);
CREATE INDEX users_by_external_id ON users (tenant_id, external_id) WHERE scim_id IS NOT NULL;
CREATE INDEX users_by_tenant ON users (tenant_id, pk);
CREATE INDEX users_by_updated ON users (tenant_id, updated_at);
CREATE INDEX users_by_profile ON users (tenant_id, profile_id);
CREATE INDEX user_emails_by_value ON user_emails (tenant_id, value_ci);
CREATE INDEX user_emails_by_user ON user_emails (user_pk);
