//! The webhook worker's round: make deliveries from the change feed, take the due ones, send
//! each through the transport (several at once, so that one slow receiver holds up no
//! other), and settle them as they finish.

use super::Provisioner;
use crate::clock::Clock;
use crate::error::Result;
use crate::mail::webhook_failing;
use crate::store::Store;
use crate::webhook::{
    Attempted, DeliveryJob, LEASE_MILLIS, SettledAs, Settlement, WebhookTransport, random_unit,
    retry_after_millis, snippet, with_jitter,
};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use scim::datetime::Timestamp;
use std::collections::{HashSet, VecDeque};

/// Tries in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// Events made into deliveries per endpoint and step.
const DISPATCH_BATCH: u32 = 1_000;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookRound {
    pub delivered: u64,
    pub retried: u64,
    /// Given up after the last retry, or refused for good (410).
    pub given_up: u64,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Delivers until nothing is due, or `stopping()` says to stop (the tries in flight then
    /// finish): each due delivery tried once, a failed one scheduled again on the back-off
    /// (with jitter), the last failure giving the endpoint up.
    pub async fn deliver_webhooks(
        &self,
        transport: &impl WebhookTransport,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> Result<WebhookRound> {
        let mut round = WebhookRound::default();
        let mut waiting: VecDeque<DeliveryJob> = VecDeque::new();
        let mut in_flight = FuturesUnordered::new();
        loop {
            // Taken again after every settlement: it may have let a user's next event through.
            let free = MAX_IN_FLIGHT - in_flight.len();
            if waiting.is_empty() && free > 0 && !stopping() {
                let now = self.now();
                self.store.dispatch(DISPATCH_BATCH, now).await?;
                let lease = Timestamp::from_millis(now.as_millis() + LEASE_MILLIS);
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                waiting.extend(self.store.take_deliveries(now, lease, limit).await?);
            }
            while in_flight.len() < MAX_IN_FLIGHT {
                let Some(job) = waiting.pop_front() else {
                    break;
                };
                in_flight.push(async move {
                    let attempted = transport.deliver(&job).await;
                    (job, attempted)
                });
            }
            let Some(first) = in_flight.next().await else {
                return Ok(round);
            };
            let mut finished = vec![first];
            while let Some(Some(more)) = in_flight.next().now_or_never() {
                finished.push(more);
            }
            self.settle(&finished, &mut round).await?;
        }
    }

    async fn settle(
        &self,
        finished: &[(DeliveryJob, Attempted)],
        round: &mut WebhookRound,
    ) -> Result<()> {
        let now = self.now();
        let mut settlements = Vec::with_capacity(finished.len());
        let mut given_up = Vec::new();
        for (job, attempted) in finished {
            let settled = settlement(job, attempted, now);
            match settled.outcome {
                SettledAs::Delivered(_) => round.delivered += 1,
                SettledAs::Retry(_) => round.retried += 1,
                SettledAs::GivenUp(_) | SettledAs::Gone(_) => {
                    round.given_up += 1;
                    given_up.push((job, settled.outcome));
                }
            }
            settlements.push(settled);
        }
        let mails = self.failing_mails(&given_up).await?;
        Ok(self
            .store
            .settle_deliveries(&settlements, &mails, now)
            .await?)
    }

    /// Admins are told once per endpoint that stops getting events (when mail is on).
    async fn failing_mails(
        &self,
        given_up: &[(&DeliveryJob, SettledAs)],
    ) -> Result<Vec<crate::mail::Mail>> {
        let mut mails = Vec::new();
        if !self.mail {
            return Ok(mails);
        }
        let mut told = HashSet::new();
        for (job, outcome) in given_up {
            if !told.insert(job.webhook_id) {
                continue;
            }
            let Some(tenant) = self.store.tenant_by_id(job.tenant_id).await? else {
                continue;
            };
            let reason = match outcome {
                SettledAs::Gone(_) => "its receiver answered 410 Gone, so it was disabled",
                _ => {
                    "a delivery failed through every retry (about 3 days), so it is marked failing"
                }
            };
            for admin in self.store.tenant_admin_emails(tenant.id).await? {
                mails.push(webhook_failing(&tenant, &job.webhook_name, reason, &admin));
            }
        }
        Ok(mails)
    }
}

/// How one try ends: 2xx delivered; 410 gives the endpoint up; anything else is tried again
/// on the schedule, until its last try.
fn settlement(job: &DeliveryJob, attempted: &Attempted, now: Timestamp) -> Settlement {
    let (status, error, response, outcome) = match attempted {
        Attempted::Delivered { status, response } => {
            (Some(*status), None, response, SettledAs::Delivered(now))
        }
        Attempted::Gone { response } => (Some(410), None, response, SettledAs::Gone(now)),
        Attempted::Failed {
            status,
            error,
            response,
        } => {
            let outcome = match retry_after_millis(job.attempt) {
                Some(wait) => SettledAs::Retry(Timestamp::from_millis(
                    now.as_millis() + with_jitter(wait, random_unit()),
                )),
                None => SettledAs::GivenUp(now),
            };
            (*status, Some(error.clone()), response, outcome)
        }
    };
    Settlement {
        delivery_id: job.delivery_id,
        webhook_id: job.webhook_id,
        status,
        error,
        response: snippet(response),
        outcome,
    }
}
