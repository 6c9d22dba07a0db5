//! OAuth 2.0 client credentials (SPEC §12) end to end, on SQLite and on PostgreSQL: clients made
//! with the CLI, access tokens from `POST /oauth/token` used on the SCIM routes like bearer
//! tokens, every refusal the RFC 6749 error for it (and nothing changed), rotation, revocation
//! that ends access tokens at once (on a second instance too), and RFC 7523 assertions.

use crate::common;

use crate::common::cli::Cli;
use crate::common::database_urls;
use crate::common::live::{LiveServer, Reply, exchange, http_request};
use crate::common::signing::TestKey;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use scimd_core::clock::{Clock, ManualClock, SystemClock};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

const FORM: &str = "application/x-www-form-urlencoded";

struct Client {
    id: String,
    secret: String,
}

fn create_client(cli: &Cli, name: &str, extra: &[&str]) -> Client {
    let args = [
        &["client", "create", "--name", name, "--format", "json"],
        extra,
    ]
    .concat();
    let stdout = cli.ok(&args);
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object and nothing else: {stdout}"
    );
    let created: Value = serde_json::from_str(&stdout).unwrap();
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "client_id",
            "client_secret",
            "scim_base_url",
            "secret_expires_at",
            "token_endpoint"
        ]
    );
    assert!(
        created["token_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/token")
    );
    assert!(
        created["scim_base_url"]
            .as_str()
            .unwrap()
            .ends_with("/scim/v2")
    );
    Client {
        id: created["client_id"].as_str().unwrap().to_owned(),
        secret: created["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn basic(id: &str, secret: &str) -> (String, String) {
    (
        "Authorization".into(),
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
    )
}

fn form() -> (String, String) {
    ("Content-Type".into(), FORM.into())
}

/// One request to the server at `address` (in this process or another).
async fn send(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Reply {
    exchange(
        address,
        http_request(method, target, headers, body).as_bytes(),
    )
    .await
}

async fn token_request(server: SocketAddr, headers: &[(String, String)], body: &str) -> Reply {
    let reply = send(server, "POST", "/oauth/token", headers, Some(body)).await;
    assert_eq!(
        reply.headers.get("cache-control").map(String::as_str),
        Some("no-store"),
        "every token response is no-store: {}",
        reply.text()
    );
    reply
}

/// A token request of `client` by HTTP Basic.
async fn ask_by_basic(server: SocketAddr, client: &Client) -> Reply {
    token_request(
        server,
        &[form(), basic(&client.id, &client.secret)],
        "grant_type=client_credentials",
    )
    .await
}

/// An access token for `client` by HTTP Basic.
async fn access_token(server: SocketAddr, client: &Client) -> String {
    let reply = ask_by_basic(server, client).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn scim_status(server: SocketAddr, token: &str, target: &str) -> u16 {
    let auth = ("Authorization".to_owned(), format!("Bearer {token}"));
    send(server, "GET", target, &[auth], None).await.status
}

#[tokio::test]
async fn client_credentials_give_access_tokens_every_scim_route_takes_like_bearer_tokens() {
    for (backend, url) in database_urls().await {
        let server = LiveServer::start(url).await;
        let cli = Cli::on(server.database_url.clone());
        let entra = create_client(&cli, "entra", &[]);

        let reply = token_request(
            server.address,
            &[form(), basic(&entra.id, &entra.secret)],
            "grant_type=client_credentials&scope=scim",
        )
        .await;
        assert_eq!(reply.status, 200, "[{backend}] {}", reply.text());
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(
            reply.body["expires_in"], 3600,
            "[{backend}] 60 minutes by default"
        );
        assert_eq!(reply.body["scope"], "scim");
        let by_basic = reply.body["access_token"].as_str().unwrap().to_owned();

        let posted = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            entra.id, entra.secret
        );
        let reply = token_request(server.address, &[form()], &posted).await;
        assert_eq!(reply.status, 200, "[{backend}] client_secret_post");
        let by_post = reply.body["access_token"].as_str().unwrap().to_owned();

        for token in [&by_basic, &by_post] {
            for base in ["/scim/v2", "/insync/scim"] {
                assert_eq!(
                    scim_status(server.address, token, &format!("{base}/Users")).await,
                    200
                );
            }
        }
        // The activity log names the client as the actor.
        let auth = ("Authorization".to_owned(), format!("Bearer {by_basic}"));
        let user = json!({"userName": "kim@example.com", "emails": [{"value": "kim@example.com"}]});
        let created = server
            .exchange(
                "POST",
                "/scim/v2/Users",
                &[
                    auth,
                    ("Content-Type".into(), "application/scim+json".into()),
                ],
                Some(&user.to_string()),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.text());
        let activity = cli.json(&["activity", "--format", "json"]);
        assert!(
            activity.as_array().unwrap().iter().any(|row| {
                row["user"] == "kim@example.com" && row["actor"].as_str().unwrap().contains("entra")
            }),
            "[{backend}] {activity}"
        );
        // Access tokens are not admins' tokens: not listed, not revoked by `token revoke`.
        assert!(!cli.ok(&["token", "list"]).contains("entra"), "[{backend}]");
        cli.fails(&["token", "revoke", "entra"]);
        assert_eq!(
            scim_status(server.address, &by_basic, "/scim/v2/Users").await,
            200
        );

        // A client of another tenant sees that tenant's users only.
        cli.ok(&["tenant", "create", "other"]);
        let other = create_client(&cli, "entra", &["--tenant", "other"]);
        let other_token = access_token(server.address, &other).await;
        let auth = ("Authorization".to_owned(), format!("Bearer {other_token}"));
        let listed = server
            .exchange("GET", "/scim/v2/Users", std::slice::from_ref(&auth), None)
            .await;
        assert_eq!(
            listed.body["totalResults"],
            0,
            "[{backend}] {}",
            listed.text()
        );
        let target = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
        assert_eq!(
            server.exchange("GET", &target, &[auth], None).await.status,
            404
        );

        let metadata = server
            .exchange("GET", "/.well-known/oauth-authorization-server", &[], None)
            .await;
        assert_eq!(metadata.status, 200);
        assert_eq!(
            metadata.body["token_endpoint"],
            "http://scim.test/oauth/token"
        );
        assert_eq!(
            metadata.body["grant_types_supported"],
            json!(["client_credentials"])
        );
        eprintln!("[{backend}] client credentials: tokens by Basic and by POST work");
    }
}

/// What is sent, and the status, `error` and whether a `WWW-Authenticate` challenge comes back.
type RefusalCase = (
    &'static str,
    Vec<(String, String)>,
    String,
    u16,
    &'static str,
    bool,
);

/// Each refusal of RFC 6749 §5.2: its status, error code and (for Basic) challenge; and the
/// client's secret is not marked used by any of them.
#[tokio::test]
async fn every_refused_token_request_gets_its_rfc_error_and_changes_nothing() {
    let server = LiveServer::start(String::new()).await;
    let cli = Cli::on(server.database_url.clone());
    let entra = create_client(&cli, "entra", &[]);
    let listed_before = cli.ok(&["client", "list", "--format", "json"]);
    let grant = "grant_type=client_credentials";
    let good = basic(&entra.id, &entra.secret);
    let cases: Vec<RefusalCase> = vec![
        (
            "wrong secret",
            vec![
                form(),
                basic(&entra.id, &format!("scimd_cs_{}", "0".repeat(64))),
            ],
            grant.into(),
            401,
            "invalid_client",
            true,
        ),
        (
            "another client's id",
            vec![form(), basic("scimd_0000", &entra.secret)],
            grant.into(),
            401,
            "invalid_client",
            true,
        ),
        (
            "unknown client",
            vec![form(), basic("nobody", "nothing")],
            grant.into(),
            401,
            "invalid_client",
            true,
        ),
        (
            "no credentials",
            vec![form()],
            grant.into(),
            401,
            "invalid_client",
            false,
        ),
        (
            "wrong secret posted",
            vec![form()],
            format!("{grant}&client_id={}&client_secret=x", entra.id),
            401,
            "invalid_client",
            false,
        ),
        (
            "wrong grant type",
            vec![form(), good.clone()],
            "grant_type=password".into(),
            400,
            "unsupported_grant_type",
            false,
        ),
        (
            "no grant type",
            vec![form(), good.clone()],
            String::new(),
            400,
            "invalid_request",
            false,
        ),
        (
            "repeated parameter",
            vec![form(), good.clone()],
            format!("{grant}&{grant}"),
            400,
            "invalid_request",
            false,
        ),
        (
            "unknown scope",
            vec![form(), good.clone()],
            format!("{grant}&scope=admin"),
            400,
            "invalid_scope",
            false,
        ),
        (
            "two methods",
            vec![form(), good.clone()],
            format!(
                "{grant}&client_id={}&client_secret={}",
                entra.id, entra.secret
            ),
            400,
            "invalid_request",
            false,
        ),
        (
            "a body over 64 KiB",
            vec![form(), good.clone()],
            format!("{grant}&padding={}", "x".repeat(70_000)),
            413,
            "invalid_request",
            false,
        ),
        (
            "no content type",
            vec![good.clone()],
            grant.into(),
            400,
            "invalid_request",
            false,
        ),
        (
            "JSON body",
            vec![
                ("Content-Type".into(), "application/json".into()),
                good.clone(),
            ],
            json!({"grant_type": "client_credentials"}).to_string(),
            400,
            "invalid_request",
            false,
        ),
    ];
    for (what, headers, body, status, error, challenge) in cases {
        let reply = token_request(server.address, &headers, &body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert_eq!(reply.body["error"], error, "{what}");
        assert!(reply.body["error_description"].is_string(), "{what}");
        assert_eq!(
            reply.headers.contains_key("www-authenticate"),
            challenge,
            "{what}"
        );
        assert!(!reply.text().contains(&entra.secret), "{what}");
    }
    let get = server.exchange("GET", "/oauth/token", &[good], None).await;
    assert_eq!(
        (get.status, get.body["error"].as_str()),
        (405, Some("invalid_request"))
    );
    assert_eq!(get.headers.get("allow").map(String::as_str), Some("POST"));
    assert_eq!(
        cli.ok(&["client", "list", "--format", "json"]),
        listed_before,
        "no refusal marked the secret used"
    );
}

#[tokio::test]
async fn failed_client_authentications_spend_the_address_budget() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.failed_auth_per_address = std::num::NonZeroU32::new(5);
    })
    .await;
    let cli = Cli::on(server.database_url.clone());
    let entra = create_client(&cli, "entra", &[]);
    // Twenty wrong secrets at once: five are looked at, the rest refused unread.
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (address, headers) = (server.address, vec![form(), basic(&entra.id, "wrong")]);
        tries.spawn(async move {
            token_request(address, &headers, "grant_type=client_credentials")
                .await
                .status
        });
    }
    let statuses = tries.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    // The right secret from the same address waits too: the budget is the address's.
    let reply = ask_by_basic(server.address, &entra).await;
    assert_eq!(reply.status, 429);
    assert!(reply.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn rotation_keeps_two_live_secrets_and_revocation_ends_access_tokens_at_once() {
    for (backend, url) in database_urls().await {
        // A minute ahead of the CLI's clock, so that what the CLI revokes "now" is past here.
        let clock = ManualClock::at_millis(SystemClock.now().as_millis() + 60_000);
        let server = {
            let clock = clock.clone();
            LiveServer::start_with(url, move |config| config.clock = Arc::new(clock)).await
        };
        let cli = Cli::on(server.database_url.clone());
        let entra = create_client(&cli, "entra", &["--secret-expires-in-days", "365"]);
        let first_token = access_token(server.address, &entra).await;

        let added: Value = serde_json::from_str(&cli.ok(&[
            "client",
            "add-secret",
            "entra",
            "--format",
            "json",
            "--secret-expires-in-days",
            "365",
        ]))
        .unwrap();
        let second = Client {
            id: entra.id.clone(),
            secret: added["client_secret"].as_str().unwrap().to_owned(),
        };
        assert_eq!(added["client_id"], entra.id.as_str());
        let second_token = access_token(server.address, &second).await;
        let third = cli.fails(&["client", "add-secret", "entra"]);
        assert!(third.contains("2 live secrets"), "[{backend}] {third}");

        // Revoking the first secret ends its access token on the next request.
        let listed = cli.json(&["client", "list", "--format", "json"]);
        let first_id = listed[0]["secret"].as_str().unwrap().to_owned();
        cli.ok(&["client", "revoke-secret", "entra", &first_id]);
        assert_eq!(
            scim_status(server.address, &first_token, "/scim/v2/Users").await,
            401,
            "[{backend}]"
        );
        assert_eq!(
            scim_status(server.address, &second_token, "/scim/v2/Users").await,
            200,
            "[{backend}]"
        );
        let refused = ask_by_basic(server.address, &entra).await;
        assert_eq!(
            refused.body["error"], "invalid_client",
            "[{backend}] a revoked secret"
        );

        // Access tokens end after their 60 minutes; secrets after their days.
        clock.advance_millis(61 * 60_000);
        assert_eq!(
            scim_status(server.address, &second_token, "/scim/v2/Users").await,
            401,
            "[{backend}]"
        );
        // An access token never outlives its secret: 28 minutes before the secret ends, the
        // token is given for those minutes only.
        clock.advance_millis(365 * 86_400_000 - 90 * 60_000);
        let last = ask_by_basic(server.address, &second).await;
        let expires_in = last.body["expires_in"].as_i64().unwrap();
        assert!((0..1800).contains(&expires_in), "[{backend}] {expires_in}");
        let fresh = last.body["access_token"].as_str().unwrap();
        clock.advance_millis(3_600_000);
        assert_eq!(
            scim_status(server.address, fresh, "/scim/v2/Users").await,
            401,
            "[{backend}]"
        );
        let expired = ask_by_basic(server.address, &second).await;
        assert_eq!(
            expired.body["error"],
            "invalid_client",
            "[{backend}] an expired secret: {}",
            expired.text()
        );
    }
}

/// Revoking a client ends its access tokens at once, also on another instance sharing the
/// database (PostgreSQL): the token is looked up on every request, not cached.
#[tokio::test]
async fn a_revoked_client_loses_its_access_tokens_on_every_instance() {
    for (backend, url) in database_urls().await {
        let first = LiveServer::start(url).await;
        let second = if backend == "postgres" {
            Some(LiveServer::start(first.database_url.clone()).await)
        } else {
            None
        };
        let cli = Cli::on(first.database_url.clone());
        let entra = create_client(&cli, "entra", &[]);
        let token = access_token(first.address, &entra).await;
        let instances: Vec<&LiveServer> = std::iter::once(&first).chain(second.as_ref()).collect();
        for server in &instances {
            assert_eq!(
                scim_status(server.address, &token, "/scim/v2/Users").await,
                200,
                "[{backend}]"
            );
        }
        cli.ok(&["client", "revoke", "entra"]);
        for server in &instances {
            assert_eq!(
                scim_status(server.address, &token, "/scim/v2/Users").await,
                401,
                "[{backend}]"
            );
            let refused = ask_by_basic(server.address, &entra).await;
            assert_eq!(refused.status, 401, "[{backend}]");
        }
        let listed = cli.json(&["client", "list", "--format", "json"]);
        assert_eq!(listed[0]["status"], "revoked", "[{backend}] {listed}");
        // Its name is free for a new client.
        create_client(&cli, "entra", &[]);
        eprintln!("[{backend}] revoked on {} instance(s)", instances.len());
    }
}

const ISSUER: &str = "https://login.example.com/tenant-1/v2.0";
const SUBJECT: &str = "app-entra-provisioning";
const AUDIENCE: &str = "api://scimd";

fn claims(now: i64, jti: &str) -> Value {
    json!({"iss": ISSUER, "sub": SUBJECT, "aud": AUDIENCE, "iat": now, "nbf": now,
           "exp": now + 600, "jti": jti})
}

async fn exchange_assertion(server: SocketAddr, jwt: &str) -> Reply {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={jwt}",
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    );
    token_request(server, &[form()], &body).await
}

/// A JWKS document served on loopback, as an issuer's JWKS URL is; how many times it was asked.
async fn serve_jwks(document: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{document}",
                document.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (url, asked)
}

// Two workers: the JWKS server answers `client trust` (another process) while the test waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assertions_of_a_trusted_issuer_are_exchanged_once_and_forgeries_never() {
    for (backend, url) in database_urls().await {
        let server =
            LiveServer::start_with(url, |config| config.webhook_allow_private = true).await;
        let cli = Cli::on(server.database_url.clone());
        let key = TestKey::ec();
        create_client(&cli, "entra", &[]);
        let jwks = cli.file("jwks.json", &key.jwks("k1"));
        cli.ok(&[
            "client",
            "trust",
            "entra",
            "--issuer",
            ISSUER,
            "--subject",
            SUBJECT,
            "--audience",
            AUDIENCE,
            "--jwks-file",
            &jwks,
        ]);
        let now = SystemClock.now().as_millis() / 1000;

        let jwt = key.sign("ES256", "k1", &claims(now, "first"));
        let reply = exchange_assertion(server.address, &jwt).await;
        assert_eq!(reply.status, 200, "[{backend}] {}", reply.text());
        let token = reply.body["access_token"].as_str().unwrap();
        assert_eq!(
            scim_status(server.address, token, "/scim/v2/Users").await,
            200
        );

        let other = TestKey::ec();
        let mut expired = claims(now - 3_600, "old");
        expired["exp"] = json!(now - 120);
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims(now, "none").to_string())
        );
        let mut stranger = claims(now, "stranger");
        stranger["sub"] = json!("someone-else");
        let refused = [
            ("replayed", jwt.clone()),
            ("expired", key.sign("ES256", "k1", &expired)),
            (
                "another key",
                other.sign("ES256", "k1", &claims(now, "other")),
            ),
            ("alg none", unsigned),
            ("another subject", key.sign("ES256", "k1", &stranger)),
            ("not a JWT", "not.a.jwt".to_owned()),
        ];
        for (what, jwt) in refused {
            let reply = exchange_assertion(server.address, &jwt).await;
            assert_eq!(
                (reply.status, reply.body["error"].as_str()),
                (401, Some("invalid_client")),
                "[{backend}] {what}: {}",
                reply.text()
            );
        }

        // RS256 keys from a JWKS URL, fetched once and cached.
        let rsa = TestKey::rsa();
        let (jwks_url, asked) = serve_jwks(rsa.jwks("r1")).await;
        cli.command()
            .env("SCIMD_WEBHOOK_ALLOW_PRIVATE", "true")
            .args([
                "client",
                "trust",
                "entra",
                "--issuer",
                ISSUER,
                "--subject",
                SUBJECT,
                "--audience",
                AUDIENCE,
                "--jwks-url",
                &jwks_url,
            ])
            .status()
            .unwrap()
            .success()
            .then_some(())
            .expect("trust with a JWKS URL");
        for n in 0..3 {
            let jwt = rsa.sign("RS256", "r1", &claims(now, &format!("rsa-{n}")));
            let reply = exchange_assertion(server.address, &jwt).await;
            assert_eq!(reply.status, 200, "[{backend}] {}", reply.text());
        }
        let fetched = asked.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            fetched, 2,
            "[{backend}] once by `client trust`, once by the server"
        );
        // Without the private-address allowance, a loopback JWKS URL is refused.
        let refused = cli.fails(&[
            "client",
            "trust",
            "entra",
            "--issuer",
            ISSUER,
            "--subject",
            SUBJECT,
            "--audience",
            AUDIENCE,
            "--jwks-url",
            &jwks_url,
        ]);
        assert!(
            refused.contains("public addresses only"),
            "[{backend}] {refused}"
        );
    }
}

/// Secrets, access tokens and assertions never reach the server's log, whatever happens.
#[tokio::test]
async fn no_secret_or_token_reaches_the_log() {
    use std::io::{BufRead, BufReader};
    let cli = Cli::new();
    let entra = create_client(&cli, "entra", &[]);
    let mut child = cli
        .command()
        .env("SCIMD_LOG", "debug")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allowed-host",
            "scim.test",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = common::listening_port(&mut lines);
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let server = SocketAddr::from(([127, 0, 0, 1], port));

    let token = access_token(server, &entra).await;
    assert_eq!(scim_status(server, &token, "/scim/v2/Users").await, 200);
    let posted = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        entra.id, entra.secret
    );
    token_request(server, &[form()], &posted).await;
    token_request(
        server,
        &[form(), basic(&entra.id, "wrong-secret")],
        "grant_type=x",
    )
    .await;
    let jwt = TestKey::ec().sign("ES256", "k", &claims(1, "logged"));
    exchange_assertion(server, &jwt).await;

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let log = log.join().unwrap().join("\n");
    assert!(
        log.contains("/oauth/token"),
        "the requests were logged: {log}"
    );
    for secret in [&entra.secret, &token, &jwt, &"wrong-secret".to_owned()] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret in the log:\n{log}"
        );
    }
}
