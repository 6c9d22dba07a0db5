//! The port to the database. Two implementations live in the `scimd-store` crate; both run
//! the same conformance story.

use crate::activity::{Event, EventQuery};
use crate::admin::{AdminAccount, AdminSession, ApiKeyInfo, NewAdmin};
use crate::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Storage, StorageChange,
};
use crate::lifecycle::ManagedBy;
use crate::mail::{Mail, MailCounts, MailOutcome, QueuedMail};
use crate::secret::SecretHash;
use crate::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};
use crate::token::{FoundToken, NewToken, Token, TokenHash, TokenName};
use crate::user::{Placement, StoredUser, User};
use scim::datetime::Timestamp;
use scim::list::{Cursor, Page, SortOrder};
use scim::{AttrPath, Filter};
use std::future::Future;

/// Storage failures, as the domain needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (userName, token name, tenant slug).
    #[error("{0}")]
    Conflict(String),
    /// The row is still referenced (a profile or storage a mapping uses).
    #[error("still in use ({0})")]
    InUse(String),
    /// The query cannot run as asked (a filter the database cannot express, a foreign cursor).
    #[error(transparent)]
    Invalid(scim::Error),
    /// The account's profile already holds its `max_users` (checked under a lock, so racing
    /// creates cannot overfill it).
    #[error("the profile is full")]
    ProfileFull,
    /// The row changed since it was read (optimistic concurrency).
    #[error("the record changed concurrently")]
    VersionMismatch,
    /// The database itself failed.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A `/Users` query: a resolved filter, an order and a page.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Already resolved against the User schema (canonical names, checked types).
    pub filter: Option<Filter>,
    /// A resolved attribute path; `None` keeps creation order.
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    pub page: Option<Page>,
}

/// Which accounts an admin listing returns: a page in key order, optionally narrowed.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// `active` or `preserved` accounts only.
    pub state: Option<StateFilter>,
    pub profile_id: Option<i64>,
    pub storage_id: Option<i64>,
    pub managed_by: Option<ManagedBy>,
    /// Accounts whose email or SCIM displayName contains this text, compared folded.
    pub search: Option<String>,
    /// Accounts with a key above this one (keyset paging).
    pub after_key: Option<i64>,
    pub limit: u32,
}

/// One account an admin moves: as it was read, where it goes, and the event that says so.
#[derive(Debug, Clone)]
pub struct AccountMove {
    pub current: User,
    pub to: Placement,
    pub event: Event,
}

impl AccountMove {
    /// Whether the account comes from another profile: only those take a place in the target.
    pub fn arrives(&self) -> bool {
        self.current.placement.as_ref().map(|p| p.profile_id) != Some(self.to.profile_id)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountCounts {
    pub active: u64,
    pub preserved: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    Active,
    Preserved,
}

/// One page of users (decoded [`User`]s, or [`StoredUser`]s to render) and the total count of
/// matches.
#[derive(Debug, Clone)]
pub struct UserPage<U = User> {
    pub total: u64,
    pub users: Vec<U>,
    pub next_cursor: Option<Cursor>,
    /// The 1-based index of the first user, for index paging (set by the provisioner).
    pub start_index: Option<u64>,
}

impl<U> Default for UserPage<U> {
    fn default() -> Self {
        Self {
            total: 0,
            users: Vec::new(),
            next_cursor: None,
            start_index: None,
        }
    }
}

/// Everything the domain reads and writes. Every user operation is scoped by tenant.
pub trait Store: Clone + Send + Sync + 'static {
    // Tenants.
    fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Tenant>> + Send;
    fn tenant_by_slug(
        &self,
        slug: &TenantSlug,
    ) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
    fn list_tenants(&self) -> impl Future<Output = StoreResult<Vec<Tenant>>> + Send;
    /// `false` when there is no such tenant.
    fn set_provisioning(
        &self,
        tenant: TenantId,
        method: ProvisioningMethod,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Tokens.
    /// Inserts a token and, in the same transaction, makes live tokens of the same name stop
    /// working at `previous_revoked_at`.
    fn insert_token(&self, token: &NewToken) -> impl Future<Output = StoreResult<Token>> + Send;
    /// The token and, in the same read, its tenant's slug and provisioning method.
    fn token_by_hash(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<FoundToken>>> + Send;
    fn touch_token(&self, id: i64, now: Timestamp) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_tokens(&self, tenant: TenantId)
    -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// Revokes the live tokens of that name; false when there was none.
    fn revoke_token(
        &self,
        tenant: TenantId,
        name: &TokenName,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    // Accounts. Every write records its activity event in the same transaction.
    /// Inserts a new account and returns its key; an email the tenant already holds (in any
    /// state) is `Conflict`.
    fn insert_user(
        &self,
        user: &User,
        event: &Event,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// [`Self::insert_user`], queueing `mails` in the same transaction.
    fn insert_user_mailing(
        &self,
        user: &User,
        event: &Event,
        mails: &[Mail],
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Inserts every account or none, each with its event.
    fn insert_users(
        &self,
        accounts: &[(User, Event)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The account SCIM knows under this live id.
    fn get_user(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// [`Self::get_user`], as stored, for a read that renders it as it is.
    fn stored_user(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> impl Future<Output = StoreResult<Option<StoredUser>>> + Send;
    /// The account holding this email, in any state, compared case-insensitively.
    fn user_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Writes `next` over `current`, the account as the caller read it (found by its key), if
    /// the stored version is still `current`'s.
    fn update_user(
        &self,
        current: &User,
        next: &User,
        event: &Event,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Moves every account or none to the profile `to_profile`, each with its event.
    /// The profile's room is checked under its row lock, as creates check it: `ProfileFull`
    /// when the accounts do not fit; `VersionMismatch` when one of them was moved or destroyed
    /// since it was read.
    fn move_users(
        &self,
        to_profile: i64,
        moves: &[AccountMove],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Destroys the account and its data for good (an admin's decision; no SCIM call does
    /// this) if the version still matches.
    fn destroy_user(
        &self,
        user: &User,
        event: &Event,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A `/Users` query: only accounts with a live SCIM id.
    fn query_users(
        &self,
        tenant: TenantId,
        query: &UserQuery,
    ) -> impl Future<Output = StoreResult<UserPage>> + Send;
    /// [`Self::query_users`], the users as stored, for a page that renders them as they are.
    fn query_stored_users(
        &self,
        tenant: TenantId,
        query: &UserQuery,
    ) -> impl Future<Output = StoreResult<UserPage<StoredUser>>> + Send;
    /// Every account, for admins and reports, in key order.
    fn list_accounts(
        &self,
        tenant: TenantId,
        query: &AccountQuery,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;

    /// How many accounts are active and how many preserved.
    fn count_accounts(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<AccountCounts>> + Send;

    // Activity.
    /// How many events `query` selects (its `limit` is ignored).
    fn count_events(
        &self,
        tenant: TenantId,
        query: &EventQuery,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn record_event(&self, event: &Event) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes up to `limit` of the tenant's events from before `before`, in one short
    /// transaction; how many it deleted.
    fn delete_events_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Newest first.
    fn list_events(
        &self,
        tenant: TenantId,
        query: &EventQuery,
    ) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;

    // Profiles, storages, mappings. Names are unique per tenant, case-insensitively.
    fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        max_users: u32,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Profile>> + Send;
    fn list_profiles(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Profile>>> + Send;
    /// False when there is no such profile; `Conflict` when a mapping still uses it.
    fn delete_profile(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Renames a profile or changes its limit; `false` when there is no such profile or the
    /// limit is below the users it holds, checked in the write (as creates check capacity), so
    /// no create slips in between. A taken name is `Conflict`.
    fn update_profile(
        &self,
        tenant: TenantId,
        name: &str,
        change: &ProfileChange,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn create_storage(
        &self,
        tenant: TenantId,
        name: &str,
        region: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Storage>> + Send;
    /// Renames a storage or changes its region; `false` when there is no such storage; a taken
    /// name is `Conflict`.
    fn update_storage(
        &self,
        tenant: TenantId,
        name: &str,
        change: &StorageChange,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn list_storages(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Storage>>> + Send;
    /// Inserts the mapping at its priority: the mappings from there down move one place down;
    /// past the end is the bottom.
    fn create_mapping(
        &self,
        mapping: &NewMapping,
    ) -> impl Future<Output = StoreResult<Mapping>> + Send;
    /// In priority order.
    fn list_mappings(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Mapping>>> + Send;
    fn update_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        change: &MappingChange,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Writes new priorities `(id, old, new)` in one transaction; `VersionMismatch` when another
    /// change got there first.
    fn set_mapping_priorities(
        &self,
        tenant: TenantId,
        moves: &[(i64, u32, u32)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the mapping and renumbers the rest (`moves`, as for reordering) in one transaction.
    fn delete_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        moves: &[(i64, u32, u32)],
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Accounts placed in a profile, active or preserved, for its capacity (`max_users`).
    fn count_profile_users(
        &self,
        tenant: TenantId,
        profile_id: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    // Admin accounts and sessions.
    /// A taken email is `Conflict`.
    fn create_admin(
        &self,
        admin: &NewAdmin,
    ) -> impl Future<Output = StoreResult<AdminAccount>> + Send;
    /// The account and its password hash, by email (compared folded).
    fn admin_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = StoreResult<Option<(AdminAccount, String)>>> + Send;
    fn admin_by_id(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<AdminAccount>>> + Send;
    /// Counts one more failed sign-in, in one statement (concurrent failures all count); the
    /// `lock_after`-th in a row locks the account until `lock_until` and starts the count
    /// over. Never lifts a lock.
    fn record_failed_sign_in(
        &self,
        admin_id: i64,
        lock_after: u32,
        lock_until: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Clears the failure count after a right password, unless the account is locked at `now`
    /// (then false, and nothing changes).
    fn clear_sign_in_failures(
        &self,
        admin_id: i64,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn create_session(
        &self,
        session: &AdminSession,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn session_by_hash(
        &self,
        hash: &SecretHash,
    ) -> impl Future<Output = StoreResult<Option<AdminSession>>> + Send;
    fn touch_session(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_session(&self, hash: &SecretHash) -> impl Future<Output = StoreResult<()>> + Send;
    /// Adds an API key for the admin; live keys of the same name are revoked at `now`.
    fn create_api_key(
        &self,
        admin_id: i64,
        name: &str,
        hash: &SecretHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The admin a live key (unrevoked, unexpired at `now`) acts as.
    fn admin_by_api_key(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<AdminAccount>>> + Send;
    /// The keys of one admin (or of all), newest first; never their secrets.
    fn list_api_keys(
        &self,
        admin_id: Option<i64>,
    ) -> impl Future<Output = StoreResult<Vec<ApiKeyInfo>>> + Send;
    /// Disables (`Some(at)`, ending its sessions) or enables (`None`) an account.
    fn set_admin_disabled(
        &self,
        admin_id: i64,
        disabled_at: Option<Timestamp>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A new password hash: failures and lock cleared, every session ended.
    fn set_admin_password(
        &self,
        admin_id: i64,
        password_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends every session of the admin; how many there were.
    fn delete_admin_sessions(&self, admin_id: i64)
    -> impl Future<Output = StoreResult<u64>> + Send;
    /// Deletes the account with its sessions and keys.
    fn delete_admin(&self, admin_id: i64) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes the admin's live keys of that name; false when there was none.
    fn revoke_api_key(
        &self,
        admin_id: i64,
        name: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Runs `work` with its point reads sharing one read transaction where the database makes
    /// that cheaper than a transaction per read (SQLite), for a request that reads a token and
    /// then a user. A write, or a longer read, inside `work` ends the shared transaction first:
    /// what `work` reads after its own write sees that write. A scope inside another joins it.
    fn read_scope<F>(&self, work: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send,
        F::Output: Send;

    /// Whether the database answers (for `/readyz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    // Mail: queued in the transaction of its cause, sent by the mail worker.
    /// The emails of the tenant's admins (role admin, not disabled), whom notices go to.
    fn tenant_admin_emails(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Records that token `token_id` got its `days` reminder and queues `mails`, unless it
    /// got that one (or a later one) already: `false` then, and nothing is queued.
    fn remind_token(
        &self,
        token_id: i64,
        days: u32,
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// When the tenant's last failure digest was queued.
    fn digest_sent_at(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Option<Timestamp>>> + Send;
    /// Queues a failure digest at `now` if the last one is still `last` (no other instance
    /// queued one meanwhile) and not after `not_after`; `false` otherwise, and nothing queued.
    fn record_digest(
        &self,
        tenant: TenantId,
        last: Option<Timestamp>,
        not_after: Timestamp,
        mails: &[Mail],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Mails due at `now`, the longest waiting first.
    fn due_mail(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<QueuedMail>>> + Send;
    /// Takes a due mail for one try: counts the try and holds it until `lease_until`. `false`
    /// when another worker took it first.
    fn take_mail(
        &self,
        mail: &QueuedMail,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn settle_mail(
        &self,
        id: i64,
        outcome: MailOutcome<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn mail_counts(&self, tenant: TenantId)
    -> impl Future<Output = StoreResult<MailCounts>> + Send;
}
