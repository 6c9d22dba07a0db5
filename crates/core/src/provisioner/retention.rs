//! How long the activity log and the change feed keep their events: older ones are deleted a
//! small batch at a time, each batch its own short transaction, so that provisioning writes
//! queued meanwhile barely wait. Also the housekeeping's other chore on stored data: tidying
//! the user counts that listings read.

use super::Provisioner;
use crate::clock::Clock;
use crate::error::Result;
use crate::store::{Store, StoreResult};
use crate::tenant::TenantId;
use crate::token::days_after;

/// The retention `scimd serve` starts with.
pub const DEFAULT_ACTIVITY_RETENTION_DAYS: u32 = 90;

/// Events deleted per transaction.
const PURGE_BATCH: u32 = 1_000;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Deletes every tenant's events older than `retention_days`; how many were deleted.
    pub async fn purge_activity(&self, retention_days: u32) -> Result<u64> {
        let before = days_after(self.now(), -i64::from(retention_days));
        self.in_batches(|tenant| self.store.delete_events_before(tenant, before, PURGE_BATCH))
            .await
    }

    /// Merges the rows that count users for listings (see [`crate::store::AccountWrites::tidy_user_counts`]).
    pub async fn tidy_user_counts(&self) -> Result<()> {
        Ok(self.store.tidy_user_counts().await?)
    }

    /// Deletes every tenant's change events older than `retention_days` (each tenant's latest
    /// stays: the next number follows on from it); how many were deleted.
    pub async fn purge_changes(&self, retention_days: u32) -> Result<u64> {
        let before = days_after(self.now(), -i64::from(retention_days));
        self.in_batches(|tenant| {
            self.store
                .delete_changes_before(tenant, before, PURGE_BATCH)
        })
        .await
    }

    /// Runs `batch` for each tenant until it deletes less than a full batch; the total.
    async fn in_batches<F>(&self, batch: impl Fn(TenantId) -> F) -> Result<u64>
    where
        F: Future<Output = StoreResult<u64>>,
    {
        let mut deleted = 0;
        for tenant in self.store.list_tenants().await? {
            loop {
                let count = batch(tenant.id).await?;
                deleted += count;
                if count < u64::from(PURGE_BATCH) {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
