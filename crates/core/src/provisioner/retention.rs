//! How long the activity log keeps its events: older ones are deleted a small batch at a time,
//! each batch its own short transaction, so that provisioning writes queued meanwhile barely
//! wait.

use super::Provisioner;
use crate::clock::Clock;
use crate::error::Result;
use crate::store::Store;
use crate::token::days_after;

/// The retention `scimd serve` starts with.
pub const DEFAULT_ACTIVITY_RETENTION_DAYS: u32 = 90;

/// Events deleted per transaction.
const PURGE_BATCH: u32 = 1_000;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Deletes every tenant's events older than `retention_days`; how many were deleted.
    pub async fn purge_activity(&self, retention_days: u32) -> Result<u64> {
        let before = days_after(self.now(), -i64::from(retention_days));
        let mut deleted = 0;
        for tenant in self.store.list_tenants().await? {
            loop {
                let batch = self
                    .store
                    .delete_events_before(tenant.id, before, PURGE_BATCH)
                    .await?;
                deleted += batch;
                if batch < u64::from(PURGE_BATCH) {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
