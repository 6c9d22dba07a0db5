//! The change feed: events are written by the account writes they describe (see
//! [`super::AccountWrites`]); these read and expire them.

use super::StoreResult;
use crate::feed::{ChangePage, ChangeQuery};
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::future::Future;

pub trait FeedStore {
    /// The tenant's events after `query.after`, in sequence order.
    fn changes(
        &self,
        tenant: TenantId,
        query: &ChangeQuery,
    ) -> impl Future<Output = StoreResult<ChangePage>> + Send;
    /// Deletes up to `limit` of the tenant's oldest events that occurred before `before`, in one
    /// short transaction, never its latest (numbers are never reused); how many it deleted
    /// (fewer than `limit` when no more are due).
    fn delete_changes_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}
