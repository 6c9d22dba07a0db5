//! Accounts: the users table, and the queries SCIM and admins run on it.

use super::StoreResult;
use crate::feed::Recorded;
use crate::lifecycle::ManagedBy;
use crate::mail::Mail;
use crate::tenant::TenantId;
use crate::user::{Placement, StoredUser, User};
use scim::list::{Cursor, ListQuery};
use std::future::Future;

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

/// One account an admin moves: as it was read, where it goes, and the events that say so.
#[derive(Debug, Clone)]
pub struct AccountMove {
    pub current: User,
    pub to: Placement,
    pub record: Recorded,
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

/// One page of a `/Users` query, and the total count of matches.
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    pub total: u64,
    pub users: Vec<StoredUser>,
    pub next_cursor: Option<Cursor>,
    /// The 1-based index of the first user, for index paging (set by the provisioner).
    pub start_index: Option<u64>,
}

/// Account reads: SCIM's by id and by query, admins' by email and by listing.
pub trait AccountReads {
    /// The account SCIM knows under this live id, decoded whole, as a change reads it.
    fn user_by_scim_id(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// The SCIM resource under this live id, as a read returns it (rendered either way, see
    /// [`StoredUser`]).
    fn scim_resource(
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
    /// A `/Users` query: only accounts with a live SCIM id, as a read returns them.
    fn query_users(
        &self,
        tenant: TenantId,
        query: &ListQuery,
    ) -> impl Future<Output = StoreResult<UserPage>> + Send;
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
}

/// Account writes. Every write records its activity event and its change event in the same
/// transaction; the change event takes the tenant's next sequence number last, just before the
/// commit.
pub trait AccountWrites {
    /// Inserts a new account and returns its key; an email the tenant already holds (in any
    /// state) is `Conflict`.
    fn insert_user(
        &self,
        user: &User,
        record: &Recorded,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// [`Self::insert_user`], queueing `mails` in the same transaction.
    fn insert_user_mailing(
        &self,
        user: &User,
        record: &Recorded,
        mails: &[Mail],
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Inserts every account or none, each with its events.
    fn insert_users(
        &self,
        accounts: &[(User, Recorded)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes `next` over `current`, the account as the caller read it (found by its key), if
    /// the stored version is still `current`'s.
    fn update_user(
        &self,
        current: &User,
        next: &User,
        record: &Recorded,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Moves every account or none to the profile `to_profile`, each with its events.
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
        record: &Recorded,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Tidies the per-block user counts that listings read their totals from: where writers
    /// running side by side keep a block's counts on several rows, merges them into one, so
    /// reading them stays short. Changes no count.
    fn tidy_user_counts(&self) -> impl Future<Output = StoreResult<()>> + Send;
}
