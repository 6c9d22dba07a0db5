//! The HTTP face: SCIM routes under `/scim/v2` and `/insync/scim`, operations endpoints, and the
//! layers every request passes (request id, tracing without credentials, metrics).

mod activity;
mod admin_api;
mod discovery;
pub(crate) mod extract;
pub mod lenient;
pub(crate) mod limits;
mod ops;
pub(crate) mod response;
mod users;

pub use limits::RequestLimits;
pub(crate) use ops::Metrics;

use crate::AppProvisioner;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware;
use axum::response::Response;
use response::ApiError;
use scim::discovery::Capabilities;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// The SCIM base paths: RFC 7644's conventional one and the layout of Druva's endpoint.
pub const SCIM_BASE_PATHS: [&str; 2] = ["/scim/v2", "/insync/scim"];

/// Settings the HTTP layer reads per request.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Scheme and host to use in `Location` instead of the request's `Host`.
    pub public_url: Option<String>,
    pub capabilities: Capabilities,
    pub limits: RequestLimits,
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
}

impl AppState {
    pub fn new(provisioner: Arc<AppProvisioner>, settings: HttpSettings) -> Self {
        Self(Arc::new(Shared {
            provisioner,
            limiters: limits::Limiters::new(&settings.limits),
            settings,
            metrics: Metrics::new(),
        }))
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
    let request_id = HeaderName::from_static("x-request-id");
    router
        .merge(ops::router())
        .merge(crate::console::router(state.clone()))
        .merge(admin_api::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), every_request))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, SequentialRequestId::default()))
        .with_state(state)
}

/// Metrics around deadlines, in one layer rather than two: each `from_fn` layer clones the
/// state and the inner service and boxes the request's future, on every request.
async fn every_request(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let measured = ops::Measured::start(&request);
    let response = limits::within_deadlines(state.settings.limits, request, next).await;
    state.metrics.record(measured, &response);
    response
}

/// A panic is a bug; the client still gets a SCIM 500 and the connection survives.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let cause = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(%cause, "a request handler panicked");
    axum::response::IntoResponse::into_response(ApiError(scimd_core::Error::Internal(cause)))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::status(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", request.uri().path()),
    )
}

/// Request ids: a per-process random prefix and a counter, cheap and unique enough to find a
/// request in the logs.
#[derive(Debug, Clone)]
struct SequentialRequestId {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).unwrap_or_default();
        Self {
            prefix: u32::from_le_bytes(bytes),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!(
            "{:08x}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_scim_500() {
        let router: Router = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panic_response));
        let request = axum::http::Request::builder()
            .uri("/boom")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/scim+json"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "500");
        assert!(
            !body["detail"].as_str().unwrap().contains("boom"),
            "the cause stays in the log"
        );
    }
}
