//! Webhook endpoints (SPEC §11): what admins do with them. Delivery is `delivery.rs`.

use super::Provisioner;
use crate::access::Grant;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::feed::ChangeType;
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;
use crate::webhook::{
    DeliveryView, DestinationPolicy, NewWebhook, Webhook, WebhookFormat, WebhookHealth,
    WebhookSecret, WebhookState, check_name,
};

/// The most deliveries one listing shows.
pub const MAX_DELIVERIES_LISTED: u32 = 1_000;

/// A new endpoint as an admin describes it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSpec<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub format: WebhookFormat,
    /// The event types it gets; all when empty.
    pub event_types: &'a [ChangeType],
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// A new endpoint of the grant's tenant and its signing secret, shown this once. Its URL
    /// must be one `policy` allows (no private or loopback address, see
    /// [`DestinationPolicy::vet`]). It gets the events from now on.
    pub async fn create_webhook(
        &self,
        grant: &Grant,
        spec: WebhookSpec<'_>,
        policy: &impl DestinationPolicy,
    ) -> Result<(Webhook, WebhookSecret)> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        check_name(spec.name)?;
        policy
            .vet(spec.url)
            .await
            .map_err(|reason| Error::Invalid(format!("webhook URL {:?}: {reason}", spec.url)))?;
        let secret = WebhookSecret::generate()?;
        let new = NewWebhook {
            tenant_id: tenant.id,
            name: spec.name,
            url: spec.url,
            format: spec.format,
            event_types: spec.event_types,
            secret: &secret,
            now: self.now(),
        };
        let webhook = self
            .store
            .create_webhook(&new)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => Error::Conflict(format!(
                    "tenant '{}' has a webhook named '{}' already",
                    tenant.slug, spec.name
                )),
                other => other.into(),
            })?;
        let detail = format!(
            "webhook '{}' created: {} to {}",
            webhook.name,
            webhook.format.as_str(),
            webhook.url
        );
        self.record_admin(origin, tenant, "create webhook", detail)
            .await?;
        Ok((webhook, secret))
    }

    pub async fn list_webhooks(&self, grant: &Grant) -> Result<Vec<Webhook>> {
        Ok(self.store.list_webhooks(grant.tenant().id).await?)
    }

    /// The endpoint named `name` (any role may look).
    pub async fn webhook(&self, grant: &Grant, name: &str) -> Result<Webhook> {
        let tenant = grant.tenant();
        self.list_webhooks(grant)
            .await?
            .into_iter()
            .find(|webhook| webhook.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| no_webhook(tenant, name))
    }

    /// Enables (events resume where the endpoint stopped) or disables an endpoint.
    pub async fn set_webhook_enabled(&self, grant: &Grant, name: &str, on: bool) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let (state, reason, word) = match on {
            true => (WebhookState::Enabled, None, "enabled"),
            false => (
                WebhookState::Disabled,
                Some("disabled by an admin"),
                "disabled",
            ),
        };
        if !self
            .store
            .set_webhook_state(tenant.id, name, state, reason, self.now())
            .await?
        {
            return Err(no_webhook(tenant, name));
        }
        let detail = format!("webhook '{name}' {word}");
        self.record_admin(origin, tenant, "change webhook", detail)
            .await
    }

    /// A new signing secret, shown this once; the old one stops signing at once.
    pub async fn rotate_webhook_secret(&self, grant: &Grant, name: &str) -> Result<WebhookSecret> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let secret = WebhookSecret::generate()?;
        if !self
            .store
            .rotate_webhook_secret(tenant.id, name, &secret, self.now())
            .await?
        {
            return Err(no_webhook(tenant, name));
        }
        let detail = format!("webhook '{name}': signing secret rotated");
        self.record_admin(origin, tenant, "change webhook", detail)
            .await?;
        Ok(secret)
    }

    pub async fn delete_webhook(&self, grant: &Grant, name: &str) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        if !self.store.delete_webhook(tenant.id, name).await? {
            return Err(no_webhook(tenant, name));
        }
        let detail = format!("webhook '{name}' deleted with its deliveries");
        self.record_admin(origin, tenant, "delete webhook", detail)
            .await
    }

    /// The endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        grant: &Grant,
        name: &str,
        limit: u32,
    ) -> Result<(Webhook, Vec<DeliveryView>)> {
        let webhook = self.webhook(grant, name).await?;
        let limit = limit.clamp(1, MAX_DELIVERIES_LISTED);
        let deliveries = self.store.deliveries(webhook.id, limit).await?;
        Ok((webhook, deliveries))
    }

    /// Sends event `event_id` again to the endpoints that got (or were to get) it, or to the
    /// endpoint `name` only; how many deliveries were made due.
    pub async fn redeliver(
        &self,
        grant: &Grant,
        event_id: &str,
        name: Option<&str>,
    ) -> Result<u64> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let webhook = match name {
            Some(name) => Some(self.webhook(grant, name).await?.id),
            None => None,
        };
        let count = self
            .store
            .redeliver(tenant.id, event_id.trim(), webhook, self.now())
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "tenant '{}' has no event {event_id:?} (or it expired: the feed keeps \
                     events for --event-retention-days)",
                    tenant.slug
                ))
            })?;
        if count == 0 {
            return Err(Error::NotFound(format!(
                "no webhook got event {event_id:?}; name one with --webhook NAME to send it there"
            )));
        }
        let detail = format!("event {event_id} queued again for {count} webhook(s)");
        self.record_admin(origin, tenant, "redeliver event", detail)
            .await?;
        Ok(count)
    }
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Every tenant's endpoints by state and the deliveries waiting (operations, no tenant).
    pub async fn webhook_health(&self) -> Result<WebhookHealth> {
        Ok(self.store.webhook_health().await?)
    }
}

fn no_webhook(tenant: &Tenant, name: &str) -> Error {
    Error::NotFound(format!(
        "tenant '{}' has no webhook named '{name}'",
        tenant.slug
    ))
}
