//! Webhook endpoints: made, listed, switched, rotated and deleted by admins; their signing
//! key. Their deliveries are [`super::DeliveryStore`].

use super::StoreResult;
use crate::tenant::TenantId;
use crate::webhook::{NewWebhook, Webhook, WebhookHealth, WebhookSecret, WebhookState};
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
    /// Makes the tenant's deliveries of event `event_id` due again at `now` (to the endpoint
    /// `webhook_id` only, when given; made for it when it had none); how many. `None` when the
    /// feed has no such event (any more).
    /// Makes the deliveries of up to `limit` new events for each enabled endpoint (of any
    /// tenant) whose types it takes, moving each endpoint's place in the feed past them; how
    /// many deliveries it made. Safe to run on several instances at once.
    /// Takes up to `limit` due deliveries of enabled endpoints for one try each, holding them
    /// until `lease_until`: for each endpoint and account, only the oldest pending delivery
    /// (one user's events arrive in order). A delivery one worker took, no other takes.
    /// The key signed webhook payloads (SETs) are signed with: the one kept, or `fresh`, kept
    /// when there is none yet. Every instance signs with the same.
    fn signing_key(&self, fresh: &[u8]) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;
    /// Every tenant's endpoints by state, and the deliveries waiting.
    fn webhook_health(&self) -> impl Future<Output = StoreResult<WebhookHealth>> + Send;
}
