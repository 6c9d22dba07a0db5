//! Admin API: the dashboard, users, reports and the activity log.

use super::OPENAPI;
use super::{ApiFailure, ApiResult, Body, Caller, Whole, created, no_content, non_empty, ok, time};
use crate::http::AppState;
use crate::reports::{PRESERVED_REPORT, PROVISIONING_REPORT, accounts_listing};
use axum::extract::Query;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use scimd_core::activity::{Event, EventQuery, Outcome};
use scimd_core::lifecycle::ManagedBy;
use scimd_core::provisioner::{
    AccountFilter, AccountSearch, AccountView, ManualUser, MoveSelection, MoveTarget,
};
use scimd_core::store::StateFilter;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub(super) async fn dashboard(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let figures = state.provisioner.dashboard(&caller.grant).await?;
    let tokens: Vec<Value> = figures
        .tokens_needing_attention
        .iter()
        .map(|(token, status)| {
            json!({"name": token.name.as_str(), "status": status.as_str(),
                   "expires_at": token.expires_at.to_rfc3339()})
        })
        .collect();
    let clients: Vec<Value> = figures
        .clients_needing_attention
        .iter()
        .map(|client| {
            json!({"name": client.name, "status": client.status.as_str(),
                   "expires_at": time(client.expires_at)})
        })
        .collect();
    let mail = match state.provisioner.mail_enabled() {
        false => json!({"on": false}),
        true => {
            let counts = state.provisioner.mail_counts(&caller.grant).await?;
            json!({"on": true, "queued": counts.queued, "sent": counts.sent, "failed": counts.failed})
        }
    };
    ok(
        json!({"active": figures.active, "preserved": figures.preserved,
              "failures_last_day": figures.failures_last_day, "tokens_needing_attention": tokens,
              "clients_needing_attention": clients, "mail": mail}),
    )
}

fn user_json(view: &AccountView) -> Value {
    let listing = accounts_listing(std::slice::from_ref(view), crate::reports::ACCOUNT_DETAIL);
    listing.object(&listing.rows[0])
}

pub(super) async fn list_users(
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
        .search_accounts(&caller.grant, &search)
        .await?;
    ok(json!({"users": views.iter().map(user_json).collect::<Vec<_>>(), "next_after": next}))
}

/// A manual account: where it goes, and whether its activation email is sent.
#[derive(Deserialize)]
pub(super) struct NewUser {
    email: String,
    name: String,
    profile: String,
    storage: String,
    send_activation_email: Option<bool>,
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewUser>,
) -> ApiResult {
    let spec = ManualUser {
        email: body.email,
        name: body.name,
        profile: body.profile,
        storage: body.storage,
        send_activation_email: body.send_activation_email.unwrap_or(false),
    };
    state
        .provisioner
        .create_manual_user(&caller.grant, &spec)
        .await?;
    let view = state
        .provisioner
        .account_view(&caller.grant, &spec.email)
        .await?;
    created(user_json(&view))
}

pub(super) async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    let view = state
        .provisioner
        .account_view(&caller.grant, &email)
        .await?;
    ok(user_json(&view))
}

/// who moves (exactly one of `emails`, `from_profile`, `from_mapping`) and where to:
/// `profile`, and optionally `storage` and `quota_bytes`.
#[derive(Deserialize)]
pub(super) struct MoveBody {
    #[serde(default, deserialize_with = "non_empty")]
    emails: Option<Vec<String>>,
    from_profile: Option<String>,
    from_mapping: Option<String>,
    profile: String,
    storage: Option<String>,
    quota_bytes: Option<Whole>,
}

pub(super) async fn move_users(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<MoveBody>,
) -> ApiResult {
    let selection = match (&body.emails, &body.from_profile, &body.from_mapping) {
        (Some(emails), None, None) => MoveSelection::Emails(emails),
        (None, Some(profile), None) => MoveSelection::Profile(profile),
        (None, None, Some(mapping)) => MoveSelection::Mapping(mapping),
        _ => {
            return Err(ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "say who moves with exactly one of 'emails', 'from_profile' and 'from_mapping'",
            ));
        }
    };
    let target = MoveTarget {
        profile: &body.profile,
        storage: body.storage.as_deref(),
        quota_bytes: body.quota_bytes.map(|quota| quota.0),
    };
    let moved = state
        .provisioner
        .move_users(&caller.grant, selection, target, &|_, _| {})
        .await?;
    ok(json!({"moved": moved}))
}

pub(super) async fn preserve_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .preserve_user(&caller.grant, &email)
        .await?;
    ok(user_json(
        &state
            .provisioner
            .account_view(&caller.grant, &email)
            .await?,
    ))
}

pub(super) async fn activate_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .activate_user(&caller.grant, &email)
        .await?;
    ok(user_json(
        &state
            .provisioner
            .account_view(&caller.grant, &email)
            .await?,
    ))
}

pub(super) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let reason = query.get("reason").map(String::as_str).unwrap_or_default();
    state
        .provisioner
        .destroy_user(&caller.grant, &email, reason)
        .await?;
    no_content()
}

pub(super) async fn report(
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
        .list_accounts(&caller.grant, &filter)
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

pub(super) async fn activity(
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
        offset: get("offset")
            .and_then(|offset| offset.parse().ok())
            .unwrap_or(0),
    };
    let events = state.provisioner.activity(&caller.grant, &events).await?;
    ok(json!({"events": events.iter().map(event_json).collect::<Vec<_>>()}))
}
