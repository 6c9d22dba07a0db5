//! Admin API: webhook endpoints, their deliveries, and sending an event again (SPEC §11).

use super::{ApiFailure, ApiResult, Body, Caller, created, no_content, ok, time};
use crate::http::AppState;
use crate::webhooks::secret_text;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use scimd_core::feed::ChangeType;
use scimd_core::provisioner::WebhookSpec;
use scimd_core::webhook::{DeliveryView, Webhook, WebhookFormat};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Deliveries a listing returns unless it asks for another number.
const DEFAULT_DELIVERIES: u32 = 50;

pub(crate) fn webhook_json(webhook: &Webhook) -> Value {
    let events: Vec<&str> = webhook.event_types.iter().map(|t| t.as_str()).collect();
    json!({"name": webhook.name, "url": webhook.url, "format": webhook.format.as_str(),
           "events": events, "state": webhook.state.as_str(), "reason": webhook.state_reason,
           "created_at": webhook.created_at.to_rfc3339(),
           "updated_at": webhook.updated_at.to_rfc3339()})
}

fn delivery_json(delivery: &DeliveryView) -> Value {
    json!({"event_id": delivery.event_id, "type": delivery.event_type.as_str(),
           "sequence": delivery.sequence, "state": delivery.state.as_str(),
           "attempts": delivery.attempts, "status": delivery.last_status,
           "error": delivery.last_error, "response": delivery.last_response,
           "created_at": delivery.created_at.to_rfc3339(), "at": time(Some(delivery.at))})
}

fn bad_request(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(StatusCode::BAD_REQUEST, message)
}

pub(super) async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let webhooks = state.provisioner.list_webhooks(&caller.grant).await?;
    ok(json!({"webhooks": webhooks.iter().map(webhook_json).collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
pub(super) struct WebhookBody {
    name: String,
    url: String,
    /// Event types; all when absent or empty.
    #[serde(default)]
    events: Vec<String>,
    format: Option<String>,
}

pub(super) async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<WebhookBody>,
) -> ApiResult {
    let events = ChangeType::parse_list(&body.events.join(",")).map_err(bad_request)?;
    let spec = WebhookSpec {
        name: &body.name,
        url: &body.url,
        format: WebhookFormat::named(body.format.as_deref())?,
        event_types: &events,
    };
    let (webhook, secret) = state
        .provisioner
        .create_webhook(&caller.grant, spec, &state.webhook_guard())
        .await?;
    let mut answer = webhook_json(&webhook);
    answer["secret"] = secret_text(&secret).into();
    created(answer)
}

pub(super) async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    state
        .provisioner
        .delete_webhook(&caller.grant, &name)
        .await?;
    no_content()
}

pub(super) async fn enable_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    switch(&state, &caller, &name, true).await
}

pub(super) async fn disable_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    switch(&state, &caller, &name, false).await
}

async fn switch(state: &AppState, caller: &Caller, name: &str, on: bool) -> ApiResult {
    let provisioner = &state.provisioner;
    provisioner
        .set_webhook_enabled(&caller.grant, name, on)
        .await?;
    no_content()
}

pub(super) async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let secret = state
        .provisioner
        .rotate_webhook_secret(&caller.grant, &name)
        .await?;
    ok(json!({"secret": secret_text(&secret)}))
}

pub(super) async fn webhook_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let limit = match params.get("limit").map(|text| text.trim()) {
        None | Some("") => DEFAULT_DELIVERIES,
        Some(text) => text
            .parse()
            .map_err(|_| bad_request(format!("'limit' must be a whole number, not {text:?}")))?,
    };
    let (webhook, deliveries) = state
        .provisioner
        .webhook_deliveries(&caller.grant, &name, limit)
        .await?;
    ok(json!({"webhook": webhook_json(&webhook),
              "deliveries": deliveries.iter().map(delivery_json).collect::<Vec<_>>()}))
}

#[derive(Deserialize, Default)]
pub(super) struct RedeliverBody {
    /// To this endpoint only; to every endpoint that got the event when absent.
    webhook: Option<String>,
}

pub(super) async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(event_id): Path<String>,
    Body(body): Body<RedeliverBody>,
) -> ApiResult {
    let queued = state
        .provisioner
        .redeliver(&caller.grant, &event_id, body.webhook.as_deref())
        .await?;
    ok(json!({"queued": queued}))
}
