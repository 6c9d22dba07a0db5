//! Account reads: by SCIM id or email, `/Users` queries and pages, admin listings, counts.

use super::{ACCOUNTS, STORED, Shape, USER_TYPES, user_from};
use crate::backend::{Cell, Column};
use crate::sql::users::{PlannedQuery, USER_COLUMNS, next_cursor, plan_query};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::filter::fold_case;
use scim::list::ListQuery;
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
    let shape = &STORED;
    let PlannedQuery {
        point_read,
        count,
        rows,
        page_size,
        continuation,
    } = plan_query(
        store.backend.dialect(),
        &store.cursors,
        tenant,
        query,
        shape.columns,
    )?;
    let mut reads: Vec<(&Statement, &[Column])> = Vec::new();
    reads.extend(count.as_ref().map(|count| (count, &[Column::Int][..])));
    reads.extend(rows.as_ref().map(|rows| (rows, shape.types)));
    let results = if point_read {
        store.lookup_many(&reads).await?
    } else {
        store.query_many_for(tenant, &reads).await?
    };
    let mut results = results.into_iter();
    let counted = count.is_some().then(|| {
        let total = results
            .next()
            .and_then(|rows| rows.into_iter().next())
            .and_then(|row| row.first().map(Cell::int))
            .unwrap_or(0);
        u64::try_from(total).unwrap_or(0)
    });
    let Some(mut rows) = results.next() else {
        return Ok(UserPage {
            total: counted.unwrap_or(0),
            ..UserPage::default()
        });
    };
    let fetched_count = rows.len();
    // No count statement: the page holds every match (`PlannedQuery::count`).
    let total = counted.unwrap_or(fetched_count as u64);
    rows.truncate(page_size as usize);
    // The key of the page's last row (`u.pk`, first in every shape) continues a keyset cursor.
    let last_key = rows.last().and_then(|row| row.first()).map(Cell::int);
    let users = rows
        .into_iter()
        .map(|row| (shape.decode)(tenant, row))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(UserPage {
        total,
        users,
        next_cursor: next_cursor(
            &store.cursors,
            tenant,
            &continuation,
            page_size,
            fetched_count,
            last_key,
        )?,
        start_index: None,
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
