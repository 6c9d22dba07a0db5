//! Who may do what (SPEC §7), decided by the use cases themselves. Every admin operation of
//! the [`Provisioner`](crate::Provisioner) takes a [`Grant`]: an admin's rights in one tenant
//! for one request. Only core makes one, from an authenticated admin account (console, admin
//! API), scoped to a tenant that account may act in, or for the command line. So a console
//! page or API route that forgets a check still cannot let a viewer change anything, or anyone
//! reach another tenant's data.

use crate::activity::Origin;
use crate::admin::Role;
use crate::error::{Error, Result};
use crate::tenant::Tenant;

/// An admin's rights in one tenant, and where the request came from (what the activity log
/// records as its actor).
#[derive(Debug, Clone)]
pub struct Grant {
    origin: Origin,
    tenant: Tenant,
    role: Role,
}

impl Grant {
    /// Made only by the provisioner, once the tenant is known to be the admin's to act in.
    pub(crate) fn new(origin: Origin, tenant: Tenant, role: Role) -> Self {
        Self {
            origin,
            tenant,
            role,
        }
    }

    /// The command line's rights in `tenant`: whoever runs scimd against its database owns
    /// it, so acts as an operator (recorded as the login name `origin` carries). Only the
    /// command line, and tests standing in for it, make these; the console and the admin API
    /// get theirs from [`Provisioner::grant`](crate::Provisioner::grant).
    pub fn command_line(tenant: Tenant, origin: Origin) -> Self {
        Self::new(origin, tenant, Role::Operator)
    }

    /// The tenant every operation under this grant is about.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether pages should offer changes (the operations refuse them anyway).
    pub fn can_change(&self) -> bool {
        self.role.can_change()
    }

    pub fn can_manage_tenants(&self) -> bool {
        self.role.can_manage_tenants()
    }

    /// The tenant to change, unless this admin may only look.
    pub(crate) fn to_change(&self) -> Result<&Tenant> {
        if self.can_change() {
            Ok(&self.tenant)
        } else {
            Err(Error::Forbidden("a viewer can look, not change".into()))
        }
    }

    /// Refuses everyone but operators.
    pub(crate) fn to_manage_tenants(&self) -> Result<()> {
        if self.can_manage_tenants() {
            Ok(())
        } else {
            Err(Error::Forbidden("only an operator manages tenants".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{ProvisioningMethod, TenantId, TenantSlug};
    use scim::datetime::Timestamp;

    fn grant(role: Role) -> Grant {
        let tenant = Tenant {
            id: TenantId(1),
            slug: TenantSlug::parse("acme").unwrap(),
            name: "Acme".into(),
            created_at: Timestamp::from_millis(0),
            provisioning: ProvisioningMethod::Scim,
        };
        Grant::new(Origin::system("test"), tenant, role)
    }

    #[test]
    fn viewers_look_admins_change_operators_manage_tenants() {
        assert!(matches!(
            grant(Role::Viewer).to_change(),
            Err(Error::Forbidden(_))
        ));
        assert!(grant(Role::Admin).to_change().is_ok());
        assert!(grant(Role::Operator).to_change().is_ok());
        assert!(matches!(
            grant(Role::Admin).to_manage_tenants(),
            Err(Error::Forbidden(_))
        ));
        assert!(grant(Role::Operator).to_manage_tenants().is_ok());
    }
}
