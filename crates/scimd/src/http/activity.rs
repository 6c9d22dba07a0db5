//! Who is calling, and the failures they meet: every authenticated SCIM request carries an
//! [`Origin`], and every one that fails is recorded in the activity log with the exact body
//! the client received (SPEC §2). Successful changes are recorded by the provisioner, in the
//! same transaction as the change.

use super::AppState;
use super::extract::{ParsedBody, parse_body, read_limited};
use super::limits::{RateKey, client_address};
use super::response::{ApiError, Failure};
use axum::body::Body;
use axum::extract::{RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use scimd_core::Principal;
use scimd_core::activity::{Actor, Client, Event, Origin, Outcome};
use serde_json::Value;
use std::time::Instant;

/// Every SCIM route needs a valid bearer token; the principal and the request's origin
/// travel in the request, and a failure is recorded once the response is known.
///
/// A GET has no body to wait for: its token check and its handler share one read scope. Any
/// other request's handler gets its own once its body is in (see
/// [`Provisioner::request_reads`](scimd_core::Provisioner::request_reads)).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let body_pending = request.method() != Method::GET;
    // Boxed: the request's future is kilobytes, and each layer that moves it copies it all.
    let run = Box::pin(authenticate_and_run(state.clone(), request, next));
    state.provisioner.request_reads(body_pending, run).await
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
    if let Err(refused) = state.limiters.admit_token(RateKey::of(&principal)) {
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
    // The body is in: the handler's reads share a scope (a GET's joins its token check's).
    let response = state
        .provisioner
        .request_reads(false, next.run(request))
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

/// The SCIM operation a route performs and the SCIM id its path names, put on the route's
/// responses (also when a request is refused before its handler runs) for the activity log.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub operation: &'static str,
    pub target_id: Option<String>,
}

/// `handler`, its failed responses marked as an [`Attempt`] at `operation`.
pub(crate) fn attempting<H, T>(operation: &'static str, handler: H) -> impl Handler<T, AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    handler.layer(middleware::from_fn(
        move |params: RawPathParams, request: Request, next: Next| async move {
            let mut response = next.run(request).await;
            if is_failure(response.status()) {
                let target_id = params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .map(|(_, id)| id.to_owned());
                response.extensions_mut().insert(Attempt {
                    operation,
                    target_id,
                });
            }
            response
        },
    ))
}

fn is_failure(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// Records a failed response with what its route and its error put on it (see [`Attempt`] and
/// [`Failure`]); a success passes untouched.
async fn record_if_failed(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    target_user_name: Option<String>,
    response: Response,
) -> Response {
    let status = response.status();
    if !is_failure(status) {
        return response;
    }
    let (operation, target_id) = response
        .extensions()
        .get::<Attempt>()
        .map_or(("request", None), |attempt| {
            (attempt.operation, attempt.target_id.clone())
        });
    let failure = response.extensions().get::<Failure>();
    let event = Event {
        target_user_name,
        target_id,
        scim_type: failure
            .and_then(|failure| failure.error.scim_type)
            .map(|scim_type| scim_type.as_str().to_owned()),
        detail: failure.map(|failure| failure.error.detail.clone()),
        // The log keeps at most a few kilobytes of it (see `activity::stored_text`).
        response: failure.map(|failure| String::from_utf8_lossy(&failure.body).into_owned()),
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
    response
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
    fn user_names_are_read_from_bodies_that_have_one() {
        assert_eq!(
            user_name_in(&serde_json::json!({"USERNAME": "a@b.co"})).as_deref(),
            Some("a@b.co")
        );
        assert_eq!(user_name_in(&serde_json::json!(["a@b.co"])), None);
        assert_eq!(user_name_in(&serde_json::json!({"userName": 7})), None);
    }
}
