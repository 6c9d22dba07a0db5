//! The use cases. SCIM handlers, console pages and CLI commands all call these: one layer,
//! three faces.

mod accounts;
mod admin_lifecycle;
mod admins;
mod catalog;
mod clients;
mod create;
mod dashboard;
mod delivery;
mod feed;
mod mail;
mod manual;
mod moves;
mod oauth;
mod retention;
mod tenants;
#[cfg(test)]
mod tests;
mod tokens;
mod users;
mod webhooks;

use crate::activity::{Event, Origin};
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::store::Store;
use crate::tenant::Tenant;
use scim::datetime::Timestamp;

pub use accounts::{AccountFilter, AccountSearch, AccountView};
pub use catalog::{MappingEdit, MappingPreview, MappingSpec};
pub use dashboard::{ClientAttention, Dashboard};
pub use delivery::{MAX_IN_FLIGHT, WebhookRound};
pub use feed::{DEFAULT_EVENT_RETENTION_DAYS, MAX_EVENTS_PER_READ};
pub use mail::MailRound;
pub use manual::ManualUser;
pub use moves::{MAX_MOVE_EMAILS, MoveSelection, MoveTarget};
pub use oauth::{AuthenticatedClient, IssuedToken};
pub use retention::DEFAULT_ACTIVITY_RETENTION_DAYS;
pub use tokens::Principal;
pub use webhooks::{MAX_DELIVERIES_LISTED, WebhookSpec};

#[derive(Debug, Clone)]
pub struct Provisioner<S, C = SystemClock> {
    store: S,
    clock: C,
    /// Whether email notifications are on (SMTP configured): mails are queued only then.
    mail: bool,
    /// The SCIM base URL change events name users under (`meta.location`).
    scim_base_url: String,
}

/// Where change events say users are when no public URL is configured: the default address.
pub const DEFAULT_SCIM_BASE_URL: &str = "http://localhost:8080/scim/v2";

impl<S, C: Clock> Provisioner<S, C> {
    pub fn new(store: S, clock: C) -> Self {
        Self {
            store,
            clock,
            mail: false,
            scim_base_url: DEFAULT_SCIM_BASE_URL.into(),
        }
    }

    /// The SCIM base URL (`https://scim.example.com/scim/v2`) change events name users under.
    pub fn with_scim_base_url(self, url: impl Into<String>) -> Self {
        Self {
            scim_base_url: url.into(),
            ..self
        }
    }

    /// Turns email notifications on: the process has an SMTP server to send through.
    pub fn with_mail(self, on: bool) -> Self {
        Self { mail: on, ..self }
    }

    pub fn mail_enabled(&self) -> bool {
        self.mail
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Records an admin's change of the catalog, tokens or tenants. Written after the change
    /// in its own transaction: these are rare, and a lost event would not lose the change.
    pub(crate) async fn record_admin(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        operation: &str,
        detail: String,
    ) -> Result<()> {
        let event = Event::change(origin, tenant.id, self.now(), operation, detail);
        Ok(self.store.record_event(&event).await?)
    }
}
