//! the notices scimd queues on its own (token and client secret expiry reminders, failure
//! digests) and the delivery of every queued mail. Activation emails are queued by the creates
//! themselves.

use super::Provisioner;
use crate::access::Grant;
use crate::activity::{EventQuery, Outcome};
use crate::clock::Clock;
use crate::error::Result;
use crate::mail::{
    LEASE_MILLIS, MailCounts, MailOutcome, Mailer, client_secret_expiry, failure_digest,
    reminder_due, retry_after_millis, token_expiry,
};
use crate::store::Store;
use crate::tenant::Tenant;
use scim::datetime::Timestamp;

/// Failed calls a digest lists; the rest are counted.
const DIGEST_LINES: u32 = 50;
const HOUR_MILLIS: i64 = 3_600_000;
/// Mails taken per round trip by the worker.
const DELIVERY_BATCH: u32 = 20;

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailRound {
    pub sent: usize,
    pub retried: usize,
    pub given_up: usize,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Queues the expiry reminders due now (30, 7 and 1 days before) of tokens and OAuth client
    /// secrets, each once, to each tenant's admins. How many mails were queued; none while
    /// mail is off.
    pub async fn queue_expiry_reminders(&self) -> Result<usize> {
        if !self.mail {
            return Ok(0);
        }
        let now = self.now();
        let mut queued = 0;
        for tenant in self.store.list_tenants().await? {
            queued += self.remind_client_secrets(&tenant, now).await?;
            let tokens = self.store.list_tokens(tenant.id).await?;
            let live = tokens.iter().filter(|t| t.revoked_at.is_none());
            let due: Vec<_> = live
                .filter_map(|token| Some((token, reminder_due(token.expires_at, now)?)))
                .collect();
            if due.is_empty() {
                continue;
            }
            let admins = self.store.tenant_admin_emails(tenant.id).await?;
            for (token, days) in due {
                let mails: Vec<_> = admins
                    .iter()
                    .map(|to| token_expiry(&tenant, token, days, to))
                    .collect();
                if self.store.remind_token(token.id, days, &mails, now).await? {
                    queued += mails.len();
                }
            }
        }
        Ok(queued)
    }

    /// The reminders due for the live secrets of the tenant's live clients.
    async fn remind_client_secrets(&self, tenant: &Tenant, now: Timestamp) -> Result<usize> {
        let clients = self.store.list_clients(tenant.id).await?;
        let due: Vec<_> = clients
            .iter()
            .filter(|client| client.revoked_at.is_none())
            .flat_map(|client| client.live_secrets(now).map(move |secret| (client, secret)))
            .filter_map(|(client, secret)| {
                Some((client, secret, reminder_due(secret.expires_at, now)?))
            })
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let admins = self.store.tenant_admin_emails(tenant.id).await?;
        let mut queued = 0;
        for (client, secret, days) in due {
            let mails: Vec<_> = admins
                .iter()
                .map(|to| client_secret_expiry(tenant, &client.name, secret, days, to))
                .collect();
            if self
                .store
                .remind_client_secret(secret.id, days, &mails, now)
                .await?
            {
                queued += mails.len();
            }
        }
        Ok(queued)
    }

    /// Queues, for each tenant whose SCIM calls failed since its last digest, one mail to its
    /// admins listing them; at most one an hour per tenant, however many instances run this.
    pub async fn queue_failure_digests(&self) -> Result<usize> {
        if !self.mail {
            return Ok(0);
        }
        let now = self.now();
        let mut queued = 0;
        for tenant in self.store.list_tenants().await? {
            queued += self.queue_failure_digest(&tenant, now).await?;
        }
        Ok(queued)
    }

    async fn queue_failure_digest(&self, tenant: &Tenant, now: Timestamp) -> Result<usize> {
        let last = self.store.digest_sent_at(tenant.id).await?;
        let an_hour_ago = Timestamp::from_millis(now.as_millis() - HOUR_MILLIS);
        if last.is_some_and(|last| last > an_hour_ago) {
            return Ok(0);
        }
        let failures = EventQuery {
            since: Some(last.unwrap_or(an_hour_ago)),
            until: Some(now),
            outcome: Some(Outcome::Failure),
            limit: DIGEST_LINES,
            ..EventQuery::default()
        };
        let total = self.store.count_events(tenant.id, &failures).await?;
        if total == 0 {
            return Ok(0);
        }
        let listed = self.store.list_events(tenant.id, &failures).await?;
        let admins = self.store.tenant_admin_emails(tenant.id).await?;
        let mails: Vec<_> = admins
            .iter()
            .map(|to| failure_digest(tenant, &listed, total, to))
            .collect();
        let recorded = self
            .store
            .record_digest(tenant.id, last, an_hour_ago, &mails, now)
            .await?;
        Ok(if recorded { mails.len() } else { 0 })
    }

    /// Sends every mail due now through `mailer`, one try each: a temporary failure is tried
    /// again later on the back-off schedule, a permanent one (or the last try) gives up.
    pub async fn deliver_mail(&self, mailer: &impl Mailer) -> Result<MailRound> {
        let mut round = MailRound::default();
        loop {
            let now = self.now();
            let due = self.store.due_mail(now, DELIVERY_BATCH).await?;
            if due.is_empty() {
                return Ok(round);
            }
            for mut queued in due {
                let lease = Timestamp::from_millis(now.as_millis() + LEASE_MILLIS);
                if !self.store.take_mail(&queued, now, lease).await? {
                    continue;
                }
                queued.attempts += 1;
                let result = mailer.send(&queued).await;
                let at = self.now();
                let outcome = match &result {
                    Ok(()) => {
                        round.sent += 1;
                        MailOutcome::Sent(at)
                    }
                    Err(failure) => {
                        let retry =
                            retry_after_millis(queued.attempts).filter(|_| failure.temporary);
                        let error = failure.detail.as_str();
                        match retry {
                            Some(wait) => {
                                round.retried += 1;
                                let at = Timestamp::from_millis(at.as_millis() + wait);
                                MailOutcome::Retry { at, error }
                            }
                            None => {
                                round.given_up += 1;
                                MailOutcome::GivenUp { at, error }
                            }
                        }
                    }
                };
                self.store.settle_mail(queued.id, outcome).await?;
            }
        }
    }

    pub async fn mail_counts(&self, grant: &Grant) -> Result<MailCounts> {
        let tenant = grant.tenant();
        Ok(self.store.mail_counts(tenant.id).await?)
    }
}
