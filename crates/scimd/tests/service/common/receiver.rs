//! A webhook receiver on loopback, as a host product runs one: it checks every Standard
//! Webhooks signature with its own implementation (RustCrypto's HMAC, not the code under test),
//! records what it accepted, and fails on command (an error status, 410, an answer that never
//! comes, a connection closed without one).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 204, and the delivery is recorded.
    Accept,
    /// This status, and nothing recorded.
    Fail(u16),
    /// No answer until long after scimd's 10 s timeout.
    Hang,
    /// The connection closed with no answer.
    Close,
}

/// One delivery the receiver accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub content_type: String,
    /// The signature checked out against the secret the receiver was given.
    pub verified: bool,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct State {
    secret: Option<Vec<u8>>,
    mode: Option<Mode>,
    received: Vec<Received>,
    /// Every request, answered or not.
    attempts: usize,
}

pub struct Receiver {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&state), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/scimd", self.address)
    }

    /// `scimd webhook create --name product` for this receiver on the database at
    /// `database_url` (loopback allowed), with `extra` arguments; trusts the secret it prints.
    pub fn subscribe(&self, database_url: &str, extra: &[&str]) -> super::cli::Cli {
        let cli = super::cli::Cli::on(database_url.to_owned());
        let url = self.url();
        let mut args = vec!["webhook", "create", "--url", &url, "--name", "product"];
        args.extend_from_slice(extra);
        let output = cli
            .command()
            .env("SCIMD_WEBHOOK_ALLOW_PRIVATE", "true")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let secret = String::from_utf8(output.stdout).unwrap();
        assert!(secret.starts_with("whsec_"), "the secret alone: {secret:?}");
        self.trust(&secret);
        cli
    }

    /// The secret `scimd webhook create` printed (`whsec_...`).
    pub fn trust(&self, secret: &str) {
        let key = STANDARD
            .decode(
                secret
                    .trim()
                    .strip_prefix("whsec_")
                    .expect("a whsec_ secret"),
            )
            .unwrap();
        self.state.lock().unwrap().secret = Some(key);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn attempts(&self) -> usize {
        self.state.lock().unwrap().attempts
    }

    /// Waits (as long as a busy machine may need) until `done` holds of the receiver.
    pub async fn until(&self, what: &str, done: impl Fn(&Receiver) -> bool) {
        for _ in 0..2400 {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "waited 120 s for {what}: {} attempts, {} received",
            self.attempts(),
            self.received().len()
        );
    }

    /// Waits until `count` deliveries were accepted; what was accepted.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        self.until(&format!("{count} deliveries"), |r| {
            r.received().len() >= count
        })
        .await;
        self.received()
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let content_type = header("content-type");
    let body = request.into_body().collect().await.map(|b| b.to_bytes());
    let body = body.map_err(std::io::Error::other)?;
    let mode = {
        let mut state = state.lock().unwrap();
        state.attempts += 1;
        state.mode.unwrap_or(Mode::Accept)
    };
    let respond = |status: u16, text: &str| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(text.to_owned())))
            .map_err(std::io::Error::other)
    };
    match mode {
        Mode::Accept => {
            let mut state = state.lock().unwrap();
            let verified = state
                .secret
                .as_deref()
                .is_some_and(|key| verify(key, &id, &timestamp, &body, &signature));
            state.received.push(Received {
                id,
                content_type,
                verified,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            respond(204, "")
        }
        Mode::Fail(status) => respond(status, "receiver says no"),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            respond(204, "")
        }
        Mode::Close => Err(std::io::Error::other("closing without an answer")),
    }
}

/// The Standard Webhooks check: any `v1,` signature in the header equals the base64
/// HMAC-SHA256 of `id.timestamp.body` under the secret's bytes.
fn verify(key: &[u8], id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    header
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()))
}
