//! Admin API: OAuth 2.0 clients, their secrets and their trust of assertion issuers
//! (SPEC §12). A new secret is in the answer that made it, and never again.

use super::{ApiResult, Body, Caller, Whole, created, no_content, ok, time};
use crate::http::AppState;
use crate::http::extract::request_origin;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use scim::datetime::Timestamp;
use scimd_core::oauth::{IssuedSecret, OAuthClient, SECRET_DAYS, TrustKeys};
use serde::Deserialize;
use serde_json::{Value, json};

/// Secret lifetimes the API takes: [`SECRET_DAYS`].
type SecretDays = Whole<{ *SECRET_DAYS.start() as u64 }, { *SECRET_DAYS.end() as u64 }>;

pub(crate) fn client_json(client: &OAuthClient, now: Timestamp) -> Value {
    let secrets: Vec<Value> = client
        .secrets
        .iter()
        .map(|secret| {
            json!({"id": secret.id, "status": secret.status(now).as_str(),
                   "created_at": secret.created_at.to_rfc3339(),
                   "expires_at": secret.expires_at.to_rfc3339(),
                   "last_used_at": time(secret.last_used_at)})
        })
        .collect();
    let trust = client.trust.as_ref().map(|trust| {
        let (jwks, jwks_url) = match &trust.keys {
            TrustKeys::Jwks(_) => (true, None),
            TrustKeys::JwksUrl(url) => (false, Some(url.as_str())),
        };
        json!({"issuer": trust.issuer, "subject": trust.subject, "audience": trust.audience,
               "jwks_given": jwks, "jwks_url": jwks_url})
    });
    json!({"name": client.name, "client_id": client.client_id, "status": client.status(),
           "created_at": client.created_at.to_rfc3339(), "revoked_at": time(client.revoked_at),
           "secrets": secrets, "trust": trust})
}

/// What an IdP is given for a new secret: the four values Entra asks for, and the expiry.
fn credentials(state: &AppState, headers: &HeaderMap, issued: &IssuedSecret) -> Value {
    let origin = request_origin(state, headers);
    let expires_at = issued.info.expires_at;
    json!({"client_id": issued.client.client_id, "client_secret": issued.secret.expose(),
           "token_endpoint": format!("{origin}{}", crate::http::TOKEN_PATH),
           "scim_base_url": format!("{origin}{}", crate::http::SCIM_BASE_PATHS[0]),
           "secret_expires_at": expires_at.to_rfc3339()})
}

pub(super) async fn list_clients(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let clients = state.provisioner.list_clients(&caller.grant).await?;
    let now = state.provisioner.now();
    ok(json!({"clients": clients.iter().map(|c| client_json(c, now)).collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientBody {
    name: String,
    secret_expires_in_days: Option<SecretDays>,
}

pub(super) async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body<ClientBody>,
) -> ApiResult {
    let days = body.secret_expires_in_days.map(|days| days.0 as i64);
    let issued = state
        .provisioner
        .create_client(&caller.grant, &body.name, days)
        .await?;
    let mut answer = client_json(&issued.client, state.provisioner.now());
    answer["credentials"] = credentials(&state, &headers, &issued);
    created(answer)
}

pub(super) async fn revoke_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .revoke_client(&caller.grant, &name)
        .await?;
    no_content()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretBody {
    secret_expires_in_days: Option<SecretDays>,
}

pub(super) async fn add_client_secret(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(name): Path<String>,
    Body(body): Body<SecretBody>,
) -> ApiResult {
    let days = body.secret_expires_in_days.map(|days| days.0 as i64);
    let issued = state
        .provisioner
        .add_client_secret(&caller.grant, &name, days)
        .await?;
    let mut answer = credentials(&state, &headers, &issued);
    answer["secret_id"] = issued.info.id.into();
    created(answer)
}

pub(super) async fn revoke_client_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, secret_id)): Path<(String, i64)>,
) -> ApiResult {
    state
        .provisioner
        .revoke_client_secret(&caller.grant, &name, secret_id)
        .await?;
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrustBody {
    issuer: String,
    subject: String,
    audience: String,
    /// The issuer's JWKS document itself.
    jwks: Option<Value>,
    /// Or where it is published.
    jwks_url: Option<String>,
}

pub(super) async fn trust_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<TrustBody>,
) -> ApiResult {
    let keys = match (body.jwks, body.jwks_url) {
        (Some(document), None) => TrustKeys::Jwks(document.to_string()),
        (None, Some(url)) => TrustKeys::JwksUrl(url),
        _ => {
            return Err(super::ApiFailure::new(
                axum::http::StatusCode::BAD_REQUEST,
                "give the issuer's keys as 'jwks' (the document) or 'jwks_url', one of the two",
            ));
        }
    };
    let trust = crate::oauth::checked_trust(
        &body.issuer,
        &body.subject,
        &body.audience,
        keys,
        state.settings.webhook_allow_private,
    )
    .await?;
    state
        .provisioner
        .trust_client(&caller.grant, &name, Some(trust))
        .await?;
    no_content()
}

pub(super) async fn distrust_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .trust_client(&caller.grant, &name, None)
        .await?;
    no_content()
}
