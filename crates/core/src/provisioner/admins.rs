//! Admin accounts and console sessions (SPEC §7): creation, sign-in with lockout, session
//! checks with idle and absolute expiry, sign-out.

use super::Provisioner;
use crate::activity::Origin;
use crate::admin::{
    AdminAccount, AdminSession, ApiKeySecret, Checked, CheckedSignIn, LOCKOUT_MILLIS,
    MAX_API_KEY_DAYS, MAX_FAILED_SIGN_INS, NewAdmin, Role, SessionSecret, SignInAttempt,
    hash_password, new_csrf_token,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{Store, StoreError};
use crate::token::{TokenName, days_after};
use crate::user::check_user_name_is_email;
use scim::datetime::Timestamp;

/// How often `last_seen_at` is written for a busy session.
const SESSION_TOUCH_INTERVAL_MILLIS: i64 = 60_000;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// A console account: an operator (every tenant) or an admin or viewer of one tenant.
    pub async fn create_admin(
        &self,
        origin: &Origin,
        email: &str,
        tenant: Option<&str>,
        role: Role,
        password: &str,
    ) -> Result<AdminAccount> {
        let email = email.trim();
        check_user_name_is_email(email)
            .map_err(|_| Error::Invalid(format!("{email:?} is not an email address")))?;
        let tenant = match (role, tenant) {
            (Role::Operator, _) => None,
            (_, Some(slug)) => Some(self.tenant(slug).await?),
            (_, None) => {
                return Err(Error::Invalid(format!(
                    "an {} belongs to a tenant: name it with --tenant",
                    role.as_str()
                )));
            }
        };
        let admin = NewAdmin {
            tenant_id: tenant.as_ref().map(|tenant| tenant.id),
            email: email.to_owned(),
            password_hash: hash_password(password)?,
            role,
            created_at: self.now(),
        };
        let created = self
            .store
            .create_admin(&admin)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    Error::Conflict(format!("an admin with email '{email}' already exists"))
                }
                other => other.into(),
            })?;
        if let Some(tenant) = &tenant {
            let detail = format!("{} '{email}' created", role.as_str());
            self.record_admin(origin, tenant, "create admin", detail)
                .await?;
        }
        Ok(created)
    }

    /// Checks email and password; on success opens a session and returns its secret (for the
    /// cookie). Every failure is the same `Unauthorized`, whether the email is unknown, the
    /// password wrong or the account locked after too many failures. The password is checked
    /// on the calling thread: a server runs [`Self::begin_sign_in`], the check and
    /// [`Self::finish_sign_in`] itself, with the check where it holds up nothing else.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(AdminAccount, SessionSecret, AdminSession)> {
        let attempt = self.begin_sign_in(email).await?;
        self.finish_sign_in(attempt.check(password)).await
    }

    /// Looks up the account a sign-in is for; its password is checked next.
    pub async fn begin_sign_in(&self, email: &str) -> Result<SignInAttempt> {
        let now = self.now();
        Ok(match self.store.admin_by_email(email).await? {
            Some((admin, _)) if !admin.may_act(now) => SignInAttempt::hopeless(),
            Some((admin, hash)) => SignInAttempt::of(admin, hash),
            None => SignInAttempt::hopeless(),
        })
    }

    /// Records a wrong password (locking the account at the limit), or opens a session for a
    /// right one unless a lock came first: failures counted by concurrent sign-ins while this
    /// one was checked are not lost, nor is a lock they set lifted.
    pub async fn finish_sign_in(
        &self,
        checked: CheckedSignIn,
    ) -> Result<(AdminAccount, SessionSecret, AdminSession)> {
        let now = self.now();
        let admin = match checked.0 {
            Checked::Matched(admin) => admin,
            Checked::Wrong(admin_id) => {
                let lock_until = Timestamp::from_millis(now.as_millis() + LOCKOUT_MILLIS);
                self.store
                    .record_failed_sign_in(admin_id, MAX_FAILED_SIGN_INS, lock_until)
                    .await?;
                return Err(Error::Unauthorized);
            }
            Checked::Hopeless => return Err(Error::Unauthorized),
        };
        if !self.store.clear_sign_in_failures(admin.id, now).await? {
            return Err(Error::Unauthorized);
        }
        let secret = SessionSecret::generate()?;
        let session = AdminSession {
            hash: secret.hash(),
            admin_id: admin.id,
            csrf_token: new_csrf_token()?,
            created_at: now,
            last_seen_at: now,
        };
        self.store.create_session(&session).await?;
        Ok((admin, secret, session))
    }

    /// The admin a session cookie belongs to, if the session is still live.
    pub async fn session(&self, cookie: &str) -> Result<(AdminAccount, AdminSession)> {
        let secret = SessionSecret::parse(cookie).ok_or(Error::Unauthorized)?;
        let hash = secret.hash();
        let session = self
            .store
            .session_by_hash(&hash)
            .await?
            .filter(|session| session.hash.matches(&hash))
            .ok_or(Error::Unauthorized)?;
        let now = self.now();
        if !session.is_live(now) {
            self.store.delete_session(&hash).await?;
            return Err(Error::Unauthorized);
        }
        let admin = self
            .store
            .admin_by_id(session.admin_id)
            .await?
            .filter(|admin| admin.disabled_at.is_none())
            .ok_or(Error::Unauthorized)?;
        if now.as_millis() - session.last_seen_at.as_millis() >= SESSION_TOUCH_INTERVAL_MILLIS {
            self.store.touch_session(&hash, now).await?;
        }
        Ok((admin, session))
    }

    /// A key for the admin JSON API, acting as the admin with that email, valid for
    /// `days` (at most [`MAX_API_KEY_DAYS`]). A live key of the same name is revoked
    /// (rotation). The secret is returned once.
    pub async fn create_api_key(&self, email: &str, name: &str, days: i64) -> Result<ApiKeySecret> {
        let name = TokenName::parse(name)?;
        if !(1..=MAX_API_KEY_DAYS).contains(&days) {
            return Err(Error::Invalid(format!(
                "a key lives 1 to {MAX_API_KEY_DAYS} days, not {days}"
            )));
        }
        let admin = self.admin_named(email).await?;
        let secret = ApiKeySecret::generate()?;
        let now = self.now();
        self.store
            .create_api_key(
                admin.id,
                name.as_str(),
                &secret.hash(),
                now,
                days_after(now, days),
            )
            .await?;
        Ok(secret)
    }

    pub async fn revoke_api_key(&self, email: &str, name: &str) -> Result<()> {
        let admin = self.admin_named(email).await?;
        if self
            .store
            .revoke_api_key(admin.id, name, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "'{}' has no live key named '{name}'",
                admin.email
            )))
        }
    }

    /// The admin an `Authorization: Bearer scimd_k_…` header acts as: a live key of an
    /// account that may act (not disabled, not locked); every failure is the same
    /// `Unauthorized`.
    pub async fn authenticate_api_key(&self, authorization: &str) -> Result<AdminAccount> {
        let secret = authorization
            .trim()
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .and_then(|(_, key)| ApiKeySecret::parse(key.trim()))
            .ok_or(Error::Unauthorized)?;
        let now = self.now();
        self.store
            .admin_by_api_key(&secret.hash(), now)
            .await?
            .filter(|admin| admin.may_act(now))
            .ok_or(Error::Unauthorized)
    }

    /// Ends the session; unknown or malformed cookies end nothing.
    pub async fn sign_out(&self, cookie: &str) -> Result<()> {
        match SessionSecret::parse(cookie) {
            Some(secret) => Ok(self.store.delete_session(&secret.hash()).await?),
            None => Ok(()),
        }
    }
}
