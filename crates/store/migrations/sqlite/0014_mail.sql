-- Email notifications (SPEC R-48). A mail is queued in the transaction of its cause (a new
-- user, a reminder, a digest) and sent by the server's mail worker: `next_attempt_at` is when
-- it may next be tried (a worker that takes it moves it a lease ahead, so a crash mid-send
-- retries it later and another instance does not take it meanwhile); `sent_at` or `failed_at`
-- ends it.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_by_tenant ON mail_outbox (tenant_id, id);

-- The last expiry reminder a token got, in days before expiry (30, 7, 1): each is sent once.
ALTER TABLE tokens ADD COLUMN reminded_days INTEGER;
-- When the tenant's last failure digest was queued: at most one an hour, each covering the
-- failures since the one before.
ALTER TABLE tenants ADD COLUMN digest_sent_at INTEGER;
