//! Webhooks (SPEC §11) against a real receiver on loopback that checks every signature with an
//! implementation of its own: deliveries arrive signed and in order per user; a receiver that
//! fails (an error status, no answer, a closed connection) gets every event once it works
//! again; 410 disables the endpoint; internal addresses are refused; two instances on one
//! PostgreSQL database never send one try twice.

use crate::common;

use crate::common::cli::Cli;
use crate::common::database_urls;
use crate::common::live::LiveServer;
use crate::common::receiver::{Mode, Receiver};
use crate::common::smtp::TestSmtp;
use scimd::ServeConfig;
use scimd::mail::MailConfig;
use scimd_core::admin::Role;
use scimd_core::clock::ManualClock;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// A server whose webhooks may go to loopback, looking for due deliveries every 20 ms.
fn on_loopback(config: &mut ServeConfig) {
    config.webhook_allow_private = true;
    config.webhook_poll = Duration::from_millis(20);
}

fn subscribe(server: &LiveServer, receiver: &Receiver, extra: &[&str]) -> Cli {
    receiver.subscribe(&server.database_url, extra)
}

const LIST: [&str; 4] = ["webhook", "list", "--format", "json"];
const DELIVERIES: [&str; 5] = ["webhook", "deliveries", "product", "--format", "json"];

/// What the command prints once `done` holds of it, asked again while it does not (as long as
/// a busy machine may need); the last answer either way.
async fn once(cli: &Cli, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let mut answer = Value::Null;
    for _ in 0..600 {
        answer = cli.json(args);
        if done(&answer) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer
}

async fn scim(server: &LiveServer, method: &str, path: &str, body: Option<Value>) -> Value {
    scim_as(server, &server.token, method, path, body).await
}

/// A SCIM request with `token` (the token of another instance on the same database).
async fn scim_as(
    server: &LiveServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let headers = [
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/scim+json".into()),
    ];
    let body = body.map(|body| body.to_string());
    let reply = server
        .exchange(
            method,
            &format!("/scim/v2{path}"),
            &headers,
            body.as_deref(),
        )
        .await;
    assert!(reply.status < 300, "{method} {path}: {}", reply.text());
    reply.body
}

async fn create(server: &LiveServer, email: &str) -> String {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": email, "displayName": email});
    let created = scim(server, "POST", "/Users", Some(body)).await;
    created["id"].as_str().unwrap().to_owned()
}

fn rename(display: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "displayName", "value": display}]})
}

#[tokio::test]
async fn events_reach_the_receiver_signed_once_each_and_in_order_per_user() {
    for (backend, url) in database_urls().await {
        let receiver = Receiver::start().await;
        let server = LiveServer::start_with(url, on_loopback).await;
        let cli = subscribe(&server, &receiver, &[]);
        let mut ids = Vec::new();
        for n in 0..4 {
            ids.push(create(&server, &format!("user{n}@example.com")).await);
        }
        for round in 0..3 {
            for id in &ids {
                scim(
                    &server,
                    "PATCH",
                    &format!("/Users/{id}"),
                    Some(rename(&format!("r{round}"))),
                )
                .await;
            }
        }
        scim(&server, "DELETE", &format!("/Users/{}", ids[0]), None).await;
        let expected = 4 + 4 * 3 + 1;
        let received = receiver.wait_for(expected).await;

        assert_eq!(received.len(), expected, "[{backend}] nothing sent twice");
        for delivery in &received {
            assert!(delivery.verified, "[{backend}] {delivery:?}");
            assert_eq!(delivery.content_type, "application/json");
            assert_eq!(
                delivery.json()["id"],
                delivery.id.as_str(),
                "webhook-id is the event id"
            );
        }
        let distinct: HashSet<&str> = received.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(distinct.len(), expected, "[{backend}]");
        // Each user's events arrived in sequence order.
        let mut last_of: HashMap<String, i64> = HashMap::new();
        for delivery in &received {
            let event = delivery.json();
            let email = event["data"]["account"]["email"]
                .as_str()
                .unwrap()
                .to_owned();
            let sequence = event["sequence"].as_i64().unwrap();
            let last = last_of.insert(email.clone(), sequence).unwrap_or(0);
            assert!(
                sequence > last,
                "[{backend}] {email}: {sequence} after {last}"
            );
        }
        let deleted = received
            .iter()
            .filter(|d| d.json()["type"] == "user.deleted");
        assert_eq!(deleted.count(), 1, "[{backend}]");

        // The delivery log says the same.
        let log = cli.json(&DELIVERIES);
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), expected, "[{backend}]");
        assert!(
            log.iter()
                .all(|d| d["state"] == "delivered" && d["status"] == "204")
        );
    }
}

/// A receiver that errs, never answers, or closes the connection gets each event once it
/// works again; retries wait on the back-off schedule (moved by the test's clock).
#[tokio::test]
async fn a_failing_receiver_gets_every_event_once_it_recovers() {
    for (backend, url) in database_urls().await {
        let receiver = Receiver::start().await;
        let clock = ManualClock::at_millis(1_790_000_000_000);
        let server = {
            let clock = clock.clone();
            LiveServer::start_with(url, move |config| {
                on_loopback(config);
                config.clock = Arc::new(clock);
            })
            .await
        };
        let cli = subscribe(&server, &receiver, &[]);
        let deliveries = || cli.json(&DELIVERIES);
        // The latest try's error, once it says `what`.
        let error_saying = |what: &'static str| {
            let cli = &cli;
            async move {
                let log = once(cli, &DELIVERIES, |log| {
                    log[0]["error"].as_str().unwrap_or_default().contains(what)
                })
                .await;
                log[0]["error"].as_str().unwrap_or_default().to_owned()
            }
        };

        receiver.set_mode(Mode::Fail(503));
        create(&server, "a@example.com").await;
        receiver.until("a first try", |r| r.attempts() >= 1).await;
        // Not tried again until the back-off has passed.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.attempts(), 1, "[{backend}]");
        let log = deliveries();
        assert_eq!(log[0]["state"], "pending", "[{backend}]");
        assert_eq!(log[0]["status"], "503");
        assert_eq!(log[0]["response"], "receiver says no");

        receiver.set_mode(Mode::Close);
        clock.advance_millis(10_000);
        receiver.until("a second try", |r| r.attempts() >= 2).await;
        receiver.set_mode(Mode::Fail(302));
        clock.advance_millis(60_000);
        receiver.until("a third try", |r| r.attempts() >= 3).await;
        let error = error_saying("redirects are not followed").await;
        assert!(error.contains("redirected (302)"), "[{backend}] {error}");
        receiver.set_mode(Mode::Hang);
        clock.advance_millis(5 * 60_000);
        receiver.until("a fourth try", |r| r.attempts() >= 4).await;
        // The hanging try ends at scimd's 10 s timeout.
        let error = error_saying("no answer within 10 s").await;
        assert!(
            error.contains("no answer within 10 s"),
            "[{backend}] {error}"
        );
        assert_eq!(deliveries()[0]["attempts"], "4");

        receiver.set_mode(Mode::Accept);
        clock.advance_millis(15 * 60_000);
        let received = receiver.wait_for(1).await;
        assert!(received[0].verified, "[{backend}]");
        assert_eq!(received[0].json()["type"], "user.created");
        assert_eq!(deliveries()[0]["state"], "delivered", "[{backend}]");
    }
}

/// 410 Gone: the receiver wants no more; the endpoint is disabled (admins told) and gets the
/// events it missed once enabled again.
#[tokio::test]
async fn a_gone_receiver_disables_the_endpoint_until_it_is_enabled() {
    for (backend, url) in database_urls().await {
        let receiver = Receiver::start().await;
        let server = LiveServer::start_with(url, on_loopback).await;
        let cli = subscribe(&server, &receiver, &[]);
        receiver.set_mode(Mode::Fail(410));
        create(&server, "a@example.com").await;
        receiver.until("the 410", |r| r.attempts() >= 1).await;
        let listed = once(&cli, &LIST, |listed| listed[0]["state"] == "disabled").await;
        assert_eq!(listed[0]["state"], "disabled", "{listed}");
        assert_eq!(listed[0]["reason"], "the receiver answered 410 Gone");
        create(&server, "b@example.com").await;

        receiver.set_mode(Mode::Accept);
        cli.ok(&["webhook", "enable", "product"]);
        cli.ok(&["webhook", "redeliver", &first_event_id(&cli)]);
        let received = receiver.wait_for(2).await;
        let emails: HashSet<String> = received
            .iter()
            .map(|d| {
                d.json()["data"]["account"]["email"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            emails,
            HashSet::from(["a@example.com".to_owned(), "b@example.com".to_owned()])
        );
        eprintln!("[{backend}] passed");
    }
}

fn first_event_id(cli: &Cli) -> String {
    let output = cli.ok(&["events", "--format", "json"]);
    let first: Value = serde_json::from_str(output.lines().next().unwrap()).unwrap();
    first["id"].as_str().unwrap().to_owned()
}

/// SSRF: loopback, private and metadata addresses are refused when an endpoint is made, and
/// again at delivery (an endpoint made while they were allowed reaches nothing once they are
/// not); malformed URLs are refused naming what is wrong.
#[tokio::test]
async fn internal_and_malformed_urls_are_refused() {
    let cli = Cli::new();
    for (url, says) in [
        ("http://127.0.0.1:9/hook", "public addresses only"),
        ("http://localhost:8080/", "public addresses only"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "public addresses only",
        ),
        ("http://[::1]/", "public addresses only"),
        ("http://10.0.0.7/", "public addresses only"),
        ("not a url", "not a URL"),
        ("ftp://example.com/", "scheme must be http or https"),
        ("https://user:secret@example.com/", "credentials"),
    ] {
        let output = cli
            .command()
            .env_remove("SCIMD_WEBHOOK_ALLOW_PRIVATE")
            .args(["webhook", "create", "--url", url, "--name", "x"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{url}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains(says), "{url}: {error}");
        assert!(output.stdout.is_empty(), "no secret for a refused endpoint");
    }
    assert_eq!(cli.json(&LIST), json!([]));

    let receiver = Receiver::start().await;
    let server = LiveServer::start_with(String::new(), |config| {
        config.webhook_poll = Duration::from_millis(20);
    })
    .await;
    let cli = subscribe(&server, &receiver, &[]);
    create(&server, "a@example.com").await;
    let log = once(&cli, &DELIVERIES, |log| log[0]["error"].is_string()).await;
    let error = log[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("internal address"), "{error}");
    assert_eq!(
        receiver.attempts(),
        0,
        "nothing reached the internal receiver"
    );
}

/// Endpoints take only the types they asked for; `set` endpoints get signed SETs.
#[tokio::test]
async fn endpoints_get_the_types_and_format_they_asked_for() {
    let receiver = Receiver::start().await;
    let server = LiveServer::start_with(String::new(), on_loopback).await;
    subscribe(
        &server,
        &receiver,
        &["--events", "user.deleted", "--format", "set"],
    );
    let id = create(&server, "a@example.com").await;
    scim(&server, "PATCH", &format!("/Users/{id}"), Some(rename("A"))).await;
    scim(&server, "DELETE", &format!("/Users/{id}"), None).await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].content_type, "application/secevent+jwt");
    let parts: Vec<&str> = received[0].body.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub_id"]["uri"], format!("/Users/{id}"));
    assert!(claims["events"]["urn:ietf:params:scim:event:prov:delete"].is_object());
    assert_eq!(claims["aud"], receiver.url());
    // The key it is signed with is published.
    let jwks = server
        .exchange("GET", "/.well-known/jwks.json", &[], None)
        .await;
    assert_eq!(jwks.body["keys"][0]["kty"], "EC");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.attempts(),
        1,
        "the create and the update were not for it"
    );
}

/// Two instances on one PostgreSQL database share the deliveries: every event arrives, and no
/// try is sent twice.
#[tokio::test]
async fn two_instances_never_send_one_try_twice() {
    let Some(url) = database_urls()
        .await
        .into_iter()
        .find_map(|(backend, url)| (backend == "postgres").then_some(url))
    else {
        eprintln!("skipped: SCIMD_TEST_POSTGRES_URL is not set");
        return;
    };
    let receiver = Receiver::start().await;
    let first = LiveServer::start_with(url.clone(), on_loopback).await;
    let second = LiveServer::start_with(url, on_loopback).await;
    subscribe(&first, &receiver, &[]);
    // The second instance's token replaced the first's (same name, same tenant).
    for n in 0..60 {
        let server = if n % 2 == 0 { &first } else { &second };
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                          "userName": format!("user{n}@example.com")});
        scim_as(server, &second.token, "POST", "/Users", Some(body)).await;
    }
    let received = receiver.wait_for(60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.attempts(),
        60,
        "one try per event, from either instance"
    );
    let distinct: HashSet<&str> = received.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(distinct.len(), 60);
    assert!(received.iter().all(|d| d.verified));
}

/// `scimd serve` as a process, its webhooks allowed to reach loopback.
struct Process(std::process::Child, u16);

impl Process {
    fn start(database_url: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--allowed-host",
                "scim.test",
            ])
            .env("SCIMD_DATABASE_URL", database_url)
            .env("SCIMD_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("SCIMD_LOG", "warn,scimd=info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let port = common::listening_port(&mut lines);
        std::thread::spawn(move || lines.for_each(drop));
        Self(child, port)
    }
}

impl Drop for Process {
    /// SIGKILL.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGKILL while deliveries are in flight loses none: the restarted server (or another
/// instance) tries them again once their lease ends, under the same `webhook-id`.
#[tokio::test]
async fn a_kill_during_delivery_loses_no_event() {
    let receiver = Receiver::start().await;
    let cli = Cli::new();
    let token = cli.token("idp");
    let url = receiver.url();
    let secret = cli
        .command()
        .env("SCIMD_WEBHOOK_ALLOW_PRIVATE", "true")
        .args(["webhook", "create", "--url", &url, "--name", "product"])
        .output()
        .unwrap();
    receiver.trust(&String::from_utf8(secret.stdout).unwrap());
    receiver.set_mode(Mode::Hang);

    let server = Process::start(&cli.database_url);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], server.1));
    for n in 0..10 {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                          "userName": format!("user{n}@example.com")})
        .to_string();
        let headers = [
            ("Authorization".to_owned(), format!("Bearer {token}")),
            (
                "Content-Type".to_owned(),
                "application/scim+json".to_owned(),
            ),
        ];
        let request = common::live::http_request("POST", "/scim/v2/Users", &headers, Some(&body));
        let reply = common::live::exchange(address, request.as_bytes()).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    receiver
        .until("tries in flight", |r| r.attempts() >= 10)
        .await;
    drop(server);

    receiver.set_mode(Mode::Accept);
    let _restarted = Process::start(&cli.database_url);
    let received = receiver.wait_for(10).await;
    let emails: HashSet<String> = received
        .iter()
        .map(|d| {
            d.json()["data"]["account"]["email"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(emails.len(), 10, "every user's event arrived");
    assert!(received.iter().all(|d| d.verified));
}

/// A delivery that fails through its last retry (about three days, on the test's clock) marks
/// the endpoint failing: it gets no more events, `/metrics` says so, the tenant's admins are
/// mailed, and once enabled it gets the next events.
#[tokio::test]
async fn three_days_of_failures_mark_the_endpoint_failing() {
    for (backend, url) in database_urls().await {
        let receiver = Receiver::start().await;
        let smtp = TestSmtp::start().await;
        let clock = ManualClock::at_millis(1_790_000_000_000);
        let server = {
            let (clock, smtp_url) = (clock.clone(), smtp.url());
            LiveServer::start_with(url, move |config| {
                on_loopback(config);
                config.clock = Arc::new(clock);
                config.mail = Some(MailConfig {
                    smtp_url,
                    from: "scimd <scimd@example.com>".into(),
                    poll: Duration::from_millis(20),
                });
            })
            .await
        };
        common::add_admin(
            &server.database_url,
            "ann@example.com",
            Role::Admin,
            "a long passphrase",
        )
        .await;
        let cli = subscribe(&server, &receiver, &[]);
        receiver.set_mode(Mode::Fail(500));
        create(&server, "a@example.com").await;
        for attempt in 1..=15 {
            receiver
                .until(&format!("try {attempt}"), |r| r.attempts() >= attempt)
                .await;
            // Past any retry's wait with its jitter (12 h at most, plus a fifth).
            clock.advance_millis(15 * 3_600_000);
        }
        let listed = once(&cli, &LIST, |listed| listed[0]["state"] == "failing").await;
        assert_eq!(listed[0]["state"], "failing", "{listed}");
        assert!(listed[0]["reason"].as_str().unwrap().contains("last retry"));
        let log = cli.json(&DELIVERIES);
        assert_eq!(log[0]["state"], "failed");
        assert_eq!(log[0]["attempts"], "15");
        let metrics = server.exchange("GET", "/metrics", &[], None).await.text();
        assert!(
            metrics.contains("scimd_webhook_endpoints{state=\"failing\"} 1"),
            "{metrics}"
        );
        let mails = smtp.wait_for(1).await;
        assert_eq!(mails[0].to, ["ann@example.com"]);
        assert!(
            mails[0].message.contains("Webhook 'product' of")
                && mails[0].message.contains("is failing"),
            "{}",
            mails[0].message
        );

        // Nothing more is tried while it fails; enabled, it gets the next events.
        create(&server, "b@example.com").await;
        clock.advance_millis(60_000);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.attempts(), 15);
        receiver.set_mode(Mode::Accept);
        cli.ok(&["webhook", "enable", "product"]);
        let received = receiver.wait_for(1).await;
        assert_eq!(
            received[0].json()["data"]["account"]["email"],
            "b@example.com"
        );
        eprintln!("[{backend}] passed");
    }
}
