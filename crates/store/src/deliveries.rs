//! Webhook deliveries on either backend: made from the change feed by `dispatch` (each
//! endpoint keeps its place in the feed), taken by a worker with a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so instances never take one delivery twice), and settled in batches.

use crate::backend::{Column, Step, Written};
use crate::mail::mail_step;
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use crate::webhooks::corrupt;
use scim::datetime::Timestamp;
use scimd_core::feed::{ChangeType, StoredChange};
use scimd_core::mail::Mail;
use scimd_core::store::{DeliveryStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use scimd_core::webhook::{
    DeliveryJob, DeliveryState, DeliveryView, SettledAs, Settlement, WebhookFormat, WebhookSecret,
    WebhookState,
};

/// Pending: neither delivered nor given up (`d` is the deliveries' alias).
pub(crate) const PENDING: &str = "d.delivered_at IS NULL AND d.failed_at IS NULL";

fn status_value(status: Option<u16>) -> SqlValue {
    SqlValue::OptInt(status.map(i64::from))
}

impl SqlStore {
    /// The jobs of deliveries just taken; those whose event expired meanwhile are given up.
    async fn jobs_of(&self, ids: &[i64], now: Timestamp) -> StoreResult<Vec<DeliveryJob>> {
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let statement = Statement::new(
            format!(
                "SELECT d.id, d.webhook_id, d.attempts, w.url, w.format, w.secret, w.tenant_id, \
                 t.slug, d.sequence, w.name, e.id, e.type, e.account_key, e.occurred_at, e.body \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 JOIN tenants t ON t.id = w.tenant_id \
                 LEFT JOIN change_events e ON e.tenant_id = d.tenant_id AND e.sequence = d.sequence \
                 WHERE d.id IN ({}) ORDER BY d.id",
                placeholders.join(", ")
            ),
            ids.iter().copied().map(SqlValue::Int).collect(),
        );
        let columns = [
            Column::Int,
            Column::Int,
            Column::Int,
            Column::Text,
            Column::Text,
            Column::Bytes,
            Column::Int,
            Column::Text,
            Column::Int,
            Column::Text,
            Column::OptText,
            Column::OptText,
            Column::OptInt,
            Column::OptInt,
            Column::OptText,
        ];
        let (mut jobs, mut expired) = (Vec::new(), Vec::new());
        for mut row in self.query(statement, &columns).await? {
            let delivery_id = row[0].int();
            let tenant = TenantId(row[6].int());
            let Some(event_id) = row[10].opt_text() else {
                expired.push(delivery_id);
                continue;
            };
            let secret: [u8; 32] = self
                .webhook_secrets
                .open(tenant, row[5].bytes())
                .and_then(|key| key.try_into().ok())
                .ok_or_else(|| corrupt("secret (sealed under another key?)"))?;
            jobs.push(DeliveryJob {
                delivery_id,
                webhook_id: row[1].int(),
                webhook_name: row[9].take_text(),
                tenant_id: tenant,
                attempt: u32::try_from(row[2].int()).unwrap_or(u32::MAX),
                url: row[3].take_text(),
                format: WebhookFormat::parse(&row[4].take_text())
                    .ok_or_else(|| corrupt("format"))?,
                secret: WebhookSecret::from_bytes(secret),
                tenant_slug: row[7].take_text(),
                event: StoredChange {
                    sequence: row[8].int(),
                    id: event_id,
                    kind: ChangeType::parse(&row[11].take_text()).ok_or_else(|| corrupt("type"))?,
                    account_key: row[12].int(),
                    occurred_at: Timestamp::from_millis(row[13].int()),
                    body: row[14].take_text(),
                },
            });
        }
        if !expired.is_empty() {
            let steps = expired
                .into_iter()
                .map(|id| {
                    Step::run(
                        "UPDATE webhook_deliveries SET failed_at = $1, last_error = \
                         'the event expired (see --event-retention-days) before it was delivered' \
                         WHERE id = $2",
                        vec![SqlValue::Int(now.as_millis()), SqlValue::Int(id)],
                    )
                })
                .collect();
            self.write(steps).await?;
        }
        Ok(jobs)
    }
}

impl DeliveryStore for SqlStore {
    async fn deliveries(&self, webhook_id: i64, limit: u32) -> StoreResult<Vec<DeliveryView>> {
        let statement = Statement::new(
            format!(
                "SELECT event_id, event_type, sequence, attempts, delivered_at, failed_at, \
                 next_attempt_at, last_status, last_error, last_response, created_at \
                 FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY sequence DESC {}",
                crate::sql::limit(limit)
            ),
            vec![SqlValue::Int(webhook_id)],
        );
        let columns = [
            Column::Text,
            Column::Text,
            Column::Int,
            Column::Int,
            Column::OptInt,
            Column::OptInt,
            Column::Int,
            Column::OptInt,
            Column::OptText,
            Column::OptText,
            Column::Int,
        ];
        self.query(statement, &columns)
            .await?
            .into_iter()
            .map(|mut row| {
                let (state, at) = match (row[4].opt_int(), row[5].opt_int()) {
                    (Some(at), _) => (DeliveryState::Delivered, at),
                    (None, Some(at)) => (DeliveryState::Failed, at),
                    (None, None) => (DeliveryState::Pending, row[6].int()),
                };
                Ok(DeliveryView {
                    event_id: row[0].take_text(),
                    event_type: ChangeType::parse(&row[1].take_text())
                        .ok_or_else(|| corrupt("type"))?,
                    sequence: row[2].int(),
                    attempts: u32::try_from(row[3].int()).unwrap_or(u32::MAX),
                    state,
                    last_status: row[7].opt_int().and_then(|s| u16::try_from(s).ok()),
                    last_error: row[8].opt_text(),
                    last_response: row[9].opt_text(),
                    created_at: Timestamp::from_millis(row[10].int()),
                    at: Timestamp::from_millis(at),
                })
            })
            .collect()
    }

    async fn redeliver(
        &self,
        tenant: TenantId,
        event_id: &str,
        webhook_id: Option<i64>,
        now: Timestamp,
    ) -> StoreResult<Option<u64>> {
        self.number_waiting_changes(tenant).await?;
        let event = Statement::new(
            "SELECT sequence FROM change_events WHERE tenant_id = $1 AND id = $2 \
             AND sequence IS NOT NULL",
            vec![SqlValue::Int(tenant.0), SqlValue::Text(event_id.into())],
        );
        let Some(sequence) = self
            .lookup(event, &[Column::Int])
            .await?
            .first()
            .map(|row| row[0].int())
        else {
            return Ok(None);
        };
        let again = "next_attempt_at = $3, delivered_at = NULL, failed_at = NULL, attempts = 0";
        let step = match webhook_id {
            Some(webhook) => Step::run(
                format!(
                    "INSERT INTO webhook_deliveries (webhook_id, tenant_id, sequence, event_id, \
                     event_type, account_key, created_at, next_attempt_at) \
                     SELECT w.id, e.tenant_id, e.sequence, e.id, e.type, e.account_key, $3, $3 \
                     FROM change_events e JOIN webhooks w ON w.tenant_id = e.tenant_id \
                     WHERE e.tenant_id = $1 AND e.sequence = $2 AND w.id = $4 \
                     ON CONFLICT (webhook_id, sequence) DO UPDATE SET {again} \
                     RETURNING id"
                ),
                vec![
                    SqlValue::Int(tenant.0),
                    SqlValue::Int(sequence),
                    SqlValue::Int(now.as_millis()),
                    SqlValue::Int(webhook),
                ],
            ),
            None => Step::run(
                format!(
                    "UPDATE webhook_deliveries SET {again} \
                     WHERE tenant_id = $1 AND sequence = $2 RETURNING id"
                ),
                vec![
                    SqlValue::Int(tenant.0),
                    SqlValue::Int(sequence),
                    SqlValue::Int(now.as_millis()),
                ],
            ),
        }
        .returning(&[Column::Int]);
        let count = match self.write(vec![step]).await? {
            Written::Committed(rows) => rows.first().map_or(0, Vec::len),
            Written::Unmet { .. } => 0,
        };
        Ok(Some(u64::try_from(count).unwrap_or(u64::MAX)))
    }

    async fn dispatch(&self, limit: u32, now: Timestamp) -> StoreResult<u64> {
        let endpoints = Statement::new(
            "SELECT id, tenant_id, cursor, event_types FROM webhooks WHERE state = 'enabled'",
            vec![],
        );
        let columns = [Column::Int, Column::Int, Column::Int, Column::Text];
        let mut made = 0;
        for mut endpoint in self.query(endpoints, &columns).await? {
            let (webhook, tenant, cursor) =
                (endpoint[0].int(), endpoint[1].int(), endpoint[2].int());
            let types =
                ChangeType::parse_list(&endpoint[3].take_text()).map_err(|_| corrupt("type"))?;
            self.number_waiting_changes(TenantId(tenant)).await?;
            let upto = Statement::new(
                format!(
                    "SELECT MAX(sequence) FROM (SELECT sequence FROM change_events \
                     WHERE tenant_id = $1 AND sequence > $2 ORDER BY sequence {}) AS next",
                    crate::sql::limit(limit)
                ),
                vec![SqlValue::Int(tenant), SqlValue::Int(cursor)],
            );
            let Some(upto) = self
                .lookup(upto, &[Column::OptInt])
                .await?
                .first()
                .and_then(|row| row[0].opt_int())
            else {
                continue;
            };
            // The place moves first: an instance dispatching the same events meanwhile waits
            // for this row, then finds the place moved and makes nothing.
            let advance = Step::run(
                "UPDATE webhooks SET cursor = $1 WHERE id = $2 AND cursor = $3 AND state = 'enabled'",
                vec![
                    SqlValue::Int(upto),
                    SqlValue::Int(webhook),
                    SqlValue::Int(cursor),
                ],
            )
            .must_affect();
            let mut values = vec![
                SqlValue::Int(webhook),
                SqlValue::Int(tenant),
                SqlValue::Int(cursor),
                SqlValue::Int(upto),
                SqlValue::Int(now.as_millis()),
            ];
            let mut only = String::new();
            if !types.is_empty() {
                let placeholders: Vec<String> = types
                    .iter()
                    .map(|kind| {
                        values.push(SqlValue::Text(kind.as_str().into()));
                        format!("${}", values.len())
                    })
                    .collect();
                only = format!(" AND type IN ({})", placeholders.join(", "));
            }
            let deliveries = Step::run(
                format!(
                    "INSERT INTO webhook_deliveries (webhook_id, tenant_id, sequence, event_id, \
                     event_type, account_key, created_at, next_attempt_at) \
                     SELECT $1, tenant_id, sequence, id, type, account_key, $5, $5 \
                     FROM change_events \
                     WHERE tenant_id = $2 AND sequence > $3 AND sequence <= $4{only} RETURNING id"
                ),
                values,
            )
            .returning(&[Column::Int]);
            match self.write(vec![advance, deliveries]).await {
                Ok(Written::Committed(rows)) => {
                    made += rows.get(1).map_or(0, Vec::len) as u64;
                }
                // Another instance made them.
                Ok(Written::Unmet { .. }) | Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(made)
    }

    async fn take_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        // A read first: nothing due (the usual case, every poll) costs no write transaction.
        let any = Statement::new(
            format!(
                "SELECT d.id FROM webhook_deliveries d \
                 WHERE {PENDING} AND d.next_attempt_at <= $1 LIMIT 1"
            ),
            vec![SqlValue::Int(now.as_millis())],
        );
        if self.lookup(any, &[Column::Int]).await?.is_empty() {
            return Ok(Vec::new());
        }
        let due = self.backend.dialect().claiming(
            &format!(
                "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE {PENDING} AND d.next_attempt_at <= $1 AND w.state = 'enabled' \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                   WHERE e.webhook_id = d.webhook_id AND e.account_key = d.account_key \
                   AND e.sequence < d.sequence AND e.delivered_at IS NULL AND e.failed_at IS NULL) \
                 ORDER BY d.next_attempt_at, d.id {}",
                crate::sql::limit(limit)
            ),
            "d",
        );
        let take = Step::run(
            format!(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2 \
                 WHERE id IN ({due}) RETURNING id"
            ),
            vec![
                SqlValue::Int(now.as_millis()),
                SqlValue::Int(lease_until.as_millis()),
            ],
        )
        .returning(&[Column::Int]);
        let ids: Vec<i64> = match self.write(vec![take]).await? {
            Written::Committed(rows) => rows
                .first()
                .map(|rows| rows.iter().map(|row| row[0].int()).collect())
                .unwrap_or_default(),
            Written::Unmet { .. } => Vec::new(),
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.jobs_of(&ids, now).await
    }

    async fn settle_deliveries(
        &self,
        settlements: &[Settlement],
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut steps = Vec::new();
        for settled in settlements {
            let (set, at) = match settled.outcome {
                SettledAs::Delivered(at) => ("delivered_at = $5", at),
                SettledAs::Retry(at) => ("next_attempt_at = $5", at),
                SettledAs::GivenUp(at) | SettledAs::Gone(at) => ("failed_at = $5", at),
            };
            steps.push(Step::run(
                format!(
                    "UPDATE webhook_deliveries SET last_status = $2, last_error = $3, \
                     last_response = $4, {set} WHERE id = $1"
                ),
                vec![
                    SqlValue::Int(settled.delivery_id),
                    status_value(settled.status),
                    SqlValue::OptText(settled.error.clone()),
                    SqlValue::Text(settled.response.clone()),
                    SqlValue::Int(at.as_millis()),
                ],
            ));
            let endpoint = match settled.outcome {
                SettledAs::GivenUp(_) => Some((
                    WebhookState::Failing,
                    "a delivery failed through its last retry (about 3 days)".to_owned(),
                )),
                SettledAs::Gone(_) => Some((
                    WebhookState::Disabled,
                    "the receiver answered 410 Gone".to_owned(),
                )),
                SettledAs::Delivered(_) | SettledAs::Retry(_) => None,
            };
            if let Some((state, reason)) = endpoint {
                steps.push(Step::run(
                    "UPDATE webhooks SET state = $1, state_reason = $2, updated_at = $3 \
                     WHERE id = $4 AND state = 'enabled'",
                    vec![
                        SqlValue::Text(state.as_str().into()),
                        SqlValue::Text(reason),
                        SqlValue::Int(now.as_millis()),
                        SqlValue::Int(settled.webhook_id),
                    ],
                ));
            }
        }
        steps.extend(mails.iter().map(|mail| mail_step(mail, now)));
        self.write(steps).await.map(drop)
    }
}
