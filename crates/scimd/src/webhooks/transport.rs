//! Deliveries over HTTP: one POST per event, signed; a 2xx answer delivers it, 410 gives the
//! endpoint up, anything else (another status, no answer within 10 s, a refused or closed
//! connection, a redirect: none is followed) is tried again later.

use super::guard;
use super::set::SetSigner;
use super::signature::signature;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use scimd_core::clock::SharedClock;
use scimd_core::webhook::{
    Attempted, DELIVERY_TIMEOUT, DeliveryJob, RESPONSE_SNIPPET_BYTES, WebhookFormat,
    WebhookTransport,
};
use std::sync::Arc;

/// Idle connections kept per receiver between deliveries.
const IDLE_PER_HOST: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    allow_private: bool,
    sets: Arc<SetSigner>,
    /// The `iss` of SETs: this service's SCIM base URL.
    issuer: String,
    /// `webhook-timestamp` and a SET's `iat`.
    clock: SharedClock,
}

impl HttpTransport {
    pub fn new(
        allow_private: bool,
        sets: Arc<SetSigner>,
        issuer: String,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let client = guard::guarded_client(allow_private, DELIVERY_TIMEOUT)?
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .user_agent(concat!("scimd-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            allow_private,
            sets,
            issuer,
            clock,
        })
    }

    /// The body and headers of one try.
    fn request(&self, job: &DeliveryJob, now: i64) -> Result<(String, HeaderMap), String> {
        let mut headers = HeaderMap::new();
        let header = |text: &str| HeaderValue::from_str(text).map_err(|e| e.to_string());
        let body = match job.format {
            WebhookFormat::Json => {
                let body = job.event.render(&job.tenant_slug);
                let id = &job.event.id;
                let signed = signature(job.secret.key(), id, now, body.as_bytes());
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert("webhook-id", header(id)?);
                headers.insert("webhook-timestamp", header(&now.to_string())?);
                headers.insert("webhook-signature", header(&signed)?);
                body
            }
            WebhookFormat::Set => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/secevent+jwt"),
                );
                headers.insert(
                    reqwest::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
                self.sets.token(&job.event, &self.issuer, &job.url, now)?
            }
        };
        Ok((body, headers))
    }
}

impl WebhookTransport for HttpTransport {
    async fn deliver(&self, job: &DeliveryJob) -> Attempted {
        let failed = |error: String| Attempted::Failed {
            status: None,
            error,
            response: String::new(),
        };
        let url = match guard::parse_url(&job.url) {
            Ok(url) => url,
            Err(reason) => return failed(format!("the URL is refused: {reason}")),
        };
        if let Err(refused) = guard::literal_address_allowed(&url, self.allow_private) {
            return failed(refused);
        }
        let now = self.clock.now().as_millis() / 1000;
        let (body, headers) = match self.request(job, now) {
            Ok(request) => request,
            Err(error) => return failed(error),
        };
        let sent = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return failed(describe(&error)),
        };
        let status = response.status().as_u16();
        let answer = read_start(&mut response).await;
        match status {
            200..=299 => Attempted::Delivered {
                status,
                response: answer,
            },
            410 => Attempted::Gone { response: answer },
            _ => Attempted::Failed {
                status: Some(status),
                error: match status {
                    300..=399 => format!("redirected ({status}); redirects are not followed"),
                    _ => format!("the receiver answered {status}"),
                },
                response: answer,
            },
        }
    }
}

/// The start of the answer's body (never more of it: a receiver may answer gigabytes).
async fn read_start(response: &mut reqwest::Response) -> String {
    let mut start = Vec::new();
    while start.len() < RESPONSE_SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => start.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    start.truncate(RESPONSE_SNIPPET_BYTES);
    String::from_utf8_lossy(&start).into_owned()
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("could not connect: {}", root_cause(error))
    } else {
        format!("the request failed: {}", root_cause(error))
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
