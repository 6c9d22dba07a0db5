//! Two scimd instances on one database, as behind a load balancer: racing creates of one
//! email make exactly one account, concurrent PATCHes lose no update (and with `If-Match`
//! exactly one wins, the others get 412), a revoked token is refused by both at once, and a
//! console session opened on one is open on the other until signed out on either.
//! On PostgreSQL (when `SCIMD_TEST_POSTGRES_URL` is set) and on one SQLite file.

use crate::common::live::{LiveServer, Reply, exchange, http_request};
use crate::common::{add_admin, admin_origin, database_urls};
use scimd::open_provisioner;
use scimd_core::access::Grant;
use scimd_store::Durability;
use serde_json::json;

const RACERS: usize = 16;

fn json_headers(server: &LiveServer, token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/scim+json".into()),
        ("User-Agent".into(), format!("racer-{}", server.address)),
    ]
}

/// The same request on both instances, `RACERS` times at once, alternating.
async fn race(
    servers: &[&LiveServer; 2],
    token: &str,
    method: &str,
    target: &str,
    bodies: impl Fn(usize) -> String,
    extra: Vec<(String, String)>,
) -> Vec<Reply> {
    let handles: Vec<_> = (0..RACERS)
        .map(|n| {
            let server = servers[n % 2];
            let mut headers = json_headers(server, token);
            headers.extend(extra.iter().cloned());
            let request = http_request(method, target, &headers, Some(&bodies(n)));
            let address = server.address;
            tokio::spawn(async move { exchange(address, request.as_bytes()).await })
        })
        .collect();
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}

async fn two_instances_on(database_url: String) {
    let first = LiveServer::start(database_url.clone()).await;
    let second = LiveServer::start(database_url.clone()).await;
    let servers = [&first, &second];
    // The second start replaced the token named "idp": the newest one is valid on both.
    let token = second.token.clone();

    // Racing creates of one email: exactly one account.
    let replies = race(
        &servers,
        &token,
        "POST",
        "/scim/v2/Users",
        |n| {
            json!({"userName": "race@example.com", "displayName": format!("racer {n}")}).to_string()
        },
        vec![],
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    for reply in replies.iter().filter(|reply| reply.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.text());
        assert_eq!(reply.body["scimType"], "uniqueness", "{}", reply.text());
    }
    let id = replies
        .iter()
        .find(|reply| reply.status == 201)
        .unwrap()
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = second
        .exchange(
            "GET",
            "/scim/v2/Users?filter=userName%20eq%20%22race%40example.com%22",
            &json_headers(&second, &token),
            None,
        )
        .await;
    assert_eq!(listed.body["totalResults"], 1, "{}", listed.text());

    // Concurrent PATCHes without If-Match: each adds its own phone number; none is lost. A
    // 409 ("kept changing concurrently; retry") is allowed and retried, as a client would.
    let target = format!("/scim/v2/Users/{id}");
    let patch = |n: usize| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "add", "path": "phoneNumbers",
                               "value": [{"value": format!("+1-555-01{n:02}"), "type": "work"}]}]})
        .to_string()
    };
    let replies = race(&servers, &token, "PATCH", &target, patch, vec![]).await;
    for (n, reply) in replies.iter().enumerate() {
        let mut reply_status = reply.status;
        let mut attempts = 0;
        while reply_status == 409 && attempts < 20 {
            attempts += 1;
            let server = servers[n % 2];
            reply_status = server
                .exchange(
                    "PATCH",
                    &target,
                    &json_headers(server, &token),
                    Some(&patch(n)),
                )
                .await
                .status;
        }
        assert_eq!(reply_status, 200, "PATCH {n}: {}", reply.text());
    }
    let user = first
        .exchange("GET", &target, &json_headers(&first, &token), None)
        .await;
    let phones: Vec<&str> = user.body["phoneNumbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phone| phone["value"].as_str().unwrap())
        .collect();
    for n in 0..RACERS {
        assert!(
            phones.contains(&format!("+1-555-01{n:02}").as_str()),
            "PATCH {n} was lost: {phones:?}"
        );
    }

    // With If-Match on the same version: exactly one wins, the others get 412.
    let etag = user.headers["etag"].clone();
    let replies = race(
        &servers,
        &token,
        "PATCH",
        &target,
        |n| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "displayName", "value": format!("winner {n}")}]})
            .to_string()
        },
        vec![("If-Match".into(), etag)],
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 412).count(),
        RACERS - 1,
        "{statuses:?}"
    );
    let winner = replies.iter().find(|reply| reply.status == 200).unwrap();
    let stored = second
        .exchange("GET", &target, &json_headers(&second, &token), None)
        .await;
    assert_eq!(stored.body["displayName"], winner.body["displayName"]);

    // A token revoked (here through the CLI's provisioner) is refused by both at once.
    let provisioner = open_provisioner(&database_url, Durability::default())
        .await
        .unwrap();
    let tenant = provisioner.tenant("default").await.unwrap();
    provisioner
        .revoke_token(&Grant::command_line(tenant.clone(), admin_origin()), "idp")
        .await
        .unwrap();
    for server in servers {
        let reply = server
            .exchange("GET", &target, &json_headers(server, &token), None)
            .await;
        assert_eq!(reply.status, 401, "{}", reply.text());
    }
}

/// One database per backend for two instances to share: a SQLite file in `dir` (an empty URL
/// would give each instance its own), and a fresh PostgreSQL database.
async fn shared_databases(dir: &tempfile::TempDir) -> Vec<(&'static str, String)> {
    let mut urls = database_urls().await;
    urls[0].1 = format!("sqlite://{}", dir.path().join("shared.db").display());
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_agree() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in shared_databases(&dir).await {
        eprintln!("{backend}");
        two_instances_on(url).await;
    }
}

/// The console's session cookie, from a sign-in on `server`.
async fn console_sign_in(server: &LiveServer) -> String {
    let reply = server
        .exchange(
            "POST",
            "/admin/sign-in",
            &[
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Origin".into(), "http://scim.test".into()),
            ],
            Some("email=ann%40example.com&password=a+long+enough+passphrase"),
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    reply.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn console_page(server: &LiveServer, cookie: &str) -> Reply {
    server
        .exchange("GET", "/admin", &[("Cookie".into(), cookie.into())], None)
        .await
}

/// README: behind a load balancer, an admin signed in through one instance is signed in on
/// every instance, and signing out on one ends the session everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_console_session_is_shared_by_instances_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in shared_databases(&dir).await {
        let first = LiveServer::start(url.clone()).await;
        let second = LiveServer::start(url).await;
        add_admin(
            &first.database_url,
            "ann@example.com",
            scimd_core::admin::Role::Admin,
            "a long enough passphrase",
        )
        .await;
        let cookie = console_sign_in(&first).await;
        let page = console_page(&second, &cookie).await;
        assert_eq!(page.status, 200, "{backend}: {}", page.text());
        let html = page.text();
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        let csrf = &html[at..at + 64];
        let out = second
            .exchange(
                "POST",
                "/admin/sign-out",
                &[
                    ("Cookie".into(), cookie.clone()),
                    (
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ),
                    ("Origin".into(), "http://scim.test".into()),
                ],
                Some(&format!("csrf={csrf}")),
            )
            .await;
        assert_eq!(out.status, 303, "{backend}: {}", out.text());
        for server in [&first, &second] {
            let page = console_page(server, &cookie).await;
            assert_eq!(
                (
                    page.status,
                    page.headers.get("location").map(String::as_str)
                ),
                (303, Some("/admin/sign-in")),
                "{backend}: signed out everywhere"
            );
        }
    }
}
