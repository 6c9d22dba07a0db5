//! The mail outbox: mails are queued in the transaction of their cause and sent by the
//! mail worker.

use super::StoreResult;
use crate::mail::{Mail, MailCounts, MailOutcome, QueuedMail};
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::future::Future;

/// Queueing guarded by what caused the mail, taking and settling queued mail.
pub trait MailStore {
    /// The emails of the tenant's admins (role admin, not disabled), whom notices go to.
    fn tenant_admin_emails(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Records that token `token_id` got its `days` reminder and queues `mails`, unless it
    /// got that one (or a later one) already: `false` then, and nothing is queued.
    fn remind_token(
        &self,
        token_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The same for client secret `secret_id`.
    fn remind_client_secret(
        &self,
        secret_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// When the tenant's last failure digest was queued.
    fn digest_sent_at(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Option<Timestamp>>> + Send;
    /// Queues a failure digest at `now` if the last one is still `last` (no other instance
    /// queued one meanwhile) and not after `not_after`; `false` otherwise, and nothing queued.
    fn record_digest(
        &self,
        tenant: TenantId,
        last: Option<Timestamp>,
        not_after: Timestamp,
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Mails due at `now`, the longest waiting first.
    fn due_mail(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<QueuedMail>>> + Send;
    /// Takes a due mail for one try: counts the try and holds it until `lease_until`. `false`
    /// when another worker took it first.
    fn take_mail(
        &self,
        mail: &QueuedMail,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn settle_mail(
        &self,
        id: i64,
        outcome: MailOutcome<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn mail_counts(&self, tenant: TenantId)
    -> impl Future<Output = StoreResult<MailCounts>> + Send;
}
