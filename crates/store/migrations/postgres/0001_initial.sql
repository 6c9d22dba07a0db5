-- Tenants, tokens and users. Timestamps are milliseconds since the Unix epoch.
CREATE TABLE tenants (
    id          BIGSERIAL PRIMARY KEY,
    slug        TEXT      NOT NULL UNIQUE,
    name        TEXT      NOT NULL,
    created_at  BIGINT    NOT NULL
);

CREATE TABLE tokens (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT    NOT NULL REFERENCES tenants (id),
    name         TEXT      NOT NULL,
    secret_hash  BYTEA     NOT NULL UNIQUE,
    created_at   BIGINT    NOT NULL,
    expires_at   BIGINT    NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX tokens_by_name ON tokens (tenant_id, name);

-- `resource` is the SCIM document as stored (text, key order kept); `resource_ci` is its
-- case-folded search copy. `user_name_ci` is the folded userName, unique per tenant among live
-- users. A deleted user keeps its row (its SCIM id stays retired) with `deleted_at` set.
CREATE TABLE users (
    pk           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT    NOT NULL REFERENCES tenants (id),
    scim_id      TEXT      NOT NULL UNIQUE,
    user_name    TEXT      NOT NULL,
    user_name_ci TEXT      NOT NULL,
    external_id  TEXT,
    active       BOOLEAN   NOT NULL,
    resource     TEXT      NOT NULL,
    resource_ci  JSONB     NOT NULL,
    version      BIGINT    NOT NULL,
    created_at   BIGINT    NOT NULL,
    updated_at   BIGINT    NOT NULL,
    deleted_at   BIGINT
);
CREATE UNIQUE INDEX users_by_user_name ON users (tenant_id, user_name_ci) WHERE deleted_at IS NULL;
CREATE INDEX users_by_external_id ON users (tenant_id, external_id) WHERE deleted_at IS NULL;
CREATE INDEX users_by_tenant ON users (tenant_id, pk) WHERE deleted_at IS NULL;
CREATE INDEX users_by_updated ON users (tenant_id, updated_at) WHERE deleted_at IS NULL;

-- Folded email values of live users, for indexed `emails.value` lookups.
CREATE TABLE user_emails (
    user_pk   BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL,
    value_ci  TEXT   NOT NULL
);
CREATE INDEX user_emails_by_value ON user_emails (tenant_id, value_ci);
CREATE INDEX user_emails_by_user ON user_emails (user_pk);
