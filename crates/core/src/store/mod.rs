//! The port to the database, one trait per aggregate; `scimd-store` implements each on SQLite
//! and PostgreSQL (one implementation, two SQL dialects), and every implementation runs the
//! same conformance story. [`Store`] is all of them, as the use cases take it.

mod accounts;
mod activity;
mod admins;
mod catalog;
mod database;
mod error;
mod mail;
mod tenants;
mod tokens;

pub use accounts::{
    AccountCounts, AccountMove, AccountQuery, AccountReads, AccountWrites, StateFilter, UserPage,
};
pub use activity::ActivityStore;
pub use admins::AdminStore;
pub use catalog::CatalogStore;
pub use database::Database;
pub use error::{StoreError, StoreResult};
pub use mail::MailStore;
pub use tenants::TenantStore;
pub use tokens::TokenStore;

/// Everything the domain reads and writes: every aggregate's store. Every user operation is
/// scoped by tenant.
pub trait Store:
    TenantStore
    + TokenStore
    + AccountReads
    + AccountWrites
    + CatalogStore
    + ActivityStore
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
        + AccountReads
        + AccountWrites
        + CatalogStore
        + ActivityStore
        + AdminStore
        + MailStore
        + Database
        + Clone
        + Send
        + Sync
        + 'static
{
}
