//! Account reads: by SCIM id or email, `/Users` queries and pages, admin listings, counts.

use super::name_starts::Start;
use super::{ACCOUNTS, STORED, Shape, USER_TYPES, user_from};
use crate::backend::{Cell, Column};
use crate::sql::counted::{Counted, TOTAL_COLUMNS};
use crate::sql::filter::sorts_by_user_name;
use crate::sql::users::{NameStart, PlannedQuery, USER_COLUMNS, next_cursor, plan_query};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use crate::walks::{SortedListing, WalkPage};
use scim::filter::fold_case;
use scim::list::{ListQuery, Page};
use scimd_core::store::{
    AccountCounts, AccountQuery, AccountReads, StateFilter, StoreResult, UserPage,
};
use scimd_core::tenant::TenantId;
use scimd_core::user::{StoredUser, User};

async fn one_user<U>(
    store: &SqlStore,
    tenant: TenantId,
    shape: &Shape<U>,
    condition: &str,
    value: String,
) -> StoreResult<Option<U>> {
    let statement = Statement::new(
        format!(
            "SELECT {} FROM users u WHERE u.tenant_id = $1 AND {condition}",
            shape.columns
        ),
        vec![SqlValue::Int(tenant.0), SqlValue::Text(value)],
    );
    let row = store
        .lookup(statement, shape.types)
        .await?
        .into_iter()
        .next();
    row.map(|row| (shape.decode)(tenant, row)).transpose()
}

async fn query_page(
    store: &SqlStore,
    tenant: TenantId,
    query: &ListQuery,
) -> StoreResult<UserPage> {
    let listing = Counted::of(query.filter.as_ref())
        .filter(|_| query.sort_by.as_ref().is_some_and(sorts_by_user_name))
        .map(|counted| SortedListing::of(tenant, counted, query.sort_order));
    let walk = listing.and_then(|listing| WalkPage::of(listing, &query.page));
    let resumed = walk.as_ref().and_then(|page| store.walks.resume(page));
    let start = match (resumed, &query.page, listing) {
        (Some(at), _, _) => Start::After(at),
        (None, Page::Index { start_index, .. }, Some(listing)) if *start_index > 1 => {
            Start::jumping(store, query, listing, start_index - 1).await?
        }
        _ => Start::First,
    };
    let mut read = read_page(store, tenant, query, start.name_start()).await?;
    if !start.held(read.changes, read.page.total) {
        // Written meanwhile: the page is not where the choice of its start said.
        read = read_page(store, tenant, query, NameStart::First).await?;
    }
    if let (Some(walk), Some(last_name), Some(changes)) = (&walk, read.last_name, read.changes) {
        store
            .walks
            .ended(walk, read.page.users.len(), last_name, changes);
    }
    Ok(read.page)
}

/// A page as read, with what continues a walk: the tenant's count of changes in the page's
/// snapshot and the folded name of its last user (when the listing counts them and sorts by
/// userName).
struct ReadPage {
    page: UserPage,
    changes: Option<i64>,
    last_name: Option<String>,
}

async fn read_page(
    store: &SqlStore,
    tenant: TenantId,
    query: &ListQuery,
    name_start: NameStart<'_>,
) -> StoreResult<ReadPage> {
    let shape = &STORED;
    let PlannedQuery {
        point_read,
        count,
        rows,
        counts_changes,
        reads_names,
        backwards,
        page_size,
        continuation,
    } = plan_query(
        store.backend.dialect(),
        &store.cursors,
        tenant,
        query,
        shape.columns,
        name_start,
    )?;
    let count_types: &[Column] = if counts_changes {
        TOTAL_COLUMNS
    } else {
        &[Column::Int]
    };
    let row_types: Vec<Column> = shape
        .types
        .iter()
        .cloned()
        .chain(reads_names.then_some(Column::Text))
        .collect();
    let mut reads: Vec<(&Statement, &[Column])> = Vec::new();
    reads.extend(count.as_ref().map(|count| (count, count_types)));
    reads.extend(rows.as_ref().map(|rows| (rows, &row_types[..])));
    let results = if point_read {
        store.lookup_many(&reads).await?
    } else {
        store.query_many_for(tenant, &reads).await?
    };
    let mut results = results.into_iter();
    let mut changes = None;
    let counted = count.is_some().then(|| {
        let counts = results.next().and_then(|rows| rows.into_iter().next());
        changes = counts
            .as_ref()
            .filter(|_| counts_changes)
            .and_then(|row| row.get(1).map(Cell::int));
        let total = counts
            .and_then(|row| row.first().map(Cell::int))
            .unwrap_or(0);
        u64::try_from(total).unwrap_or(0)
    });
    let Some(mut rows) = results.next() else {
        let page = UserPage {
            total: counted.unwrap_or(0),
            ..UserPage::default()
        };
        return Ok(ReadPage {
            page,
            changes,
            last_name: None,
        });
    };
    let fetched_count = rows.len();
    // No count statement: the page holds every match (`PlannedQuery::count`).
    let total = counted.unwrap_or(fetched_count as u64);
    rows.truncate(page_size as usize);
    if backwards {
        rows.reverse();
    }
    // The key of the page's last row (`u.pk`, first in every shape) continues a keyset cursor.
    let last_key = rows.last().and_then(|row| row.first()).map(Cell::int);
    let last_name = rows
        .last_mut()
        .filter(|_| reads_names)
        .and_then(|row| row.pop())
        .map(|mut name| name.take_text());
    let users = rows
        .into_iter()
        .map(|mut row| {
            row.truncate(shape.types.len());
            (shape.decode)(tenant, row)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let next_cursor = next_cursor(
        &store.cursors,
        tenant,
        &continuation,
        page_size,
        fetched_count,
        last_key,
        last_name.as_deref(),
    )?;
    let page = UserPage {
        total,
        users,
        next_cursor,
        start_index: None,
    };
    Ok(ReadPage {
        page,
        changes,
        last_name,
    })
}

impl AccountReads for SqlStore {
    async fn user_by_scim_id(&self, tenant: TenantId, scim_id: &str) -> StoreResult<Option<User>> {
        one_user(
            self,
            tenant,
            &ACCOUNTS,
            "u.scim_id = $2",
            scim_id.to_owned(),
        )
        .await
    }

    async fn scim_resource(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> StoreResult<Option<StoredUser>> {
        one_user(self, tenant, &STORED, "u.scim_id = $2", scim_id.to_owned()).await
    }

    async fn user_by_email(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        let email = fold_case(email);
        one_user(self, tenant, &ACCOUNTS, "u.user_name_ci = $2", email).await
    }

    async fn query_users(&self, tenant: TenantId, query: &ListQuery) -> StoreResult<UserPage> {
        query_page(self, tenant, query).await
    }

    async fn list_accounts(
        &self,
        tenant: TenantId,
        query: &AccountQuery,
    ) -> StoreResult<Vec<User>> {
        let dialect = self.backend.dialect();
        let mut sql =
            format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.pk > $2");
        let mut values = vec![
            SqlValue::Int(tenant.0),
            SqlValue::Int(query.after_key.unwrap_or(0)),
        ];
        let mut and = |condition: &dyn Fn(&str) -> String, value: SqlValue| {
            values.push(value);
            sql.push_str(&format!(
                " AND {}",
                condition(&format!("${}", values.len()))
            ));
        };
        if let Some(state) = query.state {
            let name = match state {
                StateFilter::Active => "active",
                StateFilter::Preserved => "preserved",
            };
            and(&|p| format!("u.state = {p}"), SqlValue::Text(name.into()));
        }
        if let Some(profile_id) = query.profile_id {
            and(
                &|p| format!("u.profile_id = {p}"),
                SqlValue::Int(profile_id),
            );
        }
        if let Some(storage_id) = query.storage_id {
            and(
                &|p| format!("u.storage_id = {p}"),
                SqlValue::Int(storage_id),
            );
        }
        if let Some(managed_by) = query.managed_by {
            let name = SqlValue::Text(managed_by.as_str().into());
            and(&|p| format!("u.managed_by = {p}"), name);
        }
        if let Some(search) = query.search.as_deref().filter(|text| !text.is_empty()) {
            let display_name = dialect.json_scalar("u.resource_ci", &["displayName"]);
            let condition = |p: &str| {
                format!(
                    "({} OR COALESCE({}, FALSE))",
                    dialect.contains("u.user_name_ci", p),
                    dialect.contains(&display_name, p)
                )
            };
            and(&condition, SqlValue::Text(fold_case(search)));
        }
        sql.push_str(&format!(
            " ORDER BY u.pk {}",
            crate::sql::limit(query.limit)
        ));
        self.query(Statement::new(sql, values), USER_TYPES)
            .await?
            .into_iter()
            .map(|row| user_from(tenant, row))
            .collect()
    }

    async fn count_accounts(&self, tenant: TenantId) -> StoreResult<AccountCounts> {
        let statement = Statement::new(
            "SELECT state, COUNT(*) FROM users WHERE tenant_id = $1 GROUP BY state",
            vec![SqlValue::Int(tenant.0)],
        );
        let mut counts = AccountCounts::default();
        for mut row in self.query(statement, &[Column::Text, Column::Int]).await? {
            let count = u64::try_from(row[1].int()).unwrap_or(0);
            match row[0].take_text().as_str() {
                "active" => counts.active = count,
                _ => counts.preserved += count,
            }
        }
        Ok(counts)
    }
}
