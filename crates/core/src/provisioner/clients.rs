//! OAuth clients (SPEC §12): what admins do with them. The token endpoint's side is
//! `oauth.rs`.

use super::Provisioner;
use crate::access::Grant;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::oauth::{
    AddedSecret, ClientSecret, IssuedSecret, MAX_LIVE_SECRETS, NewClient, NewSecret, OAuthClient,
    Trust, check_name, new_client_id, secret_days,
};
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;
use crate::token::days_after;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// A new client of the grant's tenant and its first secret, shown this once; the secret
    /// lives `secret_days` (365–1095, two years when `None`).
    pub async fn create_client(
        &self,
        grant: &Grant,
        name: &str,
        secret_days: Option<i64>,
    ) -> Result<IssuedSecret> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        check_name(name)?;
        let (secret, new_secret) = self.new_secret(secret_days)?;
        let client_id = new_client_id()?;
        let new = NewClient {
            tenant_id: tenant.id,
            name,
            client_id: &client_id,
            secret: new_secret,
        };
        let client = self
            .store
            .create_client(&new)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => Error::Conflict(format!(
                    "tenant '{}' has a client named '{name}' already",
                    tenant.slug
                )),
                other => other.into(),
            })?;
        let detail = format!(
            "OAuth client '{name}' created (client id {client_id}); its secret expires {}",
            new_secret.expires_at.to_rfc3339()
        );
        self.record_admin(origin, tenant, "create client", detail)
            .await?;
        let info =
            client.secrets.first().cloned().ok_or_else(|| {
                Error::Internal("a new client came back without its secret".into())
            })?;
        Ok(IssuedSecret {
            client,
            info,
            secret,
        })
    }

    /// The tenant's clients (revoked ones too), each with its secrets.
    pub async fn list_clients(&self, grant: &Grant) -> Result<Vec<OAuthClient>> {
        Ok(self.store.list_clients(grant.tenant().id).await?)
    }

    /// A second live secret for a rotation, shown this once: the IdP is switched to it, then
    /// the old one is revoked. A client has at most two.
    pub async fn add_client_secret(
        &self,
        grant: &Grant,
        name: &str,
        secret_days: Option<i64>,
    ) -> Result<IssuedSecret> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let client = self.live_client(tenant, name).await?;
        let (secret, new_secret) = self.new_secret(secret_days)?;
        let info = match self.store.add_client_secret(client.id, &new_secret).await? {
            AddedSecret::Added(info) => info,
            AddedSecret::NoClient => return Err(no_client(tenant, name)),
            AddedSecret::Full => {
                return Err(Error::Conflict(format!(
                    "client '{name}' has {MAX_LIVE_SECRETS} live secrets already: revoke one \
                     (`scimd client revoke-secret {name} SECRET_ID`) before adding another"
                )));
            }
        };
        let detail = format!(
            "secret {} added to OAuth client '{name}', expires {}",
            info.id,
            info.expires_at.to_rfc3339()
        );
        self.record_admin(origin, tenant, "change client", detail)
            .await?;
        Ok(IssuedSecret {
            client,
            info,
            secret,
        })
    }

    /// Revokes one secret; the access tokens given for it stop working at once.
    pub async fn revoke_client_secret(
        &self,
        grant: &Grant,
        name: &str,
        secret_id: i64,
    ) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let client = self.live_client(tenant, name).await?;
        if !self
            .store
            .revoke_client_secret(client.id, secret_id, self.now())
            .await?
        {
            return Err(Error::NotFound(format!(
                "client '{name}' has no live secret {secret_id}"
            )));
        }
        let detail = format!("secret {secret_id} of OAuth client '{name}' revoked");
        self.record_admin(origin, tenant, "change client", detail)
            .await
    }

    /// Revokes a client, its secrets and its access tokens, at once.
    pub async fn revoke_client(&self, grant: &Grant, name: &str) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let client = self.live_client(tenant, name).await?;
        if !self.store.revoke_client(client.id, self.now()).await? {
            return Err(no_client(tenant, name));
        }
        let detail = format!("OAuth client '{name}' revoked with its secrets and access tokens");
        self.record_admin(origin, tenant, "revoke client", detail)
            .await
    }

    /// Lets the client authenticate with assertions `trust` describes (workload identity
    /// federation), or with `None` no longer. The caller has checked that its keys parse.
    pub async fn trust_client(
        &self,
        grant: &Grant,
        name: &str,
        trust: Option<Trust>,
    ) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        if let Some(trust) = &trust {
            trust.check()?;
        }
        let client = self.live_client(tenant, name).await?;
        if !self
            .store
            .set_client_trust(client.id, trust.as_ref())
            .await?
        {
            return Err(no_client(tenant, name));
        }
        let detail = match &trust {
            Some(trust) => format!(
                "OAuth client '{name}' trusts assertions of {} about {} for {}",
                trust.issuer, trust.subject, trust.audience
            ),
            None => format!("OAuth client '{name}' trusts no assertions"),
        };
        self.record_admin(origin, tenant, "change client", detail)
            .await
    }

    /// The tenant's live client of that name.
    async fn live_client(&self, tenant: &Tenant, name: &str) -> Result<OAuthClient> {
        self.store
            .list_clients(tenant.id)
            .await?
            .into_iter()
            .find(|client| client.revoked_at.is_none() && client.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| no_client(tenant, name))
    }

    fn new_secret(&self, days: Option<i64>) -> Result<(ClientSecret, NewSecret)> {
        let days = secret_days(days)?;
        let secret = ClientSecret::generate()?;
        let now = self.now();
        let new = NewSecret {
            hash: secret.hash(),
            created_at: now,
            expires_at: days_after(now, days),
        };
        Ok((secret, new))
    }
}

fn no_client(tenant: &Tenant, name: &str) -> Error {
    Error::NotFound(format!(
        "tenant '{}' has no live OAuth client named '{name}'",
        tenant.slug
    ))
}
