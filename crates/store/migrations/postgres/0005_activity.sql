-- The provisioning activity log (SPEC §2): one row per change of an account and per failed
-- SCIM call. Rows name their target by userName and SCIM id rather than by key, so they
-- outlive an account an admin destroys. `response` is the exact body a failure answered with.
CREATE TABLE activity (
    id                  BIGSERIAL PRIMARY KEY,
    tenant_id           BIGINT NOT NULL REFERENCES tenants (id),
    at                  BIGINT NOT NULL,
    actor_kind          TEXT    NOT NULL,
    actor               TEXT    NOT NULL,
    client              TEXT    NOT NULL,
    method              TEXT    NOT NULL,
    path                TEXT    NOT NULL,
    operation           TEXT    NOT NULL,
    target_user_name    TEXT,
    target_user_name_ci TEXT,
    target_id           TEXT,
    outcome             TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    status              BIGINT  NOT NULL,
    scim_type           TEXT,
    detail              TEXT,
    latency_ms          BIGINT NOT NULL,
    response            TEXT
);
CREATE INDEX activity_by_time ON activity (tenant_id, at);
CREATE INDEX activity_by_user ON activity (tenant_id, target_user_name_ci, at);
