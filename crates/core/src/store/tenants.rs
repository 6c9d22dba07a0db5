//! The tenants a deployment serves.

use super::StoreResult;
use crate::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};
use scim::datetime::Timestamp;
use std::future::Future;

/// Tenants: created once, found by slug, switched between SCIM and manual provisioning.
pub trait TenantStore {
    fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Tenant>> + Send;
    fn tenant_by_slug(
        &self,
        slug: &TenantSlug,
    ) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
    fn tenant_by_id(
        &self,
        id: TenantId,
    ) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
    fn list_tenants(&self) -> impl Future<Output = StoreResult<Vec<Tenant>>> + Send;
    /// `false` when there is no such tenant.
    fn set_provisioning(
        &self,
        tenant: TenantId,
        method: ProvisioningMethod,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
