//! Tenants, for operators (SPEC §7): list, create, and choose the tenant the console works in.

use super::Signed;
use super::auth::TENANT_COOKIE;
use super::forms::{Field, Posted};
use super::pages::{Chrome, PageResult, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use scimd_core::tenant::Tenant;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants", get(list).post(create))
        .route("/admin/tenants/select", post(select))
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    tenants: Vec<Tenant>,
}

/// Listing and creating tenants are operators' (the provisioner refuses anyone else).
async fn list(State(state): State<AppState>, signed: Signed) -> PageResult {
    let tenants = state.provisioner.list_tenants(&signed.grant).await?;
    Ok(render(&TenantsPage {
        chrome: Chrome::of(&signed, "tenants"),
        tenants,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TenantForm {
    slug: Field,
    name: Field,
}

async fn create(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<TenantForm>,
) -> PageResult {
    state
        .provisioner
        .create_tenant(&signed.grant, &form.slug, form.name.non_empty())
        .await?;
    Ok(Redirect::to("/admin/tenants").into_response())
}

/// Remembers the operator's tenant in a cookie, so that every page and form applies to it.
async fn select(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<TenantForm>,
) -> PageResult {
    let slug = &*form.slug;
    let tenants = state.provisioner.list_tenants(&signed.grant).await?;
    let Some(tenant) = tenants
        .into_iter()
        .find(|tenant| tenant.slug.as_str() == slug)
    else {
        return Err(scimd_core::Error::NotFound(format!("no tenant '{slug}'")).into());
    };
    let mut response = Redirect::to("/admin").into_response();
    let cookie = format!(
        "{TENANT_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict",
        tenant.slug
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
