//! Attacks a hostile client can try on a real socket, each reproduced with real concurrent
//! requests: racing the failed-authentication budget and the account lockout, and bursts of
//! sign-ins that would hold the server's threads with password hashing, invented methods that
//! would grow the metrics, and values with characters that act on terminals and readers.

use crate::common;

use crate::common::live::{LiveServer, Reply, exchange, http_request};
use crate::common::{TestApp, assert_scim_error, database_urls};
use axum::http::{Method, StatusCode};
use scimd::open_provisioner;
use scimd_core::access::Grant;
use scimd_core::admin::Role;
use serde_json::json;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Instant;

const PASSWORD: &str = "a long enough passphrase";
const BUDGET: u32 = 20;

/// `count` copies of one request, all sent at once on their own connections.
async fn burst(server: &LiveServer, count: usize, request: String) -> Vec<Reply> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (address, request) = (server.address, request.clone());
            tokio::spawn(async move { exchange(address, request.as_bytes()).await })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

fn sign_in_request(email: &str, password: &str) -> String {
    let form = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    http_request(
        "POST",
        "/admin/sign-in",
        &[(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        Some(&form),
    )
}

/// How many attempts the budget allows in a burst that took `since` until now: the budget,
/// and what refilled meanwhile (one every 60/BUDGET s), so a slow machine cannot fail this.
fn allowed_since(since: Instant) -> usize {
    let refilled = since.elapsed().as_secs_f64() * f64::from(BUDGET) / 60.0;
    BUDGET as usize + refilled.ceil() as usize
}

async fn server_with_admin(adjust: impl FnOnce(&mut scimd::ServeConfig)) -> LiveServer {
    let server = LiveServer::start_with(String::new(), adjust).await;
    common::add_admin(
        &server.database_url,
        "ann@example.com",
        Role::Admin,
        PASSWORD,
    )
    .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_wrong_sign_ins_are_checked_only_up_to_the_address_budget_and_lock_the_account()
 {
    let server = server_with_admin(|config| {
        config.limits.failed_auth_per_address = NonZeroU32::new(BUDGET);
        config.limits.concurrent_password_checks = NonZeroUsize::new(64).unwrap();
    })
    .await;
    let started = Instant::now();
    let mut requests = vec![sign_in_request("ann@example.com", "wrong password!"); 49];
    requests.insert(24, sign_in_request("ann@example.com", PASSWORD));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let address = server.address;
            tokio::spawn(async move { exchange(address, request.as_bytes()).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    let checked = statuses.iter().filter(|status| **status != 429).count();
    assert!(
        checked <= allowed_since(started),
        "{checked} of 50 were checked: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| [303, 401, 429].contains(status))
    );
    // At least BUDGET - 1 wrong passwords were checked: the account is locked, right password
    // or not (asked through the provisioner: this address has spent its budget).
    let provisioner = open_provisioner(&server.database_url, Default::default())
        .await
        .unwrap();
    assert!(
        matches!(
            provisioner.sign_in("ann@example.com", PASSWORD).await,
            Err(scimd_core::error::Error::Unauthorized)
        ),
        "the account is locked after the burst: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_wrong_tokens_and_api_keys_are_checked_only_up_to_the_address_budget() {
    for (what, request) in [
        (
            "SCIM bearer token",
            http_request(
                "GET",
                "/scim/v2/Users",
                &[("Authorization".into(), "Bearer not-a-token".into())],
                None,
            ),
        ),
        (
            "admin API key",
            http_request(
                "GET",
                "/admin/api/v1/users",
                &[("Authorization".into(), "Bearer scimd_k_guess".into())],
                None,
            ),
        ),
    ] {
        let server = LiveServer::start_with(String::new(), |config| {
            config.limits.failed_auth_per_address = NonZeroU32::new(BUDGET);
        })
        .await;
        let started = Instant::now();
        let replies = burst(&server, 150, request).await;
        let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
        let checked = statuses.iter().filter(|status| **status == 401).count();
        assert!(
            checked <= allowed_since(started),
            "{what}: {checked} of 150 were checked"
        );
        assert!(
            statuses.iter().all(|status| [401, 429].contains(status)),
            "{what}: {statuses:?}"
        );
        assert!(
            replies
                .iter()
                .filter(|reply| reply.status == 429)
                .all(|reply| reply.headers.contains_key("retry-after"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_past_the_password_checks_allowed_at_once_are_refused_at_once() {
    let server = server_with_admin(|config| {
        config.limits.failed_auth_per_address = None;
        config.limits.concurrent_password_checks = NonZeroUsize::MIN;
    })
    .await;
    let replies = burst(&server, 40, sign_in_request("nobody@example.com", PASSWORD)).await;
    let refused: Vec<&Reply> = replies.iter().filter(|reply| reply.status == 429).collect();
    assert!(
        replies
            .iter()
            .all(|reply| [401, 429].contains(&reply.status)),
        "{:?}",
        replies.iter().map(|reply| reply.status).collect::<Vec<_>>()
    );
    assert!(!refused.is_empty(), "forty at once, one check at a time");
    assert!(
        refused
            .iter()
            .all(|reply| reply.headers["retry-after"] == "1"
                && reply.text().contains("Too many sign-ins at once"))
    );
    // Once the burst is over, sign-ins are checked again.
    let reply = server
        .exchange(
            "POST",
            "/admin/sign-in",
            &[(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            Some("email=ann%40example.com&password=a+long+enough+passphrase"),
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let server = LiveServer::start(String::new()).await;
    for n in 0..100 {
        let method = format!("INVENTED{n}{}", "X".repeat(2000));
        let reply = server.exchange(&method, "/scim/v2/Users", &[], None).await;
        assert!(reply.status < 500, "{}", reply.status);
    }
    let metrics = server.exchange("GET", "/metrics", &[], None).await.text();
    assert!(
        !metrics.contains("INVENTED"),
        "a client's method is a label"
    );
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    assert!(metrics.len() < 64 * 1024, "{} bytes", metrics.len());
}

/// Control characters (NUL, ESC: terminal escapes in the CLI's listings) are refused in every
/// value but a mailing address's lines, and invisible bidi / zero-width characters in a
/// userName (one account passing for another); a refused write changes nothing.
#[tokio::test]
async fn control_and_invisible_characters_are_refused_with_invalid_value() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let user = app.create("ann@example.com").await;
        let path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
        for body in [
            json!({"userName": "nul\u{0}@example.com"}),
            json!({"userName": "esc\u{1b}]0;x\u{7}@example.com"}),
            json!({"userName": "ceo\u{202e}moc.elpmaxe@example.com"}),
            json!({"userName": "c\u{200b}eo@example.com"}),
            json!({"userName": "bob@example.com", "displayName": "Bob\u{1b}[2J"}),
            json!({"userName": "bob@example.com", "displayName": "Bob\u{0}"}),
            json!({"userName": "bob@example.com", "name": {"givenName": "B\rob"}}),
            json!({"userName": "bob@example.com", "emails": [{"value": "bob\u{0}@example.com"}]}),
        ] {
            let reply = app
                .call(Method::POST, "/scim/v2/Users", Some(body.clone()))
                .await;
            assert_scim_error(&reply, 400, Some("invalidValue"));
            assert!(
                reply.body["detail"].as_str().unwrap().contains("U+"),
                "{backend}: {body}: {}",
                reply.body
            );
        }
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ann\u{1b}[31m"}]
        });
        let reply = app.call(Method::PATCH, &path, Some(patch)).await;
        assert_scim_error(&reply, 400, Some("invalidValue"));
        let put = json!({"userName": "ann\u{0}@example.com"});
        let reply = app.call(Method::PUT, &path, Some(put)).await;
        assert_scim_error(&reply, 400, Some("invalidValue"));
        let now = app.call(Method::GET, &path, None).await;
        assert_eq!(now.body["userName"], "ann@example.com", "{backend}");
        assert_eq!(
            now.body["meta"]["version"], user["meta"]["version"],
            "{backend}"
        );
        let listed = app.call(Method::GET, "/scim/v2/Users", None).await;
        assert_eq!(listed.body["totalResults"], 1, "{backend}: nothing created");
        // A mailing address is made of lines.
        let address = json!({"userName": "cy@example.com", "addresses": [{
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608\tUSA"
        }]});
        let reply = app
            .call(Method::POST, "/scim/v2/Users", Some(address))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{backend}: {}",
            reply.body
        );
    }
}

/// Issue: the activity log took the first `userName` key and the handler the last, so a failed
/// request could be filed under someone else. A key repeated in one object (in any case) is now
/// refused, and the one parse the handler acts on is the one the log reads.
#[tokio::test]
async fn a_body_repeating_a_key_is_refused_and_filed_under_no_one_else() {
    let app = TestApp::new().await;
    for body in [
        r#"{"userName":"ceo@example.com","userName":"not an email"}"#,
        r#"{"userName":"ceo@example.com","USERNAME":"not an email"}"#,
        r#"{"userName":"me@example.com","name":{"givenName":"A","givenname":"B"}}"#,
    ] {
        let request = app
            .request(Method::POST, "/scim/v2/Users")
            .header("content-type", "application/scim+json")
            .body(axum::body::Body::from(body))
            .unwrap();
        let reply = app.send(request).await;
        assert_scim_error(&reply, 400, Some("invalidSyntax"));
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("appears more than once"),
            "{}",
            reply.body
        );
    }
    let provisioner = open_provisioner(&app.config.database_url, Default::default())
        .await
        .unwrap();
    let tenant = provisioner.tenant("default").await.unwrap();
    let query = scimd_core::activity::EventQuery {
        user_name: Some("ceo@example.com".into()),
        limit: 100,
        ..Default::default()
    };
    let filed = provisioner
        .activity(
            &Grant::command_line(tenant.clone(), common::admin_origin()),
            &query,
        )
        .await
        .unwrap();
    assert!(filed.is_empty(), "filed under the CEO: {filed:?}");
    let listed = app.call(Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(listed.body["totalResults"], 0);
}

/// DNS rebinding: a page whose name resolves to this server sends its own name as `Host`.
/// Those requests get 421 before anything runs (the sign-in form and /metrics included).
#[tokio::test]
async fn requests_for_a_host_the_server_does_not_answer_for_get_421() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.public_url = Some("https://scim.example.com".into());
        config.allowed_hosts.push("idp-facing.example.com".into());
    })
    .await;
    let with_host = |host: &str, target: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    for target in ["/metrics", "/admin/sign-in", "/scim/v2/Users", "/healthz"] {
        let reply = exchange(
            server.address,
            with_host("rebound.attacker.example:8080", target).as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 421, "{target}: {}", reply.text());
        assert_scim_error_body(&reply);
    }
    for host in [
        "localhost:8080".to_owned(),
        server.address.to_string(),
        "scim.example.com".into(),
        "IDP-FACING.example.com".into(),
    ] {
        let reply = exchange(server.address, with_host(&host, "/healthz").as_bytes()).await;
        assert_eq!(reply.status, 200, "{host}: {}", reply.text());
    }
}

fn assert_scim_error_body(reply: &Reply) {
    assert_eq!(reply.body["status"], "421", "{}", reply.text());
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("--allowed-host rebound.attacker.example"),
        "{}",
        reply.text()
    );
}

/// Issue: a failed call stored its whole userName and error (a megabyte each), so a few of them
/// made the console's Activity page and the CSV export hundreds of megabytes. What one event
/// stores is capped and marked as cut.
#[tokio::test]
async fn a_failed_call_with_a_huge_value_is_logged_cut_to_a_few_kilobytes() {
    use scimd_core::activity::MAX_EVENT_TEXT;
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let huge = format!("{}@example", "x".repeat(900 * 1024));
        let reply = app
            .call(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": huge})),
            )
            .await;
        assert_scim_error(&reply, 400, Some("invalidValue"));
        let provisioner = open_provisioner(&app.config.database_url, Default::default())
            .await
            .unwrap();
        let tenant = provisioner.tenant("default").await.unwrap();
        let query = scimd_core::activity::EventQuery {
            outcome: Some(scimd_core::activity::Outcome::Failure),
            limit: 10,
            ..Default::default()
        };
        let events = provisioner
            .activity(
                &Grant::command_line(tenant.clone(), common::admin_origin()),
                &query,
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{backend}");
        let event = &events[0];
        for text in [
            event.target_user_name.as_deref().unwrap(),
            event.detail.as_deref().unwrap(),
            event.response.as_deref().unwrap(),
        ] {
            assert!(
                text.len() <= MAX_EVENT_TEXT + 64,
                "{backend}: {}",
                text.len()
            );
            assert!(text.contains("[cut: "), "{backend}");
        }
    }
}

/// Issue: a cursor was a plain row number shared by all tenants, so one tenant could watch
/// the others grow. Cursors are now sealed: opaque, and refused for any other tenant or query.
#[tokio::test]
async fn cursors_are_opaque_and_open_only_for_the_tenant_they_were_issued_to() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        for n in 0..3 {
            app.create(&format!("u{n}@example.com")).await;
        }
        let first = app
            .call(Method::GET, "/scim/v2/Users?cursor=&count=1", None)
            .await;
        let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
        let next = app
            .call(
                Method::GET,
                &format!("/scim/v2/Users?cursor={cursor}&count=1"),
                None,
            )
            .await;
        assert_eq!(next.status, StatusCode::OK, "{backend}: {}", next.body);
        assert_eq!(next.body["Resources"][0]["userName"], "u1@example.com");
        let request = axum::http::Request::builder()
            .uri(format!("/scim/v2/Users?cursor={cursor}&count=1"))
            .header("host", "scim.test")
            .header(
                "authorization",
                format!("Bearer {}", app.other_tenant_token),
            )
            .body(axum::body::Body::empty())
            .unwrap();
        let elsewhere = app.send(request).await;
        assert_scim_error(&elsewhere, 400, Some("invalidCursor"));
        let mut tampered = cursor.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        let reply = app
            .call(
                Method::GET,
                &format!("/scim/v2/Users?cursor={tampered}&count=1"),
                None,
            )
            .await;
        assert_scim_error(&reply, 400, Some("invalidCursor"));
    }
}

/// A PATCH of many operations runs off the async workers (on the blocking pool, a few at a
/// time) with the same outcome as a small one: applied in order, all or nothing. (On a
/// current-thread runtime, the harder case for running a future from the blocking pool.)
#[tokio::test]
async fn a_patch_of_many_operations_is_applied_in_order_or_not_at_all() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let user = app.create("many@example.com").await;
        let path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
        let mut operations: Vec<serde_json::Value> = (0..40)
            .map(|n| json!({"op": "replace", "path": "displayName", "value": format!("v{n}")}))
            .collect();
        operations.extend((0..20).map(|n| {
            json!({"op": "add", "path": "emails", "value": [{"value": format!("e{n}@example.com")}]})
        }));
        let patch = |operations: &[serde_json::Value]| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": operations})
        };
        let reply = app
            .call(Method::PATCH, &path, Some(patch(&operations)))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{backend}: {}", reply.body);
        assert_eq!(reply.body["displayName"], "v39", "{backend}");
        assert_eq!(
            reply.body["emails"].as_array().unwrap().len(),
            21,
            "{backend}"
        );
        // One bad operation at the end: nothing of the forty before it is applied.
        operations.push(json!({"op": "replace", "path": "name[[", "value": "x"}));
        let reply = app
            .call(Method::PATCH, &path, Some(patch(&operations[..])))
            .await;
        assert_scim_error(&reply, 400, Some("invalidPath"));
        let now = app.call(Method::GET, &path, None).await;
        assert_eq!(now.body["displayName"], "v39", "{backend}");
        assert_eq!(
            now.body["meta"]["version"], "W/\"2\"",
            "{backend}: one change only"
        );
    }
}
