//! Listings answered from the tenant's user counts (migration "user counts"): triggers count
//! the SCIM-visible users, and the active ones, per block of keys in every write's own
//! transaction. A listing of all users, or of those with one value of `active`, takes its total
//! from the sum of the blocks instead of counting the tenant, and a page in key order starts
//! its scan at the block where its offset falls instead of skipping every row before it: a
//! page costs the same at the end of a million users as at the start, and stays exact, since
//! the counts are read in the page's own snapshot.

use super::filter::active_only;
use super::{Dialect, Params, Statement};
use crate::backend::{Cell, Column, Row, Step};
use crate::sql_store::SqlStore;
use scim::filter::ResolvedFilter;
use scimd_core::store::StoreResult;
use scimd_core::tenant::TenantId;

/// The columns of [`Counted::total`]'s row.
pub(crate) const TOTAL_COLUMNS: &[Column] = &[Column::Int, Column::Int];

/// Keys per block: the migrations' triggers divide by the same number.
const BLOCK_KEYS: i64 = 1024;

/// Which of the tenant's SCIM-visible users a counted listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Counted {
    All,
    Active,
    Inactive,
}

impl Counted {
    /// The listing of `filter`, when the counts hold its users.
    pub fn of(filter: Option<&ResolvedFilter>) -> Option<Self> {
        match filter.map(active_only) {
            None => Some(Self::All),
            Some(Some(true)) => Some(Self::Active),
            Some(Some(false)) => Some(Self::Inactive),
            Some(None) => None,
        }
    }

    /// The listing's users in one row of `user_counts`.
    fn users(self) -> &'static str {
        match self {
            Self::All => "visible",
            Self::Active => "active",
            Self::Inactive => "visible - active",
        }
    }

    /// A statement reading the listing's total and the tenant's count of changes (see
    /// `walks.rs`).
    pub fn total(self, tenant: TenantId) -> Statement {
        let mut params = Params::default();
        let tenant = params.int(tenant.0);
        let sql = format!(
            "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT), CAST(COALESCE(SUM(changes), 0) AS BIGINT) \
             FROM user_counts WHERE tenant_id = {tenant}",
            self.users()
        );
        Statement { sql, params }
    }

    /// The listing's total and the tenant's count of changes, from the row of [`Self::total`]
    /// (read with [`TOTAL_COLUMNS`]).
    pub fn total_from(rows: &[Row]) -> (u64, i64) {
        let row = rows.first();
        let total = row.and_then(|row| row.first()).map_or(0, Cell::int);
        let changes = row.and_then(|row| row.get(1)).map_or(0, Cell::int);
        (u64::try_from(total).unwrap_or(0), changes)
    }

    /// Where a page in key order that skips `offset` of the listing's users starts: a `WITH`
    /// clause to put before its `SELECT`, a condition on `u.pk` that starts its scan at the
    /// first key of the block where the offset falls, and the rows it still skips there.
    pub fn page_start(self, params: &mut Params, tenant: TenantId, offset: u64) -> PageStart {
        let tenant = params.int(tenant.0);
        let offset = params.int(i64::try_from(offset).unwrap_or(i64::MAX));
        // The running sum over blocks in one pass: the window sums each block's merged counts
        // row by row (ROWS: blocks are unique once grouped, so no peers to look ahead for).
        let with = format!(
            "WITH placed AS (SELECT block, \
               CAST(SUM(SUM({users})) OVER (ORDER BY block ROWS UNBOUNDED PRECEDING) AS BIGINT) \
               - CAST(SUM({users}) AS BIGINT) AS before \
               FROM user_counts WHERE tenant_id = {tenant} GROUP BY block), \
             page_start AS (SELECT block * {BLOCK_KEYS} AS first_key, {offset} - before AS skip \
               FROM placed WHERE before <= {offset} ORDER BY block DESC LIMIT 1)",
            users = self.users()
        );
        PageStart {
            with,
            condition: "u.pk >= (SELECT first_key FROM page_start)".to_owned(),
            skip: "COALESCE((SELECT skip FROM page_start), 0)".to_owned(),
        }
    }
}

/// Merges each block's counts on PostgreSQL, where writing sessions keep them on rows of their
/// own (`slot` 1-64, one per connection) so that creates side by side never wait on one row: a
/// million users written by 16 connections are 15,000 rows, and reading them cost a page 4 ms.
/// Every row but slot 0 is moved into slot 0, which no writer uses, in one statement: readers
/// see the rows before or after, never a count twice or not at all. Rows a
/// write holds are skipped (taken next time), so this never waits for a writer and no writer
/// waits on it for longer than the statement; the advisory lock keeps two instances' tidying
/// from meeting on slot 0. SQLite's single writer keeps one row per block already.
pub(crate) async fn tidy(store: &SqlStore) -> StoreResult<()> {
    if store.backend.dialect() == Dialect::Sqlite {
        return Ok(());
    }
    let steps = vec![
        Step::run(format!("SELECT pg_advisory_xact_lock({TIDY_LOCK})"), vec![]),
        Step::run(
            "WITH claimed AS (SELECT tenant_id, block, slot FROM user_counts WHERE slot <> 0 \
               FOR UPDATE SKIP LOCKED), \
             moved AS (DELETE FROM user_counts c USING claimed \
               WHERE c.tenant_id = claimed.tenant_id AND c.block = claimed.block \
                 AND c.slot = claimed.slot \
               RETURNING c.tenant_id, c.block, c.visible, c.active, c.changes) \
             INSERT INTO user_counts AS c (tenant_id, block, slot, visible, active, changes) \
             SELECT tenant_id, block, 0, SUM(visible), SUM(active), SUM(changes) FROM moved \
             GROUP BY tenant_id, block \
             ON CONFLICT (tenant_id, block, slot) DO UPDATE \
             SET visible = c.visible + excluded.visible, active = c.active + excluded.active, \
                 changes = c.changes + excluded.changes",
            vec![],
        ),
    ];
    store.write(steps).await.map(|_| ())
}

/// The advisory lock that tidying takes (an arbitrary number of scimd's own).
const TIDY_LOCK: i64 = 0x5c1d_c0de;

/// See [`Counted::page_start`].
pub(crate) struct PageStart {
    pub with: String,
    pub condition: String,
    pub skip: String,
}
