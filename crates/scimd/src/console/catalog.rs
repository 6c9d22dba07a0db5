//! Profiles and storages (SPEC §2): what mappings point new users at.

use super::Signed;
use super::mappings::{allowed, field};
use super::pages::{Chrome, failure, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scimd_core::catalog::{Profile, Storage};
use serde_json::Value;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/catalog", get(catalog))
        .route("/admin/catalog/profiles", post(create_profile))
        .route("/admin/catalog/profiles/delete", post(delete_profile))
        .route("/admin/catalog/storages", post(create_storage))
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    chrome: Chrome,
    profiles: Vec<Profile>,
    storages: Vec<Storage>,
    can_change: bool,
}

async fn catalog(State(state): State<AppState>, signed: Signed) -> Response {
    let provisioner = &state.provisioner;
    match (
        provisioner.list_profiles(&signed.tenant).await,
        provisioner.list_storages(&signed.tenant).await,
    ) {
        (Ok(profiles), Ok(storages)) => render(&CatalogPage {
            chrome: Chrome::of(&signed, "catalog"),
            profiles,
            storages,
            can_change: signed.can_change(),
        }),
        (Err(error), _) | (_, Err(error)) => failure(error),
    }
}

async fn create_profile(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = allowed(&signed, &headers, &form) {
        return refused.into_response();
    }
    let max_users = field(&form, "max_users").parse().unwrap_or(0);
    let origin = signed.origin("POST", "/admin/catalog/profiles");
    match state
        .provisioner
        .create_profile(&origin, &signed.tenant, &field(&form, "name"), max_users)
        .await
    {
        Ok(_) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

async fn delete_profile(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = allowed(&signed, &headers, &form) {
        return refused.into_response();
    }
    let origin = signed.origin("POST", "/admin/catalog/profiles/delete");
    match state
        .provisioner
        .delete_profile(&origin, &signed.tenant, &field(&form, "name"))
        .await
    {
        Ok(()) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

async fn create_storage(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = allowed(&signed, &headers, &form) {
        return refused.into_response();
    }
    let origin = signed.origin("POST", "/admin/catalog/storages");
    match state
        .provisioner
        .create_storage(
            &origin,
            &signed.tenant,
            &field(&form, "name"),
            &field(&form, "region"),
        )
        .await
    {
        Ok(_) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}
