//! Bearer tokens (SPEC §6): named, shown once, stored only as a SHA-256 hash, checked in
//! constant time.

use crate::error::{Error, Result};
pub use crate::secret::{Secret, SecretHash, SecretKind};
use crate::tenant::{ProvisioningMethod, TenantId, TenantSlug};
use scim::datetime::Timestamp;
use std::fmt;

/// Tokens expire after a year unless told otherwise.
pub const DEFAULT_LIFETIME_DAYS: i64 = 365;
/// The console warns about tokens that expire within this many days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
const DAY_MILLIS: i64 = 86_400_000;

/// A token's secret: `scimd_` and 64 hex digits. Only its hash is stored; `Debug` hides it.
pub type TokenSecret = Secret<Bearer>;
/// SHA-256 of a token's secret: what the database keeps and looks tokens up by.
pub type TokenHash = SecretHash;

/// The kind of secret an IdP sends as its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bearer;

impl SecretKind for Bearer {
    const PREFIX: &'static str = "scimd_";
}

/// The names admins give connections (tokens, webhooks): 1–64 letters, digits, `.`, `_` and
/// `-`, safe in a URL path and a terminal.
pub fn is_plain_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A token's name, one per IdP connection (`entra`, `okta`, ...): 1–64 of letters, digits,
/// `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(text: &str) -> Result<Self> {
        if is_plain_name(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "token name {text:?} must be 1-64 characters of letters, digits, '.', '_' and '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: TokenName,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it stops (or stopped) working; in the future during a rotation grace period.
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The OAuth client an access token was issued to; `None` for the tokens admins make.
    pub client_pk: Option<i64>,
}

/// A token found by the hash of its secret, with what authentication needs of its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundToken {
    pub token: Token,
    /// The stored hash, compared in constant time with the presented one.
    pub hash: TokenHash,
    pub tenant_slug: TenantSlug,
    pub provisioning: ProvisioningMethod,
}

/// what the console and `token list` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    Expiring,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl Token {
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        lifetime_status(self.expires_at, self.revoked_at, now)
    }

    pub fn is_usable(&self, now: Timestamp) -> bool {
        matches!(self.status(now), TokenStatus::Valid | TokenStatus::Expiring)
    }
}

/// The status of a credential that expires and may be revoked (tokens, client secrets).
pub(crate) fn lifetime_status(
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
    now: Timestamp,
) -> TokenStatus {
    if revoked_at.is_some_and(|revoked| revoked <= now) {
        TokenStatus::Revoked
    } else if expires_at <= now {
        TokenStatus::Expired
    } else if expires_at.as_millis() - now.as_millis() <= EXPIRY_WARNING_DAYS * DAY_MILLIS {
        TokenStatus::Expiring
    } else {
        TokenStatus::Valid
    }
}

/// A token about to be stored. Live tokens of the same name in the tenant stop working at
/// `previous_revoked_at` (now, or later with `--keep-previous`), in the same transaction.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub tenant_id: TenantId,
    pub name: TokenName,
    pub hash: TokenHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub previous_revoked_at: Timestamp,
}

pub(crate) fn days_after(start: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_millis(
        start
            .as_millis()
            .saturating_add(days.saturating_mul(DAY_MILLIS)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_well_formed_and_redacted() {
        let a = TokenSecret::generate().expect("random");
        let b = TokenSecret::generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(TokenSecret::parse(a.expose()), Some(a.clone()));
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
        assert!(a.hash().matches(&a.hash()));
        assert!(!a.hash().matches(&b.hash()));
    }

    #[test]
    fn malformed_secrets_are_not_tokens() {
        let good = TokenSecret::generate().expect("random");
        for bad in [
            "",
            "scimd_",
            "Bearer x",
            &good.expose().to_uppercase(),
            &good.expose()[..40],
        ] {
            assert_eq!(TokenSecret::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_follows_expiry_and_revocation() {
        let created = Timestamp::from_millis(0);
        let token = Token {
            id: 1,
            tenant_id: TenantId(1),
            name: TokenName::parse("entra").expect("valid"),
            created_at: created,
            expires_at: days_after(created, 365),
            revoked_at: None,
            last_used_at: None,
            client_pk: None,
        };
        assert_eq!(token.status(days_after(created, 1)), TokenStatus::Valid);
        assert_eq!(
            token.status(days_after(created, 340)),
            TokenStatus::Expiring
        );
        assert_eq!(token.status(days_after(created, 365)), TokenStatus::Expired);
        let grace = Token {
            revoked_at: Some(days_after(created, 2)),
            ..token
        };
        assert!(grace.is_usable(days_after(created, 1)));
        assert_eq!(grace.status(days_after(created, 2)), TokenStatus::Revoked);
    }
}
