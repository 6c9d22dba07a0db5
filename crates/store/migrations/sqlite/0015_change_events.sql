-- The change feed (SPEC §11): one event per account change, written by the change's own
-- transaction. `sequence` counts a tenant's events without gaps, in commit order: the single
-- writer gives each the tenant's last sequence plus one, and expiry always keeps a tenant's
-- latest event, so a consumer that resumes after the last sequence it saw misses nothing and
-- numbers are never reused.
-- `body` is the event's JSON object without `id`, `type`, `sequence` and `tenant`, which are
-- columns; `account_key` (the account's key, kept after it is destroyed) orders one user's
-- deliveries. No index on time: expiry takes the oldest by sequence, and every index is one
-- more page written by every change.
CREATE TABLE change_events (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    sequence    INTEGER NOT NULL,
    id          TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    account_key INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
) WITHOUT ROWID;
