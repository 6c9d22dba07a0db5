-- The change feed (SPEC §11): one event per account change, written by the change's own
-- transaction. `sequence` counts a tenant's events without gaps, in commit order: each write
-- takes the next number from `change_sequences` as its last step (the row stays locked only
-- from there to the commit, so numbers commit in order), and a consumer that resumes after the
-- last sequence it saw misses nothing, even after old events expired.
-- `body` is the event's JSON object without `id`, `type`, `sequence` and `tenant`, which are
-- columns; `account_key` (the account's key, kept after it is destroyed) orders one user's
-- deliveries. No index on time: expiry takes the oldest by sequence.
CREATE TABLE change_sequences (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants (id),
    last      BIGINT NOT NULL
);
CREATE TABLE change_events (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    sequence    BIGINT NOT NULL,
    id          TEXT   NOT NULL UNIQUE,
    type        TEXT   NOT NULL,
    account_key BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    body        TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);
