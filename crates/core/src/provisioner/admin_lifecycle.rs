//! An admin account over its life, for operators: disabled and enabled again, its password
//! replaced, its sessions ended, its keys listed, the account deleted. Each change that ends
//! access ends the sessions with it, in the same transaction.

use super::Provisioner;
use crate::admin::{AdminAccount, ApiKeyInfo, hash_password};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::Store;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// The account with this email, or `NotFound`.
    pub(super) async fn admin_named(&self, email: &str) -> Result<AdminAccount> {
        self.store
            .admin_by_email(email)
            .await?
            .map(|(admin, _)| admin)
            .ok_or_else(|| Error::NotFound(format!("no admin with email '{}'", email.trim())))
    }

    /// Nothing of the account works until it is enabled: no sign-in, no session, no key.
    pub async fn disable_admin(&self, email: &str) -> Result<AdminAccount> {
        let admin = self.admin_named(email).await?;
        self.store
            .set_admin_disabled(admin.id, Some(self.now()))
            .await?;
        Ok(admin)
    }

    pub async fn enable_admin(&self, email: &str) -> Result<AdminAccount> {
        let admin = self.admin_named(email).await?;
        self.store.set_admin_disabled(admin.id, None).await?;
        Ok(admin)
    }

    /// Replaces the password; a lock after failed sign-ins is lifted and every session ends.
    pub async fn change_admin_password(&self, email: &str, password: &str) -> Result<()> {
        let admin = self.admin_named(email).await?;
        let hash = hash_password(password)?;
        Ok(self.store.set_admin_password(admin.id, &hash).await?)
    }

    /// Signs the admin out everywhere; how many sessions ended.
    pub async fn end_admin_sessions(&self, email: &str) -> Result<u64> {
        let admin = self.admin_named(email).await?;
        Ok(self.store.delete_admin_sessions(admin.id).await?)
    }

    /// Deletes the account with its sessions and keys.
    pub async fn delete_admin(&self, email: &str) -> Result<()> {
        let admin = self.admin_named(email).await?;
        Ok(self.store.delete_admin(admin.id).await?)
    }

    /// The keys of the admin with this email, or of every admin.
    pub async fn api_keys(&self, email: Option<&str>) -> Result<Vec<ApiKeyInfo>> {
        let admin_id = match email {
            Some(email) => Some(self.admin_named(email).await?.id),
            None => None,
        };
        Ok(self.store.list_api_keys(admin_id).await?)
    }
}
