//! User statements and row mapping shared by both backends.

use super::counted::{Counted, PageStart};
use super::filter::{Lowering, pins_one_user, sort_expression, sorts_by_user_name};
use super::{Dialect, Params, Statement};
use crate::cursor_seal::CursorSeal;
use scim::filter::fold_case;
use scim::fold::case_folded;
use scim::list::ListQuery;
use scim::list::{Cursor, Page, SortOrder};
use scim::schema::USER;
use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use scimd_core::user::User;
use serde_json::{Map, Value};

/// The columns written for a user, derived from its document.
pub(crate) struct UserColumns {
    pub user_name: String,
    pub user_name_ci: String,
    pub external_id: Option<String>,
    pub resource: String,
    pub resource_ci: String,
    pub emails_ci: Vec<String>,
}

/// The account's email addresses as its `user_emails` rows hold them: case-folded, sorted,
/// once each.
pub(crate) fn emails_ci(user: &User) -> Vec<String> {
    let mut emails_ci: Vec<String> = user.email_values().into_iter().map(fold_case).collect();
    emails_ci.sort();
    emails_ci.dedup();
    emails_ci
}

impl UserColumns {
    pub fn of(user: &User) -> StoreResult<Self> {
        let emails_ci = emails_ci(user);
        let json = |document: &Map<String, Value>| {
            serde_json::to_string(document).map_err(|error| StoreError::Backend(Box::new(error)))
        };
        Ok(Self {
            user_name: user.user_name().to_owned(),
            user_name_ci: fold_case(user.user_name()),
            external_id: user.external_id().map(str::to_owned),
            resource: json(&user.resource)?,
            resource_ci: json(&case_folded(&user.resource, &USER))?,
            emails_ci,
        })
    }
}

/// The selected columns, in this order, for `accounts::user_from`.
pub(crate) const USER_COLUMNS: &str = "u.pk, u.scim_id, u.resource, u.version, u.created_at, \
     u.updated_at, u.mapping_name, u.profile_id, u.storage_id, u.quota_bytes, u.state, \
     u.preserved_by, u.preserved_at, u.managed_by, u.display_name, u.upn, u.moved_by, \
     u.idp_token, u.idp_client";

/// Only accounts with a live SCIM id are SCIM resources (R-34: a deleted id disappears).
pub(crate) const SCIM_VISIBLE: &str = "u.scim_id IS NOT NULL";

/// The users table as a counted listing sorted by userName reads it: through its index of
/// visible users by name, which holds `active` too, so skipped rows are told apart without
/// reading them. SQLite, which plans without statistics, would take the unique name index
/// (narrower, but holding hidden users, so every skipped row is read): it is told. PostgreSQL
/// plans by its statistics.
pub(crate) fn users_listed_by_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "users u INDEXED BY users_listed_by_name",
        Dialect::Postgres => "users u",
    }
}

/// How the next cursor is made from the fetched rows.
pub(crate) enum Continuation {
    /// Index paging: no cursor.
    Index,
    /// Default order: continue after the last row's key.
    Keyset,
    /// Sorted by userName: continue after the last row's name.
    AfterName,
    /// Sorted otherwise: continue at this offset.
    Offset(u64),
}

pub(crate) struct PlannedQuery {
    /// The filter pins at most one user through a unique index: both reads are point reads.
    pub point_read: bool,
    /// `None` when the page itself holds every match, so its rows are the total: a point
    /// read's first page (one statement instead of two in a read transaction).
    pub count: Option<Statement>,
    /// `None` when only the total was asked for (`count=0`).
    pub rows: Option<Statement>,
    /// The count statement reads the tenant's count of changes too, as its second column.
    pub counts_changes: bool,
    /// The page reads each row's folded userName too, as its last column (sorted by userName:
    /// the last one continues the listing).
    pub reads_names: bool,
    /// The page's rows come last to first ([`NameStart::Last`]).
    pub backwards: bool,
    pub page_size: u32,
    pub continuation: Continuation,
}

const CURSOR_AFTER_KEY: &str = "k";
const CURSOR_AFTER_NAME: &str = "n";
const CURSOR_AT_OFFSET: &str = "o";

/// Where an index page sorted by userName starts reading. The reader that chooses checks the
/// choice against the page's own snapshot (the count of changes, the total).
#[derive(Debug, Clone, Copy)]
pub(crate) enum NameStart<'a> {
    /// At the first name, skipping the rows before the page.
    First,
    /// After this name, skipping `skip` more rows: where an earlier page ended, or a name
    /// anchor before the page (`walks.rs`).
    After { name: &'a str, skip: u64 },
    /// At the last name, backwards: a page past the middle of `total` users skips fewer rows.
    Last { total: u64 },
}

/// The SQL direction a listing in `order` is read in (the other one when read `backwards`),
/// and the comparison that continues after a value in it.
pub(crate) fn reading_direction(order: SortOrder, backwards: bool) -> (&'static str, &'static str) {
    match (order, backwards) {
        (SortOrder::Ascending, false) | (SortOrder::Descending, true) => ("ASC", ">"),
        (SortOrder::Descending, false) | (SortOrder::Ascending, true) => ("DESC", "<"),
    }
}

/// Which users of `users u` the listing of `query` holds: the tenant's SCIM-visible users
/// that match its filter.
pub(crate) fn listing_condition(
    dialect: Dialect,
    params: &mut Params,
    tenant: TenantId,
    query: &ListQuery,
) -> StoreResult<String> {
    let tenant = params.int(tenant.0);
    let mut condition = format!("u.tenant_id = {tenant} AND {SCIM_VISIBLE}");
    if let Some(filter) = &query.filter {
        let sql = Lowering {
            dialect,
            params,
            tenant,
        }
        .condition(filter)
        .map_err(client_error)?;
        condition.push_str(&format!(" AND ({sql})"));
    }
    Ok(condition)
}

/// The count and page statements of `query`; the page selects `columns` of `users u`.
pub(crate) fn plan_query(
    dialect: Dialect,
    cursors: &CursorSeal,
    tenant: TenantId,
    query: &ListQuery,
    columns: &str,
    name_start: NameStart<'_>,
) -> StoreResult<PlannedQuery> {
    let condition = |params: &mut Params| listing_condition(dialect, params, tenant, query);
    let page = query.page.clone();
    let point_read = query.filter.as_ref().is_some_and(pins_one_user);
    let first_page = matches!(
        page,
        Page::Index { start_index: 1, .. } | Page::Cursor { cursor: None, .. }
    );
    let counted = Counted::of(query.filter.as_ref());
    let count = if point_read && first_page && page.count() > 0 {
        None
    } else if let Some(counted) = counted {
        Some(counted.total(tenant))
    } else {
        let mut params = Params::default();
        let sql = format!(
            "SELECT COUNT(*) FROM users u WHERE {}",
            condition(&mut params)?
        );
        Some(Statement { sql, params })
    };

    let by_user_name = query.sort_by.as_ref().is_some_and(sorts_by_user_name);
    // Read backwards: the rows to skip from the last name, and the page's rows.
    let backwards = match (name_start, &page) {
        (NameStart::Last { total }, Page::Index { start_index, count }) if by_user_name => {
            let end = (start_index - 1 + u64::from(*count)).min(total);
            (start_index - 1 < end).then(|| (total - end, end - (start_index - 1)))
        }
        _ => None,
    };
    let (direction, after) = reading_direction(query.sort_order, backwards.is_some());
    let sort_expression = query
        .sort_by
        .as_ref()
        .map(|path| sort_expression(dialect, path).map_err(client_error))
        .transpose()?;
    let order = match &sort_expression {
        None => "u.pk ASC".to_owned(),
        // Never null and unique: the order of the tenant's name index.
        Some(expression) if by_user_name => format!("{expression} {direction}, u.pk {direction}"),
        Some(expression) => format!("({expression}) IS NULL, {expression} {direction}, u.pk ASC"),
    };
    let continue_after_name = |condition: &mut String, params: &mut Params, name: String| {
        let expression = sort_expression.as_deref().unwrap_or_default();
        condition.push_str(&format!(" AND {expression} {after} {}", params.text(name)));
    };
    let mut params = Params::default();
    let mut condition = condition(&mut params)?;
    let mut start = None;
    let (limit, offset, continuation) = match &page {
        Page::Index { start_index, count } => {
            let mut offset = start_index - 1;
            let mut limit = u64::from(*count);
            match (counted, &query.sort_by, name_start) {
                // In key order, a counted listing starts its scan where its page falls.
                (Some(counted), None, _) if offset > 0 => {
                    start = Some(counted.page_start(&mut params, tenant, offset));
                }
                (Some(_), Some(_), NameStart::After { name, skip }) if by_user_name => {
                    continue_after_name(&mut condition, &mut params, name.to_owned());
                    offset = skip;
                }
                _ => {}
            }
            if let Some((skipped_from_last, rows)) = backwards {
                (offset, limit) = (skipped_from_last, rows);
            }
            (limit, offset, Continuation::Index)
        }
        Page::Cursor { cursor, count } => {
            let position = cursor
                .as_ref()
                .map(|cursor| decode_cursor(cursors, tenant, cursor))
                .transpose()?;
            let fetch = u64::from(*count) + 1;
            match (&query.sort_by, position) {
                (None, None) => (fetch, 0, Continuation::Keyset),
                (None, Some(CursorPosition::AfterKey(pk))) => {
                    condition.push_str(&format!(" AND u.pk > {}", params.int(pk)));
                    (fetch, 0, Continuation::Keyset)
                }
                (Some(_), None) if by_user_name => (fetch, 0, Continuation::AfterName),
                (Some(_), Some(CursorPosition::AfterName(name))) if by_user_name => {
                    continue_after_name(&mut condition, &mut params, name);
                    (fetch, 0, Continuation::AfterName)
                }
                (Some(_), None) => (fetch, 0, Continuation::Offset(0)),
                (Some(_), Some(CursorPosition::AtOffset(offset))) if !by_user_name => {
                    (fetch, offset, Continuation::Offset(offset))
                }
                _ => return Err(client_error(invalid_cursor())),
            }
        }
    };
    let rows = (page.count() > 0).then(|| {
        // The offset, which takes as many values as there are pages, stays a parameter.
        let limit = super::limit(limit);
        let (with, offset) = match start {
            Some(PageStart {
                with,
                condition: from_block,
                skip,
            }) => {
                condition.push_str(&format!(" AND {from_block}"));
                (format!("{with} "), skip)
            }
            None => (
                String::new(),
                params.int(i64::try_from(offset).unwrap_or(i64::MAX)),
            ),
        };
        let name = if by_user_name { ", u.user_name_ci" } else { "" };
        let users = match counted {
            Some(_) if by_user_name => users_listed_by_name(dialect),
            _ => "users u",
        };
        let sql = format!(
            "{with}SELECT {columns}{name} FROM {users} WHERE {condition} ORDER BY {order} {limit} OFFSET {offset}"
        );
        Statement { sql, params }
    });
    Ok(PlannedQuery {
        point_read,
        count,
        rows,
        counts_changes: counted.is_some(),
        reads_names: by_user_name,
        backwards: backwards.is_some(),
        page_size: page.count(),
        continuation,
    })
}

enum CursorPosition {
    AfterKey(i64),
    AfterName(String),
    AtOffset(u64),
}

fn decode_cursor(
    cursors: &CursorSeal,
    tenant: TenantId,
    cursor: &Cursor,
) -> StoreResult<CursorPosition> {
    let position = cursors.open(tenant, cursor).map_err(client_error)?;
    let parsed = if let Some(key) = position.strip_prefix(CURSOR_AFTER_KEY) {
        key.parse().ok().map(CursorPosition::AfterKey)
    } else if let Some(name) = position.strip_prefix(CURSOR_AFTER_NAME) {
        Some(CursorPosition::AfterName(name.to_owned()))
    } else if let Some(offset) = position.strip_prefix(CURSOR_AT_OFFSET) {
        offset.parse().ok().map(CursorPosition::AtOffset)
    } else {
        None
    };
    parsed.ok_or_else(|| client_error(invalid_cursor()))
}

/// The cursor for the page after `rows` (fetched with one extra row to see if there is one).
pub(crate) fn next_cursor(
    cursors: &CursorSeal,
    tenant: TenantId,
    continuation: &Continuation,
    page_size: u32,
    fetched: usize,
    last_key: Option<i64>,
    last_name: Option<&str>,
) -> StoreResult<Option<Cursor>> {
    if fetched <= page_size as usize {
        return Ok(None);
    }
    let position = match continuation {
        Continuation::Index => None,
        Continuation::Keyset => last_key.map(|key| format!("{CURSOR_AFTER_KEY}{key}")),
        Continuation::AfterName => last_name.map(|name| format!("{CURSOR_AFTER_NAME}{name}")),
        Continuation::Offset(offset) => Some(format!(
            "{CURSOR_AT_OFFSET}{}",
            offset + u64::from(page_size)
        )),
    };
    position
        .map(|position| cursors.seal(tenant, &position))
        .transpose()
}

fn invalid_cursor() -> scim::Error {
    scim::Error::new(
        scim::ScimType::InvalidCursor,
        "the cursor does not belong to this query; start again with an empty cursor",
    )
}

pub(crate) fn client_error(error: scim::Error) -> StoreError {
    StoreError::Invalid(error)
}
