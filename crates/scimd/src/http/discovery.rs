//! Discovery (RFC 7644 §4), `/Groups` as SPEC §3 wants it for a product without groups, and
//! `/Bulk`, which is not supported.

use super::AppState;
use super::extract::BaseUrl;
use super::response::{ApiError, Scim};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{any, get};
use scim::discovery;
use scim::list::ListResponse;
use scim::schema::USER;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(service_provider_config).fallback(read_only),
        )
        .route("/ResourceTypes", get(resource_types).fallback(read_only))
        .route(
            "/ResourceTypes/{name}",
            get(resource_type).fallback(read_only),
        )
        .route("/Schemas", get(schemas).fallback(read_only))
        .route("/Schemas/{id}", get(schema).fallback(read_only))
        .route("/Groups", get(groups).fallback(groups_not_managed))
        .route("/Groups/{id}", get(group).fallback(groups_not_managed))
        .route("/Bulk", any(bulk))
}

async fn service_provider_config(State(state): State<AppState>, base: BaseUrl) -> Scim {
    Scim::ok(discovery::service_provider_config(
        &base.0,
        state.settings.capabilities,
    ))
}

async fn resource_types(base: BaseUrl) -> Scim {
    Scim::ok(discovery::resource_types(&base.0, &[&USER]))
}

async fn resource_type(base: BaseUrl, Path(name): Path<String>) -> Result<Scim, ApiError> {
    discovery::resource_type(&base.0, &[&USER], &name)
        .map(Scim::ok)
        .ok_or_else(|| {
            scim::Error::not_found(format!(
                "no resource type '{name}'; this server manages Users only"
            ))
            .into()
        })
}

async fn schemas(base: BaseUrl) -> Scim {
    Scim::ok(discovery::schemas(&base.0, &[&USER]))
}

async fn schema(base: BaseUrl, Path(id): Path<String>) -> Result<Scim, ApiError> {
    discovery::schema(&base.0, &[&USER], &id)
        .map(Scim::ok)
        .ok_or_else(|| scim::Error::not_found(format!("no schema '{id}'")).into())
}

async fn read_only() -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        "discovery endpoints are read-only: use GET",
    )
}

/// Groups are not managed, but IdPs probe `/Groups` during connection tests: an empty
/// list, answered at once, keeps those tests green.
async fn groups() -> Scim {
    Scim::ok(ListResponse::<serde_json::Value> {
        start_index: Some(1),
        ..ListResponse::default()
    })
}

async fn group(Path(id): Path<String>) -> ApiError {
    scim::Error::not_found(format!(
        "Group {id} not found: this server does not manage groups"
    ))
    .into()
}

async fn groups_not_managed() -> ApiError {
    ApiError::status(
        StatusCode::NOT_IMPLEMENTED,
        "groups are not managed by this server; turn off group provisioning in the IdP",
    )
}

async fn bulk() -> ApiError {
    ApiError::status(
        StatusCode::NOT_IMPLEMENTED,
        "bulk operations are not supported (see /ServiceProviderConfig)",
    )
}
