//! Static files of the console, compiled into the binary: no CDN, no build step.

use crate::http::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// htmx 2.0.11 (BSD Zero Clause License), from the npm package `htmx.org`, unmodified.
const HTMX: &[u8] = include_bytes!("../../assets/htmx-2.0.11.min.js");
const CSS: &[u8] = include_bytes!("../../assets/console.css");
const JS: &[u8] = include_bytes!("../../assets/console.js");

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/assets/htmx-2.0.11.min.js",
            get(|| async { asset(HTMX, "text/javascript") }),
        )
        .route(
            "/admin/assets/console.css",
            get(|| async { asset(CSS, "text/css") }),
        )
        .route(
            "/admin/assets/console.js",
            get(|| async { asset(JS, "text/javascript") }),
        )
}

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Cached for an hour: small files, and a new release shows within the hour.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
