//! The bearer tokens IdPs authenticate with.

use super::StoreResult;
use crate::tenant::TenantId;
use crate::token::{FoundToken, NewToken, Token, TokenHash, TokenName};
use scim::datetime::Timestamp;
use std::future::Future;

/// Tokens, stored by the hash of their secret.
pub trait TokenStore {
    /// Inserts a token and, in the same transaction, makes live tokens of the same name stop
    /// working at `previous_revoked_at`.
    fn insert_token(&self, token: &NewToken) -> impl Future<Output = StoreResult<Token>> + Send;
    /// The token and, in the same read, its tenant's slug and provisioning method.
    fn token_by_hash(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<FoundToken>>> + Send;
    fn touch_token(&self, id: i64, now: Timestamp) -> impl Future<Output = StoreResult<()>> + Send;
    /// The tokens admins made (not the access tokens of OAuth clients).
    fn list_tokens(&self, tenant: TenantId)
    -> impl Future<Output = StoreResult<Vec<Token>>> + Send;
    /// Revokes the live tokens of that name; false when there was none.
    fn revoke_token(
        &self,
        tenant: TenantId,
        name: &TokenName,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
