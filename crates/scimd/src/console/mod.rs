//! The web console under `/admin` (SPEC §7): server-rendered pages (askama, HTML-escaped),
//! vendored htmx, a `__Host-` session cookie, and a CSRF token on every state-changing request.
//! Usable without JavaScript: every action is a plain form.

mod assets;
mod auth;
mod catalog;
mod clients;
mod forms;
mod mappings;
mod notices;
mod pages;
mod provisioning;
mod reports;
mod tenants;
mod users;
mod webhooks;

use crate::http::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

pub(crate) use auth::{Signed, named_tenant, session_cookie};

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(pages::router())
        .merge(provisioning::router())
        .merge(clients::router())
        .merge(mappings::router())
        .merge(catalog::router())
        .merge(reports::router())
        .merge(tenants::router())
        .merge(users::router())
        .merge(webhooks::router())
        .merge(assets::router())
        .layer(middleware::from_fn_with_state(state, auth::same_origin))
        .layer(middleware::from_fn(security_headers))
}

/// Pages load nothing from elsewhere, run no inline script, and are never framed or cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on form posts, and the
        // same-origin check could no longer tell the console from another site.
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
