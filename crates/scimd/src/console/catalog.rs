//! Profiles and storages (SPEC §2): what mappings point new users at.

use super::ChangeForm;
use super::Signed;
use super::mappings::field;
use super::pages::{Chrome, failure, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scimd_core::catalog::{Profile, Storage};
use serde_json::Value;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/catalog", get(catalog))
        .route("/admin/catalog/profiles", post(create_profile))
        .route("/admin/catalog/profiles/edit", post(edit_profile))
        .route("/admin/catalog/profiles/delete", post(delete_profile))
        .route("/admin/catalog/storages", post(create_storage))
        .route("/admin/catalog/storages/edit", post(edit_storage))
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
        provisioner.list_profiles(&signed.grant).await,
        provisioner.list_storages(&signed.grant).await,
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
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    let max_users = match max_users_of(&form) {
        Ok(max_users) => max_users.unwrap_or(0),
        Err(error) => return failure(error),
    };
    match state
        .provisioner
        .create_profile(&signed.grant, &field(&form, "name"), max_users)
        .await
    {
        Ok(_) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

/// The form's limit of users: empty is none given; anything but a whole number is refused.
fn max_users_of(form: &Value) -> scimd_core::Result<Option<u32>> {
    let text = field(form, "max_users");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        scimd_core::Error::Invalid(format!(
            "the limit of users {text:?} is not a whole number (0: unlimited)"
        ))
    })
}

/// The form's new name, when it differs from the old one.
fn renamed(form: &Value) -> Option<String> {
    let new_name = field(form, "new_name");
    (!new_name.is_empty() && new_name != field(form, "name")).then_some(new_name)
}

/// a row's form: the name and the limit, either changed.
async fn edit_profile(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    let max_users = match max_users_of(&form) {
        Ok(max_users) => max_users,
        Err(error) => return failure(error),
    };
    let new_name = renamed(&form);
    match state
        .provisioner
        .edit_profile(
            &signed.grant,
            &field(&form, "name"),
            new_name.as_deref(),
            max_users,
        )
        .await
    {
        Ok(()) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

async fn delete_profile(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    match state
        .provisioner
        .delete_profile(&signed.grant, &field(&form, "name"))
        .await
    {
        Ok(()) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

async fn create_storage(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    match state
        .provisioner
        .create_storage(
            &signed.grant,
            &field(&form, "name"),
            &field(&form, "region"),
        )
        .await
    {
        Ok(_) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}

/// a row's form: the name and the region, either changed.
async fn edit_storage(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    let new_name = renamed(&form);
    let region = Some(field(&form, "region")).filter(|region| !region.is_empty());
    match state
        .provisioner
        .edit_storage(
            &signed.grant,
            &field(&form, "name"),
            new_name.as_deref(),
            region.as_deref(),
        )
        .await
    {
        Ok(()) => Redirect::to("/admin/catalog").into_response(),
        Err(error) => failure(error),
    }
}
