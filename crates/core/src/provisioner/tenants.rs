//! Tenants (SPEC §7, §8) and the grants admins act under in them.

use super::Provisioner;
use crate::access::Grant;
use crate::activity::Origin;
use crate::admin::{AdminAccount, Role};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{Store, StoreError};
use crate::tenant::{ProvisioningMethod, Tenant, TenantSlug};

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// SPEC §8: a new database holds tenant `default` with its default catalog.
    pub async fn ensure_default_tenant(&self) -> Result<Tenant> {
        let slug = TenantSlug::default_tenant();
        if let Some(tenant) = self.store.tenant_by_slug(&slug).await? {
            return Ok(tenant);
        }
        match self.store.create_tenant(&slug, "Default", self.now()).await {
            Ok(tenant) => {
                self.seed_catalog(&tenant).await?;
                Ok(tenant)
            }
            // Another instance created it first (and seeds it).
            Err(StoreError::Conflict(_)) => self.tenant(TenantSlug::DEFAULT).await,
            Err(other) => Err(other.into()),
        }
    }

    /// A new tenant, with the same default catalog as `default`. Operators only.
    pub async fn create_tenant(
        &self,
        grant: &Grant,
        slug: &str,
        name: Option<&str>,
    ) -> Result<Tenant> {
        grant.to_manage_tenants()?;
        let slug = TenantSlug::parse(slug)?;
        let name = name.unwrap_or(slug.as_str()).to_owned();
        let tenant = self
            .store
            .create_tenant(&slug, &name, self.now())
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    Error::Conflict(format!("tenant '{slug}' already exists"))
                }
                other => other.into(),
            })?;
        let detail = format!("tenant '{}' created", tenant.slug);
        self.record_admin(grant.origin(), &tenant, "create tenant", detail)
            .await?;
        self.seed_catalog(&tenant).await?;
        Ok(tenant)
    }

    /// switches the tenant's provisioning method. Users are never touched; a SCIM
    /// request already past its token check finishes, every later one meets the new method.
    pub async fn set_provisioning(&self, grant: &Grant, method: ProvisioningMethod) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        if !self.store.set_provisioning(tenant.id, method).await? {
            return Err(Error::NotFound(format!("no tenant '{}'", tenant.slug)));
        }
        let detail = match method {
            ProvisioningMethod::Scim => "provisioning method set to scim: IdPs provision over SCIM",
            ProvisioningMethod::Manual => {
                "provisioning method set to manual: every SCIM call is refused"
            }
        };
        self.record_admin(origin, tenant, "set provisioning method", detail.into())
            .await
    }

    pub async fn tenant(&self, slug: &str) -> Result<Tenant> {
        let slug = TenantSlug::parse(slug)?;
        self.store.tenant_by_slug(&slug).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "no tenant '{slug}'; `scimd tenant list` shows them"
            ))
        })
    }

    /// Every tenant. Operators only.
    pub async fn list_tenants(&self, grant: &Grant) -> Result<Vec<Tenant>> {
        grant.to_manage_tenants()?;
        Ok(self.store.list_tenants().await?)
    }

    /// The rights of a signed-in admin (console, admin API) for one request: an operator's in
    /// the tenant it names (`default` when none), any other admin's in its own tenant whatever
    /// it names (so a tenant admin's request can never reach another tenant).
    pub async fn grant(
        &self,
        admin: &AdminAccount,
        named_tenant: Option<&str>,
        origin: Origin,
    ) -> Result<Grant> {
        let not_yours = || Error::Forbidden("this tenant is not yours".into());
        let tenant = match (admin.role, admin.tenant_id) {
            (Role::Operator, _) => {
                self.tenant(named_tenant.unwrap_or(TenantSlug::DEFAULT))
                    .await?
            }
            (_, Some(tenant_id)) => self
                .store
                .tenant_by_id(tenant_id)
                .await?
                .ok_or_else(not_yours)?,
            (_, None) => return Err(not_yours()),
        };
        if !admin.can_access(tenant.id) {
            return Err(not_yours());
        }
        Ok(Grant::new(origin, tenant, admin.role))
    }

    /// [`Grant::command_line`] in the tenant named `slug`.
    pub async fn command_line_grant(&self, slug: &str, origin: Origin) -> Result<Grant> {
        Ok(Grant::command_line(self.tenant(slug).await?, origin))
    }

    /// scimd acting on its own in a tenant (seeding its catalog, housekeeping).
    pub(super) fn system_grant(&self, tenant: &Tenant, what: &str) -> Grant {
        Grant::new(Origin::system(what), tenant.clone(), Role::Operator)
    }
}
