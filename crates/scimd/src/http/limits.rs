//! Abuse limits on the request path: a request rate per token (429 with `Retry-After`, SPEC
//! §5), a budget of failed authentications per client address (a token guesser is refused
//! before any token is checked), and deadlines for a request body (408) and a whole request
//! (503). Connection-level limits (header deadline and size, open connections) live in
//! [`crate::server`].

use super::response::ApiError;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tower_http::timeout::DeadlineBody;

/// The configured limits; `None` turns a rate limit off.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Time from the request's headers to the end of its body.
    pub body_timeout: Duration,
    /// Time for the whole request, body and work included.
    pub request_timeout: Duration,
    /// Sustained requests per second per token; bursts of twice that pass.
    pub requests_per_token: Option<NonZeroU32>,
    /// Failed authentications per minute per client address before it is refused.
    pub failed_auth_per_address: Option<NonZeroU32>,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            requests_per_token: NonZeroU32::new(1000),
            failed_auth_per_address: NonZeroU32::new(20),
        }
    }
}

/// Addresses kept before the failure records are swept of those that have recovered.
const SWEEP_ABOVE: usize = 10_000;

/// The limiters' state, shared by every request.
#[derive(Debug)]
pub(crate) struct Limiters {
    per_token: Option<DefaultKeyedRateLimiter<i64>>,
    failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses that spent their failure budget, and until when they are refused.
    refused_until: Mutex<HashMap<IpAddr, Instant>>,
}

impl Limiters {
    pub fn new(limits: &RequestLimits) -> Self {
        Self {
            per_token: limits.requests_per_token.map(|rate| {
                let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
                RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
            }),
            failures: limits
                .failed_auth_per_address
                .map(|budget| RateLimiter::keyed(Quota::per_minute(budget))),
            refused_until: Mutex::default(),
        }
    }

    /// Refuses a token over its rate.
    pub fn admit_token(&self, token_id: i64) -> Result<(), TooMany> {
        let Some(limiter) = &self.per_token else {
            return Ok(());
        };
        limiter.check_key(&token_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            too_many(wait, "this token's request rate is exceeded")
        })
    }

    /// Refuses an address that recently spent its failed-authentication budget, before its
    /// credentials are looked at.
    pub fn admit_address(&self, address: Option<IpAddr>) -> Result<(), TooMany> {
        let Some(address) = address else {
            return Ok(());
        };
        let refused = self
            .refused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match refused.get(&address) {
            Some(until) if *until > Instant::now() => Err(too_many(
                *until - Instant::now(),
                "too many failed authentications from this address",
            )),
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication against the address.
    pub fn record_failed_auth(&self, address: Option<IpAddr>) {
        let (Some(limiter), Some(address)) = (&self.failures, address) else {
            return;
        };
        let Err(not_until) = limiter.check_key(&address) else {
            return;
        };
        let wait = not_until.wait_time_from(limiter.clock().now());
        tracing::warn!(%address, "failed authentications over budget; refusing the address for {wait:?}");
        let now = Instant::now();
        let mut refused = self
            .refused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if refused.len() > SWEEP_ABOVE {
            refused.retain(|_, until| *until > now);
            limiter.retain_recent();
        }
        refused.insert(address, now + wait);
    }
}

/// A refusal for now: 429 with the whole seconds to wait, rounded up.
#[derive(Debug)]
pub(crate) struct TooMany {
    pub seconds: u64,
    why: &'static str,
}

fn too_many(wait: Duration, why: &'static str) -> TooMany {
    TooMany {
        seconds: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
        why,
    }
}

impl IntoResponse for TooMany {
    fn into_response(self) -> Response {
        let mut response = ApiError::status(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{}; retry after {} s", self.why, self.seconds),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(self.seconds));
        response
    }
}

/// The client's address, where the server recorded it.
pub(crate) fn client_address(request: &Request) -> Option<IpAddr> {
    address_in(request.extensions())
}

pub(crate) fn address_in(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// The client's address as an extractor, for the console's sign-in and admin API keys, which
/// spend the same failed-authentication budget as bearer tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(address_in(&parts.extensions)))
    }
}

/// Bounds the time a request may take: its body must arrive within `body_timeout` (else the
/// body read fails with 408), and the whole request must finish within `request_timeout` (else
/// 503, and the work is dropped, which rolls back its transaction).
pub(crate) async fn within_deadlines(
    limits: RequestLimits,
    request: Request,
    next: Next,
) -> Response {
    let request =
        request.map(|body| axum::body::Body::new(DeadlineBody::new(limits.body_timeout, body)));
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                "a request did not finish within {:?}",
                limits.request_timeout
            );
            let mut response = ApiError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the request did not finish within {} s and was abandoned; nothing was changed",
                    limits.request_timeout.as_secs()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_token: u32, failures: u32) -> RequestLimits {
        RequestLimits {
            requests_per_token: NonZeroU32::new(per_token),
            failed_auth_per_address: NonZeroU32::new(failures),
            ..RequestLimits::default()
        }
    }

    #[test]
    fn a_token_over_its_rate_gets_429_with_retry_after() {
        let limiters = Limiters::new(&limits(1, 0));
        assert!(limiters.admit_token(7).is_ok());
        assert!(limiters.admit_token(7).is_ok(), "a burst of twice the rate");
        let refused = limiters.admit_token(7).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert!(
            limiters.admit_token(8).is_ok(),
            "other tokens are not affected"
        );
    }

    #[test]
    fn an_address_over_its_failure_budget_is_refused_and_others_are_not() {
        let limiters = Limiters::new(&limits(0, 3));
        let guesser = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            limiters.record_failed_auth(guesser);
            assert!(limiters.admit_address(guesser).is_ok());
        }
        limiters.record_failed_auth(guesser);
        let refused = limiters.admit_address(guesser).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiters.admit_address(Some([10, 0, 0, 2].into())).is_ok());
    }

    #[test]
    fn limits_set_to_zero_are_off() {
        let limiters = Limiters::new(&limits(0, 0));
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..100 {
            assert!(limiters.admit_token(1).is_ok());
            limiters.record_failed_auth(address);
        }
        assert!(limiters.admit_address(address).is_ok());
    }
}
