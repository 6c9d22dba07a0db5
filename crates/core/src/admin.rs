//! Console and admin-API accounts (SPEC §7): an email, an Argon2id password hash, a role, and
//! server-side sessions whose cookie secret is stored only as a hash.

use crate::error::{Error, Result};
use crate::secret::{Secret, SecretHash, SecretKind};
use crate::tenant::TenantId;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use scim::datetime::Timestamp;
use std::sync::LazyLock;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; admins hold the keys to
/// every account, so more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Failed sign-ins in a row that lock an account for [`LOCKOUT_MILLIS`].
pub const MAX_FAILED_SIGN_INS: u32 = 5;
pub const LOCKOUT_MILLIS: i64 = 15 * 60_000;
/// A session ends after this long without a request...
pub const SESSION_IDLE_MILLIS: i64 = 30 * 60_000;
/// ...and after this long in any case.
pub const SESSION_ABSOLUTE_MILLIS: i64 = 12 * 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every tenant: creates tenants, and does all an admin does in each.
    Operator,
    /// One tenant: tokens, mappings, profiles, storages, users.
    Admin,
    /// One tenant, read only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    pub fn can_change(self) -> bool {
        matches!(self, Self::Operator | Self::Admin)
    }

    pub fn can_manage_tenants(self) -> bool {
        self == Self::Operator
    }
}

/// An admin account as stored (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    pub id: i64,
    /// `None` for an operator, who works across tenants.
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub role: Role,
    pub failed_sign_ins: u32,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Set while an operator has disabled the account: nothing of it works meanwhile.
    pub disabled_at: Option<Timestamp>,
}

impl AdminAccount {
    /// Whether the account may act at `now`: not disabled, not locked after failed sign-ins.
    pub fn may_act(&self, now: Timestamp) -> bool {
        self.disabled_at.is_none() && self.locked_until.is_none_or(|until| until <= now)
    }

    /// Whether this admin may act in `tenant`.
    pub fn can_access(&self, tenant: TenantId) -> bool {
        self.role == Role::Operator || self.tenant_id == Some(tenant)
    }
}

/// A new account, password already hashed.
#[derive(Debug, Clone)]
pub struct NewAdmin {
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// The kind of secret a session cookie holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session;

impl SecretKind for Session {
    const PREFIX: &'static str = "scimd_s_";
}

pub type SessionSecret = Secret<Session>;

/// The kind of secret an admin API key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKey;

impl SecretKind for ApiKey {
    const PREFIX: &'static str = "scimd_k_";
}

pub type ApiKeySecret = Secret<ApiKey>;

/// Days an admin API key works unless told otherwise, and the most it may be given.
pub const DEFAULT_API_KEY_DAYS: i64 = 365;
pub const MAX_API_KEY_DAYS: i64 = 3 * 365;

/// An admin API key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub admin_email: String,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A signed-in session, stored server-side (so it works across instances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub hash: SecretHash,
    pub admin_id: i64,
    /// Sent back with every state-changing form and request (synchroniser token pattern).
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl AdminSession {
    /// Still valid at `now`: neither idle too long nor too old.
    pub fn is_live(&self, now: Timestamp) -> bool {
        let now = now.as_millis();
        now - self.last_seen_at.as_millis() < SESSION_IDLE_MILLIS
            && now - self.created_at.as_millis() < SESSION_ABSOLUTE_MILLIS
    }
}

/// A sign-in between the account's lookup and the password check. The check is the expensive
/// step (Argon2id: tens of milliseconds of CPU and 19 MiB of memory), so it is the caller's to
/// run where it cannot hold up other work. An unknown email or a locked account is checked
/// against a decoy hash, so that a sign-in takes as long either way and timing does not tell
/// which emails have accounts.
pub struct SignInAttempt {
    admin: Option<AdminAccount>,
    hash: String,
}

/// The hash of a random password nobody knows, made once, for [`SignInAttempt`]s that cannot
/// succeed.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    new_csrf_token()
        .and_then(|password| hash_password(&password))
        .unwrap_or_default()
});

impl SignInAttempt {
    pub(crate) fn of(admin: AdminAccount, hash: String) -> Self {
        Self {
            admin: Some(admin),
            hash,
        }
    }

    /// An attempt that fails whatever the password (after the same work).
    pub(crate) fn hopeless() -> Self {
        Self {
            admin: None,
            hash: DECOY_HASH.clone(),
        }
    }

    /// Checks the password: the CPU-heavy step.
    pub fn check(self, password: &str) -> CheckedSignIn {
        let matches = verify_password(password, &self.hash);
        CheckedSignIn(match self.admin {
            Some(admin) if matches => Checked::Matched(admin),
            Some(admin) => Checked::Wrong(admin.id),
            None => Checked::Hopeless,
        })
    }
}

impl std::fmt::Debug for SignInAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInAttempt")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// A sign-in whose password was checked (only [`SignInAttempt::check`] makes one).
#[derive(Debug)]
pub struct CheckedSignIn(pub(crate) Checked);

#[derive(Debug)]
pub(crate) enum Checked {
    Matched(AdminAccount),
    /// The password was wrong for the account with this id.
    Wrong(i64),
    /// Unknown email or locked account.
    Hopeless,
}

/// Argon2id with the crate's defaults (RFC 9106's second recommended option: m=19 MiB, t=2,
/// p=1), a fresh 16-byte salt, in PHC string form.
pub fn hash_password(password: &str) -> Result<String> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    let hash: PasswordHash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|error| Error::Internal(format!("cannot hash the password: {error}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC string; a malformed string matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.chars().count() > 1024 {
        return Err(Error::Invalid(
            "a password has at most 1024 characters".into(),
        ));
    }
    Ok(())
}

/// A CSRF token: 256 random bits, hex.
pub fn new_csrf_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    Ok(crate::secret::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password(
            "correct horse battery",
            "not a phc string"
        ));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("short"), Err(Error::Invalid(_))));
    }

    /// The documented 30 minutes idle and 12 hours in all, written out.
    #[test]
    fn sessions_end_when_idle_or_old() {
        let at = Timestamp::from_millis;
        let (minute, hour) = (60_000, 3_600_000);
        let session = AdminSession {
            hash: SecretHash([0; 32]),
            admin_id: 1,
            csrf_token: String::new(),
            created_at: at(0),
            last_seen_at: at(12 * hour - minute),
        };
        assert!(session.is_live(at(12 * hour - 1)));
        assert!(!session.is_live(at(12 * hour)), "absolute");
        let idle = AdminSession {
            last_seen_at: at(0),
            ..session
        };
        assert!(idle.is_live(at(30 * minute - 1)), "idle, not yet");
        assert!(!idle.is_live(at(30 * minute)), "idle");
    }

    #[test]
    fn roles_say_what_they_allow() {
        assert!(Role::Admin.can_change() && !Role::Viewer.can_change());
        assert!(Role::Operator.can_manage_tenants() && !Role::Admin.can_manage_tenants());
        for role in [Role::Operator, Role::Admin, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
