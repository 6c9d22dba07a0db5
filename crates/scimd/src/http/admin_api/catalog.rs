//! Admin API: tokens, profiles, storages and mappings.

use super::time;
use super::{ApiFailure, ApiResult, Body, Caller, created, no_content, ok, required, text};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use scimd_core::catalog::{Mapping, Shadowed, shadowed, shadower_of};
use scimd_core::mapping::{Criteria, format_values};
use scimd_core::provisioner::{MappingEdit, MappingSpec};
use scimd_core::tenant::ProvisioningMethod;
use serde_json::{Value, json};

/// the tenant's provisioning method.
pub(super) async fn provisioning(caller: Caller) -> ApiResult {
    ok(json!({"method": caller.tenant().provisioning.as_str()}))
}

/// `{"method": "scim" | "manual"}`; users are never touched.
pub(super) async fn set_provisioning(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let method = ProvisioningMethod::parse(required(&body, "method")?)?;
    state
        .provisioner
        .set_provisioning(&caller.grant, method)
        .await?;
    ok(json!({"method": method.as_str()}))
}

pub(super) async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let now = state.provisioner.now();
    let tokens: Vec<Value> = state
        .provisioner
        .list_tokens(&caller.grant)
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

pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let days = body.get("expires_in_days").and_then(Value::as_i64);
    let keep = body
        .get("keep_previous_seconds")
        .and_then(Value::as_i64)
        .map(|seconds| seconds.saturating_mul(1000));
    let (token, secret) = state
        .provisioner
        .create_token(&caller.grant, required(&body, "name")?, days, keep)
        .await?;
    created(
        json!({"name": token.name.as_str(), "secret": secret.expose(),
                   "expires_at": token.expires_at.to_rfc3339()}),
    )
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state.provisioner.revoke_token(&caller.grant, &name).await?;
    no_content()
}

pub(super) async fn list_profiles(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let profiles: Vec<Value> = state
        .provisioner
        .list_profiles(&caller.grant)
        .await?
        .into_iter()
        .map(|p| json!({"name": p.name, "max_users": p.max_users}))
        .collect();
    ok(json!({"profiles": profiles}))
}

pub(super) async fn create_profile(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let max_users = max_users_of(&body)?.unwrap_or(0);
    let profile = state
        .provisioner
        .create_profile(&caller.grant, required(&body, "name")?, max_users)
        .await?;
    created(json!({"name": profile.name, "max_users": profile.max_users}))
}

/// `max_users` when the body has it: a whole number of users, 0 for no limit.
fn max_users_of(body: &Value) -> Result<Option<u32>, ApiFailure> {
    match body.get("max_users") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => whole_number(
            value,
            0,
            "'max_users' is a whole number of users (0 for no limit)",
        )
        .map(Some),
    }
}

/// `value` as a whole number from `at_least`, or a 400 saying `refusal`.
fn whole_number(value: &Value, at_least: u32, refusal: &'static str) -> Result<u32, ApiFailure> {
    value
        .as_u64()
        .and_then(|number| u32::try_from(number).ok())
        .filter(|number| *number >= at_least)
        .ok_or_else(|| ApiFailure::new(StatusCode::BAD_REQUEST, refusal))
}

/// `{"new_name": ..., "max_users": ...}`, either or both.
pub(super) async fn edit_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
    let max_users = max_users_of(&body)?;
    state
        .provisioner
        .edit_profile(&caller.grant, &name, text(&body, "new_name"), max_users)
        .await?;
    no_content()
}

pub(super) async fn delete_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .delete_profile(&caller.grant, &name)
        .await?;
    no_content()
}

pub(super) async fn list_storages(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let storages: Vec<Value> = state
        .provisioner
        .list_storages(&caller.grant)
        .await?
        .into_iter()
        .map(|s| json!({"name": s.name, "region": s.region}))
        .collect();
    ok(json!({"storages": storages}))
}

pub(super) async fn create_storage(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let storage = state
        .provisioner
        .create_storage(
            &caller.grant,
            required(&body, "name")?,
            required(&body, "region")?,
        )
        .await?;
    created(json!({"name": storage.name, "region": storage.region}))
}

/// `{"new_name": ..., "region": ...}`, either or both.
pub(super) async fn edit_storage(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
    state
        .provisioner
        .edit_storage(
            &caller.grant,
            &name,
            text(&body, "new_name"),
            text(&body, "region"),
        )
        .await?;
    no_content()
}

/// A mapping, with the any-user mapping that shadows it or `null`.
fn mapping_json(mapping: &Mapping, shadowed: &[Shadowed]) -> Value {
    let criteria = match &mapping.criteria {
        Criteria::AllowAnyUser => json!({"any_user": true}),
        Criteria::Attribute { name, values } => {
            json!({"attribute": name, "values": values, "text": format_values(values)})
        }
    };
    let shadowed_by = shadower_of(shadowed, &mapping.name);
    json!({"name": mapping.name, "priority": mapping.priority, "criteria": criteria,
           "profile": mapping.profile, "storage": mapping.storage, "quota_bytes": mapping.quota_bytes,
           "send_activation_email": mapping.send_activation_email, "shadowed_by": shadowed_by})
}

pub(super) async fn list_mappings(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let mappings = state.provisioner.list_mappings(&caller.grant).await?;
    let shadowed = shadowed(&mappings);
    let listed: Vec<Value> = mappings
        .iter()
        .map(|mapping| mapping_json(mapping, &shadowed))
        .collect();
    ok(json!({"mappings": listed}))
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

pub(super) async fn create_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
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
        priority: match body.get("priority") {
            None | Some(Value::Null) => None,
            Some(priority) => Some(priority_of(priority)?),
        },
    };
    let mapping = state
        .provisioner
        .create_mapping(&caller.grant, spec)
        .await?;
    let shadowed = state.provisioner.shadowed_mappings(&caller.grant).await?;
    created(mapping_json(&mapping, &shadowed))
}

/// A priority: an integer from 1.
fn priority_of(value: &Value) -> Result<u32, ApiFailure> {
    whole_number(
        value,
        1,
        "'priority' is an integer from 1 (1 is tried first)",
    )
}

pub(super) async fn edit_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
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
        .edit_mapping(&caller.grant, &name, edit)
        .await?;
    no_content()
}

pub(super) async fn move_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body,
) -> ApiResult {
    let priority = priority_of(body.get("priority").unwrap_or(&Value::Null))?;
    state
        .provisioner
        .reorder_mapping(&caller.grant, &name, priority)
        .await?;
    no_content()
}

pub(super) async fn delete_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .delete_mapping(&caller.grant, &name)
        .await?;
    no_content()
}

pub(super) async fn preview_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let user = body.get("user").cloned().unwrap_or(Value::Null);
    let preview = state
        .provisioner
        .preview_mapping(&caller.grant, &user)
        .await?;
    let explanations: Vec<String> = preview
        .explanations
        .iter()
        .map(ToString::to_string)
        .collect();
    let shadowed: Vec<Value> = preview
        .shadowed
        .iter()
        .map(|shadowed| json!({"mapping": shadowed.mapping, "by": shadowed.by, "text": shadowed.to_string()}))
        .collect();
    ok(json!({"matched": preview.matched, "explanations": explanations, "shadowed": shadowed}))
}

/// Operators only: every tenant.
pub(super) async fn list_tenants(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let tenants: Vec<Value> = state
        .provisioner
        .list_tenants(&caller.grant)
        .await?
        .into_iter()
        .map(|t| json!({"slug": t.slug.as_str(), "name": t.name, "created_at": t.created_at.to_rfc3339()}))
        .collect();
    ok(json!({"tenants": tenants}))
}

/// Operators only: a new tenant, with the default catalog.
pub(super) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ApiResult {
    let tenant = state
        .provisioner
        .create_tenant(&caller.grant, required(&body, "slug")?, text(&body, "name"))
        .await?;
    created(json!({"slug": tenant.slug.as_str(), "name": tenant.name}))
}
