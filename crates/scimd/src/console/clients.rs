//! The Provisioning page's OAuth clients (SPEC §12): a new client or secret shows exactly the
//! four values Entra asks for (client identifier, client secret once, token endpoint, SCIM
//! base URL); secrets and clients are revoked from their rows.

use super::forms::{Field, NoFields, Posted};
use super::pages::PageResult;
use super::provisioning::{Created, NewCredentials, show};
use crate::http::AppState;
use crate::http::extract::BaseUrl;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use scimd_core::oauth::IssuedSecret;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/provisioning/clients", post(create))
        .route(
            "/admin/provisioning/clients/{name}/secrets",
            post(add_secret),
        )
        .route(
            "/admin/provisioning/clients/{name}/secrets/{id}/revoke",
            post(revoke_secret),
        )
        .route("/admin/provisioning/clients/{name}/revoke", post(revoke))
}

/// A new client, or a new secret: the client's name and the secret's lifetime in days.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ClientForm {
    name: Field,
    days: Field,
}

fn credentials(base: &BaseUrl, issued: IssuedSecret) -> Created {
    Created::Client(NewCredentials {
        client: issued.client.name,
        client_id: issued.client.client_id,
        secret: issued.secret.expose().to_owned(),
        token_endpoint: format!("{}{}", base.0, crate::http::TOKEN_PATH),
    })
}

async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    Posted { signed, form }: Posted<ClientForm>,
) -> PageResult {
    let issued = state
        .provisioner
        .create_client(&signed.grant, &form.name, form.days.parse().ok())
        .await?;
    let created = credentials(&base, issued);
    show(&state, &signed, &base, created, None).await
}

async fn add_secret(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(name): Path<String>,
    Posted { signed, form }: Posted<ClientForm>,
) -> PageResult {
    let issued = state
        .provisioner
        .add_client_secret(&signed.grant, &name, form.days.parse().ok())
        .await?;
    let notice = format!(
        "Secret {} added. Switch your identity provider to it, then revoke the old one.",
        issued.info.id
    );
    let created = credentials(&base, issued);
    show(&state, &signed, &base, created, Some(notice)).await
}

async fn revoke_secret(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, i64)>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    state
        .provisioner
        .revoke_client_secret(&signed.grant, &name, id)
        .await?;
    Ok(Redirect::to("/admin/provisioning").into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    state
        .provisioner
        .revoke_client(&signed.grant, &name)
        .await?;
    Ok(Redirect::to("/admin/provisioning").into_response())
}
