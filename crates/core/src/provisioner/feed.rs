//! The change feed's use cases: the records every account write makes and the Events API's
//! read (how long events are kept is `retention.rs`).

use super::Provisioner;
use crate::access::Grant;
use crate::activity::{Event, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::feed::{AccountChange, ChangePage, ChangeQuery, ChangeType, PlacementNames, Recorded};
use crate::store::{CatalogStore, FeedStore};
use crate::user::User;

/// The retention `scimd serve` starts with.
pub const DEFAULT_EVENT_RETENTION_DAYS: u32 = 30;

/// The most events one read returns.
pub const MAX_EVENTS_PER_READ: u32 = 1_000;

/// An account write, described for the activity log (`activity`) and the change feed.
pub(super) struct Described<'a> {
    pub origin: &'a Origin,
    pub activity: Event,
    pub kind: ChangeType,
    pub before: Option<&'a User>,
    pub after: &'a User,
}

impl<S: CatalogStore, C: Clock> Provisioner<S, C> {
    /// The write's records, the placement's names read from the catalog.
    pub(super) async fn recorded(&self, described: Described<'_>) -> Result<Recorded> {
        let names = match &described.after.placement {
            Some(placement) => {
                self.store
                    .placement_names(
                        described.after.tenant_id,
                        placement.profile_id,
                        placement.storage_id,
                    )
                    .await?
            }
            None => None,
        };
        self.recorded_placed(described, names.as_ref())
    }

    /// The write's records, for a caller that knows the placement's names already.
    pub(super) fn recorded_placed(
        &self,
        described: Described<'_>,
        names: Option<&PlacementNames>,
    ) -> Result<Recorded> {
        let change = AccountChange {
            kind: described.kind,
            origin: described.origin,
            at: described.activity.at,
            before: described.before,
            after: described.after,
            names,
        }
        .event(&self.scim_base_url)?;
        Ok(Recorded {
            activity: described.activity,
            change,
        })
    }
}

impl<S: FeedStore, C: Clock> Provisioner<S, C> {
    /// The grant's tenant's events after `query.after`, in sequence order; any role may read.
    pub async fn changes(&self, grant: &Grant, query: &ChangeQuery) -> Result<ChangePage> {
        if query.after < 0 {
            return Err(Error::Invalid(
                "the cursor must be a cursor this service returned (a whole number ≥ 0)".into(),
            ));
        }
        if !(1..=MAX_EVENTS_PER_READ).contains(&query.limit) {
            return Err(Error::Invalid(format!(
                "limit must be between 1 and {MAX_EVENTS_PER_READ}, not {}",
                query.limit
            )));
        }
        Ok(self.store.changes(grant.tenant().id, query).await?)
    }
}
