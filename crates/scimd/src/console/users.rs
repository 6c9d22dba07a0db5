//! The Users page (SPEC §7): search and filter every account, page through them, and open one
//! to preserve, activate or delete it, with its activity.

use super::notices::Notice;
use super::pages::{Chrome, failure, render};
use super::{Signed, form_text};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use scim::datetime::Timestamp;
use scimd_core::activity::{Event, EventQuery};
use scimd_core::lifecycle::ManagedBy;
use scimd_core::provisioner::{AccountSearch, AccountView};
use scimd_core::store::StateFilter;
use serde_json::Value;
use std::collections::HashMap;

/// Accounts per page.
const PAGE: u32 = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/user", get(detail))
        .route("/admin/user/preserve", post(preserve))
        .route("/admin/user/activate", post(activate))
        .route("/admin/user/delete", post(delete))
}

/// An account as a row of text.
pub(super) struct Row {
    pub name: String,
    pub email: String,
    pub state: &'static str,
    pub preserved_by: &'static str,
    pub preserved_at: String,
    pub managed_by: &'static str,
    pub profile: String,
    pub storage: String,
    pub mapping: String,
    pub upn: String,
    pub scim_id: String,
    pub created: String,
    pub updated: String,
}

impl Row {
    pub fn of(view: &AccountView) -> Self {
        let user = &view.user;
        Self {
            name: user.profile.display_name.clone(),
            email: user.user_name().to_owned(),
            state: user.state.name(),
            preserved_by: user.state.preserved_by().map_or("", |by| by.as_str()),
            preserved_at: user
                .preserved_at
                .map(Timestamp::to_rfc3339)
                .unwrap_or_default(),
            managed_by: user.managed_by.as_str(),
            profile: view.profile.clone().unwrap_or_default(),
            storage: view.storage.clone().unwrap_or_default(),
            mapping: view.mapping.clone(),
            upn: user.profile.upn.clone(),
            scim_id: user.scim_id.clone().unwrap_or_default(),
            created: user.created_at.to_rfc3339(),
            updated: user.updated_at.to_rfc3339(),
        }
    }
}

/// The filter form's values, echoed back into it.
#[derive(Debug, Default)]
struct Filters {
    q: String,
    state: String,
    profile: String,
    storage: String,
    managed_by: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    filters: Filters,
    profiles: Vec<String>,
    storages: Vec<String>,
    rows: Vec<Row>,
    next: Option<String>,
}

fn param(query: &HashMap<String, String>, name: &str) -> String {
    query
        .get(name)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let filters = Filters {
        q: param(&query, "q"),
        state: param(&query, "state"),
        profile: param(&query, "profile"),
        storage: param(&query, "storage"),
        managed_by: param(&query, "managed_by"),
    };
    let search = AccountSearch {
        state: match filters.state.as_str() {
            "active" => Some(StateFilter::Active),
            "preserved" => Some(StateFilter::Preserved),
            _ => None,
        },
        profile: non_empty(&filters.profile),
        storage: non_empty(&filters.storage),
        managed_by: ManagedBy::parse(&filters.managed_by),
        search: non_empty(&filters.q),
        after_key: query.get("after").and_then(|after| after.parse().ok()),
        limit: PAGE,
    };
    let provisioner = &state.provisioner;
    let (views, next) = match provisioner.search_accounts(&signed.tenant, &search).await {
        Ok(page) => page,
        Err(error) => return failure(error),
    };
    let (profiles, storages) = match (
        provisioner.list_profiles(&signed.tenant).await,
        provisioner.list_storages(&signed.tenant).await,
    ) {
        (Ok(profiles), Ok(storages)) => (
            profiles.into_iter().map(|p| p.name).collect(),
            storages.into_iter().map(|s| s.name).collect(),
        ),
        (Err(error), _) | (_, Err(error)) => return failure(error),
    };
    let next = next.map(|key| {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("q", &filters.q),
            ("state", &filters.state),
            ("profile", &filters.profile),
            ("storage", &filters.storage),
            ("managed_by", &filters.managed_by),
        ];
        let key = key.to_string();
        pairs.push(("after", &key));
        let query: Vec<String> = pairs
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect();
        format!("/admin/users?{}", query.join("&"))
    });
    render(&UsersPage {
        chrome: Chrome::of(&signed, "users"),
        filters,
        profiles,
        storages,
        rows: views.iter().map(Row::of).collect(),
        next,
    })
}

/// Percent-encoding for a query value.
pub(super) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    chrome: Chrome,
    row: Row,
    fields: Vec<(&'static str, String)>,
    can_change: bool,
    events: Vec<Event>,
    notice: Option<&'static str>,
}

async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let email = param(&query, "email");
    let view = match state.provisioner.account_view(&signed.tenant, &email).await {
        Ok(view) => view,
        Err(error) => return failure(error),
    };
    let events = EventQuery {
        user_name: Some(email.clone()),
        limit: 100,
        ..EventQuery::default()
    };
    let events = match state.provisioner.activity(&signed.tenant, &events).await {
        Ok(events) => events,
        Err(error) => return failure(error),
    };
    let row = Row::of(&view);
    let fields = vec![
        ("Email", row.email.clone()),
        ("Name", row.name.clone()),
        ("UPN", row.upn.clone()),
        ("State", row.state.to_owned()),
        ("Preserved by", row.preserved_by.to_owned()),
        ("Preserved at", row.preserved_at.clone()),
        ("Managed by", row.managed_by.to_owned()),
        ("Profile", row.profile.clone()),
        ("Storage", row.storage.clone()),
        ("Mapping", row.mapping.clone()),
        ("SCIM id", row.scim_id.clone()),
        ("Created", row.created.clone()),
        ("Updated", row.updated.clone()),
    ];
    render(&UserPage {
        chrome: Chrome::of(&signed, "users"),
        row,
        fields,
        can_change: signed.can_change(),
        events,
        notice: Notice::of(&query).map(Notice::message),
    })
}

fn back_to(email: &str, notice: Notice) -> Response {
    notice.redirect(&format!("/admin/user?email={}", encode(email)))
}

async fn preserve(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = signed.check_form_change(&headers, &form) {
        return refused.into_response();
    }
    let email = form_text(&form, "email");
    let origin = signed.origin("POST", "/admin/user/preserve");
    match state
        .provisioner
        .preserve_user(&origin, &signed.tenant, email)
        .await
    {
        Ok(_) => back_to(email, Notice::UserPreserved),
        Err(error) => failure(error),
    }
}

async fn activate(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = signed.check_form_change(&headers, &form) {
        return refused.into_response();
    }
    let email = form_text(&form, "email");
    let origin = signed.origin("POST", "/admin/user/activate");
    match state
        .provisioner
        .activate_user(&origin, &signed.tenant, email)
        .await
    {
        Ok(_) => back_to(email, Notice::UserActivated),
        Err(error) => failure(error),
    }
}

async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Value>,
) -> Response {
    if let Err(refused) = signed.check_form_change(&headers, &form) {
        return refused.into_response();
    }
    let origin = signed.origin("POST", "/admin/user/delete");
    match state
        .provisioner
        .destroy_user(
            &origin,
            &signed.tenant,
            form_text(&form, "email"),
            form_text(&form, "reason"),
        )
        .await
    {
        Ok(_) => Redirect::to("/admin/users").into_response(),
        Err(error) => failure(error),
    }
}
