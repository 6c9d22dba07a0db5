//! OAuth 2.0 clients (SPEC §12): what an IdP that will not keep a long-lived bearer token
//! (Entra's app gallery) authenticates with. A client has a public id and at most two live
//! secrets (so one can be rotated while the other works), each living 1–3 years and stored as
//! a hash; at the token endpoint it trades one for an access token of 60–360 minutes. Access
//! tokens are bearer tokens the database ties to their client and secret: every SCIM route
//! takes them exactly as it takes an admin's token, and revoking the client or the secret ends
//! them in the same transaction. A client may also trust an issuer's signed assertions
//! (RFC 7523, workload identity federation) instead of a secret.

use crate::error::{Error, Result};
use crate::secret::{Secret, SecretHash, SecretKind, hex};
use crate::tenant::TenantId;
use crate::token::{TokenHash, TokenStatus, is_plain_name, lifetime_status};
use scim::datetime::Timestamp;
use std::fmt;
use std::ops::RangeInclusive;

/// Secrets live two years unless told otherwise.
pub const DEFAULT_SECRET_DAYS: i64 = 730;
/// Entra's gallery asks for secrets valid one to three years.
pub const SECRET_DAYS: RangeInclusive<i64> = 365..=1095;
/// Two live secrets: the one in use and its successor during a rotation.
pub const MAX_LIVE_SECRETS: i64 = 2;
pub const DEFAULT_ACCESS_TOKEN_MINUTES: u32 = 60;
/// From an hour (Entra's gallery) to six.
pub const ACCESS_TOKEN_MINUTES: RangeInclusive<u32> = 60..=360;
/// Live access tokens one client holds at most; a new one past that retires the oldest. An
/// IdP asks for a new token when its last expires, so a few are plenty, and a client asking in
/// a loop cannot grow the token table.
pub const MAX_LIVE_ACCESS_TOKENS: i64 = 20;
/// The one scope there is: the SCIM API. Asking for none is the same.
pub const SCOPE: &str = "scim";

/// The kind of secret a client authenticates with at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSecretKind;

impl SecretKind for ClientSecretKind {
    const PREFIX: &'static str = "scimd_cs_";
}

/// A client secret: `scimd_cs_` and 64 hex digits; only its hash is stored.
pub type ClientSecret = Secret<ClientSecretKind>;

/// Client names follow token names' rule (1–64 letters, digits, `.`, `_`, `-`).
pub fn check_name(name: &str) -> Result<()> {
    if is_plain_name(name) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "client name {name:?} must be 1-64 characters of letters, digits, '.', '_' and '-'"
        )))
    }
}

/// A new public client id: `scimd_` and 32 random hex digits. Not a secret, but unguessable,
/// so a client id alone says nothing about which clients exist.
pub fn new_client_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    Ok(format!("scimd_{}", hex(&bytes)))
}

/// A secret lifetime in days, within [`SECRET_DAYS`].
pub fn secret_days(days: Option<i64>) -> Result<i64> {
    let days = days.unwrap_or(DEFAULT_SECRET_DAYS);
    if SECRET_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(Error::Invalid(format!(
            "a client secret lives {} to {} days, not {days}",
            SECRET_DAYS.start(),
            SECRET_DAYS.end()
        )))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub client_id: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub trust: Option<Trust>,
    /// Oldest first (empty where only the client was read).
    pub secrets: Vec<ClientSecretInfo>,
}

impl OAuthClient {
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        }
    }

    pub fn live_secrets(&self, now: Timestamp) -> impl Iterator<Item = &ClientSecretInfo> {
        self.secrets
            .iter()
            .filter(move |secret| secret.is_usable(now))
    }
}

/// A secret just made, shown this once, with its client and what else is known of it.
#[derive(Debug)]
pub struct IssuedSecret {
    pub client: OAuthClient,
    pub info: ClientSecretInfo,
    pub secret: ClientSecret,
}

/// What is known of a secret besides itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecretInfo {
    pub id: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl ClientSecretInfo {
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        lifetime_status(self.expires_at, self.revoked_at, now)
    }

    pub fn is_usable(&self, now: Timestamp) -> bool {
        matches!(self.status(now), TokenStatus::Valid | TokenStatus::Expiring)
    }
}

/// Workload identity federation: the client's assertions come from `issuer` about `subject`,
/// addressed to `audience`, signed by a key of `keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub keys: TrustKeys,
}

/// Where the issuer's public keys are: a JWKS document given once, or its URL (fetched, with a
/// timeout, and cached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustKeys {
    Jwks(String),
    JwksUrl(String),
}

/// The longest issuer, subject, audience or JWKS URL a trust takes.
pub const MAX_TRUST_TEXT: usize = 2_048;
/// The largest JWKS document a trust keeps.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

impl Trust {
    /// Refuses empty, oversized or control-character values (they end up in logs and pages).
    pub fn check(&self) -> Result<()> {
        let urls = [("issuer", self.issuer.as_str())]
            .into_iter()
            .chain(match &self.keys {
                TrustKeys::JwksUrl(url) => Some(("JWKS URL", url.as_str())),
                TrustKeys::Jwks(_) => None,
            });
        for (what, text) in [
            ("issuer", self.issuer.as_str()),
            ("subject", self.subject.as_str()),
            ("audience", self.audience.as_str()),
        ]
        .into_iter()
        .chain(urls.clone())
        {
            if text.is_empty() || text.len() > MAX_TRUST_TEXT || text.chars().any(char::is_control)
            {
                return Err(Error::Invalid(format!(
                    "the trust's {what} must be 1-{MAX_TRUST_TEXT} characters without control \
                     characters"
                )));
            }
        }
        for (what, url) in urls {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::Invalid(format!(
                    "the trust's {what} must be an http(s) URL, not {url:?}"
                )));
            }
        }
        if let TrustKeys::Jwks(document) = &self.keys
            && document.len() > MAX_JWKS_BYTES
        {
            return Err(Error::Invalid(format!(
                "a JWKS document is at most {MAX_JWKS_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

/// A secret about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewSecret {
    pub hash: SecretHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A client about to be stored, with its first secret.
#[derive(Debug, Clone, Copy)]
pub struct NewClient<'a> {
    pub tenant_id: TenantId,
    pub name: &'a str,
    pub client_id: &'a str,
    pub secret: NewSecret,
}

/// A secret found by its hash, with its client (without the client's other secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSecret {
    pub client: OAuthClient,
    pub secret: ClientSecretInfo,
    /// The stored hash, compared in constant time with the presented one.
    pub hash: SecretHash,
}

/// How adding a secret went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedSecret {
    Added(ClientSecretInfo),
    NoClient,
    /// The client has [`MAX_LIVE_SECRETS`] live secrets already.
    Full,
}

/// An access token about to be stored: a bearer token of the client's tenant, named after the
/// client, tied to the secret it was given for (none for an assertion).
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub tenant_id: TenantId,
    pub client_pk: i64,
    pub secret_id: Option<i64>,
    pub name: String,
    pub hash: TokenHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// An assertion's `jti` and expiry, recorded so that it is never accepted twice.
    pub assertion: Option<(String, Timestamp)>,
}

/// How storing an access token went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    Issued,
    /// The client or the secret was revoked (or the secret expired) meanwhile.
    NoLongerLive,
    /// The assertion's `jti` was used before.
    Replayed,
}

/// The error codes of RFC 6749 §5.2 the token endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
        }
    }
}

/// A refused token request: its code and a description for the IdP's admin. Descriptions of
/// failed client authentication say only that it failed, never which part was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// Failed client authentication, whatever the reason.
    pub fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed: unknown client, wrong, expired or revoked secret, \
             or an assertion that was not accepted",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_random_and_secrets_are_not_bearer_tokens() {
        let (a, b) = (new_client_id().unwrap(), new_client_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "scimd_".len() + 32);
        let secret = ClientSecret::generate().unwrap();
        assert!(secret.expose().starts_with("scimd_cs_"));
        assert_eq!(crate::token::TokenSecret::parse(secret.expose()), None);
        assert_eq!(ClientSecret::parse(&a), None, "a client id is not a secret");
    }

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(secret_days(None).unwrap(), 730);
        assert!(secret_days(Some(364)).is_err());
        assert!(secret_days(Some(1096)).is_err());
        assert_eq!(secret_days(Some(365)).unwrap(), 365);
    }

    #[test]
    fn trusts_must_be_well_formed() {
        let trust = Trust {
            issuer: "https://login.example/tenant/v2.0".into(),
            subject: "app-1".into(),
            audience: "api://scimd".into(),
            keys: TrustKeys::JwksUrl("https://login.example/keys".into()),
        };
        assert!(trust.check().is_ok());
        for bad in [
            Trust {
                issuer: "login.example".into(),
                ..trust.clone()
            },
            Trust {
                subject: String::new(),
                ..trust.clone()
            },
            Trust {
                audience: "a\u{7}".into(),
                ..trust.clone()
            },
            Trust {
                keys: TrustKeys::JwksUrl("file:///etc/passwd".into()),
                ..trust.clone()
            },
            Trust {
                keys: TrustKeys::Jwks("x".repeat(MAX_JWKS_BYTES + 1)),
                ..trust.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
