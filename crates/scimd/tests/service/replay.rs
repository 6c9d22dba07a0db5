//! Replays what Entra ID, Okta and JumpCloud send (tests/fixtures/idp/*.json) against a real
//! scimd on a loopback socket, on SQLite and on PostgreSQL, and checks every expectation of
//! every step. Requests go out byte for byte as the IdPs send them (raw quotes in filters
//! included). Entra's sequence runs in both of its PATCH modes: legacy, and with the
//! `aadOptscim062020` flag on every request. Every check of every step is required: a fixture's
//! `optional` says that the IdP sends a step only in some set-ups (or that the RFCs leave a
//! check to the service provider), and scimd answers all of them as the README promises. A
//! claim the README's "proved by" column cites is read back by a later step (`GET`), not taken
//! from the answer to the write alone.

use crate::common;

use crate::common::database_urls;
use crate::common::live::LiveServer;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `LiveServer::exchange` sends `Host: scim.test`.
const BASE_URL: &str = "http://scim.test/scim/v2";

struct Replay<'a> {
    server: &'a LiveServer,
    /// Appended to every request's query string (Entra's `aadOptscim062020` flag).
    flag: Option<&'a str>,
    vars: HashMap<String, String>,
    failures: Vec<String>,
}

impl Replay<'_> {
    fn bind(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.vars {
            out = out.replace(&format!("{{{{{name}}}}}"), value);
        }
        out
    }

    fn bind_json(&self, value: &Value) -> Value {
        serde_json::from_str(&self.bind(&value.to_string())).unwrap()
    }

    async fn step(&mut self, idp: &str, step: &Value) {
        let name = format!("{idp} {}", step["name"].as_str().unwrap_or("?"));
        let expect = match (
            step["requires_groups"] == true,
            step.get("expect_if_groups_unsupported"),
        ) {
            (true, Some(expectation)) => expectation,
            _ => &step["expect"],
        };
        let mut target = format!("/scim/v2{}", self.bind(step["path"].as_str().unwrap()));
        if let Some(flag) = self.flag {
            target.push(if target.contains('?') { '&' } else { '?' });
            target.push_str(flag);
        }
        let headers: Vec<(String, String)> = step["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), self.bind(value.as_str().unwrap_or_default())))
            .collect();
        let body = match &step["body"] {
            Value::Null => None,
            body => Some(self.bind_json(body).to_string()),
        };
        let method = step["method"].as_str().unwrap();
        let reply = self
            .server
            .exchange(method, &target, &headers, body.as_deref())
            .await;
        let status = reply.status;

        // Captures come first: a step may check a header that names the id it just returned.
        for (var, pointer) in step["capture"].as_object().into_iter().flatten() {
            if let Some(value) = reply
                .body
                .pointer(pointer.as_str().unwrap_or_default())
                .and_then(Value::as_str)
            {
                self.vars.insert(var.clone(), value.to_owned());
            }
        }

        let mut problems = Vec::new();
        let statuses: Vec<u64> = match expect.get("status_in") {
            Some(Value::Array(allowed)) => allowed.iter().filter_map(Value::as_u64).collect(),
            _ => vec![expect["status"].as_u64().unwrap_or(0)],
        };
        if !statuses.contains(&u64::from(status)) {
            problems.push(format!(
                "status {status}, expected {statuses:?}: {}",
                String::from_utf8_lossy(&reply.raw)
            ));
        }
        for (key, expected) in expect["headers"].as_object().into_iter().flatten() {
            let expected = self.bind(expected.as_str().unwrap_or_default());
            let actual = reply
                .headers
                .get(&key.to_ascii_lowercase())
                .map(String::as_str)
                .unwrap_or_default();
            if !actual.contains(&expected) {
                problems.push(format!("header {key}: {actual:?} lacks {expected:?}"));
            }
        }
        if expect["body_empty"] == true && !reply.raw.is_empty() {
            problems.push("body should be empty".to_owned());
        }
        for check in expect["json"].as_array().into_iter().flatten() {
            if check
                .get("when_status")
                .and_then(Value::as_u64)
                .is_some_and(|s| s != u64::from(status))
            {
                continue;
            }
            if let Err(problem) = self.check(&reply.body, check) {
                problems.push(problem);
            }
        }
        self.failures.extend(
            problems
                .into_iter()
                .map(|problem| format!("{name}: {problem}")),
        );
    }

    fn check(&self, body: &Value, check: &Value) -> Result<(), String> {
        let pointer = check["pointer"].as_str().unwrap_or_default();
        let actual = body.pointer(pointer);
        let fail = |what: String| Err(format!("{pointer}: {what} (body {body})"));
        if let Some(expected) = check.get("equals") {
            let expected = self.bind_json(expected);
            if actual != Some(&expected) {
                return fail(format!("{actual:?} is not {expected}"));
            }
        }
        if let Some(expected) = check.get("contains") {
            let expected = self.bind_json(expected);
            let contained = match (actual, &expected) {
                (Some(Value::Array(items)), _) => items.contains(&expected),
                (Some(Value::String(text)), Value::String(part)) => text.contains(part.as_str()),
                _ => false,
            };
            if !contained {
                return fail(format!("{actual:?} does not contain {expected}"));
            }
        }
        if check["exists"] == true && actual.is_none() {
            return fail("is missing".into());
        }
        if check["absent"] == true && actual.is_some() {
            return fail(format!("should be absent, is {actual:?}"));
        }
        if check["not_empty"] == true
            && actual.is_none_or(|v| v.is_null() || v == "" || v == &json!([]) || v == &json!({}))
        {
            return fail("is empty".into());
        }
        if check["type"] == "number" && !actual.is_some_and(Value::is_number) {
            return fail(format!("{actual:?} is not a number"));
        }
        Ok(())
    }
}

/// Runs `steps` against a fresh server; returns the failures.
async fn run_steps(
    idp: &str,
    server: &LiveServer,
    flag: Option<&str>,
    steps: &[&Value],
) -> Vec<String> {
    // The Okta SPEC test needs one complete user to exist beforehand.
    let seed = json!({"userName": "runscope.seed@example.com",
        "name": {"givenName": "Run", "familyName": "Scope"},
        "emails": [{"value": "runscope.seed@example.com", "type": "work", "primary": true}]});
    let headers = [
        (
            "Authorization".to_owned(),
            format!("Bearer {}", server.token),
        ),
        (
            "Content-Type".to_owned(),
            "application/scim+json".to_owned(),
        ),
    ];
    let seeded = server
        .exchange("POST", "/scim/v2/Users", &headers, Some(&seed.to_string()))
        .await;
    assert_eq!(
        seeded.status,
        201,
        "{}",
        String::from_utf8_lossy(&seeded.raw)
    );
    let vars = HashMap::from([
        ("token".to_owned(), server.token.clone()),
        ("baseUrl".to_owned(), BASE_URL.to_owned()),
        (
            "randomGuid".to_owned(),
            "2d9f3c4e-7a61-4b1d-9b7e-3f2a1c0e5d88".to_owned(),
        ),
        (
            "idUserOne".to_owned(),
            seeded.body["id"].as_str().unwrap().to_owned(),
        ),
        (
            "testUserEmail".to_owned(),
            "jc.test.user@example.com".to_owned(),
        ),
        ("jcUserName".to_owned(), "jc.user@example.com".to_owned()),
        ("email".to_owned(), "jc.user@example.com".to_owned()),
        ("firstname".to_owned(), "Jay".to_owned()),
        ("lastname".to_owned(), "Cloud".to_owned()),
        ("testGroupName".to_owned(), "JC Test Group".to_owned()),
        ("groupName".to_owned(), "JC Group".to_owned()),
    ]);
    let mut replay = Replay {
        server,
        flag,
        vars,
        failures: Vec::new(),
    };
    for step in steps {
        replay.step(idp, step).await;
    }
    replay.failures
}

/// Entra's two PATCH dialects: without the flag, and with `aadOptscim062020`.
#[derive(Clone, Copy)]
enum Mode {
    All,
    EntraLegacy,
    EntraFlagged,
}

impl Mode {
    /// Steps tagged for the other Entra mode are left out.
    fn runs(self, step: &Value) -> bool {
        !matches!(
            (self, step["mode"].as_str()),
            (Mode::EntraLegacy, Some("aadOptscim062020")) | (Mode::EntraFlagged, Some("legacy"))
        )
    }

    fn flag(self) -> Option<&'static str> {
        match self {
            Mode::EntraFlagged => Some("aadOptscim062020"),
            Mode::All | Mode::EntraLegacy => None,
        }
    }
}

async fn replay(idp: &str, fixture: &str, mode: Mode) {
    let steps: Vec<Value> = serde_json::from_str(fixture).unwrap();
    let steps: Vec<&Value> = steps.iter().filter(|step| mode.runs(step)).collect();
    for (backend, url) in database_urls().await {
        let server = LiveServer::start(url).await;
        let failures = run_steps(idp, &server, mode.flag(), &steps).await;
        assert!(
            failures.is_empty(),
            "[{backend}] {} step(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        eprintln!("[{backend}] {idp}: {} steps passed", steps.len());
    }
}

#[tokio::test]
async fn the_runner_reports_unmet_expectations() {
    let server = LiveServer::start(String::new()).await;
    let steps = [
        json!({"name": "wrong status", "method": "GET", "path": "/Users", "headers": {"Authorization": "Bearer {{token}}"},
               "body": null, "expect": {"status": 201}}),
        json!({"name": "wrong value", "method": "GET", "path": "/Users", "headers": {"Authorization": "Bearer {{token}}"},
               "body": null, "expect": {"status": 200, "json": [{"pointer": "/totalResults", "equals": 7}]}}),
        json!({"name": "optional step", "optional": true, "method": "GET", "path": "/Users", "headers": {"Authorization": "Bearer {{token}}"},
               "body": null, "expect": {"status": 200, "json": [{"pointer": "/nope", "exists": true, "optional": true}]}}),
        json!({"name": "met", "method": "GET", "path": "/Users", "headers": {"Authorization": "Bearer {{token}}"},
               "body": null, "expect": {"status": 200, "json": [{"pointer": "/totalResults", "equals": 1}]}}),
    ];
    let steps: Vec<&Value> = steps.iter().collect();
    let failures = run_steps("test", &server, None, &steps).await;
    let failed: Vec<&str> = failures
        .iter()
        .map(|failure| failure.split(':').next().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "test wrong status",
            "test wrong value",
            "test optional step"
        ],
        "{failures:?}"
    );
}

const ENTRA: &str = include_str!("../../../../tests/fixtures/idp/entra.json");

#[tokio::test]
async fn entra_id_sequence_replays_in_legacy_mode() {
    replay("entra", ENTRA, Mode::EntraLegacy).await;
}

#[tokio::test]
async fn entra_id_sequence_replays_with_aad_opt_scim_062020() {
    replay("entra", ENTRA, Mode::EntraFlagged).await;
}

#[tokio::test]
async fn okta_sequence_replays() {
    replay(
        "okta",
        include_str!("../../../../tests/fixtures/idp/okta.json"),
        Mode::All,
    )
    .await;
}

#[tokio::test]
async fn jumpcloud_sequence_replays() {
    replay(
        "jumpcloud",
        include_str!("../../../../tests/fixtures/idp/jumpcloud.json"),
        Mode::All,
    )
    .await;
}

/// SPEC §11: Entra's whole sequence, replayed with a webhook subscribed, reaches the receiver
/// as the change events it makes, in order, each signed, none twice; and the Events API reads
/// the same.
#[tokio::test]
async fn an_entra_replay_reaches_a_webhook_as_its_events_in_order() {
    use common::receiver::Receiver;
    let steps: Vec<Value> = serde_json::from_str(ENTRA).unwrap();
    let steps: Vec<&Value> = steps
        .iter()
        .filter(|step| Mode::EntraLegacy.runs(step))
        .collect();
    let receiver = Receiver::start().await;
    let server = LiveServer::start_with(String::new(), |config| {
        config.webhook_allow_private = true;
        config.webhook_poll = std::time::Duration::from_millis(20);
    })
    .await;
    let cli = receiver.subscribe(&server.database_url, &[]);
    let failures = run_steps("entra", &server, None, &steps).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let expected = [
        "user.created",     // the user the runner seeds for every IdP's sequence
        "user.created",     // E06 the user
        "user.created",     // E07 the manager
        "user.updated",     // E12 emails and addresses
        "user.updated",     // E14 userName
        "user.updated",     // E16 a single-valued add
        "user.updated",     // E17 several replaces
        "user.updated",     // E22 department
        "user.updated",     // E22b an address through its sub-attributes
        "user.updated",     // E24 manager added
        "user.updated",     // E27 manager removed
        "user.updated",     // E26 manager added again
        "user.deactivated", // E28
        "user.reactivated", // E31
        "user.deactivated", // E32
        "user.deleted",     // E36
        "user.deleted",     // E41 the manager
        "user.created",     // V01 the validator's user
        "user.created",     // V02 its manager
        "user.created",     // V03 its second manager
        "user.updated",     // V08 manager added
        "user.updated",     // V10 manager replaced
        "user.updated",     // V12 manager removed
        "user.updated",     // V14 manager added again
        "user.updated",     // V15 manager removed again
        "user.updated",     // V17 userName
        "user.updated",     // V18 several attributes
        "user.updated",     // V20 one attribute, twice
        "user.updated",     // V22 a role through a filter
        "user.deactivated", // V24
        "user.deleted",     // V25
        "user.deleted",     // V27
        "user.deleted",     // V28
    ];
    let feed: Vec<Value> = cli
        .ok(&["events", "--format", "json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let feed_types: Vec<&str> = feed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(feed_types, expected, "the Events API");

    let received = receiver.wait_for(expected.len()).await;
    let mut in_order: Vec<Value> = received.iter().map(|d| d.json()).collect();
    in_order.sort_by_key(|event| event["sequence"].as_i64());
    let types: Vec<&str> = in_order
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, expected, "the webhook");
    assert!(
        received.iter().all(|d| d.verified),
        "every signature checks out"
    );
    assert_eq!(received.len(), expected.len(), "none twice");
}

/// Entra's whole sequence with an access token from the OAuth token endpoint (client
/// credentials, as Entra's app gallery connects) instead of a bearer token: the server's own
/// token is revoked first, so every step authenticates with the client's access token.
#[tokio::test]
async fn entra_id_sequence_replays_with_oauth_client_credentials() {
    use base64::Engine;
    use scimd_core::access::Grant;
    let steps: Vec<Value> = serde_json::from_str(ENTRA).unwrap();
    let steps: Vec<&Value> = steps
        .iter()
        .filter(|step| Mode::EntraLegacy.runs(step))
        .collect();
    for (backend, url) in database_urls().await {
        let mut server = LiveServer::start(url).await;
        let provisioner = scimd::open_provisioner(&server.database_url, Default::default())
            .await
            .unwrap();
        let grant = Grant::command_line(
            provisioner.tenant("default").await.unwrap(),
            common::admin_origin(),
        );
        provisioner.revoke_token(&grant, "idp").await.unwrap();
        let issued = provisioner
            .create_client(&grant, "entra", None)
            .await
            .unwrap();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            issued.client.client_id,
            issued.secret.expose()
        ));
        let headers = [
            ("Authorization".to_owned(), format!("Basic {credentials}")),
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        let issued = server
            .exchange(
                "POST",
                "/oauth/token",
                &headers,
                Some("grant_type=client_credentials"),
            )
            .await;
        assert_eq!(issued.status, 200, "[{backend}] {}", issued.text());
        let revoked = std::mem::replace(
            &mut server.token,
            issued.body["access_token"].as_str().unwrap().to_owned(),
        );
        let refused = server
            .exchange(
                "GET",
                "/scim/v2/Users",
                &[("Authorization".into(), format!("Bearer {revoked}"))],
                None,
            )
            .await;
        assert_eq!(
            refused.status, 401,
            "[{backend}] the bearer token is revoked"
        );
        let failures = run_steps("entra", &server, None, &steps).await;
        assert!(
            failures.is_empty(),
            "[{backend}] {} step(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        eprintln!("[{backend}] entra over OAuth: {} steps passed", steps.len());
    }
}
