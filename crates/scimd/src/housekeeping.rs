//! Work the server does on its own while it runs: the retention of the activity log and of the
//! change feed, and the removal of ended OAuth access tokens, at start and every hour after;
//! the tidying of the user counts that listings read, every minute.

use crate::AppProvisioner;
use std::time::Duration;

const TIDY_EVERY: Duration = Duration::from_secs(60);
/// Purges run at start and then every 60th tidying: hourly.
const TIDIES_PER_PURGE: u64 = 60;

/// How many days each log keeps its events; `0` keeps every event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub activity_days: u32,
    pub event_days: u32,
}

/// Deletes what is older than `retention` now and every hour, and tidies the user counts every
/// minute; never returns (the server aborts it when it stops). Each deletion is a series of
/// small transactions, so writes barely wait.
pub(crate) async fn keep(provisioner: AppProvisioner, retention: Retention) {
    let mut every = tokio::time::interval(TIDY_EVERY);
    for tick in 0_u64.. {
        every.tick().await;
        if let Err(error) = provisioner.tidy_user_counts().await {
            tracing::warn!(%error, "could not tidy the user counts");
        }
        if tick % TIDIES_PER_PURGE != 0 {
            continue;
        }
        if let Err(error) = provisioner.purge_access_tokens().await {
            tracing::warn!(%error, "could not delete ended OAuth access tokens");
        }
        if retention.activity_days > 0 {
            let days = retention.activity_days;
            match provisioner.purge_activity(days).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!("deleted {deleted} activity events older than {days} days")
                }
                Err(error) => tracing::warn!(%error, "could not delete old activity events"),
            }
        }
        if retention.event_days > 0 {
            let days = retention.event_days;
            match provisioner.purge_changes(days).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!("deleted {deleted} change events older than {days} days")
                }
                Err(error) => tracing::warn!(%error, "could not delete old change events"),
            }
        }
    }
}
