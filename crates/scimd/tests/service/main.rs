//! The `scimd` service end to end: over HTTP in process, as a real binary on a socket, through
//! its CLI, with its mail and webhook receivers. One test binary, so a clean build links the
//! service once for all of them, not once per file.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod activity_retention;
mod admin_accounts;
mod admin_api_http;
mod classification_http;
mod cli;
mod cli_users;
mod clients_api;
mod console_browser;
mod console_http;
mod crash;
mod discovery_http;
mod events_http;
mod hardening;
mod lifecycle_http;
mod mail;
mod oauth;
mod replay;
mod roles;
mod rules_doc;
mod socket;
mod tokens_http;
mod two_instances;
mod users_http;
mod webhooks;
mod webhooks_api;
