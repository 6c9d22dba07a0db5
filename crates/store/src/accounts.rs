//! Accounts (the users table) on either backend: every write is one transaction that also
//! records its activity event.

use crate::activity::event_step;
use crate::backend::{Cell, Column, Row, Step, Written};
use crate::mail::mail_step;
use crate::sql::users::{
    PlannedQuery, USER_COLUMNS, UserColumns, emails_ci, next_cursor, plan_query,
};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::activity::Event;
use scimd_core::lifecycle::{AccountState, ManagedBy};
use scimd_core::mail::Mail;
use scimd_core::store::{
    AccountCounts, AccountMove, AccountQuery, AccountStore, StateFilter, StoreError, StoreResult,
    UserPage, UserQuery,
};
use scimd_core::tenant::TenantId;
use scimd_core::user::{AccountProfile, Connection, Placement, StoredUser, User};
use serde_json::{Map, Value};

const USER_TYPES: &[Column] = &[
    Column::Int,
    Column::OptText,
    Column::Text,
    Column::Int,
    Column::Int,
    Column::Int,
    Column::OptText,
    Column::OptInt,
    Column::OptInt,
    Column::OptInt,
    Column::Text,
    Column::OptText,
    Column::OptInt,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::OptText,
    Column::OptText,
    Column::OptText,
];

/// What a read of users selects, and how its rows decode: whole accounts, or stored
/// documents for a response that shows them as they are. Both select `u.pk` first.
struct Shape<U> {
    columns: &'static str,
    types: &'static [Column],
    decode: fn(TenantId, Row) -> StoreResult<U>,
}

const ACCOUNTS: Shape<User> = Shape {
    columns: USER_COLUMNS,
    types: USER_TYPES,
    decode: user_from,
};

/// The first six of [`USER_COLUMNS`]: what a rendering needs.
const STORED: Shape<StoredUser> = Shape {
    columns: "u.pk, u.scim_id, u.resource, u.version, u.created_at, u.updated_at",
    types: USER_TYPES.split_at(6).0,
    decode: stored_from,
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored account has an invalid {what}").into())
}

fn user_from(tenant: TenantId, mut row: Row) -> StoreResult<User> {
    let resource: Map<String, Value> = serde_json::from_str(&row[2].take_text())
        .map_err(|error| StoreError::Backend(Box::new(error)))?;
    let placement = match (row[7].opt_int(), row[8].opt_int()) {
        (Some(profile_id), Some(storage_id)) => Some(Placement {
            mapping: row[6].opt_text(),
            moved_by: row[16].opt_text(),
            profile_id,
            storage_id,
            quota_bytes: row[9].opt_int().and_then(|quota| u64::try_from(quota).ok()),
        }),
        _ => None,
    };
    let preserved_by = row[11].opt_text();
    let state = AccountState::from_columns(&row[10].take_text(), preserved_by.as_deref())
        .ok_or_else(|| corrupt("state"))?;
    let managed_by = ManagedBy::parse(&row[13].take_text()).ok_or_else(|| corrupt("manager"))?;
    Ok(User {
        tenant_id: tenant,
        key: row[0].int(),
        scim_id: row[1].opt_text(),
        resource,
        version: row[3].int(),
        created_at: Timestamp::from_millis(row[4].int()),
        updated_at: Timestamp::from_millis(row[5].int()),
        state,
        preserved_at: row[12].opt_int().map(Timestamp::from_millis),
        managed_by,
        profile: AccountProfile {
            display_name: row[14].take_text(),
            upn: row[15].take_text(),
        },
        placement,
        connection: match (row[17].opt_text(), row[18].opt_text()) {
            (Some(token), Some(idp)) => Some(Connection { token, idp }),
            _ => None,
        },
    })
}

fn stored_from(_tenant: TenantId, mut row: Row) -> StoreResult<StoredUser> {
    Ok(StoredUser {
        key: row[0].int(),
        scim_id: row[1].take_text(),
        document: row[2].take_text(),
        version: row[3].int(),
        created_at: Timestamp::from_millis(row[4].int()),
        updated_at: Timestamp::from_millis(row[5].int()),
    })
}

/// The values both the insert and the update bind, as `$1` to `$18`. The serialised
/// documents move into them (they are the bulk of a write); the rest of `columns` stays.
fn user_values(user: &User, columns: &mut UserColumns) -> Vec<SqlValue> {
    vec![
        SqlValue::Int(user.tenant_id.0),
        SqlValue::OptText(user.scim_id.clone()),
        SqlValue::Text(std::mem::take(&mut columns.user_name)),
        SqlValue::Text(columns.user_name_ci.clone()),
        SqlValue::OptText(columns.external_id.take()),
        SqlValue::Bool(user.state.is_active()),
        SqlValue::Text(std::mem::take(&mut columns.resource)),
        SqlValue::Text(std::mem::take(&mut columns.resource_ci)),
        SqlValue::Int(user.version),
        SqlValue::Int(user.updated_at.as_millis()),
        SqlValue::Text(user.state.name().into()),
        SqlValue::OptText(user.state.preserved_by().map(|by| by.as_str().into())),
        SqlValue::OptInt(user.preserved_at.map(Timestamp::as_millis)),
        SqlValue::Text(user.managed_by.as_str().into()),
        SqlValue::Text(user.profile.display_name.clone()),
        SqlValue::Text(user.profile.upn.clone()),
        SqlValue::OptText(user.connection.as_ref().map(|c| c.token.clone())),
        SqlValue::OptText(user.connection.as_ref().map(|c| c.idp.clone())),
    ]
}

/// The account's email rows, as steps after the account's own: `key` selects it.
fn email_steps(key: (&str, Vec<SqlValue>), columns: &UserColumns) -> Vec<Step> {
    let (selector, key_values) = key;
    let placeholder = key_values.len() + 1;
    let mut steps = vec![Step::run(
        format!("DELETE FROM user_emails WHERE user_pk = (SELECT pk FROM users WHERE {selector})"),
        key_values.clone(),
    )];
    steps.extend(columns.emails_ci.iter().map(|email| {
        let mut values = key_values.clone();
        values.push(SqlValue::Text(email.clone()));
        Step::run(
            format!(
                "INSERT INTO user_emails (user_pk, tenant_id, value_ci) \
                 SELECT pk, tenant_id, ${placeholder} FROM users WHERE {selector}"
            ),
            values,
        )
    }));
    steps
}

/// The insert of one account (its first step returns the new key), its emails and its event.
fn insert_steps(store: &SqlStore, user: &User, event: &Event) -> StoreResult<Vec<Step>> {
    let mut columns = UserColumns::of(user)?;
    let placement = user.placement.as_ref();
    let search = store.backend.dialect().search_document("$8");
    let mut values = user_values(user, &mut columns);
    values.extend([
        SqlValue::Int(user.created_at.as_millis()),
        SqlValue::OptText(placement.and_then(|p| p.mapping.clone())),
        SqlValue::OptInt(placement.map(|p| p.profile_id)),
        SqlValue::OptInt(placement.map(|p| p.storage_id)),
        SqlValue::OptInt(
            placement
                .and_then(|p| p.quota_bytes)
                .map(|q| i64::try_from(q).unwrap_or(i64::MAX)),
        ),
        SqlValue::OptText(placement.and_then(|p| p.moved_by.clone())),
    ]);
    // The profile's capacity is checked in the insert itself, after locking the profile row:
    // two creates racing for its last place are serialised, and the second finds it full.
    let insert = Step::run(
        format!(
            "INSERT INTO users (tenant_id, scim_id, user_name, user_name_ci, external_id, active, \
             resource, resource_ci, version, updated_at, state, preserved_by, preserved_at, \
             managed_by, display_name, upn, idp_token, idp_client, created_at, mapping_name, \
             profile_id, storage_id, quota_bytes, moved_by) \
             SELECT $1, $2, $3, $4, $5, $6, $7, {search}, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24 \
             WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = $21 AND p.max_users > 0 \
               AND p.user_count >= p.max_users) \
             RETURNING pk"
        ),
        values,
    )
    .returning(&[Column::Int])
    .must_affect();
    let by_email = (
        "tenant_id = $1 AND user_name_ci = $2",
        vec![
            SqlValue::Int(user.tenant_id.0),
            SqlValue::Text(columns.user_name_ci.clone()),
        ],
    );
    let lock = placement.map(|placement| {
        let select = "SELECT id FROM profiles WHERE id = $1";
        Step::run(
            store.backend.dialect().locking(select),
            vec![SqlValue::Int(placement.profile_id)],
        )
        .returning(&[Column::Int])
    });
    let mut steps: Vec<Step> = lock.into_iter().collect();
    steps.push(insert);
    // A new account has no email rows to clear.
    steps.extend(email_steps(by_email, &columns).into_iter().skip(1));
    steps.push(event_step(event));
    Ok(steps)
}

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

async fn query_page<U>(
    store: &SqlStore,
    tenant: TenantId,
    query: &UserQuery,
    shape: &Shape<U>,
) -> StoreResult<UserPage<U>> {
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

impl AccountStore for SqlStore {
    async fn insert_user(&self, user: &User, event: &Event) -> StoreResult<i64> {
        self.insert_user_mailing(user, event, &[]).await
    }

    async fn insert_user_mailing(
        &self,
        user: &User,
        event: &Event,
        mails: &[Mail],
    ) -> StoreResult<i64> {
        let mut steps = insert_steps(self, user, event)?;
        steps.extend(mails.iter().map(|mail| mail_step(mail, user.created_at)));
        let insert = usize::from(user.placement.is_some());
        match self.write(steps).await? {
            Written::Committed(rows) => rows
                .get(insert)
                .and_then(|rows| rows.first())
                .map(|row| row[0].int())
                .ok_or_else(|| StoreError::Backend("the insert returned no key".into())),
            Written::Unmet { .. } => Err(StoreError::ProfileFull),
        }
    }

    async fn insert_users(&self, accounts: &[(User, Event)]) -> StoreResult<()> {
        let mut steps = Vec::new();
        for (user, event) in accounts {
            steps.extend(insert_steps(self, user, event)?);
        }
        match self.write(steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::ProfileFull),
        }
    }

    async fn get_user(&self, tenant: TenantId, scim_id: &str) -> StoreResult<Option<User>> {
        one_user(
            self,
            tenant,
            &ACCOUNTS,
            "u.scim_id = $2",
            scim_id.to_owned(),
        )
        .await
    }

    async fn stored_user(
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

    async fn update_user(&self, current: &User, user: &User, event: &Event) -> StoreResult<()> {
        let expected_version = current.version;
        let mut columns = UserColumns::of(user)?;
        let search = self.backend.dialect().search_document("$8");
        let mut values = user_values(user, &mut columns);
        values.extend([SqlValue::Int(user.key), SqlValue::Int(expected_version)]);
        // SQLite rewrites the entry of every index whose column the SET names, changed or not: a
        // dirty page, a WAL frame and a checkpoint copy per index per write. So the indexed
        // columns (the ids and the userName) are named only when they change; most updates
        // leave all three.
        let mut indexed = String::new();
        if current.scim_id != user.scim_id {
            indexed.push_str("scim_id = $2, ");
        }
        if current.user_name() != user.user_name() {
            indexed.push_str("user_name = $3, user_name_ci = $4, ");
        }
        if current.external_id() != user.external_id() {
            indexed.push_str("external_id = $5, ");
        }
        let update = Step::run(
            format!(
                "UPDATE users SET {indexed}active = $6, resource = $7, resource_ci = {search}, \
                 version = $9, updated_at = $10, state = $11, preserved_by = $12, \
                 preserved_at = $13, managed_by = $14, display_name = $15, upn = $16, \
                 idp_token = $17, idp_client = $18 \
                 WHERE tenant_id = $1 AND pk = $19 AND version = $20"
            ),
            values,
        )
        .must_affect();
        let mut steps = vec![update];
        // The email rows are those of `current` (the version check makes sure of it): rewritten
        // only when the addresses changed, since most updates leave them and rewriting them
        // dirtied a table and two index pages per write.
        if emails_ci(current) != columns.emails_ci {
            let by_key = ("pk = $1", vec![SqlValue::Int(user.key)]);
            steps.extend(email_steps(by_key, &columns));
        }
        steps.push(event_step(event));
        match self.write(steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn move_users(&self, to_profile: i64, moves: &[AccountMove]) -> StoreResult<()> {
        let arriving = moves.iter().filter(|m| m.arrives()).count();
        // The room check locks the profile row, as a create's insert does: a create and a move, or
        // two moves, racing for its last places are serialised and the second finds it full.
        let room = Step::run(
            self.backend.dialect().locking(
                "SELECT id FROM profiles WHERE id = $1 AND (max_users = 0 OR user_count + $2 <= max_users)",
            ),
            vec![
                SqlValue::Int(to_profile),
                SqlValue::Int(i64::try_from(arriving).unwrap_or(i64::MAX)),
            ],
        )
        .returning(&[Column::Int])
        .must_affect();
        let mut steps = vec![room];
        for AccountMove { current, to, event } in moves {
            let quota = |placement: Option<&Placement>| {
                let quota = placement.and_then(|p| p.quota_bytes);
                SqlValue::OptInt(quota.map(|q| i64::try_from(q).unwrap_or(i64::MAX)))
            };
            let mut values = vec![
                SqlValue::Int(to.profile_id),
                SqlValue::Int(to.storage_id),
                quota(Some(to)),
                SqlValue::OptText(to.moved_by.clone()),
                SqlValue::Int(current.tenant_id.0),
                SqlValue::Int(current.key),
            ];
            // Only from where the admin saw the account: a move that raced it changes nothing.
            let was = match &current.placement {
                Some(placement) => {
                    values.extend([
                        SqlValue::Int(placement.profile_id),
                        SqlValue::Int(placement.storage_id),
                        quota(Some(placement)),
                    ]);
                    "profile_id = $7 AND storage_id = $8 AND COALESCE(quota_bytes, -1) = COALESCE($9, -1)"
                }
                None => "profile_id IS NULL",
            };
            steps.push(
                Step::run(
                    format!(
                        "UPDATE users SET profile_id = $1, storage_id = $2, quota_bytes = $3, \
                         moved_by = $4 WHERE tenant_id = $5 AND pk = $6 AND {was}"
                    ),
                    values,
                )
                .must_affect(),
            );
            steps.push(event_step(event));
        }
        match self.write(steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { step: 0 } => Err(StoreError::ProfileFull),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn destroy_user(&self, user: &User, event: &Event) -> StoreResult<()> {
        let emails = Step::run(
            "DELETE FROM user_emails WHERE user_pk = $1",
            vec![SqlValue::Int(user.key)],
        );
        let destroy = Step::run(
            "DELETE FROM users WHERE tenant_id = $1 AND pk = $2 AND version = $3",
            vec![
                SqlValue::Int(user.tenant_id.0),
                SqlValue::Int(user.key),
                SqlValue::Int(user.version),
            ],
        )
        .must_affect();
        match self.write(vec![emails, destroy, event_step(event)]).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn query_users(&self, tenant: TenantId, query: &UserQuery) -> StoreResult<UserPage> {
        query_page(self, tenant, query, &ACCOUNTS).await
    }

    async fn query_stored_users(
        &self,
        tenant: TenantId,
        query: &UserQuery,
    ) -> StoreResult<UserPage<StoredUser>> {
        query_page(self, tenant, query, &STORED).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_user_reads_the_first_columns_of_an_account() {
        assert!(USER_COLUMNS.starts_with("u.pk, "));
        assert!(USER_COLUMNS.starts_with(STORED.columns));
        assert_eq!(STORED.columns.split(", ").count(), STORED.types.len());
    }
}
