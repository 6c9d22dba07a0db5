//! The one `Store` implementation, over either backend.

use crate::backend::{Backend, BackendError, Column, Row, Step, Written};
use crate::cursor_seal::CursorSeal;
use crate::sql::{SqlValue, Statement};
use crate::tenant_shares::TenantShares;
use crate::{accounts, activity, admins, catalog, mail};
use scim::datetime::Timestamp;
use scimd_core::activity::{Event, EventQuery};
use scimd_core::admin::{AdminAccount, AdminSession, ApiKeyInfo, NewAdmin};
use scimd_core::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Storage, StorageChange,
};
use scimd_core::mail::{Mail, MailCounts, MailOutcome, QueuedMail};
use scimd_core::store::{
    AccountCounts, AccountMove, AccountQuery, Store, StoreError, StoreResult, UserPage, UserQuery,
};
use scimd_core::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};
use scimd_core::token::{FoundToken, NewToken, SecretHash, Token, TokenHash, TokenName};
use scimd_core::user::{StoredUser, User};
use std::sync::Arc;

/// scimd's store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
    shares: Arc<TenantShares>,
    pub(crate) cursors: Arc<CursorSeal>,
}

impl SqlStore {
    /// The store over an opened (migrated) backend, with the database's cursor key.
    pub(crate) async fn open(backend: Backend) -> StoreResult<Self> {
        let cursors = Arc::new(CursorSeal::of_database(&backend).await?);
        let shares = Arc::new(TenantShares::new(backend.long_readers()));
        Ok(Self {
            backend,
            shares,
            cursors,
        })
    }

    /// Leaves the database complete on disk once the last request is answered: on SQLite the
    /// write-ahead log is copied into the database file and emptied, so that the stopped
    /// database is its one file.
    pub async fn close(&self) -> StoreResult<()> {
        Ok(self.backend.close().await?)
    }
}

impl From<BackendError> for StoreError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Unique(constraint) => StoreError::Conflict(constraint),
            BackendError::InUse(constraint) => StoreError::InUse(constraint),
            BackendError::Database(error) => StoreError::Backend(Box::new(error)),
            BackendError::Sqlite(error) => StoreError::Backend(error.into()),
        }
    }
}

const TENANT_COLUMNS: &str = "id, slug, name, created_at, provisioning";
const TENANT_TYPES: &[Column] = &[
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
];
const TOKEN_COLUMNS: &str =
    "id, tenant_id, name, secret_hash, created_at, expires_at, revoked_at, last_used_at";
const TOKEN_TYPES: &[Column] = TOKEN_WITH_TENANT_TYPES.split_at(8).0;
/// A token by its hash, with its tenant's slug and provisioning method: [`TOKEN_COLUMNS`], then
/// those two.
const TOKEN_WITH_TENANT: &str = "SELECT k.id, k.tenant_id, k.name, k.secret_hash, k.created_at, \
     k.expires_at, k.revoked_at, k.last_used_at, t.slug, t.provisioning \
     FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.secret_hash = $1";
const TOKEN_WITH_TENANT_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Bytes,
    Column::Int,
    Column::Int,
    Column::OptInt,
    Column::OptInt,
    Column::Text,
    Column::Text,
];

fn tenant_from(mut row: Row) -> StoreResult<Tenant> {
    let slug = TenantSlug::parse(&row[1].take_text())
        .map_err(|e| StoreError::Backend(e.to_string().into()))?;
    Ok(Tenant {
        id: TenantId(row[0].int()),
        slug,
        name: row[2].take_text(),
        created_at: Timestamp::from_millis(row[3].int()),
        provisioning: provisioning_from(&row[4].take_text())?,
    })
}

fn provisioning_from(text: &str) -> StoreResult<ProvisioningMethod> {
    ProvisioningMethod::parse(text).map_err(|e| StoreError::Backend(e.to_string().into()))
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
    Ok((token, SecretHash(hash)))
}

impl SqlStore {
    pub(crate) async fn query(
        &self,
        statement: Statement,
        columns: &[Column],
    ) -> StoreResult<Vec<Row>> {
        Ok(self.backend.query(&statement, columns).await?)
    }

    /// Reads that must agree, such as a count and its page (see [`Backend::query_many`]).
    pub(crate) async fn query_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        Ok(self.backend.query_many(reads).await?)
    }

    /// [`Self::query_many`] for a long read of `tenant` (a list page, a filter), within the
    /// tenant's fair share of the readers.
    pub(crate) async fn query_many_for(
        &self,
        tenant: TenantId,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        let _turn = self.shares.turn(tenant).await?;
        self.query_many(reads).await
    }

    /// Point reads that must agree, run like a lookup (see [`Backend::lookup_many`]).
    pub(crate) async fn lookup_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        Ok(self.backend.lookup_many(reads).await?)
    }

    /// A read of a few rows through an index (see [`Backend::lookup`]).
    pub(crate) async fn lookup(
        &self,
        statement: Statement,
        columns: &[Column],
    ) -> StoreResult<Vec<Row>> {
        Ok(self.backend.lookup(&statement, columns).await?)
    }

    pub(crate) async fn write(&self, steps: Vec<Step>) -> StoreResult<Written> {
        Ok(self.backend.write(steps).await?)
    }

    /// Runs the steps in one transaction and returns the first row that step `step` gave back
    /// through its `RETURNING` clause.
    pub(crate) async fn write_returning(&self, steps: Vec<Step>, step: usize) -> StoreResult<Row> {
        let Written::Committed(rows) = self.write(steps).await? else {
            return Err(StoreError::Backend("an insert touched no row".into()));
        };
        rows.into_iter()
            .nth(step)
            .and_then(|rows| rows.into_iter().next())
            .ok_or_else(|| StoreError::Backend("a RETURNING clause returned no row".into()))
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
        tenant_from(self.write_returning(vec![step], 0).await?)
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        let statement = Statement::new(
            format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"),
            vec![SqlValue::Text(slug.as_str().into())],
        );
        self.lookup(statement, TENANT_TYPES)
            .await?
            .into_iter()
            .next()
            .map(tenant_from)
            .transpose()
    }

    async fn set_provisioning(
        &self,
        tenant: TenantId,
        method: ProvisioningMethod,
    ) -> StoreResult<bool> {
        let step = Step::run(
            "UPDATE tenants SET provisioning = $2 WHERE id = $1",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(method.as_str().into()),
            ],
        )
        .must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            Written::Committed(_)
        ))
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
        Ok(token_from(self.write_returning(vec![retire, insert], 1).await?)?.0)
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<FoundToken>> {
        // The tenant comes with the token, in the one indexed read every SCIM request makes.
        let statement = Statement::new(TOKEN_WITH_TENANT, vec![SqlValue::Bytes(hash.0.to_vec())]);
        let Some(mut row) = self
            .lookup(statement, TOKEN_WITH_TENANT_TYPES)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let provisioning = provisioning_from(&row[9].take_text())?;
        let tenant_slug = TenantSlug::parse(&row[8].take_text())
            .map_err(|e| StoreError::Backend(e.to_string().into()))?;
        let (token, hash) = token_from(row)?;
        Ok(Some(FoundToken {
            token,
            hash,
            tenant_slug,
            provisioning,
        }))
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        let step = Step::run(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
            vec![SqlValue::Int(id), SqlValue::Int(now.as_millis())],
        );
        self.write(vec![step]).await.map(drop)
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
        Ok(matches!(
            self.write(vec![step]).await?,
            Written::Committed(_)
        ))
    }

    async fn insert_user(&self, user: &User, event: &Event) -> StoreResult<i64> {
        accounts::insert_user(self, user, event, &[]).await
    }

    async fn insert_user_mailing(
        &self,
        user: &User,
        event: &Event,
        mails: &[Mail],
    ) -> StoreResult<i64> {
        accounts::insert_user(self, user, event, mails).await
    }

    async fn insert_users(&self, accounts: &[(User, Event)]) -> StoreResult<()> {
        accounts::insert_users(self, accounts).await
    }

    async fn get_user(&self, tenant: TenantId, scim_id: &str) -> StoreResult<Option<User>> {
        accounts::get_user(self, tenant, scim_id).await
    }

    async fn stored_user(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> StoreResult<Option<StoredUser>> {
        accounts::stored_user(self, tenant, scim_id).await
    }

    async fn user_by_email(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        accounts::user_by_email(self, tenant, email).await
    }

    async fn update_user(&self, current: &User, next: &User, event: &Event) -> StoreResult<()> {
        accounts::update_user(self, current, next, event).await
    }

    async fn move_users(&self, to_profile: i64, moves: &[AccountMove]) -> StoreResult<()> {
        accounts::move_users(self, to_profile, moves).await
    }

    async fn destroy_user(&self, user: &User, event: &Event) -> StoreResult<()> {
        accounts::destroy_user(self, user, event).await
    }

    async fn query_users(&self, tenant: TenantId, query: &UserQuery) -> StoreResult<UserPage> {
        accounts::query_users(self, tenant, query).await
    }

    async fn query_stored_users(
        &self,
        tenant: TenantId,
        query: &UserQuery,
    ) -> StoreResult<UserPage<StoredUser>> {
        accounts::query_stored_users(self, tenant, query).await
    }

    async fn list_accounts(
        &self,
        tenant: TenantId,
        query: &AccountQuery,
    ) -> StoreResult<Vec<User>> {
        accounts::list_accounts(self, tenant, query).await
    }

    async fn count_accounts(&self, tenant: TenantId) -> StoreResult<AccountCounts> {
        accounts::count_accounts(self, tenant).await
    }

    async fn count_events(&self, tenant: TenantId, query: &EventQuery) -> StoreResult<u64> {
        activity::count_events(self, tenant, query).await
    }

    async fn record_event(&self, event: &Event) -> StoreResult<()> {
        activity::record_event(self, event).await
    }

    async fn delete_events_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<u64> {
        activity::delete_events_before(self, tenant, before, limit).await
    }

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> StoreResult<Vec<Event>> {
        activity::list_events(self, tenant, query).await
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

    async fn update_profile(
        &self,
        tenant: TenantId,
        name: &str,
        change: &ProfileChange,
    ) -> StoreResult<bool> {
        catalog::update_profile(self, tenant, name, change).await
    }

    async fn update_storage(
        &self,
        tenant: TenantId,
        name: &str,
        change: &StorageChange,
    ) -> StoreResult<bool> {
        catalog::update_storage(self, tenant, name, change).await
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
        accounts::count_profile_users(self, tenant, profile_id).await
    }

    async fn create_admin(&self, admin: &NewAdmin) -> StoreResult<AdminAccount> {
        admins::create_admin(self, admin).await
    }

    async fn admin_by_email(&self, email: &str) -> StoreResult<Option<(AdminAccount, String)>> {
        admins::admin_by_email(self, email).await
    }

    async fn admin_by_id(&self, id: i64) -> StoreResult<Option<AdminAccount>> {
        admins::admin_by_id(self, id).await
    }

    async fn record_failed_sign_in(
        &self,
        admin_id: i64,
        lock_after: u32,
        lock_until: Timestamp,
    ) -> StoreResult<()> {
        admins::record_failed_sign_in(self, admin_id, lock_after, lock_until).await
    }

    async fn clear_sign_in_failures(&self, admin_id: i64, now: Timestamp) -> StoreResult<bool> {
        admins::clear_sign_in_failures(self, admin_id, now).await
    }

    async fn create_session(&self, session: &AdminSession) -> StoreResult<()> {
        admins::create_session(self, session).await
    }

    async fn session_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<AdminSession>> {
        admins::session_by_hash(self, hash).await
    }

    async fn touch_session(&self, hash: &SecretHash, now: Timestamp) -> StoreResult<()> {
        admins::touch_session(self, hash, now).await
    }

    async fn delete_session(&self, hash: &SecretHash) -> StoreResult<()> {
        admins::delete_session(self, hash).await
    }

    async fn create_api_key(
        &self,
        admin_id: i64,
        name: &str,
        hash: &SecretHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        admins::create_api_key(self, admin_id, name, hash, now, expires_at).await
    }

    async fn admin_by_api_key(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> StoreResult<Option<AdminAccount>> {
        admins::admin_by_api_key(self, hash, now).await
    }

    async fn list_api_keys(&self, admin_id: Option<i64>) -> StoreResult<Vec<ApiKeyInfo>> {
        admins::list_api_keys(self, admin_id).await
    }

    async fn set_admin_disabled(
        &self,
        admin_id: i64,
        disabled_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        admins::set_admin_disabled(self, admin_id, disabled_at).await
    }

    async fn set_admin_password(&self, admin_id: i64, password_hash: &str) -> StoreResult<()> {
        admins::set_admin_password(self, admin_id, password_hash).await
    }

    async fn delete_admin_sessions(&self, admin_id: i64) -> StoreResult<u64> {
        admins::delete_admin_sessions(self, admin_id).await
    }

    async fn delete_admin(&self, admin_id: i64) -> StoreResult<()> {
        admins::delete_admin(self, admin_id).await
    }

    async fn revoke_api_key(&self, admin_id: i64, name: &str, now: Timestamp) -> StoreResult<bool> {
        admins::revoke_api_key(self, admin_id, name, now).await
    }

    async fn read_scope<F>(&self, work: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.backend.read_scope(work).await
    }

    async fn ping(&self) -> StoreResult<()> {
        // A bare `1` is a 4-byte integer to PostgreSQL, which does not decode as `Column::Int`
        // (8 bytes): every ping failed there, and /readyz answered 503 to a healthy database.
        self.query(
            Statement::new("SELECT CAST(1 AS BIGINT)", vec![]),
            &[Column::Int],
        )
        .await
        .map(drop)
    }

    async fn tenant_admin_emails(&self, tenant: TenantId) -> StoreResult<Vec<String>> {
        mail::tenant_admin_emails(self, tenant).await
    }

    async fn remind_token(
        &self,
        token_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<bool> {
        mail::remind_token(self, token_id, days, mails, now).await
    }

    async fn digest_sent_at(&self, tenant: TenantId) -> StoreResult<Option<Timestamp>> {
        mail::digest_sent_at(self, tenant).await
    }

    async fn record_digest(
        &self,
        tenant: TenantId,
        last: Option<Timestamp>,
        not_after: Timestamp,
        mails: &[Mail],
        now: Timestamp,
    ) -> StoreResult<bool> {
        mail::record_digest(self, tenant, last, not_after, mails, now).await
    }

    async fn due_mail(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<QueuedMail>> {
        mail::due_mail(self, now, limit).await
    }

    async fn take_mail(
        &self,
        queued: &QueuedMail,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        mail::take_mail(self, queued, now, lease_until).await
    }

    async fn settle_mail(&self, id: i64, outcome: MailOutcome<'_>) -> StoreResult<()> {
        mail::settle_mail(self, id, outcome).await
    }

    async fn mail_counts(&self, tenant: TenantId) -> StoreResult<MailCounts> {
        mail::mail_counts(self, tenant).await
    }
}
