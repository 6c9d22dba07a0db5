//! Webhook deliveries: one per endpoint and event, made by [`DeliveryStore::dispatch`] from the
//! change feed, taken by a worker for one try under a lease, and settled.

use super::StoreResult;
use crate::mail::Mail;
use crate::tenant::TenantId;
use crate::webhook::{DeliveryJob, DeliveryView, Settlement};
use scim::datetime::Timestamp;
use std::future::Future;

pub trait DeliveryStore {
    fn deliveries(
        &self,
        webhook_id: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryView>>> + Send;
    fn redeliver(
        &self,
        tenant: TenantId,
        event_id: &str,
        webhook_id: Option<i64>,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
    fn dispatch(&self, limit: u32, now: Timestamp)
    -> impl Future<Output = StoreResult<u64>> + Send;
    fn take_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DeliveryJob>>> + Send;
    /// Writes back how each try ended, marking endpoints failing or disabled as they say, and
    /// queues `mails` (admins told of a failing endpoint), all in one transaction.
    fn settle_deliveries(
        &self,
        settlements: &[Settlement],
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
