//! # scimd-core: the domain
//!
//! Tenants, tokens and users, the [`Store`](store::Store) port they are kept behind, and the
//! [`Provisioner`] whose use cases the SCIM API, the console and the
//! CLI all call. No SQL and no HTTP here.
//!
//! # Layout
//! - [`provisioner`]: the use cases (their own tests run on an in-memory store, `store::memory`).
//! - [`access`]: the grant every admin operation takes: a role's rights in one tenant.
//! - [`store`]: the storage port, one trait per aggregate, and its error and query types.
//! - [`tenant`], [`token`], [`user`]: the entities and their newtypes.
//! - [`user_id`]: SCIM ids (UUIDv7).
//! - [`etag`]: `If-Match` comparison.
//! - [`mapping`]: mapping criteria and their evaluation at creation (SPEC §5).
//! - [`lifecycle`]: the account state machine as decisions (SPEC §4).
//! - [`account`]: display name, account name and UPN derived from a SCIM user.
//! - [`catalog`]: profiles, storages and mappings as stored.
//! - [`mail`]: email notifications: what each says, the sending port, the retry schedule.
//! - [`feed`]: the change feed: one event per account change, in sequence, for the host product.
//! - [`webhook`]: webhook endpoints, deliveries and their retry schedule; the sending port.
//! - [`activity`]: the activity log: who did what to which account, and every failed call.
//! - [`admin`]: console and admin-API accounts, roles, sessions and API keys.
//! - [`secret`]: random secrets and their hashes (tokens, sessions, keys).
//! - [`clock`]: the only source of "now".
//! - [`error`]: domain outcomes, rendered once by the binary.

pub mod access;
pub mod account;
pub mod activity;
pub mod admin;
pub mod catalog;
pub mod clock;
pub mod error;
pub mod etag;
pub mod feed;
pub mod lifecycle;
pub mod mail;
pub mod mapping;
pub mod oauth;
pub mod provisioner;
pub mod secret;
pub mod store;
pub mod tenant;
pub mod token;
pub mod user;
pub mod user_id;
pub mod webhook;

pub use error::{Error, Result};
pub use provisioner::{AuthenticatedClient, Principal, Provisioner};
