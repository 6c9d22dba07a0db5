//! The one `Store` implementation, over either backend.

use crate::backend::{Backend, BackendError, Cell, Column, Row, Step, Written};
use crate::catalog;
use crate::sql::users::{
    PlannedQuery, USER_COLUMNS, UserColumns, next_cursor, plan_query, user_from_row,
};
use crate::sql::{SqlValue, Statement};
use scim::datetime::Timestamp;
use scimd_core::catalog::{Mapping, MappingChange, NewMapping, Profile, Storage};
use scimd_core::store::{Store, StoreError, StoreResult, UserPage, UserQuery};
use scimd_core::tenant::{Tenant, TenantId, TenantSlug};
use scimd_core::token::{NewToken, Token, TokenHash, TokenName};
use scimd_core::user::{Placement, User};

/// scimd's store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
}

impl From<BackendError> for StoreError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Unique(constraint) => StoreError::Conflict(constraint),
            BackendError::InUse(constraint) => StoreError::InUse(constraint),
            BackendError::Database(error) => StoreError::Backend(Box::new(error)),
        }
    }
}

const TENANT_COLUMNS: &str = "id, slug, name, created_at";
const TENANT_TYPES: &[Column] = &[Column::Int, Column::Text, Column::Text, Column::Int];
const TOKEN_COLUMNS: &str =
    "id, tenant_id, name, secret_hash, created_at, expires_at, revoked_at, last_used_at";
const TOKEN_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Bytes,
    Column::Int,
    Column::Int,
    Column::OptInt,
    Column::OptInt,
];
const USER_TYPES: &[Column] = &[
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Int,
    Column::Int,
    Column::OptText,
    Column::OptInt,
    Column::OptInt,
    Column::OptInt,
];

fn tenant_from(mut row: Row) -> StoreResult<Tenant> {
    let slug = TenantSlug::parse(&row[1].take_text())
        .map_err(|e| StoreError::Backend(e.to_string().into()))?;
    Ok(Tenant {
        id: TenantId(row[0].int()),
        slug,
        name: row[2].take_text(),
        created_at: Timestamp::from_millis(row[3].int()),
    })
}

fn token_from(mut row: Row) -> StoreResult<(Token, TokenHash)> {
    let name = TokenName::parse(&row[2].take_text())
        .map_err(|e| StoreError::Backend(e.to_string().into()))?;
    let hash: [u8; 32] = row[3]
        .bytes()
        .try_into()
        .map_err(|_| StoreError::Backend("a stored token hash is not 32 bytes".into()))?;
    let token = Token {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name,
        created_at: Timestamp::from_millis(row[4].int()),
        expires_at: Timestamp::from_millis(row[5].int()),
        revoked_at: row[6].opt_int().map(Timestamp::from_millis),
        last_used_at: row[7].opt_int().map(Timestamp::from_millis),
    };
    Ok((token, TokenHash(hash)))
}

fn user_from(tenant: TenantId, mut row: Row) -> StoreResult<(i64, User)> {
    let scim_id = row[1].take_text();
    let placement = match (row[6].opt_text(), row[7].opt_int(), row[8].opt_int()) {
        (Some(mapping), Some(profile_id), Some(storage_id)) => Some(Placement {
            mapping,
            profile_id,
            storage_id,
            quota_bytes: row[9].opt_int().and_then(|quota| u64::try_from(quota).ok()),
        }),
        _ => None,
    };
    let user = user_from_row(
        tenant,
        scim_id,
        &row[2].take_text(),
        row[3].int(),
        row[4].int(),
        row[5].int(),
        placement,
    )?;
    Ok((row[0].int(), user))
}

/// The values both the insert and the update of a user bind, as `$1` to `$10`: tenant, SCIM id,
/// userName, folded userName, externalId, active, resource, search copy, version, updated_at.
fn user_values(user: &User, columns: &UserColumns) -> Vec<SqlValue> {
    vec![
        SqlValue::Int(user.tenant_id.0),
        SqlValue::Text(user.id.clone()),
        SqlValue::Text(columns.user_name.clone()),
        SqlValue::Text(columns.user_name_ci.clone()),
        SqlValue::OptText(columns.external_id.clone()),
        SqlValue::Bool(columns.active),
        SqlValue::Text(columns.resource.clone()),
        SqlValue::Text(columns.resource_ci.clone()),
        SqlValue::Int(user.version),
        SqlValue::Int(user.updated_at.as_millis()),
    ]
}

impl SqlStore {
    pub(crate) async fn query(
        &self,
        statement: Statement,
        columns: &[Column],
    ) -> StoreResult<Vec<Row>> {
        Ok(self.backend.query(&statement, columns).await?)
    }

    pub(crate) async fn write(&self, steps: &[Step]) -> StoreResult<Written> {
        Ok(self.backend.write(steps).await?)
    }

    /// Runs the steps in one transaction and returns the first row that step `step` gave back
    /// through its `RETURNING` clause.
    pub(crate) async fn write_returning(&self, steps: &[Step], step: usize) -> StoreResult<Row> {
        let Written::Committed(rows) = self.write(steps).await? else {
            return Err(StoreError::Backend("an insert touched no row".into()));
        };
        rows.into_iter()
            .nth(step)
            .and_then(|rows| rows.into_iter().next())
            .ok_or_else(|| StoreError::Backend("a RETURNING clause returned no row".into()))
    }

    /// The email side rows of a user, replaced in the same transaction as the user.
    fn email_steps(&self, user: &User, columns: &UserColumns) -> Vec<Step> {
        let mut steps = vec![Step::run(
            "DELETE FROM user_emails WHERE user_pk = (SELECT pk FROM users WHERE scim_id = $1)",
            vec![SqlValue::Text(user.id.clone())],
        )];
        steps.extend(columns.emails_ci.iter().map(|email| {
            Step::run(
                "INSERT INTO user_emails (user_pk, tenant_id, value_ci) \
                 SELECT pk, tenant_id, $2 FROM users WHERE scim_id = $1",
                vec![
                    SqlValue::Text(user.id.clone()),
                    SqlValue::Text(email.clone()),
                ],
            )
        }));
        steps
    }
}

impl Store for SqlStore {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant> {
        let step = Step::run(
            format!("INSERT INTO tenants (slug, name, created_at) VALUES ($1, $2, $3) RETURNING {TENANT_COLUMNS}"),
            vec![SqlValue::Text(slug.as_str().into()), SqlValue::Text(name.into()), SqlValue::Int(now.as_millis())],
        )
        .returning(TENANT_TYPES);
        tenant_from(self.write_returning(&[step], 0).await?)
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        let statement = Statement::new(
            format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"),
            vec![SqlValue::Text(slug.as_str().into())],
        );
        self.query(statement, TENANT_TYPES)
            .await?
            .into_iter()
            .next()
            .map(tenant_from)
            .transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let statement = Statement::new(
            format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY slug"),
            vec![],
        );
        self.query(statement, TENANT_TYPES)
            .await?
            .into_iter()
            .map(tenant_from)
            .collect()
    }

    async fn insert_token(&self, token: &NewToken) -> StoreResult<Token> {
        let retire = Step::run(
            "UPDATE tokens SET revoked_at = $3 \
             WHERE tenant_id = $1 AND name = $2 AND (revoked_at IS NULL OR revoked_at > $3)",
            vec![
                SqlValue::Int(token.tenant_id.0),
                SqlValue::Text(token.name.as_str().into()),
                SqlValue::Int(token.previous_revoked_at.as_millis()),
            ],
        );
        let insert = Step::run(
            format!(
                "INSERT INTO tokens (tenant_id, name, secret_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
            ),
            vec![
                SqlValue::Int(token.tenant_id.0),
                SqlValue::Text(token.name.as_str().into()),
                SqlValue::Bytes(token.hash.0.to_vec()),
                SqlValue::Int(token.created_at.as_millis()),
                SqlValue::Int(token.expires_at.as_millis()),
            ],
        )
        .returning(TOKEN_TYPES);
        Ok(token_from(self.write_returning(&[retire, insert], 1).await?)?.0)
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<(Token, TokenHash)>> {
        let statement = Statement::new(
            format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = $1"),
            vec![SqlValue::Bytes(hash.0.to_vec())],
        );
        self.query(statement, TOKEN_TYPES)
            .await?
            .into_iter()
            .next()
            .map(token_from)
            .transpose()
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        let step = Step::run(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
            vec![SqlValue::Int(id), SqlValue::Int(now.as_millis())],
        );
        self.write(&[step]).await.map(drop)
    }

    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<Token>> {
        let statement = Statement::new(
            format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = $1 ORDER BY name, created_at"
            ),
            vec![SqlValue::Int(tenant.0)],
        );
        self.query(statement, TOKEN_TYPES)
            .await?
            .into_iter()
            .map(|row| token_from(row).map(|(t, _)| t))
            .collect()
    }

    async fn revoke_token(
        &self,
        tenant: TenantId,
        name: &TokenName,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let step = Step::run(
            "UPDATE tokens SET revoked_at = $3 \
             WHERE tenant_id = $1 AND name = $2 AND (revoked_at IS NULL OR revoked_at > $3)",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(name.as_str().into()),
                SqlValue::Int(now.as_millis()),
            ],
        )
        .must_affect();
        Ok(matches!(self.write(&[step]).await?, Written::Committed(_)))
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let columns = UserColumns::of(user);
        let placement = user.placement.as_ref();
        let search = self.backend.dialect().search_document("$8");
        let mut values = user_values(user, &columns);
        values.extend([
            SqlValue::Int(user.created_at.as_millis()),
            SqlValue::OptText(placement.map(|p| p.mapping.clone())),
            SqlValue::OptInt(placement.map(|p| p.profile_id)),
            SqlValue::OptInt(placement.map(|p| p.storage_id)),
            SqlValue::OptInt(
                placement
                    .and_then(|p| p.quota_bytes)
                    .map(|q| i64::try_from(q).unwrap_or(i64::MAX)),
            ),
        ]);
        let insert = Step::run(
            format!(
                "INSERT INTO users (tenant_id, scim_id, user_name, user_name_ci, external_id, active, \
                 resource, resource_ci, version, updated_at, created_at, \
                 mapping_name, profile_id, storage_id, quota_bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, {search}, $9, $10, $11, $12, $13, $14, $15)"
            ),
            values,
        );
        let mut steps = vec![insert];
        steps.extend(self.email_steps(user, &columns).into_iter().skip(1));
        self.write(&steps).await.map(drop)
    }

    async fn get_user(&self, tenant: TenantId, id: &str) -> StoreResult<Option<User>> {
        let statement = Statement::new(
            format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.scim_id = $2 AND u.deleted_at IS NULL"
            ),
            vec![SqlValue::Int(tenant.0), SqlValue::Text(id.to_owned())],
        );
        let row = self.query(statement, USER_TYPES).await?.into_iter().next();
        row.map(|row| user_from(tenant, row).map(|(_, user)| user))
            .transpose()
    }

    async fn update_user(&self, user: &User, expected_version: i64) -> StoreResult<()> {
        let columns = UserColumns::of(user);
        let search = self.backend.dialect().search_document("$8");
        let mut values = user_values(user, &columns);
        values.push(SqlValue::Int(expected_version));
        let update = Step::run(
            format!(
                "UPDATE users SET user_name = $3, user_name_ci = $4, external_id = $5, active = $6, \
                 resource = $7, resource_ci = {search}, version = $9, updated_at = $10 \
                 WHERE tenant_id = $1 AND scim_id = $2 AND version = $11 AND deleted_at IS NULL"
            ),
            values,
        )
        .must_affect();
        let mut steps = vec![update];
        steps.extend(self.email_steps(user, &columns));
        match self.write(&steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet => Err(StoreError::VersionMismatch),
        }
    }

    async fn delete_user(
        &self,
        tenant: TenantId,
        id: &str,
        expected_version: i64,
        now: Timestamp,
    ) -> StoreResult<()> {
        let retire = Step::run(
            "UPDATE users SET deleted_at = $4, version = version + 1, updated_at = $4 \
             WHERE tenant_id = $1 AND scim_id = $2 AND version = $3 AND deleted_at IS NULL",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(id.to_owned()),
                SqlValue::Int(expected_version),
                SqlValue::Int(now.as_millis()),
            ],
        )
        .must_affect();
        let emails = Step::run(
            "DELETE FROM user_emails WHERE user_pk = (SELECT pk FROM users WHERE scim_id = $1)",
            vec![SqlValue::Text(id.to_owned())],
        );
        match self.write(&[retire, emails]).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet => Err(StoreError::VersionMismatch),
        }
    }

    async fn query_users(&self, tenant: TenantId, query: &UserQuery) -> StoreResult<UserPage> {
        let PlannedQuery {
            count,
            rows,
            page_size,
            continuation,
        } = plan_query(self.backend.dialect(), tenant, query)?;
        let total = self
            .query(count, &[Column::Int])
            .await?
            .first()
            .and_then(|row| row.first())
            .map_or(0, Cell::int);
        let Some(rows) = rows else {
            return Ok(UserPage {
                total: u64::try_from(total).unwrap_or(0),
                ..UserPage::default()
            });
        };
        let fetched = self.query(rows, USER_TYPES).await?;
        let fetched_count = fetched.len();
        let mut users = Vec::with_capacity(fetched_count);
        let mut last_key = None;
        for row in fetched.into_iter().take(page_size as usize) {
            let (key, user) = user_from(tenant, row)?;
            last_key = Some(key);
            users.push(user);
        }
        Ok(UserPage {
            total: u64::try_from(total).unwrap_or(0),
            users,
            next_cursor: next_cursor(&continuation, page_size, fetched_count, last_key),
            start_index: None,
        })
    }

    async fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        max_users: u32,
        now: Timestamp,
    ) -> StoreResult<Profile> {
        catalog::create_profile(self, tenant, name, max_users, now).await
    }

    async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>> {
        catalog::list_profiles(self, tenant).await
    }

    async fn delete_profile(&self, tenant: TenantId, name: &str) -> StoreResult<bool> {
        catalog::delete_profile(self, tenant, name).await
    }

    async fn create_storage(
        &self,
        tenant: TenantId,
        name: &str,
        region: &str,
        now: Timestamp,
    ) -> StoreResult<Storage> {
        catalog::create_storage(self, tenant, name, region, now).await
    }

    async fn list_storages(&self, tenant: TenantId) -> StoreResult<Vec<Storage>> {
        catalog::list_storages(self, tenant).await
    }

    async fn create_mapping(&self, mapping: &NewMapping) -> StoreResult<Mapping> {
        catalog::create_mapping(self, mapping).await
    }

    async fn list_mappings(&self, tenant: TenantId) -> StoreResult<Vec<Mapping>> {
        catalog::list_mappings(self, tenant).await
    }

    async fn update_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        change: &MappingChange,
        now: Timestamp,
    ) -> StoreResult<bool> {
        catalog::update_mapping(self, tenant, name, change, now).await
    }

    async fn set_mapping_priorities(
        &self,
        tenant: TenantId,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<()> {
        catalog::set_mapping_priorities(self, tenant, moves).await
    }

    async fn delete_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<bool> {
        catalog::delete_mapping(self, tenant, name, moves).await
    }

    async fn count_profile_users(&self, tenant: TenantId, profile_id: i64) -> StoreResult<u64> {
        let statement = Statement::new(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND profile_id = $2 AND deleted_at IS NULL",
            vec![SqlValue::Int(tenant.0), SqlValue::Int(profile_id)],
        );
        let rows = self.query(statement, &[Column::Int]).await?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .map_or(0, |cell| u64::try_from(cell.int()).unwrap_or(0)))
    }

    async fn ping(&self) -> StoreResult<()> {
        self.query(Statement::new("SELECT 1", vec![]), &[Column::Int])
            .await
            .map(drop)
    }
}
