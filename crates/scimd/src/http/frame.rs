//! What every request passes once, in one layer: its request id, credentials hidden from
//! traces, a tracing span, a guard against panics, the deadlines, and the metrics.
//!
//! One hand-written layer instead of five tower-http layers and a `from_fn`: each layer clones
//! its inner service and wraps the response future, on every request, and on a GET those
//! wrappers cost as much as reading the user.

use super::AppState;
use super::ops::Measured;
use super::response::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) async fn every_request(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = state.request_ids.for_request(request.headers());
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    hide_credentials(request.headers_mut());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id.to_str().unwrap_or("-"),
    );
    let measured = Measured::start(&request);
    let answered = AssertUnwindSafe(super::limits::within_deadlines(
        state.settings.limits,
        request,
        next,
    ))
    .catch_unwind()
    .instrument(span.clone())
    .await;
    let mut response = answered.unwrap_or_else(panic_response);
    let status = response.status();
    span.in_scope(|| {
        if status == StatusCode::NOT_IMPLEMENTED {
            // The answer to what scimd does not do (group writes while groups are not managed):
            // IdPs send them by design, and nothing is wrong with the server.
            tracing::info!(status = status.as_u16(), latency = ?measured.elapsed(), "not implemented here");
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency = ?measured.elapsed(), "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency = ?measured.elapsed(), "request finished");
        }
    });
    state.metrics.record(measured, &response);
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

/// Marks the credentials sensitive, so no `Debug` of the headers (a trace, a log line) shows
/// them.
fn hide_credentials(headers: &mut HeaderMap) {
    for name in [header::AUTHORIZATION, header::COOKIE] {
        if let header::Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
}

/// A panic is a bug; the client still gets a SCIM 500 and the connection survives.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let cause = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(%cause, "a request handler panicked");
    ApiError(scimd_core::Error::Internal(cause)).into_response()
}

/// Request ids: the client's own `X-Request-Id` when it sent a usable one, otherwise a
/// per-process random prefix and a counter, cheap and unique enough to find a request in the
/// logs.
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> Self {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).unwrap_or_default();
        Self {
            prefix: u32::from_le_bytes(bytes),
            next: AtomicU64::new(1),
        }
    }

    fn for_request(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(given) = headers.get(X_REQUEST_ID).filter(|value| !value.is_empty()) {
            return given.clone();
        }
        let id = format!(
            "{:08x}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        // Hex digits, a dash and decimal digits are always a valid header value.
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpSettings;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn credentials_hidden(request: Request) -> String {
        format!("{:?}", request.headers())
    }

    async fn framed(router: Router<AppState>) -> (tempfile::TempDir, Router) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let provisioner = crate::open_provisioner(&url, Default::default())
            .await
            .unwrap();
        let settings = HttpSettings {
            public_url: None,
            capabilities: Default::default(),
            limits: Default::default(),
            allowed_hosts: Default::default(),
            webhook_allow_private: false,
            access_token_minutes: 60,
        };
        let state = AppState::new(std::sync::Arc::new(provisioner), settings);
        let layer = axum::middleware::from_fn_with_state(state.clone(), every_request);
        (dir, router.layer(layer).with_state(state))
    }

    fn request(uri: &str) -> axum::http::request::Builder {
        axum::http::Request::builder().uri(uri)
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_scim_500() {
        let (_dir, router) = framed(Router::new().route("/boom", get(boom))).await;
        let response = router
            .oneshot(request("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/scim+json"
        );
        assert!(response.headers().contains_key(X_REQUEST_ID));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "500");
        assert!(
            !body["detail"].as_str().unwrap().contains("boom"),
            "the cause stays in the log"
        );
    }

    #[tokio::test]
    async fn request_ids_are_made_or_kept_and_credentials_hidden() {
        let (_dir, router) = framed(Router::new().route("/h", get(credentials_hidden))).await;
        let made = router
            .clone()
            .oneshot(
                request("/h")
                    .header(header::AUTHORIZATION, "Bearer scimd_secret")
                    .header(header::COOKIE, "session=secret")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let id = made.headers()[X_REQUEST_ID].to_str().unwrap().to_owned();
        assert!(id.len() > 9 && id.as_bytes()[8] == b'-', "{id}");
        let body = made.into_body().collect().await.unwrap().to_bytes();
        let seen = String::from_utf8(body.to_vec()).unwrap();
        assert!(!seen.contains("secret"), "{seen}");
        assert!(
            seen.contains("x-request-id"),
            "the handler sees the id: {seen}"
        );

        let next = router
            .clone()
            .oneshot(request("/h").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_ne!(next.headers()[X_REQUEST_ID].to_str().unwrap(), id);

        let kept = router
            .oneshot(
                request("/h")
                    .header(X_REQUEST_ID, "from-the-idp-42")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(kept.headers()[X_REQUEST_ID], "from-the-idp-42");
    }
}
