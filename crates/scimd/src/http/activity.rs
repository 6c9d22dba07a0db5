//! Who is calling, and the failures they meet: every authenticated SCIM request carries an
//! [`Origin`], and every one that fails is recorded in the activity log with the exact body
//! the client received (SPEC §2). Successful changes are recorded by the provisioner, in the
//! same transaction as the change.

use super::AppState;
use super::extract::{ParsedBody, parse_body, read_limited};
use super::limits::client_address;
use super::response::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scimd_core::Principal;
use scimd_core::activity::{Actor, Client, Event, Origin, Outcome};
use scimd_core::store::Database;
use serde_json::Value;
use std::time::Instant;

/// Every SCIM route needs a valid bearer token; the principal and the request's origin
/// travel in the request, and a failure is recorded once the response is known.
///
/// A GET reads its token and then its user (or page) back to back, so both reads share one
/// read transaction (see [`Store::read_scope`]). Any other request reads its token on its own:
/// the wait for its body comes next, and a transaction held over it would keep the database's
/// write-ahead log from starting over for as long as a slow client takes. Its handler's reads
/// (the user to change, the mappings a create is classified by) share a second one, begun by
/// the first of them, once the body is in, and ended before the write.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let is_get = request.method() == Method::GET;
    // Boxed: the request's future is kilobytes, and each layer that moves it copies it all.
    let run = Box::pin(authenticate_and_run(state.clone(), request, next));
    if is_get {
        return state.provisioner.store().read_scope(run).await;
    }
    run.await
}

async fn authenticate_and_run(
    state: AppState,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let received = Instant::now();
    let address = client_address(&request);
    if let Err(refused) = state.limiters.attempt_auth(address) {
        return Ok(refused.into_response());
    }
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let authenticated = Box::pin(state.provisioner.authenticate(header)).await;
    if !matches!(authenticated, Err(scimd_core::Error::Unauthorized)) {
        state.limiters.refund_auth(address);
    }
    let principal = authenticated?;
    // Not recorded in the activity log: a client over its rate would write a row per refusal.
    if let Err(refused) = state.limiters.admit_token(principal.token_id) {
        return Ok(refused.into_response());
    }
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let origin = Origin {
        actor: Actor::Token {
            id: principal.token_id,
            name: principal.token_name.clone(),
        },
        client: Client::from_user_agent(user_agent),
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        received,
    };
    // refused before the body is read, and recorded like any other failure.
    if let Err(off) = principal.may_provision() {
        let response = ApiError::from(off).into_response();
        return Ok(record_if_failed(&state, &principal, &origin, None, response).await);
    }
    // The body of a create or replace is parsed here, once: the handler acts on this parse,
    // and a failure is recorded under the userName it holds.
    let (mut request, target_user_name) = if matches!(*request.method(), Method::POST | Method::PUT)
    {
        let (parts, body) = request.into_parts();
        let limit =
            usize::try_from(state.settings.capabilities.max_payload_size).unwrap_or(usize::MAX);
        let bytes = match read_limited(body, limit).await {
            Ok(bytes) => bytes,
            Err(error) => {
                let response = ApiError::from(error).into_response();
                return Ok(record_if_failed(&state, &principal, &origin, None, response).await);
            }
        };
        let parsed = parse_body(&bytes);
        let user_name = parsed.as_ref().ok().and_then(user_name_in);
        let mut request = Request::from_parts(parts, Body::empty());
        request.extensions_mut().insert(ParsedBody(parsed));
        (request, user_name)
    } else {
        (request, None)
    };
    request.extensions_mut().insert(principal.clone());
    request.extensions_mut().insert(origin.clone());
    // Inside a GET's scope, this one joins it.
    let response = state
        .provisioner
        .store()
        .read_scope(next.run(request))
        .await;
    Ok(Box::pin(record_if_failed(
        &state,
        &principal,
        &origin,
        target_user_name,
        response,
    ))
    .await)
}

async fn record_if_failed(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    target_user_name: Option<String>,
    response: Response,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // The log keeps at most a few kilobytes of it (see `activity::stored_text`).
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (operation, target_id) = operation_of(&origin.method, &origin.path);
    let event = Event {
        target_user_name,
        target_id,
        scim_type: error
            .get("scimType")
            .and_then(Value::as_str)
            .map(str::to_owned),
        detail: error
            .get("detail")
            .and_then(Value::as_str)
            .map(str::to_owned),
        response: Some(text),
        ..Event::new(
            origin,
            principal.tenant_id,
            state.provisioner.now(),
            operation,
            Outcome::Failure,
            status.as_u16(),
        )
    };
    if let Err(error) = state.provisioner.record_failure(&event).await {
        tracing::error!(%error, "could not record a failed request in the activity log");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The attempted operation and the SCIM id in the path, from `.../Users[/{id}]`.
fn operation_of(method: &str, path: &str) -> (&'static str, Option<String>) {
    let Some((_, rest)) = path.split_once("/Users") else {
        return ("request", None);
    };
    let id = rest.strip_prefix('/').filter(|id| !id.is_empty());
    let operation = match (method, id) {
        ("POST", None) => "create",
        ("GET", None) => "list",
        ("POST", Some(".search")) => return ("search", None),
        ("GET", Some(_)) => "read",
        ("PUT", Some(_)) => "replace",
        ("PATCH", Some(_)) => "update",
        ("DELETE", Some(_)) => "delete",
        _ => "request",
    };
    (operation, id.map(str::to_owned))
}

/// The `userName` of a JSON body, when it has one (at most one: a repeated key is refused).
fn user_name_in(value: &Value) -> Option<String> {
    value
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("userName"))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_method_and_path() {
        assert_eq!(operation_of("POST", "/scim/v2/Users"), ("create", None));
        assert_eq!(operation_of("GET", "/insync/scim/Users"), ("list", None));
        assert_eq!(
            operation_of("PATCH", "/scim/v2/Users/abc"),
            ("update", Some("abc".into()))
        );
        assert_eq!(
            operation_of("POST", "/scim/v2/Users/.search"),
            ("search", None)
        );
        assert_eq!(operation_of("GET", "/scim/v2/Groups"), ("request", None));
    }

    #[test]
    fn user_names_are_read_from_bodies_that_have_one() {
        assert_eq!(
            user_name_in(&serde_json::json!({"USERNAME": "a@b.co"})).as_deref(),
            Some("a@b.co")
        );
        assert_eq!(user_name_in(&serde_json::json!(["a@b.co"])), None);
        assert_eq!(user_name_in(&serde_json::json!({"userName": 7})), None);
    }
}
