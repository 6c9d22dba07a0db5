//! The admin JSON API under `/admin/api/v1` (SPEC §7): the console's operations for scripts
//! and tools, described by a hand-written OpenAPI document at `/admin/api/v1/openapi.json`.
//! A caller is an admin: by API key (`Authorization: Bearer scimd_k_…`, from
//! `scimd admin key create`) or by console session (then every change also needs the
//! session's `X-CSRF-Token`).

mod accounts;
mod body;
mod catalog;
mod clients;
mod events;
mod routes;
mod webhooks;

use super::AppState;
use crate::console::{named_tenant, session_cookie};
use crate::http::limits::{TooMany, address_in};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim::datetime::Timestamp;
use scimd_core::Error;
use scimd_core::access::Grant;
use scimd_core::activity::Origin;
use scimd_core::tenant::Tenant;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

pub(crate) use body::{Body, Whole, non_empty, nullable};
pub(crate) use events::MAX_WAITING_READS;

pub(crate) const OPENAPI: &str = include_str!("openapi.json");

pub(crate) fn router() -> Router<AppState> {
    routes::router()
}

/// An admin API failure: a status and a JSON body `{"status": …, "error": "…"}`, with
/// `Retry-After` when the caller is asked to wait.
#[derive(Debug)]
pub(crate) struct ApiFailure {
    status: StatusCode,
    message: String,
    retry_after_seconds: Option<u64>,
}

impl ApiFailure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    fn too_many_failed_authentications(refused: &TooMany) -> Self {
        Self {
            retry_after_seconds: Some(refused.seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed authentications from this address; retry after {} s",
                    refused.seconds
                ),
            )
        }
    }
}

impl From<Error> for ApiFailure {
    fn from(error: Error) -> Self {
        match super::response::admin_status(&error) {
            Some(status) => Self::new(status, error.to_string()),
            None => {
                tracing::error!(%error, "an admin API request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details",
                )
            }
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let body = json!({"status": self.status.as_u16(), "error": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub(crate) type ApiResult = Result<Response, ApiFailure>;

/// What the admin calling the API was granted in the tenant the call is about (the
/// operations check its role themselves).
#[derive(Debug)]
pub(crate) struct Caller {
    pub grant: Grant,
}

impl Caller {
    pub fn tenant(&self) -> &Tenant {
        self.grant.tenant()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiFailure> {
        let unauthorized = || {
            ApiFailure::new(
                StatusCode::UNAUTHORIZED,
                "sign in to the console, or send 'Authorization: Bearer <key>' with a key from \
                 `scimd admin key create`",
            )
        };
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let admin = match authorization {
            Some(authorization) => {
                let address = address_in(&parts.extensions);
                if let Err(refused) = state.limiters.attempt_auth(address) {
                    return Err(ApiFailure::too_many_failed_authentications(&refused));
                }
                let authenticated = state.provisioner.authenticate_api_key(authorization).await;
                if !matches!(authenticated, Err(Error::Unauthorized)) {
                    state.limiters.refund_auth(address);
                }
                authenticated.map_err(|_| unauthorized())?
            }
            None => {
                let cookie = session_cookie(&parts.headers).ok_or_else(unauthorized)?;
                let (admin, session) = state
                    .provisioner
                    .session(&cookie)
                    .await
                    .map_err(|_| unauthorized())?;
                // A cookie rides along with any request a browser makes: changes must prove
                // they come from the console.
                if parts.method != Method::GET {
                    let sent = parts
                        .headers
                        .get("x-csrf-token")
                        .map(|value| value.as_bytes())
                        .unwrap_or_default();
                    if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
                        return Err(ApiFailure::new(
                            StatusCode::FORBIDDEN,
                            "a change by session needs the session's X-CSRF-Token header",
                        ));
                    }
                }
                admin
            }
        };
        let origin = Origin::console(&admin.email, parts.method.as_str(), parts.uri.path());
        let named = named_tenant(parts.uri.query());
        let grant = state
            .provisioner
            .grant(&admin, named.as_deref(), origin)
            .await?;
        Ok(Self { grant })
    }
}

pub(crate) fn ok(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

pub(crate) fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

pub(crate) fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_rfc3339()))
}
