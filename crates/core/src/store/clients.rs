//! OAuth clients, their secrets, and the access tokens the token endpoint issues.

use super::StoreResult;
use crate::oauth::{
    AddedSecret, FoundSecret, IssueOutcome, NewAccessToken, NewClient, NewSecret, OAuthClient,
    Trust,
};
use crate::secret::SecretHash;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::future::Future;

pub trait ClientStore {
    /// A new client and its first secret; `Conflict` when the tenant has a live client of that
    /// name (compared case-insensitively).
    fn create_client(
        &self,
        client: &NewClient<'_>,
    ) -> impl Future<Output = StoreResult<OAuthClient>> + Send;
    /// The tenant's clients, revoked ones too, each with its secrets.
    fn list_clients(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<OAuthClient>>> + Send;
    /// Adds a secret unless the client has its two live ones already; decided under the
    /// client's lock, so two racing additions cannot make three.
    fn add_client_secret(
        &self,
        client_pk: i64,
        secret: &NewSecret,
    ) -> impl Future<Output = StoreResult<AddedSecret>> + Send;
    /// Revokes one live secret and the access tokens given for it; `false` when the client
    /// has no such live secret.
    fn revoke_client_secret(
        &self,
        client_pk: i64,
        secret_id: i64,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Revokes a live client, its secrets and its access tokens; `false` when it was revoked.
    fn revoke_client(
        &self,
        client_pk: i64,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets (or with `None` removes) a live client's trust; `false` when it was revoked.
    fn set_client_trust(
        &self,
        client_pk: i64,
        trust: Option<&Trust>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// A secret by the hash of its text, with its client.
    fn client_secret_by_hash(
        &self,
        hash: &SecretHash,
    ) -> impl Future<Output = StoreResult<Option<FoundSecret>>> + Send;
    /// The live clients that trust assertions of `issuer` about `subject`.
    fn trusting_clients(
        &self,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = StoreResult<Vec<OAuthClient>>> + Send;
    /// Stores an access token if its client (and secret) are still live and its assertion is
    /// new, retiring the client's oldest live tokens past
    /// [`MAX_LIVE_ACCESS_TOKENS`](crate::oauth::MAX_LIVE_ACCESS_TOKENS). Serialised with
    /// revocations of the same client: a token is never issued after its revocation committed.
    fn insert_access_token(
        &self,
        token: &NewAccessToken,
    ) -> impl Future<Output = StoreResult<IssueOutcome>> + Send;
    /// Deletes access tokens and assertion `jti`s that ended before `before`.
    fn purge_access_tokens(
        &self,
        before: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
