//! # scimd: the SCIM 2.0 provisioning service
//!
//! The binary's library half: the HTTP application and its entry point
//! [`run(config, listener, shutdown)`](run), the CLI and its configuration.
//!
//! # Layout
//! - [`http`]: SCIM routes, the admin API, operations endpoints, extractors, the one error
//!   renderer, the failure recorder.
//! - `console`: the web console's pages (askama templates, sessions, CSRF).
//! - [`cli`]: the commands (`serve`, `tenant`, `token`, `profile`, `storage`, `mapping`,
//!   `user`, `report`, `activity`, `admin`, `migrate`, `healthcheck`).
//! - [`config`]: the global flags and the commands (each command's arguments are in [`cli`]).
//! - [`server`]: the accept loop, its connection limits, and the request-line repair IdPs need.
//! - [`mail`]: email notifications over SMTP and the mail worker.
//! - `webhooks`: webhook deliveries on the wire (SSRF guard, signatures, SETs) and their worker.
//! - `housekeeping`: the retention of the activity log and the change feed, applied hourly.
//! - `feed`: reading the change feed, waiting for the next event (Events API, `scimd events`).
//! - `reports`, `listing`: reports and listings as columns, and their table, CSV and JSON forms.
//! - [`telemetry`]: structured logs (text or JSON).

pub mod cli;
pub mod config;
mod console;
mod feed;
mod housekeeping;
pub mod http;
mod listing;
pub mod mail;
mod oauth;
mod reports;
pub mod server;
pub mod telemetry;
mod webhooks;

use anyhow::Context;
use config::DEFAULT_LISTEN;
use scim::discovery::Capabilities;
use scimd_core::Provisioner;
use scimd_core::clock::{SharedClock, SystemClock};
use scimd_store::{Durability, SqlStore};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The provisioner every face of the binary uses: the store behind the URL, a run-time clock.
pub type AppProvisioner = Provisioner<SqlStore, SharedClock>;

/// What `run` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub durability: Durability,
    pub public_url: Option<String>,
    /// Host names answered besides localhost, IP addresses and `public_url`'s host (see
    /// [`http::hosts`]).
    pub allowed_hosts: Vec<String>,
    pub capabilities: Capabilities,
    pub limits: http::RequestLimits,
    pub connections: server::ConnectionLimits,
    /// Days the activity log keeps an event; `0` keeps them all.
    pub activity_retention_days: u32,
    /// Days the change feed keeps an event; `0` keeps them all.
    pub event_retention_days: u32,
    /// How long the access tokens of OAuth clients work.
    pub access_token_minutes: u32,
    /// Email notifications; off when `None`.
    pub mail: Option<mail::MailConfig>,
    /// Webhooks may go to loopback and private addresses (a receiver on the same network).
    pub webhook_allow_private: bool,
    /// How often an idle webhook worker looks for due deliveries.
    pub webhook_poll: std::time::Duration,
    /// Where the server and its workers read the time (a manual clock in tests).
    pub clock: SharedClock,
}

impl ServeConfig {
    /// The defaults `scimd serve` starts with, on `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            durability: Durability::default(),
            public_url: None,
            allowed_hosts: Vec::new(),
            capabilities: Capabilities::default(),
            limits: http::RequestLimits::default(),
            connections: server::ConnectionLimits::default(),
            activity_retention_days: scimd_core::provisioner::DEFAULT_ACTIVITY_RETENTION_DAYS,
            event_retention_days: scimd_core::provisioner::DEFAULT_EVENT_RETENTION_DAYS,
            access_token_minutes: scimd_core::oauth::DEFAULT_ACCESS_TOKEN_MINUTES,
            mail: None,
            webhook_allow_private: false,
            webhook_poll: webhooks::DEFAULT_POLL,
            clock: Arc::new(SystemClock),
        }
    }

    /// The host names the server answers for.
    pub fn hosts(&self) -> http::hosts::AllowedHosts {
        http::hosts::AllowedHosts::new(
            self.allowed_hosts.iter().map(String::as_str),
            self.public_url.as_deref(),
        )
    }
}

/// How long a stopping server waits for the webhook deliveries in flight.
const WEBHOOK_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// How long a stopping server waits for the mail worker's send in progress.
const MAIL_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(35);

/// Opens the store (applying migrations) and makes sure tenant `default` exists.
pub async fn open_provisioner(
    database_url: &str,
    durability: Durability,
) -> anyhow::Result<AppProvisioner> {
    let store = scimd_store::connect(database_url, durability).await?;
    let provisioner = Provisioner::new(store, Arc::new(SystemClock) as SharedClock);
    provisioner
        .ensure_default_tenant()
        .await
        .context("creating tenant 'default'")?;
    Ok(provisioner)
}

/// Where IdPs reach this server: the public URL, else the default listen address as a browser
/// on the same machine names it.
pub fn public_origin(public_url: Option<&str>) -> String {
    match public_url {
        Some(public) => public.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            DEFAULT_LISTEN.replacen("127.0.0.1", "localhost", 1)
        ),
    }
}

/// The SCIM base URL IdPs are given and change events name users under.
pub fn scim_base_url(public_url: Option<&str>) -> String {
    format!("{}{}", public_origin(public_url), http::SCIM_BASE_PATHS[0])
}

/// The OAuth token endpoint IdPs are given.
pub fn token_endpoint(public_url: Option<&str>) -> String {
    format!("{}{}", public_origin(public_url), http::TOKEN_PATH)
}

/// The application over an opened provisioner.
pub fn application(provisioner: AppProvisioner, config: &ServeConfig) -> axum::Router {
    let provisioner = provisioner
        .with_mail(config.mail.is_some())
        .with_scim_base_url(scim_base_url(config.public_url.as_deref()));
    let settings = http::HttpSettings {
        public_url: config.public_url.clone(),
        capabilities: config.capabilities,
        limits: config.limits,
        allowed_hosts: config.hosts(),
        webhook_allow_private: config.webhook_allow_private,
        access_token_minutes: config.access_token_minutes,
    };
    http::app(http::AppState::new(Arc::new(provisioner), settings))
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mailer = config
        .mail
        .as_ref()
        .map(mail::SmtpMailer::new)
        .transpose()?;
    let opened = open_provisioner(&config.database_url, config.durability).await?;
    let store = opened.store().clone();
    let clock = &config.clock;
    let app = application(Provisioner::new(store.clone(), Arc::clone(clock)), &config);
    if let Ok(address) = listener.local_addr() {
        let origin = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        tracing::info!(
            "scimd {} listening on {address}; database {}",
            env!("CARGO_PKG_VERSION"),
            scimd_store::redact_password(&config.database_url)
        );
        tracing::info!("SCIM base URL: {origin}/scim/v2 (also served at {origin}/insync/scim)");
        tracing::info!(
            "create a token for your identity provider: scimd token create --name entra"
        );
        tracing::info!(
            "web console: {origin}/admin (create an account with: scimd admin create EMAIL)"
        );
        tracing::info!(
            "answering for {} (others get 421; name more with --allowed-host)",
            config.hosts().describe()
        );
    }
    let keeper = Provisioner::new(store.clone(), Arc::clone(clock));
    let housekeeping = tokio::spawn(housekeeping::keep(
        keeper,
        housekeeping::Retention {
            activity_days: config.activity_retention_days,
            event_days: config.event_retention_days,
        },
    ));
    let mail_worker = match (mailer, &config.mail) {
        (Some(mailer), Some(mail)) => {
            tracing::info!(
                "email notifications on: through {}, from {}",
                scimd_store::redact_password(&mail.smtp_url),
                mail.from
            );
            let sender = Provisioner::new(store.clone(), Arc::clone(clock)).with_mail(true);
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn(mail::work(sender, mailer, mail.clone(), stopped));
            Some((stop, worker))
        }
        _ => {
            tracing::info!("email notifications off (set --smtp-url and --mail-from)");
            None
        }
    };
    let (stop_webhooks, webhooks_stopped) = tokio::sync::watch::channel(false);
    let deliverer =
        Provisioner::new(store.clone(), Arc::clone(clock)).with_mail(config.mail.is_some());
    let sending = webhooks::Sending {
        allow_private: config.webhook_allow_private,
        issuer: scim_base_url(config.public_url.as_deref()),
        clock: Arc::clone(clock),
        poll: config.webhook_poll,
    };
    let mut webhook_worker = tokio::spawn(webhooks::work(deliverer, sending, webhooks_stopped));
    server::serve(listener, app, config.connections, shutdown).await;
    housekeeping.abort();
    let _ = stop_webhooks.send(true);
    // The tries in flight finish (each within the delivery timeout); past that they are tried
    // again once their lease ends.
    if tokio::time::timeout(WEBHOOK_STOP_GRACE, &mut webhook_worker)
        .await
        .is_err()
    {
        webhook_worker.abort();
    }
    if let Some((stop, mut worker)) = mail_worker {
        let _ = stop.send(true);
        // A send in progress finishes (each is bounded by the SMTP timeout); past that the
        // mail stays taken and is tried again once its lease ends.
        if tokio::time::timeout(MAIL_STOP_GRACE, &mut worker)
            .await
            .is_err()
        {
            worker.abort();
        }
    }
    store
        .close()
        .await
        .context("leaving the database complete on disk")?;
    tracing::info!("stopped; the database is complete on disk");
    Ok(())
}
