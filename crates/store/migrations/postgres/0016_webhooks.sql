-- Webhook endpoints (SPEC §11). `secret` is the signing secret sealed under the server's
-- 'webhook' key (it must be recoverable to sign, and is never shown again). `cursor` is the
-- last sequence of the tenant's change feed the endpoint's deliveries were made for: a new
-- endpoint starts at the tenant's last event, a disabled one keeps its place.
CREATE TABLE webhooks (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    name         TEXT    NOT NULL,
    name_ci      TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    format       TEXT    NOT NULL CHECK (format IN ('json', 'set')),
    event_types  TEXT    NOT NULL,
    secret       BYTEA    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('enabled', 'disabled', 'failing')),
    state_reason TEXT,
    cursor       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, name_ci)
);

-- One delivery per endpoint and event: pending until delivered or given up. A worker takes a
-- due one by moving `next_attempt_at` a lease ahead (another takes it only once the lease
-- ends, after a crash mid-send). The `last_*` columns describe the latest try.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id       BIGINT NOT NULL,
    sequence        BIGINT NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    account_key     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    last_response   TEXT,
    UNIQUE (webhook_id, sequence)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- One account's pending deliveries to one endpoint, oldest first: only the oldest is due.
CREATE INDEX webhook_deliveries_per_account ON webhook_deliveries (webhook_id, account_key, sequence)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
