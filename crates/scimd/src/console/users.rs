//! The Users page (SPEC §7): search and filter every account, page through them, and open one
//! to preserve, activate or delete it, with its activity.

use super::Signed;
use super::forms::{Field, Posted};
use super::notices::Notice;
use super::pages::{Chrome, PageResult, catalog_names, render};
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use scim::datetime::Timestamp;
use scimd_core::activity::{Event, EventQuery};
use scimd_core::lifecycle::ManagedBy;
use scimd_core::provisioner::{AccountSearch, AccountView, MoveSelection, MoveTarget};
use scimd_core::store::StateFilter;
use serde::Deserialize;
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
        .route("/admin/user/move", post(move_one))
        .route("/admin/users/move", post(move_matching))
}

/// An account as a row of text.
pub(super) struct Row {
    pub name: String,
    pub email: String,
    pub state: &'static str,
    pub preserved_by: &'static str,
    pub preserved_at: String,
    pub managed_by: String,
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
            managed_by: user.manager(),
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

impl Filters {
    /// The filter form's fields, read by `field` from the query string.
    fn of(field: &dyn Fn(&str) -> String) -> Self {
        Self {
            q: field("q"),
            state: field("state"),
            profile: field("profile"),
            storage: field("storage"),
            managed_by: field("managed_by"),
        }
    }

    /// The Users page with these filters, from the page after `after`.
    fn link(&self, after: Option<i64>) -> String {
        let after = after.map(|key| key.to_string()).unwrap_or_default();
        let query: Vec<String> = [
            ("q", &self.q),
            ("state", &self.state),
            ("profile", &self.profile),
            ("storage", &self.storage),
            ("managed_by", &self.managed_by),
            ("after", &after),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
        format!("/admin/users?{}", query.join("&"))
    }

    /// The accounts these filters find (from the first page on).
    fn search(&self) -> AccountSearch<'_> {
        AccountSearch {
            state: match self.state.as_str() {
                "active" => Some(StateFilter::Active),
                "preserved" => Some(StateFilter::Preserved),
                _ => None,
            },
            profile: non_empty(&self.profile),
            storage: non_empty(&self.storage),
            managed_by: ManagedBy::parse(&self.managed_by),
            search: non_empty(&self.q),
            after_key: None,
            limit: PAGE,
        }
    }
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
    can_change: bool,
    notice: Option<&'static str>,
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
) -> PageResult {
    let filters = Filters::of(&|name| param(&query, name));
    let search = AccountSearch {
        after_key: query.get("after").and_then(|after| after.parse().ok()),
        limit: PAGE,
        ..filters.search()
    };
    let (views, next) = state
        .provisioner
        .search_accounts(&signed.grant, &search)
        .await?;
    let (profiles, storages) = catalog_names(&state, &signed).await?;
    let next = next.map(|key| filters.link(Some(key)));
    Ok(render(&UsersPage {
        chrome: Chrome::of(&signed, "users"),
        filters,
        profiles,
        storages,
        rows: views.iter().map(Row::of).collect(),
        next,
        can_change: signed.can_change(),
        notice: Notice::of(&query).map(Notice::message),
    }))
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
    profiles: Vec<String>,
    storages: Vec<String>,
    events: Vec<Event>,
    notice: Option<&'static str>,
}

async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let email = param(&query, "email");
    let view = state
        .provisioner
        .account_view(&signed.grant, &email)
        .await?;
    let events = EventQuery {
        user_name: Some(email.clone()),
        limit: 100,
        ..EventQuery::default()
    };
    let events = state.provisioner.activity(&signed.grant, &events).await?;
    let (profiles, storages) = catalog_names(&state, &signed).await?;
    let row = Row::of(&view);
    let fields = vec![
        ("Email", row.email.clone()),
        ("Name", row.name.clone()),
        ("UPN", row.upn.clone()),
        ("State", row.state.to_owned()),
        ("Preserved by", row.preserved_by.to_owned()),
        ("Preserved at", row.preserved_at.clone()),
        ("Managed by", row.managed_by.clone()),
        ("Profile", row.profile.clone()),
        ("Storage", row.storage.clone()),
        ("Mapping", row.mapping.clone()),
        ("SCIM id", row.scim_id.clone()),
        ("Created", row.created.clone()),
        ("Updated", row.updated.clone()),
    ];
    Ok(render(&UserPage {
        chrome: Chrome::of(&signed, "users"),
        row,
        fields,
        can_change: signed.can_change(),
        profiles,
        storages,
        events,
        notice: Notice::of(&query).map(Notice::message),
    }))
}

fn back_to(email: &str, notice: Notice) -> PageResult {
    Ok(notice.redirect(&format!("/admin/user?email={}", encode(email))))
}

/// A button on a user's page: the account, and the reason a deletion gives.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AccountForm {
    email: Field,
    reason: Field,
}

async fn preserve(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<AccountForm>,
) -> PageResult {
    state
        .provisioner
        .preserve_user(&signed.grant, &form.email)
        .await?;
    back_to(&form.email, Notice::UserPreserved)
}

async fn activate(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<AccountForm>,
) -> PageResult {
    state
        .provisioner
        .activate_user(&signed.grant, &form.email)
        .await?;
    back_to(&form.email, Notice::UserActivated)
}

async fn delete(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<AccountForm>,
) -> PageResult {
    state
        .provisioner
        .destroy_user(&signed.grant, &form.email, &form.reason)
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// A move form: from a user's page (`email`), or from the Users page (the search's
/// filters, `filter_*`, and the confirmation); a profile, and a storage and quota unless left
/// empty (kept).
#[derive(Deserialize, Default)]
#[serde(default)]
struct MoveForm {
    email: Field,
    profile: Field,
    storage: Field,
    quota: Field,
    confirm: Field,
    filter_q: Field,
    filter_state: Field,
    filter_profile: Field,
    filter_storage: Field,
    filter_managed_by: Field,
}

impl MoveForm {
    fn target(&self) -> scimd_core::Result<MoveTarget<'_>> {
        let quota_bytes = match self.quota.non_empty() {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                scimd_core::Error::Invalid(format!(
                    "quota must be a whole number of bytes, not {text:?}"
                ))
            })?),
        };
        Ok(MoveTarget {
            profile: &self.profile,
            storage: self.storage.non_empty(),
            quota_bytes,
        })
    }

    /// The Users page's filters the move was confirmed for.
    fn filters(&self) -> Filters {
        Filters {
            q: self.filter_q.to_string(),
            state: self.filter_state.to_string(),
            profile: self.filter_profile.to_string(),
            storage: self.filter_storage.to_string(),
            managed_by: self.filter_managed_by.to_string(),
        }
    }
}

/// Moves `selection` where the form says, as the signed-in admin.
async fn move_as_form_says(
    state: &AppState,
    signed: &Signed,
    form: &MoveForm,
    selection: MoveSelection<'_>,
) -> scimd_core::Result<usize> {
    state
        .provisioner
        .move_users(&signed.grant, selection, form.target()?, &|_, _| {})
        .await
}

/// R-45 from a user's page.
async fn move_one(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<MoveForm>,
) -> PageResult {
    let emails = [form.email.to_string()];
    let selection = MoveSelection::Emails(&emails);
    move_as_form_says(&state, &signed, &form, selection).await?;
    back_to(&form.email, Notice::UserMoved)
}

/// R-45 from the Users page: every account its filters find, all or none, once the admin
/// confirmed (a checkbox the browser requires; checked here too).
async fn move_matching(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<MoveForm>,
) -> PageResult {
    if &*form.confirm != "yes" {
        return Err(scimd_core::Error::Invalid(
            "confirm the move: tick the box that says every user the search finds moves".into(),
        )
        .into());
    }
    let filters = form.filters();
    let search = filters.search();
    let selection = MoveSelection::Matching(&search);
    move_as_form_says(&state, &signed, &form, selection).await?;
    Ok(Notice::UsersMoved.redirect(&filters.link(None)))
}
