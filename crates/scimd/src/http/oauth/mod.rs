//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) and its RFC 8414
//! metadata, outside the SCIM base paths and their bearer authentication. `/oauth/token` is the
//! one token endpoint: Entra asks for its URL and takes any, so no IdP needs another.

mod request;

use super::AppState;
use super::extract::{BodyReadError, read_limited, request_origin};
use super::limits::{ClientAddress, TooMany};
use axum::Router;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use request::{ClientCredentials, Refusal};
use scimd_core::oauth::{OAuthError, OAuthErrorCode, SCOPE};
use serde_json::json;

pub const TOKEN_PATH: &str = "/oauth/token";
const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// A token request is a few parameters (an assertion a kilobyte or two).
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(TOKEN_PATH, any(token))
        .route(METADATA_PATH, get(metadata))
}

/// RFC 8414 authorization server metadata.
async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let origin = request_origin(&state, &headers);
    axum::Json(json!({
        "issuer": origin,
        "token_endpoint": format!("{origin}{TOKEN_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": [SCOPE],
        "response_types_supported": [],
    }))
    .into_response()
}

/// `POST /oauth/token`. Each try is charged to the caller's address before its credentials
/// are looked at, and given back only when they are valid (as for SCIM bearer tokens).
async fn token(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    request: Request,
) -> Response {
    if request.method() != Method::POST {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            &OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                "the token endpoint takes POST with a form body",
            ),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if let Err(refused) = state.limiters.attempt_auth(address) {
        return too_many(refused);
    }
    let issued = Box::pin(issue(&state, request)).await;
    if issued.status() != StatusCode::UNAUTHORIZED {
        state.limiters.refund_auth(address);
    }
    issued
}

async fn issue(state: &AppState, request: Request) -> Response {
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return oauth_error(
            &OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                "the token request must be a form: Content-Type application/x-www-form-urlencoded",
            ),
            false,
        );
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().map(str::to_owned));
    let Some(authorization) = authorization.transpose().ok() else {
        return oauth_error(&OAuthError::invalid_client(), true);
    };
    let body = match read_limited(request.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            let description = match error {
                BodyReadError::TooLarge { limit } => {
                    format!("a token request is at most {limit} bytes")
                }
                _ => error.detail(),
            };
            return refusal(
                error.status(),
                &OAuthError::new(OAuthErrorCode::InvalidRequest, description),
            );
        }
    };
    let parsed = match request::parse(&body, authorization.as_deref()) {
        Ok(parsed) => parsed,
        Err(Refusal { error, via_basic }) => return oauth_error(&error, via_basic),
    };
    let (authenticated, via_basic) = match &parsed.credentials {
        ClientCredentials::Secret {
            client_id,
            secret,
            via_basic,
        } => (
            state
                .provisioner
                .authenticate_client(client_id, secret)
                .await,
            *via_basic,
        ),
        ClientCredentials::Assertion {
            client_id,
            assertion,
        } => (
            crate::oauth::authenticate_assertion(
                &state.provisioner,
                &state.keyring,
                client_id.as_deref(),
                assertion,
            )
            .await,
            false,
        ),
    };
    let client = match authenticated {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => return oauth_error(&error, via_basic),
        Err(error) => return internal(&error),
    };
    if let Err(refused) = state.limiters.admit_client(client.client.id) {
        return too_many(refused);
    }
    match state
        .provisioner
        .issue_access_token(client, state.settings.access_token_minutes)
        .await
    {
        Ok(Ok(issued)) => {
            let mut body = json!({
                "access_token": issued.access_token.expose(),
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            });
            if let Some(scope) = parsed.scope {
                body["scope"] = json!(scope);
            }
            no_store(axum::Json(body).into_response())
        }
        Ok(Err(error)) => oauth_error(&error, via_basic),
        Err(error) => internal(&error),
    }
}

/// RFC 6749 §5.2: 400, or 401 for `invalid_client` (naming the Basic scheme when the client
/// used it).
fn oauth_error(error: &OAuthError, via_basic: bool) -> Response {
    let status = match error.code {
        OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = refusal(status, error);
    if status == StatusCode::UNAUTHORIZED && via_basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"scimd\", charset=\"UTF-8\""),
        );
    }
    response
}

fn refusal(status: StatusCode, error: &OAuthError) -> Response {
    let body = json!({"error": error.code.as_str(), "error_description": error.description});
    no_store((status, axum::Json(body)).into_response())
}

fn too_many(refused: TooMany) -> Response {
    let body = json!({
        "error": "temporarily_unavailable",
        "error_description": format!("{}; retry after {} s", refused.why, refused.seconds),
    });
    let mut response = no_store((StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(refused.seconds));
    response
}

fn internal(error: &scimd_core::Error) -> Response {
    tracing::error!(%error, "a token request could not be answered");
    let body = json!({
        "error": "server_error",
        "error_description": "the token could not be issued; try again",
    });
    no_store((StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response())
}

/// RFC 6749 §5.1: token responses are never cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
