//! Tenants, for operators (SPEC §7): list, create, and choose the tenant the console works in.

use super::auth::TENANT_COOKIE;
use super::pages::{Chrome, failure, render};
use super::{ChangeForm, Signed, form_text};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scimd_core::tenant::Tenant;

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
async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    match state.provisioner.list_tenants(&signed.grant).await {
        Ok(tenants) => render(&TenantsPage {
            chrome: Chrome::of(&signed, "tenants"),
            tenants,
        }),
        Err(error) => failure(error),
    }
}

async fn create(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    let name = Some(form_text(&form, "name")).filter(|name| !name.is_empty());
    match state
        .provisioner
        .create_tenant(&signed.grant, form_text(&form, "slug"), name)
        .await
    {
        Ok(_) => Redirect::to("/admin/tenants").into_response(),
        Err(error) => failure(error),
    }
}

/// Remembers the operator's tenant in a cookie, so that every page and form applies to it.
async fn select(
    State(state): State<AppState>,
    ChangeForm { signed, form }: ChangeForm,
) -> Response {
    let slug = form_text(&form, "slug");
    let tenant = match state.provisioner.list_tenants(&signed.grant).await {
        Ok(tenants) => tenants
            .into_iter()
            .find(|tenant| tenant.slug.as_str() == slug),
        Err(error) => return failure(error),
    };
    let Some(tenant) = tenant else {
        return failure(scimd_core::Error::NotFound(format!("no tenant '{slug}'")));
    };
    let mut response = Redirect::to("/admin").into_response();
    let cookie = format!(
        "{TENANT_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict",
        tenant.slug
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
