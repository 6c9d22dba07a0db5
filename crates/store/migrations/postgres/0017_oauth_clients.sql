-- OAuth 2.0 clients (SPEC §12): an IdP authenticates with a client id and one of at most two
-- live secrets (kept as SHA-256 hashes) and is given short-lived access tokens, which are rows
-- of `tokens` naming the client and the secret they came from, so that revoking either ends
-- them in the same transaction. A revoked client keeps its row (its tokens name it); its name
-- may be given to a new client.
CREATE TABLE oauth_clients (
    id             BIGSERIAL PRIMARY KEY,
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id),
    name           TEXT   NOT NULL,
    name_ci        TEXT   NOT NULL,
    client_id      TEXT   NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    -- Workload identity federation (RFC 7523): the issuer, subject and audience a client
    -- assertion must carry, and its issuer's keys (a JWKS document, or the URL to fetch it).
    trust_issuer   TEXT,
    trust_subject  TEXT,
    trust_audience TEXT,
    trust_jwks     TEXT,
    trust_jwks_url TEXT
);
CREATE UNIQUE INDEX oauth_clients_by_name ON oauth_clients (tenant_id, name_ci)
    WHERE revoked_at IS NULL;
CREATE INDEX oauth_clients_by_subject ON oauth_clients (trust_issuer, trust_subject)
    WHERE revoked_at IS NULL AND trust_issuer IS NOT NULL;

CREATE TABLE oauth_client_secrets (
    id           BIGSERIAL PRIMARY KEY,
    client_pk    BIGINT NOT NULL REFERENCES oauth_clients (id),
    secret_hash  BYTEA  NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX oauth_client_secrets_by_client ON oauth_client_secrets (client_pk);

-- Access tokens: `client_pk` is set (bearer tokens an admin made have none).
ALTER TABLE tokens ADD COLUMN client_pk BIGINT REFERENCES oauth_clients (id);
ALTER TABLE tokens ADD COLUMN client_secret_id BIGINT;
CREATE INDEX tokens_by_client ON tokens (client_pk) WHERE client_pk IS NOT NULL;

-- The `jti` of each client assertion accepted, kept until it expires: a replay is refused.
CREATE TABLE oauth_assertions (
    client_pk  BIGINT NOT NULL REFERENCES oauth_clients (id),
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_pk, jti)
);
CREATE INDEX oauth_assertions_by_expiry ON oauth_assertions (expires_at);
