//! Webhook endpoints and their deliveries: one delivery per endpoint and event, made by
//! [`WebhookStore::dispatch`] from the change feed, taken by a worker for one try and settled.

use super::StoreResult;
use crate::mail::Mail;
use crate::tenant::TenantId;
use crate::webhook::{
    DeliveryJob, DeliveryView, NewWebhook, Settlement, Webhook, WebhookHealth, WebhookSecret,
    WebhookState,
};
use scim::datetime::Timestamp;
use std::future::Future;

pub trait WebhookStore {
    /// A new endpoint, which gets the tenant's events from now on; `Conflict` when the tenant
    /// has one of that name (compared case-insensitively).
    fn create_webhook(
        &self,
        webhook: &NewWebhook<'_>,
    ) -> impl Future<Output = StoreResult<Webhook>> + Send;
    fn list_webhooks(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Webhook>>> + Send;
    /// Enables, disables or marks failing; `false` when there is no such endpoint.
    fn set_webhook_state(
        &self,
        tenant: TenantId,
        name: &str,
        state: WebhookState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces the signing secret; `false` when there is no such endpoint.
    fn rotate_webhook_secret(
        &self,
        tenant: TenantId,
        name: &str,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Deletes the endpoint and its deliveries; `false` when there is no such endpoint.
    fn delete_webhook(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The endpoint's latest deliveries, newest first.
    fn deliveries(
        &self,
        webhook_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryView>>> + Send;
    /// Makes the tenant's deliveries of event `event_id` due again at `now` (to the endpoint
    /// `webhook_id` only, when given; made for it when it had none); how many. `None` when the
    /// feed has no such event (any more).
    fn redeliver(
        &self,
        tenant: TenantId,
        event_id: &str,
        webhook_id: Option<i64>,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
    /// Makes the deliveries of up to `limit` new events for each enabled endpoint (of any
    /// tenant) whose types it takes, moving each endpoint's place in the feed past them; how
    /// many deliveries it made. Safe to run on several instances at once.
    fn dispatch(&self, limit: u32, now: Timestamp)
    -> impl Future<Output = StoreResult<u64>> + Send;
    /// Takes up to `limit` due deliveries of enabled endpoints for one try each, holding them
    /// until `lease_until`: for each endpoint and account, only the oldest pending delivery
    /// (one user's events arrive in order). A delivery one worker took, no other takes.
    fn take_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryJob>>> + Send;
    /// The key signed webhook payloads (SETs) are signed with: the one kept, or `fresh`, kept
    /// when there is none yet. Every instance signs with the same.
    fn signing_key(&self, fresh: &[u8]) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;
    fn webhook_health(&self) -> impl Future<Output = StoreResult<WebhookHealth>> + Send;
    /// Writes back how each try ended, marking endpoints failing or disabled as they say, and
    /// queues `mails` (admins told of a failing endpoint), all in one transaction.
    fn settle_deliveries(
        &self,
        settlements: &[Settlement],
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
