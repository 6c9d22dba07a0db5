//! The Provisioning page (SPEC §7, R-10–R-13, §12): the SCIM base URL, the tenant's tokens
//! (creation with the secret shown once, rotation with an optional grace period, revocation)
//! and its OAuth clients (their forms are `clients.rs`).

use super::Signed;
use super::forms::{Field, NoFields, Posted};
use super::pages::{Chrome, PageResult, render};
use crate::http::AppState;
use crate::http::extract::BaseUrl;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use scim::datetime::Timestamp;
use scimd_core::oauth::OAuthClient;
use scimd_core::tenant::ProvisioningMethod;
use scimd_core::token::TokenStatus;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/provisioning", get(page))
        .route("/admin/provisioning/method", post(switch_method))
        .route("/admin/provisioning/tokens", post(create))
        .route("/admin/provisioning/tokens/{name}/revoke", post(revoke))
}

/// A secret just made, shown once: a token's, or an OAuth client's with the other three values
/// Entra asks for.
pub(super) enum Created {
    Nothing,
    Token { name: String, secret: String },
    Client(NewCredentials),
}

pub(super) struct NewCredentials {
    pub client: String,
    pub client_id: String,
    pub secret: String,
    pub token_endpoint: String,
}

struct SecretRow {
    id: i64,
    status: &'static str,
    live: bool,
    expires: String,
    last_used: String,
}

struct ClientRow {
    name: String,
    client_id: String,
    live: bool,
    status: &'static str,
    secrets: Vec<SecretRow>,
    /// The issuer and subject whose assertions it takes, if any.
    trusts: Option<String>,
}

struct TokenRow {
    name: String,
    status: &'static str,
    live: bool,
    created: String,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "provisioning.html")]
struct ProvisioningPage {
    chrome: Chrome,
    scim_url: String,
    insync_url: String,
    tokens: Vec<TokenRow>,
    clients: Vec<ClientRow>,
    /// `true` when SCIM calls are served, `false` when the tenant is provisioned manually.
    scim_on: bool,
    can_change: bool,
    created: Created,
    notice: Option<String>,
}

fn when(at: Option<Timestamp>) -> String {
    at.map(Timestamp::to_rfc3339)
        .unwrap_or_else(|| "never".into())
}

fn client_rows(clients: Vec<OAuthClient>, now: Timestamp) -> Vec<ClientRow> {
    clients
        .into_iter()
        .map(|client| ClientRow {
            live: client.revoked_at.is_none(),
            status: client.status(),
            trusts: client
                .trust
                .as_ref()
                .map(|trust| format!("{} / {}", trust.issuer, trust.subject)),
            secrets: client
                .secrets
                .iter()
                .map(|secret| SecretRow {
                    id: secret.id,
                    status: secret.status(now).as_str(),
                    live: secret.is_usable(now),
                    expires: secret.expires_at.to_rfc3339(),
                    last_used: when(secret.last_used_at),
                })
                .collect(),
            name: client.name,
            client_id: client.client_id,
        })
        .collect()
}

pub(super) async fn show(
    state: &AppState,
    signed: &Signed,
    base: &BaseUrl,
    created: Created,
    notice: Option<String>,
) -> PageResult {
    let tokens = state.provisioner.list_tokens(&signed.grant).await?;
    let clients = state.provisioner.list_clients(&signed.grant).await?;
    let now = state.provisioner.now();
    let tokens = tokens
        .into_iter()
        .map(|token| {
            let status = token.status(now);
            TokenRow {
                name: token.name.to_string(),
                status: status.as_str(),
                live: matches!(status, TokenStatus::Valid | TokenStatus::Expiring),
                created: token.created_at.to_rfc3339(),
                expires: token.expires_at.to_rfc3339(),
                last_used: when(token.last_used_at),
            }
        })
        .collect();
    Ok(render(&ProvisioningPage {
        chrome: Chrome::of(signed, "provisioning"),
        scim_url: format!("{}/scim/v2", base.0),
        insync_url: format!("{}/insync/scim", base.0),
        tokens,
        clients: client_rows(clients, now),
        scim_on: signed.tenant().provisioning == ProvisioningMethod::Scim,
        can_change: signed.can_change(),
        created,
        notice,
    }))
}

async fn page(State(state): State<AppState>, signed: Signed, base: BaseUrl) -> PageResult {
    show(&state, &signed, &base, Created::Nothing, None).await
}

/// A new token: its name, lifetime in days, and how long the one it replaces keeps working.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    name: Field,
    days: Field,
    keep: Field,
}

async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    Posted { signed, form }: Posted<TokenForm>,
) -> PageResult {
    let (days, keep) = (form.days.parse().ok(), form.keep.parse().ok());
    let (token, secret) = state
        .provisioner
        .create_token(&signed.grant, &form.name, days, keep)
        .await?;
    let created = Created::Token {
        name: token.name.to_string(),
        secret: secret.expose().to_owned(),
    };
    show(&state, &signed, &base, created, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MethodForm {
    method: Field,
    confirm: Field,
}

/// the switch, which the form makes the admin confirm (a checkbox the browser requires;
/// checked here too).
async fn switch_method(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<MethodForm>,
) -> PageResult {
    if &*form.confirm != "yes" {
        return Err(scimd_core::Error::Invalid(
            "confirm the switch: tick the box that says what it does".into(),
        )
        .into());
    }
    let method = ProvisioningMethod::parse(&form.method)?;
    state
        .provisioner
        .set_provisioning(&signed.grant, method)
        .await?;
    Ok(Redirect::to("/admin/provisioning").into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    state.provisioner.revoke_token(&signed.grant, &name).await?;
    Ok(Redirect::to("/admin/provisioning").into_response())
}
