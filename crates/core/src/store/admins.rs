//! Console and admin-API accounts, their sessions and API keys.

use super::StoreResult;
use crate::admin::{AdminAccount, AdminSession, ApiKeyInfo, NewAdmin};
use crate::secret::SecretHash;
use scim::datetime::Timestamp;
use std::future::Future;

/// Admin accounts, sessions and API keys.
pub trait AdminStore {
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
}
