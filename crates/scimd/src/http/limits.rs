//! Abuse limits on the request path: a request rate per token (429 with `Retry-After`, SPEC
//! §5), a budget of failed authentications per client address (a token guesser is refused
//! before any token is checked), a bound on password checks running at once, and deadlines for a request body (408) and a whole request
//! (503). Connection-level limits (header deadline and size, open connections) live in
//! [`crate::server`].

use super::auth_budget::FailureBudget;
use super::response::ApiError;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
    /// Password checks that may run at once; sign-ins past them get 429.
    pub concurrent_password_checks: NonZeroUsize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            requests_per_token: NonZeroU32::new(1000),
            failed_auth_per_address: NonZeroU32::new(20),
            concurrent_password_checks: half_the_cores(),
        }
    }
}

/// Half the cores (at least one): password checks and other CPU-heavy work never take the
/// whole machine from the requests being served.
fn half_the_cores() -> NonZeroUsize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    NonZeroUsize::new(cores / 2).unwrap_or(NonZeroUsize::MIN)
}

/// What a request rate is counted for: a token admins made, or an OAuth client (whose access
/// tokens share its rate, so that holding several does not multiply it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateKey {
    Token(i64),
    Client(i64),
}

impl RateKey {
    pub fn of(principal: &scimd_core::Principal) -> Self {
        principal
            .client_pk
            .map_or(Self::Token(principal.token_id), Self::Client)
    }
}

/// Access tokens one OAuth client is given per minute at most.
const TOKENS_PER_CLIENT_PER_MINUTE: NonZeroU32 = match NonZeroU32::new(30) {
    Some(rate) => rate,
    None => NonZeroU32::MIN,
};

/// The limiters' state, shared by every request.
#[derive(Debug)]
pub(crate) struct Limiters {
    per_token: Option<DefaultKeyedRateLimiter<RateKey>>,
    /// Access tokens issued per OAuth client: an IdP asks once an hour; a client asking in a
    /// loop is slowed down rather than given a token per request.
    per_client: DefaultKeyedRateLimiter<i64>,
    failures: Option<FailureBudget>,
    /// Password checks (Argon2: tens of milliseconds and megabytes each) running at once.
    password_checks: Arc<Semaphore>,
    /// Other CPU-heavy request work running at once, off the async workers.
    heavy_work: Arc<Semaphore>,
}

impl Limiters {
    pub fn new(limits: &RequestLimits) -> Self {
        Self {
            per_token: limits.requests_per_token.map(|rate| {
                let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
                RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
            }),
            per_client: RateLimiter::keyed(
                Quota::per_minute(TOKENS_PER_CLIENT_PER_MINUTE)
                    .allow_burst(TOKENS_PER_CLIENT_PER_MINUTE),
            ),
            failures: limits.failed_auth_per_address.map(FailureBudget::new),
            password_checks: Arc::new(Semaphore::new(limits.concurrent_password_checks.get())),
            heavy_work: Arc::new(Semaphore::new(half_the_cores().get())),
        }
    }

    /// Refuses a token (or an OAuth client, all its access tokens together) over its rate.
    pub fn admit_token(&self, key: RateKey) -> Result<(), TooMany> {
        let Some(limiter) = &self.per_token else {
            return Ok(());
        };
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            too_many(wait, "this token's request rate is exceeded")
        })
    }

    /// Refuses an OAuth client asking for access tokens faster than
    /// [`TOKENS_PER_CLIENT_PER_MINUTE`].
    pub fn admit_client(&self, client_pk: i64) -> Result<(), TooMany> {
        self.per_client.check_key(&client_pk).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.per_client.clock().now());
            too_many(wait, "this client asks for access tokens too often")
        })
    }

    /// Charges an authentication attempt to the address before its credentials are looked at;
    /// an address that spent its failed-authentication budget is refused. The caller gives the
    /// attempt back with [`Self::refund_auth`] when the credentials are valid.
    pub fn attempt_auth(&self, address: Option<IpAddr>) -> Result<(), TooMany> {
        let (Some(budget), Some(address)) = (&self.failures, address) else {
            return Ok(());
        };
        budget.spend(address, Instant::now()).map_err(|wait| {
            tracing::warn!(%address, "failed authentications over budget; refusing the address for {wait:?}");
            too_many(wait, "too many failed authentications from this address")
        })
    }

    /// Gives back the attempt [`Self::attempt_auth`] charged: the credentials were valid, or
    /// could not be checked (the database failed), which is not the client's failure.
    pub fn refund_auth(&self, address: Option<IpAddr>) {
        if let (Some(budget), Some(address)) = (&self.failures, address) {
            budget.refund(address, Instant::now());
        }
    }

    /// A turn for CPU-heavy work, waited for (the request deadline bounds the wait); `None`
    /// only if the limiter were closed, which it never is.
    pub async fn heavy_work_turn(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.heavy_work).acquire_owned().await.ok()
    }

    /// A turn to check a password, or a refusal when as many checks as the server allows are
    /// running: a burst of sign-ins waits for nothing and holds no memory, it is refused.
    pub fn password_check_turn(&self) -> Result<OwnedSemaphorePermit, TooMany> {
        Arc::clone(&self.password_checks)
            .try_acquire_owned()
            .map_err(|_| {
                too_many(
                    Duration::from_secs(1),
                    "too many sign-ins are being checked right now",
                )
            })
    }
}

/// Runs CPU-heavy `work` on the blocking pool, so the async workers keep serving. `turn` (a
/// permit of [`Limiters`]) goes with the work and is released when the work ends, also when the
/// request waiting for it is dropped first: turns bound work running, not requests waiting.
pub(crate) async fn off_the_workers<T: Send + 'static>(
    turn: impl Send + 'static,
    work: impl FnOnce() -> T + Send + 'static,
) -> scimd_core::Result<T> {
    tokio::task::spawn_blocking(move || {
        let done = work();
        drop(turn);
        done
    })
    .await
    .map_err(|error| scimd_core::Error::Internal(format!("work off the workers failed: {error}")))
}

/// A refusal for now: 429 with the whole seconds to wait, rounded up.
#[derive(Debug)]
pub(crate) struct TooMany {
    pub seconds: u64,
    pub why: &'static str,
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

    /// Counts instead of timing: however slowly the calls run, no more pass than the burst
    /// and what the rate refilled in the time they took.
    #[test]
    fn a_token_over_its_rate_gets_429_with_retry_after() {
        let limiters = Limiters::new(&limits(1, 0));
        let started = Instant::now();
        assert!(limiters.admit_token(RateKey::Token(7)).is_ok());
        assert!(
            limiters.admit_token(RateKey::Token(7)).is_ok(),
            "a burst of twice the rate"
        );
        let outcomes: Vec<_> = (0..1000)
            .map(|_| limiters.admit_token(RateKey::Token(7)))
            .collect();
        let refill = started.elapsed().as_secs() + 1;
        let admitted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert!(
            u64::try_from(admitted).unwrap() <= refill,
            "{admitted} more passed in {:?}",
            started.elapsed()
        );
        let refused = outcomes
            .into_iter()
            .find_map(Result::err)
            .unwrap()
            .into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert!(
            limiters.admit_token(RateKey::Token(8)).is_ok(),
            "other tokens are not affected"
        );
    }

    /// An OAuth client holding several access tokens gets one rate, not one per token.
    #[test]
    fn the_access_tokens_of_one_client_share_its_rate() {
        let limiters = Limiters::new(&limits(1, 0));
        let principal = |token_id, client_pk| scimd_core::Principal {
            tenant_id: scimd_core::tenant::TenantId(1),
            tenant_slug: scimd_core::tenant::TenantSlug::parse("default").unwrap(),
            token_id,
            token_name: "entra".into(),
            client_pk,
            provisioning: scimd_core::tenant::ProvisioningMethod::Scim,
        };
        let tokens = [principal(11, Some(5)), principal(12, Some(5))];
        let started = Instant::now();
        let admitted = (0..1000)
            .filter(|n| {
                let key = RateKey::of(&tokens[n % 2]);
                limiters.admit_token(key).is_ok()
            })
            .count();
        let burst_and_refill = 2 + started.elapsed().as_secs() + 1;
        assert!(
            u64::try_from(admitted).unwrap() <= burst_and_refill,
            "{admitted} passed in {:?}",
            started.elapsed()
        );
        assert!(
            limiters
                .admit_token(RateKey::of(&principal(5, None)))
                .is_ok(),
            "an admin's token numbered like the client is another key"
        );
    }

    #[test]
    fn an_address_over_its_failure_budget_is_refused_and_others_are_not() {
        let limiters = Limiters::new(&limits(0, 3));
        let guesser = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limiters.attempt_auth(guesser).is_ok());
        }
        let refused = limiters.attempt_auth(guesser).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiters.attempt_auth(Some([10, 0, 0, 2].into())).is_ok());
    }

    #[test]
    fn password_checks_past_the_allowed_number_are_refused_at_once() {
        let limiters = Limiters::new(&RequestLimits {
            concurrent_password_checks: NonZeroUsize::MIN.saturating_add(1),
            ..RequestLimits::default()
        });
        let first = limiters.password_check_turn().unwrap();
        let _second = limiters.password_check_turn().unwrap();
        let refused = limiters.password_check_turn().unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        drop(first);
        assert!(limiters.password_check_turn().is_ok());
    }

    #[test]
    fn limits_set_to_zero_are_off() {
        let limiters = Limiters::new(&limits(0, 0));
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..100 {
            assert!(limiters.admit_token(RateKey::Token(1)).is_ok());
            assert!(limiters.attempt_auth(address).is_ok());
        }
    }
}
