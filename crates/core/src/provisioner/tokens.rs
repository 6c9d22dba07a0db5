//! SCIM bearer tokens: created, rotated and revoked by admins, checked on
//! every SCIM request.

use super::Provisioner;
use crate::access::Grant;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::tenant::{ProvisioningMethod, TenantId, TenantSlug};
use crate::token::{
    DEFAULT_LIFETIME_DAYS, FoundToken, NewToken, Token, TokenName, TokenSecret, days_after,
};
use scim::datetime::Timestamp;

/// How often `last_used_at` is written for a busy token: recording every request would turn
/// each read into a write.
const TOKEN_TOUCH_INTERVAL_MILLIS: i64 = 60_000;

/// Who is calling: the tenant and token a bearer secret belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub tenant_slug: TenantSlug,
    pub token_id: i64,
    pub token_name: String,
    /// The OAuth client an access token was issued to: its requests share one rate, however
    /// many access tokens it holds.
    pub client_pk: Option<i64>,
    /// The tenant's provisioning method when the token was checked.
    pub provisioning: ProvisioningMethod,
}

impl Principal {
    /// a tenant switched to manual provisioning refuses every SCIM call with a valid
    /// token, with a 403 whose detail the IdP shows its admin.
    pub fn may_provision(&self) -> Result<()> {
        match self.provisioning {
            ProvisioningMethod::Scim => Ok(()),
            ProvisioningMethod::Manual => Err(scim::Error::status(
                403,
                format!(
                    "SCIM provisioning is turned off for tenant '{}': an admin of this service \
                     set its provisioning method to manual (`scimd tenant provisioning scim` or \
                     the console's Provisioning page turns it back on); nothing was changed",
                    self.tenant_slug
                ),
            )
            .into()),
        }
    }
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Creates a token. A live token of the same name is rotated: revoked now, or
    /// after `keep_previous_millis` so the IdP can be switched over without downtime.
    pub async fn create_token(
        &self,
        grant: &Grant,
        name: &str,
        expires_in_days: Option<i64>,
        keep_previous_millis: Option<i64>,
    ) -> Result<(Token, TokenSecret)> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let name = TokenName::parse(name)?;
        let days = expires_in_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
        if !(1..=3650).contains(&days) {
            return Err(Error::Invalid(format!(
                "a token lives 1 to 3650 days, not {days}"
            )));
        }
        let keep = keep_previous_millis.unwrap_or(0);
        if keep < 0 {
            return Err(Error::Invalid("--keep-previous cannot be negative".into()));
        }
        let now = self.now();
        let secret = TokenSecret::generate()?;
        let token = NewToken {
            tenant_id: tenant.id,
            name,
            hash: secret.hash(),
            created_at: now,
            expires_at: days_after(now, days),
            previous_revoked_at: Timestamp::from_millis(now.as_millis().saturating_add(keep)),
        };
        let token = self.store.insert_token(&token).await?;
        let previous = if keep > 0 {
            let until = Timestamp::from_millis(now.as_millis().saturating_add(keep));
            format!(
                "earlier '{}' tokens, if any, work until {}",
                token.name,
                until.to_rfc3339()
            )
        } else {
            format!("earlier '{}' tokens, if any, stop working now", token.name)
        };
        let detail = format!(
            "token '{}' created, expires {}; {previous}",
            token.name,
            token.expires_at.to_rfc3339()
        );
        self.record_admin(origin, tenant, "create token", detail)
            .await?;
        Ok((token, secret))
    }

    pub async fn list_tokens(&self, grant: &Grant) -> Result<Vec<Token>> {
        let tenant = grant.tenant();
        Ok(self.store.list_tokens(tenant.id).await?)
    }

    pub async fn revoke_token(&self, grant: &Grant, name: &str) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let name = TokenName::parse(name)?;
        if self
            .store
            .revoke_token(tenant.id, &name, self.now())
            .await?
        {
            let detail = format!("token '{name}' revoked");
            self.record_admin(origin, tenant, "revoke token", detail)
                .await
        } else {
            Err(Error::NotFound(format!(
                "tenant '{}' has no live token named '{name}'",
                tenant.slug
            )))
        }
    }

    /// Runs `work`, a SCIM request's reads (its token check, then its handler's), in one shared
    /// read scope (see [`Database::read_scope`](crate::store::Database::read_scope)) unless the request's body is still to come: a
    /// read transaction held over a slow client's upload would keep the database's write-ahead
    /// log from starting over for as long as the client takes. A request with a body checks
    /// its token on its own and runs its handler here once the body is in; scopes nest, so a
    /// bodiless request's handler joins the scope of its token check.
    pub async fn request_reads<F>(&self, body_pending: bool, work: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        if body_pending {
            work.await
        } else {
            self.store.read_scope(work).await
        }
    }

    /// Checks an `Authorization` header. Every failure is the same `Unauthorized`, so a
    /// caller learns nothing about which part was wrong.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal> {
        let secret = authorization
            .and_then(|header| header.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .and_then(|(_, secret)| TokenSecret::parse(secret.trim()))
            .ok_or(Error::Unauthorized)?;
        let hash = secret.hash();
        let FoundToken {
            token,
            hash: stored_hash,
            tenant_slug,
            provisioning,
        } = self
            .store
            .token_by_hash(&hash)
            .await?
            .ok_or(Error::Unauthorized)?;
        let now = self.now();
        if !stored_hash.matches(&hash) || !token.is_usable(now) {
            return Err(Error::Unauthorized);
        }
        let stale = token
            .last_used_at
            .is_none_or(|used| now.as_millis() - used.as_millis() >= TOKEN_TOUCH_INTERVAL_MILLIS);
        if stale {
            self.store.touch_token(token.id, now).await?;
        }
        Ok(Principal {
            tenant_id: token.tenant_id,
            tenant_slug,
            token_id: token.id,
            token_name: token.name.as_str().to_owned(),
            client_pk: token.client_pk,
            provisioning,
        })
    }
}
