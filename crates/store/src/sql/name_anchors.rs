//! Name anchors of a listing sorted by userName: the name at every [`ANCHOR_ROWS`]-th row, in
//! the listing's order. Nothing counts users by name, so a page far into such a listing would
//! skip every row before it; after the anchor before it, it skips fewer than [`ANCHOR_ROWS`].
//! One statement reads them all, each anchor found from the one before it through the
//! tenant's name index (a full pass over the index, not a sort); `walks.rs` keeps them while
//! the tenant's count of changes says they still hold.

use super::filter::sort_expression;
use super::users::{client_error, listing_condition, reading_direction, users_listed_by_name};
use super::{Dialect, Params, Statement};
use scim::list::ListQuery;
use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;

/// Rows from one anchor to the next.
pub(crate) const ANCHOR_ROWS: u64 = 1024;
/// Anchors read at most (a listing of 16,777,216 users); a page past the last one skips from
/// there.
const MAX_ANCHORS: u64 = 16_384;

/// Reads the anchors of `query`, a listing sorted by userName: rows of a name and its number
/// `k` (from 1), the name of row `k` × [`ANCHOR_ROWS`] of the listing. In no particular order:
/// sorting the few anchors is the caller's.
pub(crate) fn anchors_statement(
    dialect: Dialect,
    tenant: TenantId,
    query: &ListQuery,
) -> StoreResult<Statement> {
    let path = query
        .sort_by
        .as_ref()
        .ok_or_else(|| StoreError::Backend("name anchors of an unsorted listing".into()))?;
    let name = sort_expression(dialect, path).map_err(client_error)?;
    let mut params = Params::default();
    let condition = listing_condition(dialect, &mut params, tenant, query)?;
    let (direction, beyond) = reading_direction(query.sort_order, false);
    let skip = ANCHOR_ROWS - 1;
    let users = users_listed_by_name(dialect);
    let next = |after: &str| {
        format!(
            "SELECT {name} FROM {users} WHERE {condition}{after} \
             ORDER BY {name} {direction} LIMIT 1 OFFSET {skip}"
        )
    };
    let first = next("");
    let following = next(&format!(" AND {name} {beyond} a.anchor"));
    let sql = format!(
        "WITH RECURSIVE anchors (anchor, k) AS (\
           SELECT ({first}), 1 \
           UNION ALL \
           SELECT ({following}), a.k + 1 FROM anchors a \
             WHERE a.anchor IS NOT NULL AND a.k < {MAX_ANCHORS}) \
         SELECT anchor, CAST(k AS BIGINT) FROM anchors WHERE anchor IS NOT NULL"
    );
    Ok(Statement { sql, params })
}
