//! Index walks sorted by userName: an IdP's import asking `sortBy=userName&startIndex=N` page
//! after page. Each page would skip every row before it, so a walk through N users costs N²/2
//! steps. The store remembers where the pages it served ended, per tenant and listing: the
//! last name and the tenant's count of changes (`user_counts.changes`) then. A page that starts
//! where one ended continues after that name, which gives exactly the rows skipping gives as
//! long as no write moved a user in or out of the listing or renamed one meanwhile: the count
//! of changes, read in the page's own snapshot, is still the same. Otherwise the page is read
//! again by skipping. Nothing is shared between instances: another instance serving the next
//! page skips rows, and is as exact.
//!
//! A page far from both ends of such a listing, with no page ending where it starts (a jump),
//! starts after the name anchor before it (`sql/name_anchors.rs`) when the anchors were read
//! at the count of changes the page's snapshot has, and skips fewer than 1,024 rows from
//! there. Anchors gone stale are read again at the eighth jump that finds them so: a directory
//! written between every jump costs a full pass over its name index once per eight jumps
//! (about four skips to the middle), one left alone costs it once.

use crate::sql::counted::Counted;
use crate::sql::name_anchors::ANCHOR_ROWS;
use scim::list::{Page, SortOrder};
use scimd_core::tenant::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Ends remembered at most; a full table forgets one at random (a forgotten walk's next page
/// skips rows, no more).
const MAX_ENDS: usize = 4096;
/// Longer names are not remembered, so the table's memory stays bounded.
const MAX_NAME_BYTES: usize = 1024;
/// Listings whose anchors are kept at most; one more forgets one at random.
const MAX_ANCHORED_LISTINGS: usize = 16;
/// A listing's anchors are kept when their names take at most this much, else none are (and
/// its jumps skip, as without anchors).
const MAX_ANCHOR_BYTES: usize = 1 << 20;
/// Jumps that find a listing's anchors stale before they are read again.
const STALE_JUMPS_BEFORE_REREAD: u32 = 8;

/// A listing sorted by userName that page ends and anchors are kept for: a counted one (all
/// users, or those with one value of `active`) in one direction. Filters that select the same
/// users (`active eq true`, `active ne false`) are the same listing.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) struct SortedListing {
    pub tenant: TenantId,
    pub counted: Counted,
    pub descending: bool,
}

impl SortedListing {
    pub fn of(tenant: TenantId, counted: Counted, order: SortOrder) -> Self {
        Self {
            tenant,
            counted,
            descending: order == SortOrder::Descending,
        }
    }
}

/// A page of a walk: its listing, and where it starts.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) struct WalkPage {
    listing: SortedListing,
    start_index: u64,
}

impl WalkPage {
    /// The page `page` asks for in `listing`, when it is an index page.
    pub fn of(listing: SortedListing, page: &Page) -> Option<Self> {
        let Page::Index { start_index, .. } = *page else {
            return None;
        };
        Some(Self {
            listing,
            start_index,
        })
    }
}

/// A place in a listing sorted by userName: after `name`, then `skip` rows more. It is where
/// skipping from the first name gets while the tenant's count of changes is `changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AfterName {
    pub name: String,
    pub skip: u64,
    pub changes: i64,
}

#[derive(Debug)]
struct Anchors {
    /// The tenant's count of changes in the snapshot they were read in.
    changes: i64,
    names: Vec<String>,
    stale_jumps: u32,
}

/// Where a jump into a listing sorted by userName starts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Jump {
    /// After an anchor.
    After(AfterName),
    /// The listing's anchors are to be read (none are kept, or they are stale long enough).
    ReadAnchors,
    /// By skipping rows, as without anchors.
    Skip,
}

#[derive(Debug, Default)]
pub(crate) struct Walks {
    /// Where served pages ended (`skip` 0), by the page that would start there.
    ends: Mutex<HashMap<WalkPage, AfterName>>,
    anchors: Mutex<HashMap<SortedListing, Anchors>>,
}

impl Walks {
    /// Where the page before `page` ended, if this instance served it.
    pub fn resume(&self, page: &WalkPage) -> Option<AfterName> {
        self.ends.lock().ok()?.get(page).cloned()
    }

    /// `page` was served with `rows` rows, the last named `last_name`, when the tenant's count
    /// of changes was `changes`.
    pub fn ended(&self, page: &WalkPage, rows: usize, last_name: String, changes: i64) {
        if rows == 0 || last_name.len() > MAX_NAME_BYTES {
            return;
        }
        let Ok(mut ends) = self.ends.lock() else {
            return;
        };
        ends.remove(page);
        if ends.len() >= MAX_ENDS
            && let Some(forgotten) = ends.keys().next().copied()
        {
            ends.remove(&forgotten);
        }
        let next = WalkPage {
            start_index: page.start_index + rows as u64,
            ..*page
        };
        let end = AfterName {
            name: last_name,
            skip: 0,
            changes,
        };
        ends.insert(next, end);
    }
}

impl Walks {
    /// Where a page `offset` rows into `listing` starts, given the tenant's count of changes
    /// now.
    pub fn jump(&self, listing: &SortedListing, offset: u64, changes: i64) -> Jump {
        let Ok(mut kept) = self.anchors.lock() else {
            return Jump::Skip;
        };
        let Some(anchors) = kept.get_mut(listing) else {
            return Jump::ReadAnchors;
        };
        if anchors.changes != changes {
            anchors.stale_jumps += 1;
            return if anchors.stale_jumps >= STALE_JUMPS_BEFORE_REREAD {
                Jump::ReadAnchors
            } else {
                Jump::Skip
            };
        }
        // Anchor `i` (0-based) names row (i + 1) × ANCHOR_ROWS; the page's first row is
        // row offset + 1.
        let before = usize::try_from(offset / ANCHOR_ROWS)
            .unwrap_or(usize::MAX)
            .min(anchors.names.len());
        let Some(name) = before.checked_sub(1).map(|i| anchors.names[i].clone()) else {
            return Jump::Skip;
        };
        Jump::After(AfterName {
            name,
            skip: offset - before as u64 * ANCHOR_ROWS,
            changes,
        })
    }

    /// The anchors of `listing`, read when the tenant's count of changes was `changes`.
    pub fn anchored(&self, listing: SortedListing, changes: i64, mut names: Vec<String>) {
        if names.iter().map(String::len).sum::<usize>() > MAX_ANCHOR_BYTES {
            names = Vec::new();
        }
        let Ok(mut kept) = self.anchors.lock() else {
            return;
        };
        if kept.len() >= MAX_ANCHORED_LISTINGS
            && !kept.contains_key(&listing)
            && let Some(forgotten) = kept.keys().next().copied()
        {
            kept.remove(&forgotten);
        }
        let anchors = Anchors {
            changes,
            names,
            stale_jumps: 0,
        };
        kept.insert(listing, anchors);
    }
}

#[cfg(test)]
impl Walks {
    /// The anchors kept for `listing`.
    pub fn anchors_of(&self, listing: &SortedListing) -> Option<Vec<String>> {
        let kept = self.anchors.lock().ok()?;
        kept.get(listing).map(|anchors| anchors.names.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> SortedListing {
        SortedListing::of(TenantId(1), Counted::All, SortOrder::Ascending)
    }

    fn names(count: usize) -> Vec<String> {
        (1..=count).map(|i| format!("anchor-{i}")).collect()
    }

    #[test]
    fn a_jump_starts_after_the_anchor_before_it() {
        let walks = Walks::default();
        assert_eq!(walks.jump(&listing(), 5000, 7), Jump::ReadAnchors);
        walks.anchored(listing(), 7, names(3));
        let after = |name: &str, skip| {
            Jump::After(AfterName {
                name: name.into(),
                skip,
                changes: 7,
            })
        };
        assert_eq!(walks.jump(&listing(), 1023, 7), Jump::Skip);
        assert_eq!(walks.jump(&listing(), 1024, 7), after("anchor-1", 0));
        assert_eq!(walks.jump(&listing(), 2047, 7), after("anchor-1", 1023));
        assert_eq!(walks.jump(&listing(), 3072, 7), after("anchor-3", 0));
        // Past the last anchor: from the last one.
        assert_eq!(
            walks.jump(&listing(), 5000, 7),
            after("anchor-3", 5000 - 3072)
        );
    }

    #[test]
    fn stale_anchors_are_read_again_at_the_eighth_jump_that_finds_them_so() {
        let walks = Walks::default();
        walks.anchored(listing(), 7, names(3));
        for _ in 1..STALE_JUMPS_BEFORE_REREAD {
            assert_eq!(walks.jump(&listing(), 2048, 8), Jump::Skip);
        }
        assert_eq!(walks.jump(&listing(), 2048, 8), Jump::ReadAnchors);
        walks.anchored(listing(), 8, names(3));
        assert!(matches!(
            walks.jump(&listing(), 2048, 8),
            Jump::After { .. }
        ));
    }

    #[test]
    fn anchors_too_long_to_keep_leave_jumps_skipping() {
        let walks = Walks::default();
        let long = vec!["x".repeat(MAX_NAME_BYTES); MAX_ANCHOR_BYTES / MAX_NAME_BYTES + 1];
        walks.anchored(listing(), 7, long);
        assert_eq!(walks.jump(&listing(), 2048, 7), Jump::Skip);
    }

    #[test]
    fn anchors_are_kept_for_a_bounded_number_of_listings() {
        let walks = Walks::default();
        for tenant in 0..3 * MAX_ANCHORED_LISTINGS as i64 {
            let listing = SortedListing::of(TenantId(tenant), Counted::All, SortOrder::Ascending);
            walks.anchored(listing, 7, names(1));
        }
        assert_eq!(walks.anchors.lock().unwrap().len(), MAX_ANCHORED_LISTINGS);
    }
}
