//! Operations endpoints, outside the SCIM base path and without authentication: liveness,
//! readiness (the database answers), Prometheus metrics, and the JWKS signed webhook payloads
//! are verified with.

use super::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use scimd_core::store::Database;
use scimd_core::webhook::WebhookHealth;
use std::time::Instant;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(crate::webhooks::JWKS_PATH, get(jwks))
}

/// The public key signed webhook payloads (SETs) are verified with.
async fn jwks(State(state): State<AppState>) -> Response {
    let signer = state
        .set_signer
        .get_or_try_init(|| async {
            crate::webhooks::set_signer(&state.provisioner)
                .await
                .map(std::sync::Arc::new)
        })
        .await;
    match signer {
        Ok(signer) => (
            [(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")],
            signer.jwks().to_string(),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "the SET signing key could not be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the signing key is unavailable\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.provisioner.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Read at scrape time: the endpoints' states live in the database, shared by instances.
    match state.provisioner.webhook_health().await {
        Ok(health) => state.metrics.webhooks.observe(&health),
        Err(error) => tracing::warn!(%error, "could not read the webhooks' health"),
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// Webhook endpoints by state (a failing one gets no events: admins must look) and the
/// deliveries waiting.
#[derive(Debug, Default)]
pub(crate) struct WebhookGauges {
    endpoints: Family<StateLabels, Gauge>,
    pending: Gauge,
}

impl WebhookGauges {
    fn observe(&self, health: &WebhookHealth) {
        for (state, count) in [
            ("enabled", health.enabled),
            ("disabled", health.disabled),
            ("failing", health.failing),
        ] {
            let gauge = self.endpoints.get_or_create(&StateLabels { state });
            gauge.set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.pending
            .set(i64::try_from(health.pending_deliveries).unwrap_or(i64::MAX));
    }
}

/// Request counts and latencies by route, in a registry of our own (no global state).
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    webhooks: WebhookGauges,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("scimd");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 16)));
        registry.register("http_requests", "HTTP requests handled", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            latency.clone(),
        );
        let webhooks = WebhookGauges::default();
        registry.register(
            "webhook_endpoints",
            "Webhook endpoints by state (failing: gets no events until enabled)",
            webhooks.endpoints.clone(),
        );
        registry.register(
            "webhook_deliveries_pending",
            "Webhook deliveries not yet delivered or given up",
            webhooks.pending.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            webhooks,
        }
    }
}

/// A request being measured, by method and matched route: labels from closed sets, never the
/// raw method or path, which a client could make unique per request and so grow the metrics
/// without bound.
#[derive(Debug)]
pub(crate) struct Measured {
    started: Instant,
    method: &'static str,
    route: String,
}

impl Measured {
    pub fn start(request: &Request) -> Self {
        Self {
            started: Instant::now(),
            method: method_label(request.method()),
            route: request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str)
                .to_owned(),
        }
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// The method's name when HTTP defines it, else `other`.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

impl Metrics {
    /// Counts the request and its latency under its method, route and status.
    pub fn record(&self, measured: Measured, response: &Response) {
        let labels = RequestLabels {
            method: measured.method,
            route: measured.route,
            status: response.status().as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(measured.started.elapsed().as_secs_f64());
    }
}
