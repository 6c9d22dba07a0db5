//! The port to the database, one trait per aggregate; `scimd-store` implements each on SQLite
//! and PostgreSQL (one implementation, two SQL dialects), checked by its conformance suite.
//! [`Store`] is all of them, as most use cases take it; [`ScimStore`] is what the SCIM user use
//! cases need, which the in-memory store of the core's own tests (`memory`) also implements.

mod accounts;
mod activity;
mod admins;
mod catalog;
mod clients;
mod database;
mod deliveries;
mod error;
mod feed;
mod mail;
#[cfg(test)]
pub(crate) mod memory;
mod tenants;
mod tokens;
mod webhooks;

pub use accounts::{
    AccountCounts, AccountMove, AccountQuery, AccountReads, AccountWrites, StateFilter, UserPage,
};
pub use activity::ActivityStore;
pub use admins::AdminStore;
pub use catalog::CatalogStore;
pub use clients::ClientStore;
pub use database::Database;
pub use deliveries::DeliveryStore;
pub use error::{StoreError, StoreResult};
pub use feed::FeedStore;
pub use mail::MailStore;
pub use tenants::TenantStore;
pub use tokens::TokenStore;
pub use webhooks::WebhookStore;

/// What the SCIM user use cases (create, read, replace, patch, delete, list) need: accounts,
/// the catalog they are classified by, and the tenant an activation email names.
pub trait ScimStore: AccountReads + AccountWrites + CatalogStore + TenantStore + Sync {}

impl<S> ScimStore for S where S: AccountReads + AccountWrites + CatalogStore + TenantStore + Sync {}

/// Everything the domain reads and writes: every aggregate's store. Every user operation is
/// scoped by tenant.
pub trait Store:
    TenantStore
    + TokenStore
    + ClientStore
    + AccountReads
    + AccountWrites
    + CatalogStore
    + ActivityStore
    + FeedStore
    + WebhookStore
    + DeliveryStore
    + AdminStore
    + MailStore
    + Database
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Store for S where
    S: TenantStore
        + TokenStore
        + ClientStore
        + AccountReads
        + AccountWrites
        + CatalogStore
        + ActivityStore
        + FeedStore
        + WebhookStore
        + DeliveryStore
        + AdminStore
        + MailStore
        + Database
        + Clone
        + Send
        + Sync
        + 'static
{
}
