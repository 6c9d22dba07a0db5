//! The admin API's operations: each reads or changes through the provisioner, as the console
//! and the CLI do, and answers JSON.

use super::{ApiFailure, ApiResult, Caller, OPENAPI, required, text};
use crate::http::AppState;
use crate::http::extract::read_limited;
use crate::reports::{PRESERVED_REPORT, PROVISIONING_REPORT, accounts_listing};
use axum::Router;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use scim::datetime::Timestamp;
use scimd_core::activity::{Event, EventQuery, Outcome};
use scimd_core::catalog::Mapping;
use scimd_core::lifecycle::ManagedBy;
use scimd_core::mapping::{Criteria, format_values};
use scimd_core::provisioner::{
    AccountFilter, AccountSearch, AccountView, ManualUser, MappingEdit, MappingSpec,
};
use scimd_core::store::StateFilter;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/openapi.json", get(openapi))
        .route("/admin/api/v1/dashboard", get(dashboard))
        .route("/admin/api/v1/tokens", get(list_tokens).post(create_token))
        .route(
            "/admin/api/v1/tokens/{name}",
            axum::routing::delete(revoke_token),
        )
        .route(
            "/admin/api/v1/profiles",
            get(list_profiles).post(create_profile),
        )
        .route(
            "/admin/api/v1/profiles/{name}",
            axum::routing::delete(delete_profile),
        )
        .route(
            "/admin/api/v1/storages",
            get(list_storages).post(create_storage),
        )
        .route(
            "/admin/api/v1/mappings",
            get(list_mappings).post(create_mapping),
        )
        .route("/admin/api/v1/mappings/preview", post(preview_mapping))
        .route(
            "/admin/api/v1/mappings/{name}",
            axum::routing::patch(edit_mapping).delete(delete_mapping),
        )
        .route("/admin/api/v1/mappings/{name}/priority", put(move_mapping))
        .route("/admin/api/v1/users", get(list_users).post(create_user))
        .route(
            "/admin/api/v1/users/{email}",
            get(show_user).delete(delete_user),
        )
        .route("/admin/api/v1/users/{email}/preserve", post(preserve_user))
        .route("/admin/api/v1/users/{email}/activate", post(activate_user))
        .route("/admin/api/v1/reports/{report}", get(report))
        .route("/admin/api/v1/activity", get(activity))
}

/// A JSON request body; anything else is a 400 with a JSON error.
pub(crate) struct Body(Value);

impl FromRequest<AppState> for Body {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiFailure> {
        let limit =
            usize::try_from(state.settings.capabilities.max_payload_size).unwrap_or(usize::MAX);
        let bytes = read_limited(request.into_body(), limit)
            .await
            .map_err(|_| ApiFailure::new(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|error| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {error}"),
            )
        })?;
        if value.is_object() {
            Ok(Self(value))
        } else {
            Err(ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object",
            ))
        }
    }
}

fn ok(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_rfc3339()))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn dashboard(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let figures = state.provisioner.dashboard(&caller.tenant).await?;
    let tokens: Vec<Value> = figures
        .tokens_needing_attention
        .iter()
        .map(|(token, status)| {
            json!({"name": token.name.as_str(), "status": status.as_str(),
                   "expires_at": token.expires_at.to_rfc3339()})
        })
        .collect();
    ok(
        json!({"active": figures.active, "preserved": figures.preserved,
              "failures_last_day": figures.failures_last_day, "tokens_needing_attention": tokens}),
    )
}

async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let now = state.provisioner.now();
    let tokens: Vec<Value> = state
        .provisioner
        .list_tokens(&caller.tenant)
        .await?
        .into_iter()
        .map(|token| {
            json!({"name": token.name.as_str(), "status": token.status(now).as_str(),
                   "created_at": token.created_at.to_rfc3339(),
                   "expires_at": token.expires_at.to_rfc3339(),
                   "revoked_at": time(token.revoked_at), "last_used_at": time(token.last_used_at)})
        })
        .collect();
    ok(json!({"tokens": tokens}))
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    let days = body.get("expires_in_days").and_then(Value::as_i64);
    let keep = body
        .get("keep_previous_seconds")
        .and_then(Value::as_i64)
        .map(|seconds| seconds.saturating_mul(1000));
    let (token, secret) = state
        .provisioner
        .create_token(
            &caller.origin(),
            &caller.tenant,
            required(&body, "name")?,
            days,
            keep,
        )
        .await?;
    created(
        json!({"name": token.name.as_str(), "secret": secret.expose(),
                   "expires_at": token.expires_at.to_rfc3339()}),
    )
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    caller.may_change()?;
    state
        .provisioner
        .revoke_token(&caller.origin(), &caller.tenant, &name)
        .await?;
    no_content()
}

async fn list_profiles(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let profiles: Vec<Value> = state
        .provisioner
        .list_profiles(&caller.tenant)
        .await?
        .into_iter()
        .map(|p| json!({"name": p.name, "max_users": p.max_users}))
        .collect();
    ok(json!({"profiles": profiles}))
}

async fn create_profile(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    let max_users = body.get("max_users").and_then(Value::as_u64).unwrap_or(0);
    let max_users = u32::try_from(max_users)
        .map_err(|_| ApiFailure::new(StatusCode::BAD_REQUEST, "'max_users' is too large"))?;
    let profile = state
        .provisioner
        .create_profile(
            &caller.origin(),
            &caller.tenant,
            required(&body, "name")?,
            max_users,
        )
        .await?;
    created(json!({"name": profile.name, "max_users": profile.max_users}))
}

async fn delete_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    caller.may_change()?;
    state
        .provisioner
        .delete_profile(&caller.origin(), &caller.tenant, &name)
        .await?;
    no_content()
}

async fn list_storages(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let storages: Vec<Value> = state
        .provisioner
        .list_storages(&caller.tenant)
        .await?
        .into_iter()
        .map(|s| json!({"name": s.name, "region": s.region}))
        .collect();
    ok(json!({"storages": storages}))
}

async fn create_storage(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    let storage = state
        .provisioner
        .create_storage(
            &caller.origin(),
            &caller.tenant,
            required(&body, "name")?,
            required(&body, "region")?,
        )
        .await?;
    created(json!({"name": storage.name, "region": storage.region}))
}

fn mapping_json(mapping: &Mapping) -> Value {
    let criteria = match &mapping.criteria {
        Criteria::AllowAnyUser => json!({"any_user": true}),
        Criteria::Attribute { name, values } => {
            json!({"attribute": name, "values": values, "text": format_values(values)})
        }
    };
    json!({"name": mapping.name, "priority": mapping.priority, "criteria": criteria,
           "profile": mapping.profile, "storage": mapping.storage, "quota_bytes": mapping.quota_bytes,
           "send_activation_email": mapping.send_activation_email})
}

async fn list_mappings(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let mappings = state.provisioner.list_mappings(&caller.tenant).await?;
    ok(json!({"mappings": mappings.iter().map(mapping_json).collect::<Vec<_>>()}))
}

/// `{"any_user": true}` or `{"attribute": "department", "values": "R&D,Engineering"}` (the
/// values as the console writes them, R-21) or with `values` as an array of strings.
fn criteria_of(body: &Value) -> Result<Criteria, ApiFailure> {
    let criteria = body.get("criteria").unwrap_or(&Value::Null);
    if criteria.get("any_user") == Some(&Value::Bool(true)) {
        return Ok(Criteria::AllowAnyUser);
    }
    let attribute = required(criteria, "attribute")?;
    let values = match criteria.get("values") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => {
            let values: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            format_values(&values)
        }
        _ => String::new(),
    };
    Ok(Criteria::attribute(attribute, &values)?)
}

async fn create_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    let spec = MappingSpec {
        name: required(&body, "name")?,
        criteria: criteria_of(&body)?,
        profile: required(&body, "profile")?,
        storage: required(&body, "storage")?,
        quota_bytes: body.get("quota_bytes").and_then(Value::as_u64),
        send_activation_email: body
            .get("send_activation_email")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    let mapping = state
        .provisioner
        .create_mapping(&caller.origin(), &caller.tenant, spec)
        .await?;
    created(mapping_json(&mapping))
}

async fn edit_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    if body.get("criteria").is_some() {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "a mapping's criteria cannot change after creation (R-24): create another mapping",
        ));
    }
    let edit = MappingEdit {
        new_name: text(&body, "new_name"),
        profile: text(&body, "profile"),
        storage: text(&body, "storage"),
        quota_bytes: body.get("quota_bytes").map(Value::as_u64),
        send_activation_email: body.get("send_activation_email").and_then(Value::as_bool),
    };
    state
        .provisioner
        .edit_mapping(&caller.origin(), &caller.tenant, &name, edit)
        .await?;
    no_content()
}

async fn move_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
    caller.may_change()?;
    let priority = body
        .get("priority")
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "'priority' (1 or more) is required",
            )
        })?;
    state
        .provisioner
        .reorder_mapping(&caller.origin(), &caller.tenant, &name, priority)
        .await?;
    no_content()
}

async fn delete_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    caller.may_change()?;
    state
        .provisioner
        .delete_mapping(&caller.origin(), &caller.tenant, &name)
        .await?;
    no_content()
}

async fn preview_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let user = body.get("user").cloned().unwrap_or(Value::Null);
    let (matched, explanations) = state
        .provisioner
        .preview_mapping(&caller.tenant, &user)
        .await?;
    let explanations: Vec<String> = explanations.iter().map(ToString::to_string).collect();
    ok(json!({"matched": matched, "explanations": explanations}))
}

fn user_json(view: &AccountView) -> Value {
    let listing = accounts_listing(std::slice::from_ref(view), crate::reports::ACCOUNT_DETAIL);
    listing.object(&listing.rows[0])
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let get = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let search = AccountSearch {
        state: match get("state") {
            Some("active") => Some(StateFilter::Active),
            Some("preserved") => Some(StateFilter::Preserved),
            _ => None,
        },
        profile: get("profile"),
        storage: get("storage"),
        managed_by: get("managed_by").and_then(ManagedBy::parse),
        search: get("q"),
        after_key: get("after").and_then(|after| after.parse().ok()),
        limit: get("limit")
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(100),
    };
    let (views, next) = state
        .provisioner
        .search_accounts(&caller.tenant, &search)
        .await?;
    ok(json!({"users": views.iter().map(user_json).collect::<Vec<_>>(), "next_after": next}))
}

async fn create_user(State(state): State<AppState>, caller: Caller, Body(body): Body) -> ApiResult {
    caller.may_change()?;
    let spec = ManualUser {
        email: required(&body, "email")?.to_owned(),
        name: required(&body, "name")?.to_owned(),
        profile: required(&body, "profile")?.to_owned(),
        storage: required(&body, "storage")?.to_owned(),
    };
    state
        .provisioner
        .create_manual_user(&caller.origin(), &caller.tenant, &spec)
        .await?;
    let view = state
        .provisioner
        .account_view(&caller.tenant, &spec.email)
        .await?;
    created(user_json(&view))
}

async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    let view = state
        .provisioner
        .account_view(&caller.tenant, &email)
        .await?;
    ok(user_json(&view))
}

async fn preserve_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    caller.may_change()?;
    state
        .provisioner
        .preserve_user(&caller.origin(), &caller.tenant, &email)
        .await?;
    ok(user_json(
        &state
            .provisioner
            .account_view(&caller.tenant, &email)
            .await?,
    ))
}

async fn activate_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    caller.may_change()?;
    state
        .provisioner
        .activate_user(&caller.origin(), &caller.tenant, &email)
        .await?;
    ok(user_json(
        &state
            .provisioner
            .account_view(&caller.tenant, &email)
            .await?,
    ))
}

async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    caller.may_change()?;
    let reason = query.get("reason").map(String::as_str).unwrap_or_default();
    state
        .provisioner
        .destroy_user(&caller.origin(), &caller.tenant, &email, reason)
        .await?;
    no_content()
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(report): Path<String>,
) -> ApiResult {
    let (preserved, columns) = match report.as_str() {
        "provisioning" => (false, PROVISIONING_REPORT),
        "preserved" => (true, PRESERVED_REPORT),
        _ => {
            return Err(ApiFailure::new(
                StatusCode::NOT_FOUND,
                "reports are 'provisioning' and 'preserved'",
            ));
        }
    };
    let filter = AccountFilter {
        state: preserved.then_some(StateFilter::Preserved),
        profile: None,
    };
    let accounts = state
        .provisioner
        .list_accounts(&caller.tenant, &filter)
        .await?;
    let listing = accounts_listing(&accounts, columns);
    let rows: Vec<Value> = listing.rows.iter().map(|row| listing.object(row)).collect();
    ok(json!({"rows": rows}))
}

fn event_json(event: &Event) -> Value {
    json!({"at": event.at.to_rfc3339(), "actor_kind": event.actor_kind, "actor": event.actor,
           "client": event.client, "method": event.method, "path": event.path,
           "operation": event.operation, "user_name": event.target_user_name,
           "scim_id": event.target_id, "outcome": event.outcome.as_str(), "status": event.status,
           "scim_type": event.scim_type, "detail": event.detail,
           "latency_ms": event.latency_millis, "response": event.response})
}

async fn activity(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let get = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let events = EventQuery {
        since: get("since").and_then(scim::datetime::parse),
        until: get("until").and_then(scim::datetime::parse),
        outcome: get("outcome").and_then(Outcome::parse),
        client: get("idp").map(str::to_owned),
        operation: get("operation").map(str::to_owned),
        user_name: get("user").map(str::to_owned),
        limit: get("limit")
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(100)
            .clamp(1, 10_000),
    };
    let events = state.provisioner.activity(&caller.tenant, &events).await?;
    ok(json!({"events": events.iter().map(event_json).collect::<Vec<_>>()}))
}
