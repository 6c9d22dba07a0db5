//! Mappings (SPEC §5): the priority list with reordering, the two-step creation wizard
//! (criteria, then configuration, as Druva's), editing of name and configuration only (R-24),
//! deletion, and the preview of a sample user.

use super::Signed;
use super::auth::Refused;
use super::forms::{Field, Posted};
use super::notices::Notice;
use super::pages::{Chrome, PageResult, catalog_names, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use scimd_core::catalog::{Mapping, shadowed, shadower_of};
use scimd_core::mapping::{Criteria, NO_MAPPING_MATCHED};
use scimd_core::provisioner::{MappingEdit, MappingSpec};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/mappings", get(list))
        .route("/admin/mappings/preview", post(preview))
        .route("/admin/mappings/new", get(new_step_one).post(new_submitted))
        .route("/admin/mappings/edit", get(edit_page).post(edit))
        .route("/admin/mappings/reorder", post(reorder))
        .route("/admin/mappings/delete", post(delete))
}

/// A mapping as the page lists it, with the any-user mapping that shadows it (R-29).
#[derive(Debug)]
struct MappingRow {
    mapping: Mapping,
    shadowed_by: Option<String>,
}

#[derive(Template)]
#[template(path = "mappings.html")]
struct MappingsPage {
    chrome: Chrome,
    rows: Vec<MappingRow>,
    can_change: bool,
    sample: String,
    preview: Vec<String>,
    notice: Option<&'static str>,
}

async fn show(
    state: &AppState,
    signed: &Signed,
    sample: String,
    preview: Vec<String>,
    notice: Option<&'static str>,
) -> PageResult {
    let mappings = state.provisioner.list_mappings(&signed.grant).await?;
    Ok(render(&MappingsPage {
        chrome: Chrome::of(signed, "mappings"),
        rows: rows(mappings),
        can_change: signed.can_change(),
        sample,
        preview,
        notice,
    }))
}

fn rows(mappings: Vec<Mapping>) -> Vec<MappingRow> {
    let shadowed = shadowed(&mappings);
    mappings
        .into_iter()
        .map(|mapping| MappingRow {
            shadowed_by: shadower_of(&shadowed, &mapping.name).map(str::to_owned),
            mapping,
        })
        .collect()
}

const SAMPLE: &str = r#"{"userName": "new.user@example.com", "displayName": "New User",
 "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "Engineering"}}"#;

async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    show(
        &state,
        &signed,
        SAMPLE.into(),
        Vec::new(),
        Notice::of(&query).map(Notice::message),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PreviewForm {
    sample: Field,
}

/// Reading only, so viewers may preview too; the CSRF token is still required of a POST.
async fn preview(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<PreviewForm>,
) -> PageResult {
    let sample = form.sample.into_string();
    let lines = match serde_json::from_str::<Value>(&sample) {
        Err(error) => vec![format!("The sample is not JSON: {error}")],
        Ok(body) => match state
            .provisioner
            .preview_mapping(&signed.grant, &body)
            .await
        {
            Ok(preview) => {
                let mut lines: Vec<String> = preview
                    .explanations
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                lines.push(match preview.matched {
                    Some(name) => format!("The user would be created by mapping '{name}'."),
                    None => NO_MAPPING_MATCHED.to_owned(),
                });
                lines.extend(
                    preview
                        .shadowed
                        .iter()
                        .map(|shadowed| format!("Never tried: {shadowed}.")),
                );
                lines
            }
            Err(error) => vec![format!("The sample is not a valid SCIM user: {error}")],
        },
    };
    show(&state, &signed, sample, lines, None).await
}

/// What the wizard and the edit form carry between steps.
#[derive(Debug, Default)]
struct MappingFields {
    name: String,
    attribute: String,
    values: String,
    profile: String,
    storage: String,
    quota: String,
    activation_email: bool,
}

/// The wizard's and the edit form's fields as posted.
#[derive(Deserialize, Default)]
#[serde(default)]
struct MappingPost {
    name: Field,
    new_name: Field,
    /// `any` for an any-user mapping; the attribute and values are then ignored.
    kind: Field,
    attribute: Field,
    values: Field,
    profile: Field,
    storage: Field,
    quota: Field,
    activation_email: Field,
    /// `2` once the criteria were accepted and the configuration is submitted.
    step: Field,
}

impl MappingFields {
    fn from(form: &MappingPost) -> Self {
        let any = &*form.kind == "any";
        let criterion = |field: &Field| {
            if any {
                String::new()
            } else {
                field.to_string()
            }
        };
        Self {
            name: form.name.to_string(),
            attribute: criterion(&form.attribute),
            values: criterion(&form.values),
            profile: form.profile.to_string(),
            storage: form.storage.to_string(),
            quota: form.quota.to_string(),
            activation_email: &*form.activation_email == "true",
        }
    }

    fn criteria(&self) -> scimd_core::Result<Criteria> {
        if self.attribute.is_empty() {
            Ok(Criteria::AllowAnyUser)
        } else {
            Criteria::attribute(&self.attribute, &self.values)
        }
    }

    fn quota(&self) -> Result<Option<u64>, String> {
        if self.quota.is_empty() {
            return Ok(None);
        }
        self.quota
            .parse()
            .map(Some)
            .map_err(|_| format!("the quota {:?} is not a number of bytes", self.quota))
    }
}

#[derive(Template)]
#[template(path = "mapping_form.html")]
struct MappingForm {
    chrome: Chrome,
    title: &'static str,
    action: &'static str,
    /// 1: criteria; 2: configuration of a new mapping; 3: editing an existing one.
    step: u8,
    form: MappingFields,
    criteria: String,
    profiles: Vec<String>,
    storages: Vec<String>,
    error: Option<String>,
}

impl MappingForm {
    async fn show(
        state: &AppState,
        signed: &Signed,
        step: u8,
        form: MappingFields,
        error: Option<String>,
    ) -> PageResult {
        let (profiles, storages) = catalog_names(state, signed).await?;
        let criteria = form
            .criteria()
            .map(|criteria| criteria.to_string())
            .unwrap_or_default();
        let (title, action) = match step {
            3 => ("Edit mapping", "/admin/mappings/edit"),
            _ => ("New mapping", "/admin/mappings/new"),
        };
        Ok(render(&MappingForm {
            chrome: Chrome::of(signed, "mappings"),
            title,
            action,
            step,
            form,
            criteria,
            profiles,
            storages,
            error,
        }))
    }
}

/// The form pages are not offered to viewers (the operations would refuse them anyway).
fn may_change(signed: &Signed) -> Result<(), Refused> {
    if signed.can_change() {
        Ok(())
    } else {
        Err(Refused("a viewer can look, not change"))
    }
}

async fn new_step_one(State(state): State<AppState>, signed: Signed) -> PageResult {
    may_change(&signed)?;
    MappingForm::show(&state, &signed, 1, MappingFields::default(), None).await
}

/// Step 1 submitted: check name and criteria, then ask for the configuration. Step 2
/// submitted: create the mapping directly above the first any-user mapping (R-23).
async fn new_submitted(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<MappingPost>,
) -> PageResult {
    let fields = MappingFields::from(&form);
    let criteria = match fields.criteria() {
        Ok(criteria) => criteria,
        Err(error) => {
            return MappingForm::show(&state, &signed, 1, fields, Some(error.to_string())).await;
        }
    };
    if fields.name.is_empty() {
        let error = Some("the mapping needs a name".to_owned());
        return MappingForm::show(&state, &signed, 1, fields, error).await;
    }
    if &*form.step != "2" {
        return MappingForm::show(&state, &signed, 2, fields, None).await;
    }
    let quota_bytes = match fields.quota() {
        Ok(quota) => quota,
        Err(error) => return MappingForm::show(&state, &signed, 2, fields, Some(error)).await,
    };
    let spec = MappingSpec {
        name: &fields.name,
        criteria,
        profile: &fields.profile,
        storage: &fields.storage,
        quota_bytes,
        send_activation_email: fields.activation_email,
        priority: None,
    };
    match state.provisioner.create_mapping(&signed.grant, spec).await {
        Ok(_) => Ok(Notice::MappingCreated.redirect("/admin/mappings")),
        Err(error) => MappingForm::show(&state, &signed, 2, fields, Some(error.to_string())).await,
    }
}

async fn edit_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    may_change(&signed)?;
    let name = query.get("name").cloned().unwrap_or_default();
    let mappings = state.provisioner.list_mappings(&signed.grant).await?;
    let Some(mapping) = mappings.into_iter().find(|m| m.name == name) else {
        return Err(scimd_core::Error::NotFound(format!("no mapping '{name}'")).into());
    };
    let (attribute, values) = match &mapping.criteria {
        Criteria::AllowAnyUser => (String::new(), String::new()),
        Criteria::Attribute { name, values } => {
            (name.clone(), scimd_core::mapping::format_values(values))
        }
    };
    let fields = MappingFields {
        name: mapping.name,
        attribute,
        values,
        profile: mapping.profile,
        storage: mapping.storage,
        quota: mapping
            .quota_bytes
            .map(|q| q.to_string())
            .unwrap_or_default(),
        activation_email: mapping.send_activation_email,
    };
    MappingForm::show(&state, &signed, 3, fields, None).await
}

async fn edit(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<MappingPost>,
) -> PageResult {
    let fields = MappingFields::from(&form);
    let new_name = form.new_name.to_string();
    let quota_bytes = match fields.quota() {
        Ok(quota) => quota,
        Err(error) => return MappingForm::show(&state, &signed, 3, fields, Some(error)).await,
    };
    let edit = MappingEdit {
        new_name: (new_name != fields.name).then_some(new_name.as_str()),
        profile: Some(&fields.profile),
        storage: Some(&fields.storage),
        quota_bytes: Some(quota_bytes),
        send_activation_email: Some(fields.activation_email),
    };
    match state
        .provisioner
        .edit_mapping(&signed.grant, &fields.name, edit)
        .await
    {
        Ok(()) => Ok(Notice::MappingSaved.redirect("/admin/mappings")),
        Err(error) => MappingForm::show(&state, &signed, 3, fields, Some(error.to_string())).await,
    }
}

/// A mapping's row: its name, and the priority it is moved to.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RowForm {
    name: Field,
    priority: Field,
}

async fn reorder(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<RowForm>,
) -> PageResult {
    let priority = form.priority.parse().unwrap_or(u32::MAX);
    state
        .provisioner
        .reorder_mapping(&signed.grant, &form.name, priority)
        .await?;
    Ok(Notice::MappingMoved.redirect("/admin/mappings"))
}

async fn delete(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<RowForm>,
) -> PageResult {
    state
        .provisioner
        .delete_mapping(&signed.grant, &form.name)
        .await?;
    Ok(Notice::MappingDeleted.redirect("/admin/mappings"))
}
