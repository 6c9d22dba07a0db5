-- A user row is now the product account (SPEC §2, §4): it outlives its SCIM id. `scim_id` is
-- NULL for a manual account and after a DELETE retired the id (which then answers 404 for
-- ever); a later create of the same email reactivates this row under a new id. So an email
-- names one account per tenant for the account's whole life, and the unique index on it is
-- total: that index is what makes racing creates of one email end in exactly one account.

-- Under the old model a DELETE left a tombstone and a later create made a second row for the
-- same email. The newer row is that account now; the superseded tombstones go (their email
-- rows cascade).
DELETE FROM users u
WHERE u.deleted_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM users o
              WHERE o.tenant_id = u.tenant_id AND o.user_name_ci = u.user_name_ci
                AND o.pk <> u.pk AND (o.deleted_at IS NULL OR o.pk > u.pk));

ALTER TABLE users ALTER COLUMN scim_id DROP NOT NULL;
ALTER TABLE users
    ADD COLUMN state        TEXT,
    ADD COLUMN preserved_by TEXT,
    ADD COLUMN preserved_at BIGINT,
    ADD COLUMN managed_by   TEXT,
    ADD COLUMN display_name TEXT,
    ADD COLUMN upn          TEXT;

-- Display names of existing rows approximate R-32/R-41 (displayName, else the email's local
-- part); the next write of each user derives them exactly.
UPDATE users SET
    scim_id      = CASE WHEN deleted_at IS NULL THEN scim_id END,
    active       = active AND deleted_at IS NULL,
    state        = CASE WHEN active AND deleted_at IS NULL THEN 'active' ELSE 'preserved' END,
    preserved_by = CASE WHEN active AND deleted_at IS NULL THEN NULL ELSE 'idp' END,
    preserved_at = CASE WHEN active AND deleted_at IS NULL THEN NULL
                        ELSE COALESCE(deleted_at, updated_at) END,
    managed_by   = 'scim',
    display_name = translate(COALESCE(NULLIF(trim(resource::jsonb ->> 'displayName'), ''),
                                      split_part(user_name, '@', 1)),
                             '?*/\<>', '______');
UPDATE users SET upn = COALESCE(
    NULLIF(trim(resource::jsonb
        -> 'urn:ietf:params:scim:schemas:extension:Druva:2.0:User' ->> 'userPrincipalName'), ''),
    display_name);

ALTER TABLE users
    ALTER COLUMN state SET NOT NULL,
    ALTER COLUMN managed_by SET NOT NULL,
    ALTER COLUMN display_name SET NOT NULL,
    ALTER COLUMN upn SET NOT NULL,
    ADD CONSTRAINT users_state CHECK (state IN ('active', 'preserved')),
    ADD CONSTRAINT users_preserved_by CHECK (preserved_by IN ('idp', 'admin')),
    ADD CONSTRAINT users_managed_by CHECK (managed_by IN ('manual', 'scim')),
    ADD CONSTRAINT users_state_consistent CHECK ((state = 'active') = (preserved_by IS NULL)),
    ADD CONSTRAINT users_active_consistent CHECK (active = (state = 'active'));

-- The partial indexes on `deleted_at` go with the column.
ALTER TABLE users DROP COLUMN deleted_at;
CREATE UNIQUE INDEX users_by_user_name ON users (tenant_id, user_name_ci);
CREATE INDEX users_by_external_id ON users (tenant_id, external_id) WHERE scim_id IS NOT NULL;
CREATE INDEX users_by_tenant ON users (tenant_id, pk);
CREATE INDEX users_by_updated ON users (tenant_id, updated_at);
CREATE INDEX users_by_profile ON users (tenant_id, profile_id);
