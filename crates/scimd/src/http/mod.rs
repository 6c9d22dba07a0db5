//! The HTTP face: SCIM routes under `/scim/v2` and `/insync/scim`, operations endpoints, and the
//! layer every request passes (request id, tracing without credentials, panics, deadlines,
//! metrics).

mod activity;
mod admin_api;
mod auth_budget;
mod discovery;
pub(crate) mod extract;
mod frame;
pub mod hosts;
pub(crate) mod limits;
mod oauth;
mod ops;
pub(crate) mod response;
mod strict_json;
mod users;

pub use limits::RequestLimits;
pub use oauth::TOKEN_PATH;
pub(crate) use ops::Metrics;

use crate::AppProvisioner;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware;
use response::ApiError;
use scim::discovery::Capabilities;
use std::sync::Arc;

/// The SCIM base paths: RFC 7644's conventional one and the layout of Druva's endpoint.
pub const SCIM_BASE_PATHS: [&str; 2] = ["/scim/v2", "/insync/scim"];

/// Settings the HTTP layer reads per request.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Scheme and host to use in `Location` instead of the request's `Host`.
    pub public_url: Option<String>,
    pub capabilities: Capabilities,
    pub limits: RequestLimits,
    pub allowed_hosts: hosts::AllowedHosts,
    /// Webhooks may be made for loopback and private addresses (and trusted issuers' JWKS
    /// fetched from them).
    pub webhook_allow_private: bool,
    /// How long the token endpoint's access tokens work.
    pub access_token_minutes: u32,
}

/// What every handler and layer shares. One `Arc`: the state is cloned by each layer and
/// extractor of every request, and one reference count is cheaper to bump than four.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub(crate) provisioner: Arc<AppProvisioner>,
    pub(crate) settings: HttpSettings,
    pub(crate) metrics: Metrics,
    pub(crate) limiters: limits::Limiters,
    /// Events API reads waiting for the next event.
    pub(crate) feed_waiters: tokio::sync::Semaphore,
    /// The SET signing key, read on first use (`/.well-known/jwks.json`).
    pub(crate) set_signer: tokio::sync::OnceCell<Arc<crate::webhooks::SetSigner>>,
    /// Trusted issuers' keys, for client assertions.
    pub(crate) keyring: crate::oauth::Keyring,
    request_ids: frame::RequestIds,
}

impl AppState {
    pub fn new(provisioner: Arc<AppProvisioner>, settings: HttpSettings) -> Self {
        Self(Arc::new(Shared {
            provisioner,
            limiters: limits::Limiters::new(&settings.limits),
            keyring: crate::oauth::Keyring::new(settings.webhook_allow_private),
            settings,
            metrics: Metrics::new(),
            feed_waiters: tokio::sync::Semaphore::new(admin_api::MAX_WAITING_READS),
            set_signer: tokio::sync::OnceCell::new(),
            request_ids: frame::RequestIds::new(),
        }))
    }
}

impl AppState {
    /// Where this server lets webhooks go.
    pub(crate) fn webhook_guard(&self) -> crate::webhooks::UrlGuard {
        crate::webhooks::UrlGuard {
            allow_private: self.settings.webhook_allow_private,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let scim = Router::new()
        .merge(users::router())
        .merge(discovery::router())
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            activity::authenticate,
        ));
    let mut router = Router::new();
    for base in SCIM_BASE_PATHS {
        router = router.nest(base, scim.clone());
    }
    router
        .merge(ops::router())
        .merge(oauth::router())
        .merge(crate::console::router(state.clone()))
        .merge(admin_api::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            hosts::only_allowed_hosts,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            frame::every_request,
        ))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::status(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", request.uri().path()),
    )
}
