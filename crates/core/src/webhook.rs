//! Webhooks (SPEC §11): endpoints a tenant's change events are pushed to, signed, one POST per
//! event, retried with back-off for about three days. Deliveries live in the database (one row
//! per endpoint and event); the server's webhook worker takes the due ones, sends them through
//! a [`WebhookTransport`], and settles each.

use crate::error::{Error, Result};
use crate::feed::{ChangeType, StoredChange};
use crate::tenant::TenantId;
use crate::token::is_plain_name;
use scim::datetime::Timestamp;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// What a receiver gets: `json` (one event per POST, Standard Webhooks signature headers) or
/// `set` (an RFC 9967 SCIM event as a signed Security Event Token, pushed per RFC 8935).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Set,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Set => "set",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Json, Self::Set]
            .into_iter()
            .find(|format| format.as_str() == text)
    }

    /// The format an admin named, `json` when none; a refusal naming the two otherwise.
    pub fn named(text: Option<&str>) -> Result<Self> {
        match text.map(str::trim).filter(|text| !text.is_empty()) {
            None => Ok(Self::Json),
            Some(text) => Self::parse(text).ok_or_else(|| {
                Error::Invalid(format!("'format' must be json or set, not {text:?}"))
            }),
        }
    }
}

/// Whether an endpoint gets events. A disabled or failing endpoint keeps its place in the feed:
/// enabled again, it gets what happened meanwhile (as long as the feed keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookState {
    Enabled,
    /// By an admin, or by the receiver answering 410 Gone.
    Disabled,
    /// A delivery was given up after its last retry; admins are told.
    Failing,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Failing => "failing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Enabled, Self::Disabled, Self::Failing]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// An endpoint as stored (its secret stays in the store but for signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub url: String,
    pub format: WebhookFormat,
    /// The event types it gets; all when empty.
    pub event_types: Vec<ChangeType>,
    pub state: WebhookState,
    /// Why it is disabled or failing.
    pub state_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An endpoint's name: 1–64 letters, digits, `.`, `_` and `-`.
pub fn check_name(name: &str) -> Result<()> {
    if is_plain_name(name) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "webhook name {name:?} must be 1-64 characters of letters, digits, '.', '_' and '-'"
        )))
    }
}

/// A signing secret: 32 random bytes, shown once as `whsec_` + their base64 (the Standard
/// Webhooks form). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret([u8; 32]);

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key HMAC signatures are made with.
    pub fn key(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A new endpoint. It gets the events after those its tenant has when it is made.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    pub tenant_id: TenantId,
    pub name: &'a str,
    pub url: &'a str,
    pub format: WebhookFormat,
    pub event_types: &'a [ChangeType],
    pub secret: &'a WebhookSecret,
    pub now: Timestamp,
}

/// One try of one delivery, as the worker takes it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub webhook_name: String,
    pub tenant_id: TenantId,
    pub url: String,
    pub format: WebhookFormat,
    pub secret: WebhookSecret,
    /// Tries so far, this one included.
    pub attempt: u32,
    pub tenant_slug: String,
    pub event: StoredChange,
}

/// What the receiver made of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// A 2xx answer.
    Delivered { status: u16, response: String },
    /// 410 Gone: the receiver asks for no more; the endpoint is disabled.
    Gone { response: String },
    /// Anything else: another status, a timeout, a refused or closed connection, a refused
    /// address. Tried again later.
    Failed {
        status: Option<u16>,
        error: String,
        response: String,
    },
}

/// Where webhooks may go.
pub trait DestinationPolicy: Send + Sync {
    /// Whether this service may send to `url` (scheme, host, the addresses it resolves to): the
    /// reason in words when not.
    fn vet(&self, url: &str) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

/// Sends deliveries: HTTP in the server, anything in tests.
pub trait WebhookTransport: Send + Sync {
    fn deliver(&self, job: &DeliveryJob) -> impl Future<Output = Attempted> + Send;
}

/// How a taken delivery ends, written back by the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: String,
    pub outcome: SettledAs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettledAs {
    Delivered(Timestamp),
    /// Tried again from this time.
    Retry(Timestamp),
    /// Given up after the last retry: the endpoint is marked failing.
    GivenUp(Timestamp),
    /// The receiver answered 410: given up, the endpoint disabled.
    Gone(Timestamp),
}

/// A delivery as admins see it (`webhook deliveries NAME`, the console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub event_id: String,
    pub event_type: ChangeType,
    pub sequence: i64,
    pub attempts: u32,
    pub state: DeliveryState,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
    pub created_at: Timestamp,
    /// When it was delivered or given up, or when it is tried next.
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// Every tenant's endpoints by state, and the deliveries waiting: what `/metrics` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookHealth {
    pub enabled: u64,
    pub disabled: u64,
    pub failing: u64,
    pub pending_deliveries: u64,
}

/// How long the receiver has to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a worker holds a delivery it took: longer than a try can take, so another
/// instance tries it again only when the first died mid-send.
pub const LEASE_MILLIS: i64 = 30_000;

/// The most of a receiver's answer kept for admins to read.
pub const RESPONSE_SNIPPET_BYTES: usize = 512;

/// The wait after `attempts` failed tries, before jitter: 5 s, 30 s, 2 min, 10 min, 30 min,
/// 1 h, 2 h, 4 h, 8 h, then 12 h five times (about 3 days and 3 hours in all); `None` after
/// the 15th try, when the delivery is given up.
pub fn retry_after_millis(attempts: u32) -> Option<i64> {
    const SECOND: i64 = 1_000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;
    match attempts {
        0 | 1 => Some(5 * SECOND),
        2 => Some(30 * SECOND),
        3 => Some(2 * MINUTE),
        4 => Some(10 * MINUTE),
        5 => Some(30 * MINUTE),
        6 => Some(HOUR),
        7 => Some(2 * HOUR),
        8 => Some(4 * HOUR),
        9 => Some(8 * HOUR),
        10..=14 => Some(12 * HOUR),
        _ => None,
    }
}

/// `wait` spread by up to a fifth either way (`unit` in [0, 1) from a random source), so the
/// retries of many deliveries that failed together do not arrive together.
pub fn with_jitter(wait: i64, unit: f64) -> i64 {
    let spread = wait as f64 * 0.2 * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    wait + spread as i64
}

/// A number in [0, 1) from the operating system's random source (0.5, no jitter, without one).
pub fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The start of a receiver's answer, cut at a character boundary.
pub fn snippet(response: &str) -> String {
    let mut end = response.len().min(RESPONSE_SNIPPET_BYTES);
    while !response.is_char_boundary(end) {
        end -= 1;
    }
    response[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_last_about_three_days_then_stop() {
        let total: i64 = (1..=14).map(|n| retry_after_millis(n).unwrap()).sum();
        let days = total as f64 / 86_400_000.0;
        assert!((3.0..3.5).contains(&days), "{days} days");
        assert_eq!(retry_after_millis(15), None);
        assert_eq!(with_jitter(1000, 0.0), 800);
        assert_eq!(with_jitter(1000, 0.5), 1000);
        assert!(with_jitter(1000, 0.999) <= 1200);
    }

    #[test]
    fn names_formats_states_and_snippets() {
        assert!(check_name("hr-system_1.prod").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        for format in [WebhookFormat::Json, WebhookFormat::Set] {
            assert_eq!(WebhookFormat::parse(format.as_str()), Some(format));
        }
        assert_eq!(WebhookState::parse("failing"), Some(WebhookState::Failing));
        let long = "é".repeat(RESPONSE_SNIPPET_BYTES);
        assert!(snippet(&long).len() <= RESPONSE_SNIPPET_BYTES);
        assert_eq!(
            format!("{:?}", WebhookSecret::from_bytes([7; 32])),
            "WebhookSecret(..)"
        );
    }
}
