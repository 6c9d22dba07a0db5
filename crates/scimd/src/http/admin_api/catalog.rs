//! Admin API: tokens, profiles, storages and mappings.

use super::time;
use super::{ApiFailure, ApiResult, Body, Caller, Whole, created, no_content, nullable, ok};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use scimd_core::catalog::{Mapping, Shadowed, shadowed, shadower_of};
use scimd_core::mapping::{Criteria, format_values};
use scimd_core::provisioner::{MappingEdit, MappingSpec};
use scimd_core::tenant::ProvisioningMethod;
use serde::Deserialize;
use serde_json::{Value, json};

/// the tenant's provisioning method.
pub(super) async fn provisioning(caller: Caller) -> ApiResult {
    ok(json!({"method": caller.tenant().provisioning.as_str()}))
}

#[derive(Deserialize)]
pub(super) struct MethodBody {
    method: String,
}

/// `{"method": "scim" | "manual"}`; users are never touched.
pub(super) async fn set_provisioning(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<MethodBody>,
) -> ApiResult {
    let method = ProvisioningMethod::parse(&body.method)?;
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

#[derive(Deserialize)]
pub(super) struct TokenBody {
    name: String,
    /// The provisioner says which lifetimes it allows.
    expires_in_days: Option<Whole>,
    keep_previous_seconds: Option<Whole>,
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<TokenBody>,
) -> ApiResult {
    let days = body
        .expires_in_days
        .map(|days| i64::try_from(days.0).unwrap_or(i64::MAX));
    let keep = body.keep_previous_seconds.map(|seconds| {
        i64::try_from(seconds.0)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
    });
    let (token, secret) = state
        .provisioner
        .create_token(&caller.grant, &body.name, days, keep)
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

/// A profile's limit of users: a whole number, 0 for none.
type UserLimit = Whole<0, { u32::MAX as u64 }>;

#[derive(Deserialize)]
pub(super) struct NewProfile {
    name: String,
    max_users: Option<UserLimit>,
}

pub(super) async fn create_profile(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewProfile>,
) -> ApiResult {
    let max_users = body.max_users.map_or(0, Whole::small);
    let profile = state
        .provisioner
        .create_profile(&caller.grant, &body.name, max_users)
        .await?;
    created(json!({"name": profile.name, "max_users": profile.max_users}))
}

#[derive(Deserialize)]
pub(super) struct ProfileEdit {
    new_name: Option<String>,
    max_users: Option<UserLimit>,
}

/// `{"new_name": ..., "max_users": ...}`, either or both.
pub(super) async fn edit_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<ProfileEdit>,
) -> ApiResult {
    state
        .provisioner
        .edit_profile(
            &caller.grant,
            &name,
            body.new_name.as_deref(),
            body.max_users.map(Whole::small),
        )
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

#[derive(Deserialize)]
pub(super) struct NewStorage {
    name: String,
    region: String,
}

pub(super) async fn create_storage(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewStorage>,
) -> ApiResult {
    let storage = state
        .provisioner
        .create_storage(&caller.grant, &body.name, &body.region)
        .await?;
    created(json!({"name": storage.name, "region": storage.region}))
}

#[derive(Deserialize)]
pub(super) struct StorageEdit {
    new_name: Option<String>,
    region: Option<String>,
}

/// `{"new_name": ..., "region": ...}`, either or both.
pub(super) async fn edit_storage(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<StorageEdit>,
) -> ApiResult {
    state
        .provisioner
        .edit_storage(
            &caller.grant,
            &name,
            body.new_name.as_deref(),
            body.region.as_deref(),
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
#[derive(Deserialize)]
pub(super) struct CriteriaBody {
    #[serde(default)]
    any_user: bool,
    attribute: Option<String>,
    values: Option<CriteriaValues>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CriteriaValues {
    Text(String),
    List(Vec<String>),
}

impl CriteriaBody {
    fn criteria(&self) -> Result<Criteria, ApiFailure> {
        if self.any_user {
            return Ok(Criteria::AllowAnyUser);
        }
        let attribute = self.attribute.as_deref().ok_or_else(|| {
            ApiFailure::new(StatusCode::BAD_REQUEST, "'criteria.attribute' is required")
        })?;
        let values = match &self.values {
            Some(CriteriaValues::Text(text)) => text.clone(),
            Some(CriteriaValues::List(values)) => format_values(values),
            None => String::new(),
        };
        Ok(Criteria::attribute(attribute, &values)?)
    }
}

/// A priority: 1 is tried first.
type Priority = Whole<1, { u32::MAX as u64 }>;

#[derive(Deserialize)]
pub(super) struct NewMapping {
    name: String,
    criteria: CriteriaBody,
    profile: String,
    storage: String,
    quota_bytes: Option<Whole>,
    #[serde(default)]
    send_activation_email: bool,
    priority: Option<Priority>,
}

pub(super) async fn create_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewMapping>,
) -> ApiResult {
    let spec = MappingSpec {
        name: &body.name,
        criteria: body.criteria.criteria()?,
        profile: &body.profile,
        storage: &body.storage,
        quota_bytes: body.quota_bytes.map(|quota| quota.0),
        send_activation_email: body.send_activation_email,
        priority: body.priority.map(Whole::small),
    };
    let mapping = state
        .provisioner
        .create_mapping(&caller.grant, spec)
        .await?;
    let shadowed = state.provisioner.shadowed_mappings(&caller.grant).await?;
    created(mapping_json(&mapping, &shadowed))
}

/// the name and the configuration; `quota_bytes: null` clears the quota.
#[derive(Deserialize)]
pub(super) struct MappingChange {
    /// Present only to be refused: criteria never change.
    criteria: Option<Value>,
    new_name: Option<String>,
    profile: Option<String>,
    storage: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    quota_bytes: Option<Option<Whole>>,
    send_activation_email: Option<bool>,
}

pub(super) async fn edit_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<MappingChange>,
) -> ApiResult {
    if body.criteria.is_some() {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "a mapping's criteria cannot change after creation (R-24): create another mapping",
        ));
    }
    let edit = MappingEdit {
        new_name: body.new_name.as_deref(),
        profile: body.profile.as_deref(),
        storage: body.storage.as_deref(),
        quota_bytes: body.quota_bytes.map(|quota| quota.map(|quota| quota.0)),
        send_activation_email: body.send_activation_email,
    };
    state
        .provisioner
        .edit_mapping(&caller.grant, &name, edit)
        .await?;
    no_content()
}

#[derive(Deserialize)]
pub(super) struct MappingMove {
    priority: Priority,
}

pub(super) async fn move_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<MappingMove>,
) -> ApiResult {
    state
        .provisioner
        .reorder_mapping(&caller.grant, &name, body.priority.small())
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

/// `{"user": <a SCIM User as an IdP would send it>}`.
#[derive(Deserialize)]
pub(super) struct PreviewBody {
    user: Value,
}

pub(super) async fn preview_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<PreviewBody>,
) -> ApiResult {
    let preview = state
        .provisioner
        .preview_mapping(&caller.grant, &body.user)
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

#[derive(Deserialize)]
pub(super) struct NewTenant {
    slug: String,
    name: Option<String>,
}

/// Operators only: a new tenant, with the default catalog.
pub(super) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewTenant>,
) -> ApiResult {
    let tenant = state
        .provisioner
        .create_tenant(&caller.grant, &body.slug, body.name.as_deref())
        .await?;
    created(json!({"slug": tenant.slug.as_str(), "name": tenant.name}))
}
