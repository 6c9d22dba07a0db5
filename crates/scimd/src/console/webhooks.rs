//! The Webhooks page (SPEC §11): the tenant's endpoints, a new one (its secret shown once),
//! enabling, disabling, rotating and deleting them, and each one's recent deliveries with a
//! button that sends an event again.

use super::Signed;
use super::forms::{Field, NoFields, Posted};
use super::notices::Notice;
use super::pages::{Chrome, PageResult, render};
use crate::http::AppState;
use crate::webhooks::secret_text;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use scimd_core::feed::ChangeType;
use scimd_core::provisioner::WebhookSpec;
use scimd_core::webhook::{DeliveryView, Webhook, WebhookFormat};
use serde::Deserialize;
use std::collections::HashMap;

/// Deliveries the page of one endpoint shows.
const DELIVERIES_SHOWN: u32 = 100;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(page).post(create))
        .route("/admin/webhooks/{name}", get(deliveries))
        .route("/admin/webhooks/{name}/enable", post(enable))
        .route("/admin/webhooks/{name}/disable", post(disable))
        .route("/admin/webhooks/{name}/rotate", post(rotate))
        .route("/admin/webhooks/{name}/delete", post(delete))
        .route(
            "/admin/webhooks/{name}/redeliver/{event_id}",
            post(redeliver),
        )
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    webhooks: Vec<Webhook>,
    types: Vec<&'static str>,
    can_change: bool,
    /// The endpoint and secret just made or rotated: shown once.
    secret: Option<(String, String)>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct DeliveriesPage {
    chrome: Chrome,
    webhook: Webhook,
    deliveries: Vec<DeliveryView>,
    can_change: bool,
    notice: Option<&'static str>,
}

impl WebhooksPage {
    fn events_of(webhook: &Webhook) -> String {
        match webhook.event_types.is_empty() {
            true => "all".into(),
            false => webhook
                .event_types
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

async fn show(
    state: &AppState,
    signed: &Signed,
    secret: Option<(String, String)>,
    notice: Option<&'static str>,
) -> PageResult {
    let webhooks = state.provisioner.list_webhooks(&signed.grant).await?;
    Ok(render(&WebhooksPage {
        chrome: Chrome::of(signed, "webhooks"),
        webhooks,
        types: ChangeType::ALL.iter().map(|kind| kind.as_str()).collect(),
        can_change: signed.can_change(),
        secret,
        notice,
    }))
}

async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let notice = Notice::of(&query).map(Notice::message);
    show(&state, &signed, None, notice).await
}

/// A new endpoint; `events` lists types separated by commas (empty: all).
#[derive(Deserialize, Default)]
#[serde(default)]
struct WebhookForm {
    name: Field,
    url: Field,
    format: Field,
    events: Field,
}

async fn create(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<WebhookForm>,
) -> PageResult {
    let events = ChangeType::parse_list(&form.events).map_err(scimd_core::Error::Invalid)?;
    let spec = WebhookSpec {
        name: &form.name,
        url: &form.url,
        format: WebhookFormat::named(form.format.non_empty())?,
        event_types: &events,
    };
    let (webhook, secret) = state
        .provisioner
        .create_webhook(&signed.grant, spec, &state.webhook_guard())
        .await?;
    show(
        &state,
        &signed,
        Some((webhook.name, secret_text(&secret))),
        None,
    )
    .await
}

async fn deliveries(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let (webhook, deliveries) = state
        .provisioner
        .webhook_deliveries(&signed.grant, &name, DELIVERIES_SHOWN)
        .await?;
    Ok(render(&DeliveriesPage {
        chrome: Chrome::of(&signed, "webhooks"),
        webhook,
        deliveries,
        can_change: signed.can_change(),
        notice: Notice::of(&query).map(Notice::message),
    }))
}

async fn enable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    switch(&state, &signed, &name, true).await
}

async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    switch(&state, &signed, &name, false).await
}

async fn switch(state: &AppState, signed: &Signed, name: &str, on: bool) -> PageResult {
    let provisioner = &state.provisioner;
    provisioner
        .set_webhook_enabled(&signed.grant, name, on)
        .await?;
    let notice = if on {
        Notice::WebhookEnabled
    } else {
        Notice::WebhookDisabled
    };
    Ok(notice.redirect("/admin/webhooks"))
}

async fn rotate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    let secret = state
        .provisioner
        .rotate_webhook_secret(&signed.grant, &name)
        .await?;
    show(&state, &signed, Some((name, secret_text(&secret))), None).await
}

async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    state
        .provisioner
        .delete_webhook(&signed.grant, &name)
        .await?;
    Ok(Notice::WebhookDeleted.redirect("/admin/webhooks"))
}

async fn redeliver(
    State(state): State<AppState>,
    Path((name, event_id)): Path<(String, String)>,
    Posted { signed, .. }: Posted<NoFields>,
) -> PageResult {
    state
        .provisioner
        .redeliver(&signed.grant, &event_id, Some(&name))
        .await?;
    let page = format!("/admin/webhooks/{}", urlencoding(&name));
    Ok(Notice::WebhookRedelivered.redirect(&page).into_response())
}

/// A name as a path segment (names are letters, digits, `.`, `_` and `-`: nothing to escape,
/// but a name never reaches a URL unchecked).
fn urlencoding(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect()
}
