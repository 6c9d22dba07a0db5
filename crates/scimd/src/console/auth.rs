//! Signing in and out, the session cookie, and the checks every console request passes:
//! a live session (else the sign-in page), the same origin for every POST, and the session's
//! CSRF token on every state-changing request.

use super::forms::{NoFields, Posted};
use super::pages::render;
use crate::http::AppState;
use crate::http::limits::{ClientAddress, TooMany, off_the_workers};
use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scimd_core::access::Grant;
use scimd_core::activity::Origin;
use scimd_core::admin::{AdminAccount, AdminSession, Role, SESSION_ABSOLUTE_MILLIS, SessionSecret};
use scimd_core::tenant::Tenant;
use subtle::ConstantTimeEq;
use tokio::sync::OwnedSemaphorePermit;

/// `__Host-`: only ever set by this host, over HTTPS (browsers count `localhost` as such), for
/// the whole site, so no subdomain or path can plant or read it.
const COOKIE: &str = "__Host-scimd_session";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sign-in", get(sign_in_page).post(sign_in))
        .route("/admin/sign-out", post(sign_out))
}

/// The signed-in admin of a console request, with the tenant the page is about.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub admin: AdminAccount,
    pub session: AdminSession,
    /// What the admin may do in the tenant the page is about (the operations check it).
    pub grant: Grant,
}

impl Signed {
    pub fn tenant(&self) -> &Tenant {
        self.grant.tenant()
    }

    /// Whether the page offers changes.
    pub fn can_change(&self) -> bool {
        self.grant.can_change()
    }

    /// The request carries this session's CSRF token (form field or htmx's `X-CSRF-Token`
    /// header); otherwise it is refused with 403.
    pub fn check_csrf(&self, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), Refused> {
        let sent = form_token.or_else(|| {
            headers
                .get("x-csrf-token")
                .and_then(|value| value.to_str().ok())
        });
        let valid = sent.is_some_and(|token| {
            bool::from(token.as_bytes().ct_eq(self.session.csrf_token.as_bytes()))
        });
        if valid {
            Ok(())
        } else {
            Err(Refused(
                "the form is stale or was not sent from this console: reload the page and try again",
            ))
        }
    }
}

/// A request the console refuses with 403, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused(pub(crate) &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        forbidden(self.0)
    }
}

pub(super) fn forbidden(reason: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("403 Forbidden: {reason}")).into_response()
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    named_cookie(headers, COOKIE)
}

/// The tenant an operator selected in the console (not a secret: access is checked anyway).
pub(super) const TENANT_COOKIE: &str = "__Host-scimd_tenant";

fn named_cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/admin/sign-in").into_response();
        let cookie = session_cookie(&parts.headers).ok_or_else(to_sign_in)?;
        let (admin, session) = state
            .provisioner
            .session(&cookie)
            .await
            .map_err(|_| to_sign_in())?;
        // The tenant named by `?tenant=` on this request, else the one an operator selected
        // (the cookie of an account no longer an operator is ignored, not refused).
        let named = named_tenant(parts.uri.query()).or_else(|| {
            (admin.role == Role::Operator)
                .then(|| named_cookie(&parts.headers, TENANT_COOKIE))
                .flatten()
        });
        let origin = Origin::console(&admin.email, parts.method.as_str(), parts.uri.path());
        let grant = state
            .provisioner
            .grant(&admin, named.as_deref(), origin)
            .await
            .map_err(|error| match error {
                scimd_core::Error::Forbidden(reason) => forbidden(&reason),
                other => (StatusCode::NOT_FOUND, other.to_string()).into_response(),
            })?;
        Ok(Self {
            admin,
            session,
            grant,
        })
    }
}

/// The tenant a request names with `?tenant=` (an operator's choice; others act in their own).
pub(crate) fn named_tenant(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("tenant="))
        .map(str::to_owned)
}

/// Every POST to the console must come from a page of this console: a browser's `Origin` (or,
/// failing that, `Sec-Fetch-Site`) naming another site is refused before any handler runs.
pub(super) async fn same_origin(
    State(_state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST && request.uri().path().starts_with("/admin") {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|origin| origin.split_once("://").map_or(origin, |(_, rest)| rest));
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site == "cross-site");
        let foreign = match (origin_host, host) {
            (Some("null"), _) => true,
            (Some(origin), Some(host)) => origin != host,
            (Some(_), None) => true,
            (None, _) => cross_site,
        };
        if foreign {
            return forbidden("cross-site request");
        }
    }
    next.run(request).await
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    error: Option<String>,
    email: String,
    /// Set when the browser will refuse the session cookie (plain HTTP on a remote host).
    insecure: bool,
}

/// Browsers keep `Secure` cookies only from HTTPS pages or from `localhost` / `127.0.0.1`.
fn cookie_would_be_refused(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(url) = &state.settings.public_url {
        return !url.starts_with("https://");
    }
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let hostname = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let local = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]");
    !forwarded_https && !local
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render(&SignInPage {
        error: None,
        email: String::new(),
        insecure: cookie_would_be_refused(&state, &headers),
    })
}

/// The sign-in form, read as typed: a password is not trimmed.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let (email, password) = (form.email.as_str(), form.password.as_str());
    let failed_page = |error: String| SignInPage {
        insecure: cookie_would_be_refused(&state, &headers),
        error: Some(error),
        email: email.to_owned(),
    };
    let too_many = |refused: TooMany, why: &str| {
        let page = failed_page(format!("{why}; try again in {} s.", refused.seconds));
        let mut response = (StatusCode::TOO_MANY_REQUESTS, render(&page)).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(refused.seconds));
        response
    };
    let turn = match state.limiters.password_check_turn() {
        Ok(turn) => turn,
        Err(refused) => return too_many(refused, "Too many sign-ins at once"),
    };
    if let Err(refused) = state.limiters.attempt_auth(address) {
        return too_many(refused, "Too many failed sign-ins from your address");
    }
    match check_sign_in(&state, email, password, turn).await {
        Ok(secret) => {
            state.limiters.refund_auth(address);
            let cookie = format!(
                "{COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
                secret.expose(),
                SESSION_ABSOLUTE_MILLIS / 1000
            );
            let mut response = Redirect::to("/admin").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(_) => {
            let page = failed_page(
                "Wrong email or password, or the account is locked for a while after too many attempts."
                    .into(),
            );
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
    }
}

/// Signs in with the password checked off the async workers, within `turn`.
async fn check_sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    turn: OwnedSemaphorePermit,
) -> scimd_core::Result<SessionSecret> {
    let attempt = state.provisioner.begin_sign_in(email).await?;
    let password = password.to_owned();
    let checked = off_the_workers(turn, move || attempt.check(&password)).await?;
    let (_, secret, _) = state.provisioner.finish_sign_in(checked).await?;
    Ok(secret)
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { .. }: Posted<NoFields>,
) -> Response {
    if let Some(cookie) = session_cookie(&headers)
        && let Err(error) = state.provisioner.sign_out(&cookie).await
    {
        tracing::error!(%error, "could not end a console session");
    }
    let mut response = Redirect::to("/admin/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-scimd_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}
