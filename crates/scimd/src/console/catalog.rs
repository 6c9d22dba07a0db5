//! Profiles and storages (SPEC §2): what mappings point new users at.

use super::Signed;
use super::forms::{Field, Posted};
use super::pages::{Chrome, PageResult, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use scimd_core::catalog::{Profile, Storage};
use serde::Deserialize;

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

async fn catalog(State(state): State<AppState>, signed: Signed) -> PageResult {
    let provisioner = &state.provisioner;
    Ok(render(&CatalogPage {
        chrome: Chrome::of(&signed, "catalog"),
        profiles: provisioner.list_profiles(&signed.grant).await?,
        storages: provisioner.list_storages(&signed.grant).await?,
        can_change: signed.can_change(),
    }))
}

/// A profile's row (or the new-profile form).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    name: Field,
    new_name: Field,
    max_users: Field,
}

impl ProfileForm {
    /// The limit of users: empty is none given; anything but a whole number is refused.
    fn max_users(&self) -> scimd_core::Result<Option<u32>> {
        let Some(text) = self.max_users.non_empty() else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| {
            scimd_core::Error::Invalid(format!(
                "the limit of users {text:?} is not a whole number (0: unlimited)"
            ))
        })
    }
}

/// A storage's row (or the new-storage form).
#[derive(Deserialize, Default)]
#[serde(default)]
struct StorageForm {
    name: Field,
    new_name: Field,
    region: Field,
}

/// The new name of a renaming row, when it differs from the old one.
fn renamed<'a>(name: &Field, new_name: &'a Field) -> Option<&'a str> {
    new_name.non_empty().filter(|new_name| *new_name != &**name)
}

fn back_to_catalog() -> PageResult {
    Ok(Redirect::to("/admin/catalog").into_response())
}

async fn create_profile(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<ProfileForm>,
) -> PageResult {
    let max_users = form.max_users()?.unwrap_or(0);
    state
        .provisioner
        .create_profile(&signed.grant, &form.name, max_users)
        .await?;
    back_to_catalog()
}

/// a row's form: the name and the limit, either changed.
async fn edit_profile(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<ProfileForm>,
) -> PageResult {
    let max_users = form.max_users()?;
    let new_name = renamed(&form.name, &form.new_name);
    state
        .provisioner
        .edit_profile(&signed.grant, &form.name, new_name, max_users)
        .await?;
    back_to_catalog()
}

async fn delete_profile(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<ProfileForm>,
) -> PageResult {
    state
        .provisioner
        .delete_profile(&signed.grant, &form.name)
        .await?;
    back_to_catalog()
}

async fn create_storage(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<StorageForm>,
) -> PageResult {
    state
        .provisioner
        .create_storage(&signed.grant, &form.name, &form.region)
        .await?;
    back_to_catalog()
}

/// a row's form: the name and the region, either changed.
async fn edit_storage(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<StorageForm>,
) -> PageResult {
    let new_name = renamed(&form.name, &form.new_name);
    state
        .provisioner
        .edit_storage(&signed.grant, &form.name, new_name, form.region.non_empty())
        .await?;
    back_to_catalog()
}
