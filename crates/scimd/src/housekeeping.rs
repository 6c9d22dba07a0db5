//! Work the server does on its own while it runs: the activity log's retention, applied at
//! start and every hour after.

use crate::AppProvisioner;
use std::time::Duration;

const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes events older than `retention_days` now and every hour; never returns (the server
/// aborts it when it stops). `0` keeps every event.
pub(crate) async fn keep_activity_for(provisioner: AppProvisioner, retention_days: u32) {
    if retention_days == 0 {
        return;
    }
    let mut every = tokio::time::interval(PURGE_EVERY);
    loop {
        every.tick().await;
        match provisioner.purge_activity(retention_days).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!("deleted {deleted} activity events older than {retention_days} days")
            }
            Err(error) => tracing::warn!(%error, "could not delete old activity events"),
        }
    }
}
