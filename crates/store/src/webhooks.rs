//! Webhook endpoints on either backend: their rows (the signing secret sealed under the
//! server's 'webhook' key) and the server's SET signing key. Deliveries are `deliveries.rs`.

use crate::backend::{Column, Row, Step, Written};
use crate::deliveries::PENDING;
use crate::server_keys::server_secret;
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::feed::ChangeType;
use scimd_core::store::{StoreError, StoreResult, WebhookStore};
use scimd_core::tenant::TenantId;
use scimd_core::webhook::{
    NewWebhook, Webhook, WebhookFormat, WebhookHealth, WebhookSecret, WebhookState,
};

const WEBHOOK_COLUMNS: &str =
    "id, tenant_id, name, url, format, event_types, state, state_reason, created_at, updated_at";
const WEBHOOK_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::OptText,
    Column::Int,
    Column::Int,
];

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored webhook has an invalid {what}").into())
}

fn types_text(types: &[ChangeType]) -> String {
    types
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn webhook_from(mut row: Row) -> StoreResult<Webhook> {
    let event_types = ChangeType::parse_list(&row[5].take_text()).map_err(|_| corrupt("type"))?;
    Ok(Webhook {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name: row[2].take_text(),
        url: row[3].take_text(),
        format: WebhookFormat::parse(&row[4].take_text()).ok_or_else(|| corrupt("format"))?,
        event_types,
        state: WebhookState::parse(&row[6].take_text()).ok_or_else(|| corrupt("state"))?,
        state_reason: row[7].opt_text(),
        created_at: Timestamp::from_millis(row[8].int()),
        updated_at: Timestamp::from_millis(row[9].int()),
    })
}

/// `(tenant, name)` as the `WHERE` of one endpoint, from `$first`.
fn by_name(tenant: TenantId, name: &str, first: usize) -> (String, Vec<SqlValue>) {
    (
        format!("tenant_id = ${first} AND name_ci = ${}", first + 1),
        vec![SqlValue::Int(tenant.0), SqlValue::Text(fold_case(name))],
    )
}

impl SqlStore {
    fn sealed_secret(&self, tenant: TenantId, secret: &WebhookSecret) -> StoreResult<SqlValue> {
        Ok(SqlValue::Bytes(
            self.webhook_secrets.seal(tenant, secret.key())?,
        ))
    }

    /// Changes one endpoint by name; whether there was one.
    async fn change_webhook(
        &self,
        tenant: TenantId,
        name: &str,
        set: &str,
        mut values: Vec<SqlValue>,
    ) -> StoreResult<bool> {
        let (condition, key) = by_name(tenant, name, values.len() + 1);
        values.extend(key);
        let step = Step::run(
            format!("UPDATE webhooks SET {set} WHERE {condition}"),
            values,
        )
        .must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            Written::Committed(_)
        ))
    }
}

impl WebhookStore for SqlStore {
    async fn create_webhook(&self, new: &NewWebhook<'_>) -> StoreResult<Webhook> {
        // It gets the events after the last one there is: those already written are numbered.
        self.number_waiting_changes(new.tenant_id).await?;
        let now = new.now.as_millis();
        let step = Step::run(
            format!(
                "INSERT INTO webhooks (tenant_id, name, name_ci, url, format, event_types, \
                 secret, state, cursor, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, 'enabled', \
                 COALESCE((SELECT MAX(sequence) FROM change_events WHERE tenant_id = $1), 0), $8, $8 \
                 RETURNING {WEBHOOK_COLUMNS}"
            ),
            vec![
                SqlValue::Int(new.tenant_id.0),
                SqlValue::Text(new.name.into()),
                SqlValue::Text(fold_case(new.name)),
                SqlValue::Text(new.url.into()),
                SqlValue::Text(new.format.as_str().into()),
                SqlValue::Text(types_text(new.event_types)),
                self.sealed_secret(new.tenant_id, new.secret)?,
                SqlValue::Int(now),
            ],
        )
        .returning(WEBHOOK_TYPES);
        webhook_from(self.write_returning(vec![step], 0).await?)
    }

    async fn list_webhooks(&self, tenant: TenantId) -> StoreResult<Vec<Webhook>> {
        let statement = Statement::new(
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY name_ci"),
            vec![SqlValue::Int(tenant.0)],
        );
        self.query(statement, WEBHOOK_TYPES)
            .await?
            .into_iter()
            .map(webhook_from)
            .collect()
    }

    async fn set_webhook_state(
        &self,
        tenant: TenantId,
        name: &str,
        state: WebhookState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let values = vec![
            SqlValue::Text(state.as_str().into()),
            SqlValue::OptText(reason.map(str::to_owned)),
            SqlValue::Int(now.as_millis()),
        ];
        self.change_webhook(
            tenant,
            name,
            "state = $1, state_reason = $2, updated_at = $3",
            values,
        )
        .await
    }

    async fn rotate_webhook_secret(
        &self,
        tenant: TenantId,
        name: &str,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let values = vec![
            self.sealed_secret(tenant, secret)?,
            SqlValue::Int(now.as_millis()),
        ];
        self.change_webhook(tenant, name, "secret = $1, updated_at = $2", values)
            .await
    }

    async fn delete_webhook(&self, tenant: TenantId, name: &str) -> StoreResult<bool> {
        let (condition, values) = by_name(tenant, name, 1);
        let deliveries = Step::run(
            format!(
                "DELETE FROM webhook_deliveries WHERE webhook_id IN \
                 (SELECT id FROM webhooks WHERE {condition})"
            ),
            values.clone(),
        );
        let endpoint =
            Step::run(format!("DELETE FROM webhooks WHERE {condition}"), values).must_affect();
        Ok(matches!(
            self.write(vec![deliveries, endpoint]).await?,
            Written::Committed(_)
        ))
    }

    async fn webhook_health(&self) -> StoreResult<WebhookHealth> {
        let statement = Statement::new(
            format!(
                "SELECT (SELECT COUNT(*) FROM webhooks WHERE state = 'enabled'), \
                 (SELECT COUNT(*) FROM webhooks WHERE state = 'disabled'), \
                 (SELECT COUNT(*) FROM webhooks WHERE state = 'failing'), \
                 (SELECT COUNT(*) FROM webhook_deliveries d WHERE {PENDING})"
            ),
            vec![],
        );
        let rows = self.query(statement, &[Column::Int; 4]).await?;
        let count = |n: usize| {
            rows.first()
                .map_or(0, |row| u64::try_from(row[n].int()).unwrap_or(0))
        };
        Ok(WebhookHealth {
            enabled: count(0),
            disabled: count(1),
            failing: count(2),
            pending_deliveries: count(3),
        })
    }

    async fn signing_key(&self, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        server_secret(&self.backend, "set-signing", fresh).await
    }
}
