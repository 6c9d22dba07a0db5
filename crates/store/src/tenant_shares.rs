//! A fair share of the database's long reads (list pages and filters that are not point
//! reads) per tenant: one tenant's expensive queries take at most half the readers, so another
//! tenant's list still finds one free. A tenant's reads past its share wait their turn; the
//! request deadline bounds the wait.

use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub(crate) struct TenantShares {
    per_tenant: usize,
    shares: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

impl TenantShares {
    /// `readers` reads may run at once in all; a tenant gets half of them (at least one).
    pub fn new(readers: usize) -> Self {
        Self {
            per_tenant: (readers / 2).max(1),
            shares: Mutex::default(),
        }
    }

    /// A turn for one of `tenant`'s long reads; held until the read ends.
    pub async fn turn(&self, tenant: TenantId) -> StoreResult<OwnedSemaphorePermit> {
        let share = {
            let mut shares = self.shares.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                shares
                    .entry(tenant)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant))),
            )
        };
        // Never closed: acquiring only waits.
        share
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("a tenant's share of readers was closed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn ready<F: Future>(future: F) -> Option<F::Output> {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }

    #[test]
    fn a_tenant_past_its_share_waits_and_others_do_not() {
        let shares = TenantShares::new(4);
        let (busy, other) = (TenantId(1), TenantId(2));
        let first = ready(shares.turn(busy)).unwrap().unwrap();
        let _second = ready(shares.turn(busy)).unwrap().unwrap();
        assert!(ready(shares.turn(busy)).is_none(), "half of four readers");
        assert!(
            ready(shares.turn(other)).is_some(),
            "another tenant goes first"
        );
        drop(first);
        assert!(ready(shares.turn(busy)).is_some());
    }
}
