//! Where an index page of a listing sorted by userName starts reading (see `walks.rs`): after
//! the page this instance served before it, after a name anchor, from the last name backwards,
//! or from the first. Each choice but the first rests on something the page's own snapshot
//! must confirm, or the page is read again from the first name.

use crate::backend::Column;
use crate::sql::counted::{Counted, TOTAL_COLUMNS};
use crate::sql::name_anchors::{ANCHOR_ROWS, anchors_statement};
use crate::sql::users::NameStart;
use crate::sql_store::SqlStore;
use crate::walks::{AfterName, Jump, SortedListing};
use scim::list::ListQuery;
use scimd_core::store::StoreResult;

/// A page closer than this to both ends of its listing skips rows from the nearer end: that
/// costs less than reading anchors would.
const SKIP_WITHOUT_ANCHORS: u64 = 16 * ANCHOR_ROWS;

/// A page's start, and what must still hold in its snapshot for the start to be right.
#[derive(Debug)]
pub(super) enum Start {
    First,
    /// After a name: where an earlier page ended, or an anchor.
    After(AfterName),
    /// From the last of `total` users, while there are as many.
    Last {
        total: u64,
    },
}

impl Start {
    /// The start of a page `offset` rows into `listing` (`query`'s) that no earlier page
    /// ended at.
    pub async fn jumping(
        store: &SqlStore,
        query: &ListQuery,
        listing: SortedListing,
        offset: u64,
    ) -> StoreResult<Self> {
        let (total, changes) = listing_total(store, listing).await?;
        let skipping = if offset.saturating_mul(2) > total {
            Self::Last { total }
        } else {
            Self::First
        };
        if offset.min(total.saturating_sub(offset)) < SKIP_WITHOUT_ANCHORS {
            return Ok(skipping);
        }
        let mut jump = store.walks.jump(&listing, offset, changes);
        if jump == Jump::ReadAnchors {
            let changes = read_anchors(store, query, listing).await?;
            jump = store.walks.jump(&listing, offset, changes);
        }
        Ok(match jump {
            Jump::After(at) => Self::After(at),
            Jump::ReadAnchors | Jump::Skip => skipping,
        })
    }

    pub fn name_start(&self) -> NameStart<'_> {
        match self {
            Self::First => NameStart::First,
            Self::After(at) => NameStart::After {
                name: &at.name,
                skip: at.skip,
            },
            Self::Last { total } => NameStart::Last { total: *total },
        }
    }

    /// Whether a page read from here, with this count of changes and total in its snapshot,
    /// is the page skipping from the first name gives.
    pub fn held(&self, changes: Option<i64>, total: u64) -> bool {
        match self {
            Self::First => true,
            Self::After(at) => changes == Some(at.changes),
            Self::Last { total: then } => total == *then,
        }
    }
}

/// The listing's total and the tenant's count of changes, read on their own.
async fn listing_total(store: &SqlStore, listing: SortedListing) -> StoreResult<(u64, i64)> {
    let total = listing.counted.total(listing.tenant);
    let rows = store.lookup(total, TOTAL_COLUMNS).await?;
    Ok(Counted::total_from(&rows))
}

/// Reads the anchors of `listing` (`query`'s) with the count of changes in the same snapshot,
/// keeps them, and returns that count.
async fn read_anchors(
    store: &SqlStore,
    query: &ListQuery,
    listing: SortedListing,
) -> StoreResult<i64> {
    let tenant = listing.tenant;
    let total = listing.counted.total(tenant);
    let anchors = anchors_statement(store.backend.dialect(), tenant, query)?;
    let mut results = store
        .query_many_for(
            tenant,
            &[
                (&total, TOTAL_COLUMNS),
                (&anchors, &[Column::Text, Column::Int]),
            ],
        )
        .await?
        .into_iter();
    let (_, changes) = Counted::total_from(&results.next().unwrap_or_default());
    let mut numbered: Vec<(i64, String)> = results
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|mut row| (row[1].int(), row[0].take_text()))
        .collect();
    numbered.sort_unstable_by_key(|(k, _)| *k);
    let names = numbered.into_iter().map(|(_, name)| name).collect();
    store.walks.anchored(listing, changes, names);
    Ok(changes)
}
