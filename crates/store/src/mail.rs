//! The mail outbox on either backend: mails are inserted by the write of their cause
//! ([`mail_step`]) and taken, sent and settled by the mail worker.

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scimd_core::mail::{Mail, MailCounts, MailKind, MailOutcome, QueuedMail};
use scimd_core::store::{MailStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;

/// The insert of one mail, due at once, as a step of its cause's transaction.
pub(crate) fn mail_step(mail: &Mail, now: Timestamp) -> Step {
    Step::run(
        "INSERT INTO mail_outbox (tenant_id, kind, recipient, subject, text_body, html_body, \
         created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            SqlValue::Int(mail.tenant_id.0),
            SqlValue::Text(mail.kind.as_str().into()),
            SqlValue::Text(mail.to.clone()),
            SqlValue::Text(mail.subject.clone()),
            SqlValue::Text(mail.text.clone()),
            SqlValue::Text(mail.html.clone()),
            SqlValue::Int(now.as_millis()),
        ],
    )
}

/// Records that row `id` of `table` (a credential that expires) got its `days` reminder and
/// queues `mails`, unless it got that one or a later one already.
async fn remind(
    store: &SqlStore,
    table: &'static str,
    id: i64,
    days: u32,
    mails: &[Mail],
    now: Timestamp,
) -> StoreResult<bool> {
    let guard = Step::run(
        format!(
            "UPDATE {table} SET reminded_days = $2 \
             WHERE id = $1 AND (reminded_days IS NULL OR reminded_days > $2)"
        ),
        vec![SqlValue::Int(id), SqlValue::Int(i64::from(days))],
    );
    queue_if(store, guard, mails, now).await
}

/// Runs `guard` (which must touch a row) and queues `mails` with it, or does neither.
async fn queue_if(
    store: &SqlStore,
    guard: Step,
    mails: &[Mail],
    now: Timestamp,
) -> StoreResult<bool> {
    let mut steps = vec![guard.must_affect()];
    steps.extend(mails.iter().map(|mail| mail_step(mail, now)));
    Ok(matches!(store.write(steps).await?, Written::Committed(_)))
}

const QUEUED_COLUMNS: &str =
    "id, attempts, tenant_id, kind, recipient, subject, text_body, html_body";
const QUEUED_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
];

fn queued_from(mut row: Row) -> StoreResult<QueuedMail> {
    let kind = MailKind::parse(&row[3].take_text())
        .ok_or_else(|| StoreError::Backend("a queued mail has an unknown kind".into()))?;
    Ok(QueuedMail {
        id: row[0].int(),
        attempts: u32::try_from(row[1].int()).unwrap_or(u32::MAX),
        mail: Mail {
            tenant_id: TenantId(row[2].int()),
            kind,
            to: row[4].take_text(),
            subject: row[5].take_text(),
            text: row[6].take_text(),
            html: row[7].take_text(),
        },
    })
}

impl MailStore for SqlStore {
    async fn tenant_admin_emails(&self, tenant: TenantId) -> StoreResult<Vec<String>> {
        let statement = Statement::new(
            "SELECT email FROM admins WHERE tenant_id = $1 AND role = 'admin' AND disabled_at IS NULL \
             ORDER BY id",
            vec![SqlValue::Int(tenant.0)],
        );
        Ok(self
            .query(statement, &[Column::Text])
            .await?
            .into_iter()
            .map(|mut row| row[0].take_text())
            .collect())
    }

    async fn remind_token(
        &self,
        token_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<bool> {
        remind(self, "tokens", token_id, days, mails, now).await
    }

    async fn remind_client_secret(
        &self,
        secret_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<bool> {
        remind(self, "oauth_client_secrets", secret_id, days, mails, now).await
    }

    async fn digest_sent_at(&self, tenant: TenantId) -> StoreResult<Option<Timestamp>> {
        let statement = Statement::new(
            "SELECT digest_sent_at FROM tenants WHERE id = $1",
            vec![SqlValue::Int(tenant.0)],
        );
        let rows = self.lookup(statement, &[Column::OptInt]).await?;
        Ok(rows
            .first()
            .and_then(|row| row[0].opt_int())
            .map(Timestamp::from_millis))
    }

    async fn record_digest(
        &self,
        tenant: TenantId,
        last: Option<Timestamp>,
        not_after: Timestamp,
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<bool> {
        // Only when no other instance queued one since `last` was read, and none within the hour.
        let guard = Step::run(
            "UPDATE tenants SET digest_sent_at = $2 \
             WHERE id = $1 AND COALESCE(digest_sent_at, -1) = $3 AND COALESCE(digest_sent_at, -1) <= $4",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Int(now.as_millis()),
                SqlValue::Int(last.map_or(-1, Timestamp::as_millis)),
                SqlValue::Int(not_after.as_millis()),
            ],
        );
        queue_if(self, guard, mails, now).await
    }

    async fn due_mail(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        let statement = Statement::new(
            format!(
                "SELECT {QUEUED_COLUMNS} FROM mail_outbox \
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id {}",
                crate::sql::limit(limit)
            ),
            vec![SqlValue::Int(now.as_millis())],
        );
        self.query(statement, QUEUED_TYPES)
            .await?
            .into_iter()
            .map(queued_from)
            .collect()
    }

    async fn take_mail(
        &self,
        mail: &QueuedMail,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        let take = Step::run(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $3 \
             WHERE id = $1 AND attempts = $2 AND next_attempt_at <= $4 \
               AND sent_at IS NULL AND failed_at IS NULL",
            vec![
                SqlValue::Int(mail.id),
                SqlValue::Int(i64::from(mail.attempts)),
                SqlValue::Int(lease_until.as_millis()),
                SqlValue::Int(now.as_millis()),
            ],
        )
        .must_affect();
        Ok(matches!(
            self.write(vec![take]).await?,
            Written::Committed(_)
        ))
    }

    /// Settles a taken mail: sent, to be retried at `retry_at`, or given up.
    async fn settle_mail(&self, id: i64, outcome: MailOutcome<'_>) -> StoreResult<()> {
        let (sql, values) = match outcome {
            MailOutcome::Sent(at) => (
                "UPDATE mail_outbox SET sent_at = $2, last_error = NULL WHERE id = $1",
                vec![SqlValue::Int(id), SqlValue::Int(at.as_millis())],
            ),
            MailOutcome::Retry { at, error } => (
                "UPDATE mail_outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
                vec![
                    SqlValue::Int(id),
                    SqlValue::Int(at.as_millis()),
                    SqlValue::Text(error.into()),
                ],
            ),
            MailOutcome::GivenUp { at, error } => (
                "UPDATE mail_outbox SET failed_at = $2, last_error = $3 WHERE id = $1",
                vec![
                    SqlValue::Int(id),
                    SqlValue::Int(at.as_millis()),
                    SqlValue::Text(error.into()),
                ],
            ),
        };
        self.write(vec![Step::run(sql, values)]).await?;
        Ok(())
    }

    async fn mail_counts(&self, tenant: TenantId) -> StoreResult<MailCounts> {
        let statement = Statement::new(
            "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL), \
                    COUNT(*) FILTER (WHERE sent_at IS NOT NULL), \
                    COUNT(*) FILTER (WHERE failed_at IS NOT NULL) \
             FROM mail_outbox WHERE tenant_id = $1",
            vec![SqlValue::Int(tenant.0)],
        );
        let rows = self
            .query(statement, &[Column::Int, Column::Int, Column::Int])
            .await?;
        let count = |at: usize| {
            rows.first()
                .map_or(0, |row| u64::try_from(row[at].int()).unwrap_or(0))
        };
        Ok(MailCounts {
            queued: count(0),
            sent: count(1),
            failed: count(2),
        })
    }
}
