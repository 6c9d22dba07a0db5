//! Tenants on either backend.

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scimd_core::store::{StoreError, StoreResult, TenantStore};
use scimd_core::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};

pub(crate) const TENANT_COLUMNS: &str = "id, slug, name, created_at, provisioning";
pub(crate) const TENANT_TYPES: &[Column] = &[
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Text,
];
fn tenant_from(mut row: Row) -> StoreResult<Tenant> {
    let slug = TenantSlug::parse(&row[1].take_text())
        .map_err(|e| StoreError::Backend(e.to_string().into()))?;
    Ok(Tenant {
        id: TenantId(row[0].int()),
        slug,
        name: row[2].take_text(),
        created_at: Timestamp::from_millis(row[3].int()),
        provisioning: provisioning_from(&row[4].take_text())?,
    })
}

pub(crate) fn provisioning_from(text: &str) -> StoreResult<ProvisioningMethod> {
    ProvisioningMethod::parse(text).map_err(|e| StoreError::Backend(e.to_string().into()))
}

impl TenantStore for SqlStore {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant> {
        let step = Step::run(
            format!("INSERT INTO tenants (slug, name, created_at) VALUES ($1, $2, $3) RETURNING {TENANT_COLUMNS}"),
            vec![SqlValue::Text(slug.as_str().into()), SqlValue::Text(name.into()), SqlValue::Int(now.as_millis())],
        )
        .returning(TENANT_TYPES);
        tenant_from(self.write_returning(vec![step], 0).await?)
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        one_tenant(self, "slug = $1", SqlValue::Text(slug.as_str().into())).await
    }

    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        one_tenant(self, "id = $1", SqlValue::Int(id.0)).await
    }

    async fn set_provisioning(
        &self,
        tenant: TenantId,
        method: ProvisioningMethod,
    ) -> StoreResult<bool> {
        let step = Step::run(
            "UPDATE tenants SET provisioning = $2 WHERE id = $1",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(method.as_str().into()),
            ],
        )
        .must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            Written::Committed(_)
        ))
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let statement = Statement::new(
            format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY slug"),
            vec![],
        );
        self.query(statement, TENANT_TYPES)
            .await?
            .into_iter()
            .map(tenant_from)
            .collect()
    }
}

async fn one_tenant(
    store: &SqlStore,
    condition: &str,
    value: SqlValue,
) -> StoreResult<Option<Tenant>> {
    let statement = Statement::new(
        format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE {condition}"),
        vec![value],
    );
    store
        .lookup(statement, TENANT_TYPES)
        .await?
        .into_iter()
        .next()
        .map(tenant_from)
        .transpose()
}
