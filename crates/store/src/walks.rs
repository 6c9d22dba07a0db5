//! Index walks sorted by userName: an IdP's import asking `sortBy=userName&startIndex=N` page
//! after page. Each page would skip every row before it, so a walk through N users costs N²/2
//! steps. The store remembers where the pages it served ended, per tenant and listing: the
//! last name and the tenant's count of changes (`user_counts.changes`) then. A page that starts
//! where one ended continues after that name, which gives exactly the rows skipping gives as
//! long as no write moved a user in or out of the listing or renamed one meanwhile: the count
//! of changes, read in the page's own snapshot, is still the same. Otherwise the page is read
//! again by skipping. Nothing is shared between instances: another instance serving the next
//! page skips rows, and is as exact.

use scim::list::{ListQuery, Page};
use scimd_core::tenant::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Ends remembered at most; a full table forgets one at random (a forgotten walk's next page
/// skips rows, no more).
const MAX_ENDS: usize = 4096;
/// Longer names are not remembered, so the table's memory stays bounded.
const MAX_NAME_BYTES: usize = 1024;

/// A page of a walk: its listing, and where it starts.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct WalkPage {
    tenant: TenantId,
    /// The filter and sort order, as text.
    listing: String,
    start_index: u64,
}

impl WalkPage {
    /// The page of `query` when it may be part of a walk sorted by userName.
    pub fn of(tenant: TenantId, query: &ListQuery, sorted_by_user_name: bool) -> Option<Self> {
        let Page::Index { start_index, .. } = query.page else {
            return None;
        };
        sorted_by_user_name.then(|| Self {
            tenant,
            listing: format!(
                "{:?} {:?}",
                query.filter.as_ref().map(ToString::to_string),
                query.sort_order
            ),
            start_index,
        })
    }
}

/// Where a served page ended.
#[derive(Debug, Clone)]
pub(crate) struct PageEnd {
    pub last_name: String,
    pub changes: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Walks {
    ends: Mutex<HashMap<WalkPage, PageEnd>>,
}

impl Walks {
    /// Where the page before `page` ended, if this instance served it.
    pub fn resume(&self, page: &WalkPage) -> Option<PageEnd> {
        self.ends.lock().ok()?.get(page).cloned()
    }

    /// `page` was served with `rows` rows, the last named `end.last_name`.
    pub fn ended(&self, page: &WalkPage, rows: usize, end: PageEnd) {
        if rows == 0 || end.last_name.len() > MAX_NAME_BYTES {
            return;
        }
        let Ok(mut ends) = self.ends.lock() else {
            return;
        };
        ends.remove(page);
        if ends.len() >= MAX_ENDS
            && let Some(forgotten) = ends.keys().next().cloned()
        {
            ends.remove(&forgotten);
        }
        let next = WalkPage {
            start_index: page.start_index + rows as u64,
            ..page.clone()
        };
        ends.insert(next, end);
    }
}
