//! The token endpoint's use cases (RFC 6749 §4.4): a client proves who it is, with a secret or
//! an assertion the HTTP layer verified, and is given an access token.

use super::Provisioner;
use crate::clock::Clock;
use crate::error::Result;
use crate::oauth::{
    ClientSecret, ClientSecretInfo, IssueOutcome, NewAccessToken, OAuthClient, OAuthError,
};
use crate::store::Store;
use crate::token::TokenSecret;
use scim::datetime::Timestamp;

/// A client that proved who it is, and how.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: OAuthClient,
    proof: Proof,
}

#[derive(Debug, Clone)]
enum Proof {
    Secret(ClientSecretInfo),
    /// A verified assertion's `jti` and expiry.
    Assertion {
        jti: String,
        expires_at: Timestamp,
    },
}

impl AuthenticatedClient {
    /// A client whose assertion the caller verified (signature, issuer, subject, audience,
    /// lifetime); its `jti` is checked for replay when the token is issued.
    pub fn by_assertion(client: OAuthClient, jti: String, expires_at: Timestamp) -> Self {
        Self {
            client,
            proof: Proof::Assertion { jti, expires_at },
        }
    }
}

/// An access token, shown this once.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: TokenSecret,
    /// Seconds it works for.
    pub expires_in: i64,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// `client_id` and `secret` as the client sent them: the client, or `invalid_client`
    /// whatever was wrong (unknown id, wrong, revoked or expired secret, revoked client).
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<std::result::Result<AuthenticatedClient, OAuthError>> {
        let Some(secret) = ClientSecret::parse(secret) else {
            return Ok(Err(OAuthError::invalid_client()));
        };
        let hash = secret.hash();
        let Some(found) = self.store.client_secret_by_hash(&hash).await? else {
            return Ok(Err(OAuthError::invalid_client()));
        };
        let now = self.now();
        let valid = found.hash.matches(&hash)
            && found.client.client_id == client_id
            && found.client.revoked_at.is_none()
            && found.secret.is_usable(now);
        Ok(if valid {
            Ok(AuthenticatedClient {
                client: found.client,
                proof: Proof::Secret(found.secret),
            })
        } else {
            Err(OAuthError::invalid_client())
        })
    }

    /// The live clients that trust assertions of `issuer` about `subject`.
    pub async fn trusting_clients(&self, issuer: &str, subject: &str) -> Result<Vec<OAuthClient>> {
        Ok(self.store.trusting_clients(issuer, subject).await?)
    }

    /// An access token for `client`, working for `lifetime_minutes` (never past its secret's
    /// expiry), unless the client or its secret was revoked since it authenticated or its
    /// assertion was used before.
    pub async fn issue_access_token(
        &self,
        authenticated: AuthenticatedClient,
        lifetime_minutes: u32,
    ) -> Result<std::result::Result<IssuedToken, OAuthError>> {
        let now = self.now();
        let mut expires_at = now.as_millis() + i64::from(lifetime_minutes).saturating_mul(60_000);
        let (secret_id, assertion) = match authenticated.proof {
            Proof::Secret(secret) => {
                expires_at = expires_at.min(secret.expires_at.as_millis());
                (Some(secret.id), None)
            }
            Proof::Assertion { jti, expires_at } => (None, Some((jti, expires_at))),
        };
        let access_token = TokenSecret::generate()?;
        let client = authenticated.client;
        let token = NewAccessToken {
            tenant_id: client.tenant_id,
            client_pk: client.id,
            secret_id,
            name: client.name,
            hash: access_token.hash(),
            created_at: now,
            expires_at: Timestamp::from_millis(expires_at),
            assertion,
        };
        Ok(match self.store.insert_access_token(&token).await? {
            IssueOutcome::Issued => Ok(IssuedToken {
                access_token,
                expires_in: (expires_at - now.as_millis()) / 1_000,
            }),
            IssueOutcome::NoLongerLive | IssueOutcome::Replayed => {
                Err(OAuthError::invalid_client())
            }
        })
    }

    /// Deletes access tokens and assertion records that ended: an ended token is refused
    /// whether its row is there or not, and an assertion past its expiry is refused anyway.
    pub async fn purge_access_tokens(&self) -> Result<()> {
        Ok(self.store.purge_access_tokens(self.now()).await?)
    }
}
