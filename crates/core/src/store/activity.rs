//! The activity log.

use super::StoreResult;
use crate::activity::{Event, EventQuery};
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::future::Future;

/// Events are written by the writes they describe; these read, count and expire them.
pub trait ActivityStore {
    /// How many events `query` selects (its `limit` is ignored).
    fn count_events(
        &self,
        tenant: TenantId,
        query: &EventQuery,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn record_event(&self, event: &Event) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes up to `limit` of the tenant's events from before `before`, in one short
    /// transaction; how many it deleted.
    fn delete_events_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Newest first.
    fn list_events(
        &self,
        tenant: TenantId,
        query: &EventQuery,
    ) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;
}
