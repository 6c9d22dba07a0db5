//! Tenants, for operators (SPEC §7): list, create, and choose the tenant the console works in.

use super::auth::{Refused, TENANT_COOKIE};
use super::pages::{Chrome, failure, render};
use super::{Signed, form_text};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scimd_core::tenant::Tenant;
use serde_json::Value;

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

/// Only operators manage tenants; the CSRF token too for changes.
fn operator(signed: &Signed, headers: Option<(&HeaderMap, &Value)>) -> Result<(), Refused> {
    if !signed.admin.role.can_manage_tenants() {
        return Err(Refused("only an operator manages tenants"));
    }
    match headers {
        Some((headers, form)) => signed.check_form(headers, form),
        None => Ok(()),
    }
}

async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    if let Err(refused) = operator(&signed, None) {
        return refused.into_response();
    }
    match state.provisioner.list_tenants().await {
        Ok(tenants) => render(&TenantsPage {
            chrome: Chrome::of(&signed, "tenants"),
            tenants,
        }),
        Err(error) => failure(error),
    }
}

async fn create(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = operator(&signed, Some((&headers, &form))) {
        return refused.into_response();
    }
    let name = Some(form_text(&form, "name")).filter(|name| !name.is_empty());
    let origin = signed.origin("POST", "/admin/tenants");
    match state
        .provisioner
        .create_tenant(&origin, form_text(&form, "slug"), name)
        .await
    {
        Ok(_) => Redirect::to("/admin/tenants").into_response(),
        Err(error) => failure(error),
    }
}

/// Remembers the operator's tenant in a cookie, so that every page and form applies to it.
async fn select(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = operator(&signed, Some((&headers, &form))) {
        return refused.into_response();
    }
    let tenant = match state.provisioner.tenant(form_text(&form, "slug")).await {
        Ok(tenant) => tenant,
        Err(error) => return failure(error),
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
