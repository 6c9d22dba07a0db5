//! The real server on a loopback socket through `run(config, listener, shutdown)`: serving,
//! graceful shutdown, and the abuse limits a public endpoint needs (slow and oversized
//! headers, slow bodies, connection caps, per-token rates, failed-authentication throttling,
//! request deadlines).

use crate::common;

use crate::common::live::LiveServer;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 exchange over a fresh connection; returns the status line and body.
async fn exchange(address: SocketAddr, request: &str) -> (String, String) {
    let reply = common::live::exchange(address, request.as_bytes()).await;
    (reply.status_line.clone(), reply.text())
}

#[tokio::test]
async fn serves_on_a_socket_and_shuts_down_gracefully() {
    let server = LiveServer::start(String::new()).await;
    let (address, token) = (server.address, server.token.clone());

    let body = r#"{"userName":"socket@example.com"}"#;
    let create = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, created) = exchange(address, &create).await;
    assert_eq!(status, "HTTP/1.1 201 Created", "{created}");
    let list = format!(
        "GET /scim/v2/Users?filter=userName%20eq%20%22socket%40example.com%22 HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let (status, listed) = exchange(address, &list).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(listed.contains("\"totalResults\":1"), "{listed}");

    // Entra's validator sends raw quotes and '+' for spaces; both arrive as a filter.
    let raw_quotes = format!(
        "GET /scim/v2/Users?filter=userName+eq+\"SOCKET@example.com\"&aadOptscim062020 HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let (status, listed) = exchange(address, &raw_quotes).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{listed}");
    assert!(listed.contains("\"totalResults\":1"), "{listed}");

    // On one keep-alive connection: a body with quotes in it, then a raw-quote request line.
    let body = r#"{"userName":"keep.alive@example.com","displayName":"say \"hi\""}"#;
    let pipelined = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}\
         GET /scim/v2/Users?filter=displayName eq \"say \\\"hi\\\"\" HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(pipelined.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201 Created"), "{response}");
    let (_, listing) = response
        .split_once("HTTP/1.1 200 OK")
        .expect("the GET was answered");
    assert!(listing.contains("\"totalResults\":1"), "{response}");
    assert!(
        response.contains("keep.alive@example.com\",\"displayName\":\"say \\\"hi\\\"\""),
        "{response}"
    );

    server.stop().await.unwrap();
    assert!(
        TcpStream::connect(address).await.is_err(),
        "the listener is closed"
    );
}

/// Reads until the server closes the connection: what it sent, and how long that took.
/// `limit` only keeps a broken server from hanging the suite.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut sent = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut sent))
        .await
        .expect("the server closed the connection")
        .ok();
    (sent, started.elapsed())
}

/// A `GET /healthz` on a kept-alive connection, read to the end of its answer: once answered,
/// the server has counted the connection.
async fn answered_on(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut chunk = [0; 1024];
    while !received.ends_with(b"ok\n") {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&chunk[..read]);
    }
    assert!(received.starts_with(b"HTTP/1.1 200 OK"));
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.connections.header_timeout = Duration::from_secs(1);
    })
    .await;
    let mut slow = TcpStream::connect(server.address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\nX-Slow: ")
        .await
        .unwrap();
    // Meanwhile others are served.
    let (status, _) = exchange(
        server.address,
        "GET /healthz HTTP/1.1\r\nHost: scim.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    // hyper's own header deadline is 30 s: closing well before it is the configured one.
    let (_, took) = read_until_closed(&mut slow, Duration::from_secs(60)).await;
    assert!(took < Duration::from_secs(20), "{took:?}");

    // An idle kept-alive connection is closed the same way.
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\n\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut idle, Duration::from_secs(60)).await;
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[tokio::test]
async fn oversized_or_too_many_headers_get_431() {
    let server = LiveServer::start(String::new()).await;
    let huge = "a".repeat(64 * 1024);
    let reply = server
        .exchange("GET", "/scim/v2/Users", &[("X-Huge".into(), huge)], None)
        .await;
    assert_eq!(reply.status, 431);
    let many: Vec<(String, String)> = (0..200).map(|n| (format!("X-H{n}"), "v".into())).collect();
    let reply = server.exchange("GET", "/scim/v2/Users", &many, None).await;
    assert_eq!(reply.status, 431);
    // The server is unharmed.
    let reply = server
        .exchange("GET", "/scim/v2/Users", &[server.bearer()], None)
        .await;
    assert_eq!(reply.status, 200);
}

/// A `GET /healthz` whose request line and headers are exactly `bytes` long (the blank line
/// that ends them included), in `fields` header fields.
fn head_of(bytes: usize, fields: usize) -> String {
    let mut head =
        String::from("GET /healthz HTTP/1.1\r\nHost: scim.test\r\nConnection: close\r\n");
    for n in 3..fields {
        head.push_str(&format!("X-F{n:03}: v\r\n"));
    }
    let padding = bytes - head.len() - "X-Pad: \r\n\r\n".len();
    head.push_str(&format!("X-Pad: {}\r\n\r\n", "p".repeat(padding)));
    assert_eq!(head.len(), bytes);
    head
}

/// README: request headers are limited to 32 KiB (request line and headers, the blank line
/// that ends them included) and 100 fields; 431 past either.
#[tokio::test]
async fn header_limits_are_exactly_32_kib_and_100_fields() {
    let server = LiveServer::start(String::new()).await;
    for (bytes, fields, expected) in [
        (32 * 1024, 100, "HTTP/1.1 200 OK"),
        (
            32 * 1024 + 1,
            100,
            "HTTP/1.1 431 Request Header Fields Too Large",
        ),
        (4000, 100, "HTTP/1.1 200 OK"),
        (4000, 101, "HTTP/1.1 431 Request Header Fields Too Large"),
    ] {
        let (status, _) = exchange(server.address, &head_of(bytes, fields)).await;
        assert_eq!(status, expected, "{bytes} bytes in {fields} fields");
    }
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_gets_408_and_changes_nothing() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.body_timeout = Duration::from_secs(1);
    })
    .await;
    let body = r#"{"userName":"slow@example.com"}"#;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scim.test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{}",
        server.token,
        body.len(),
        &body[..10]
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .unwrap();
    let reply = common::live::Reply::parse(&response);
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert_eq!(reply.body["status"], "408");
    let listed = server
        .exchange(
            "GET",
            "/scim/v2/Users?filter=userName%20eq%20%22slow%40example.com%22",
            &[server.bearer()],
            None,
        )
        .await;
    assert_eq!(listed.body["totalResults"], 0);
}

#[tokio::test]
async fn connections_over_an_address_share_are_closed_unanswered() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.connections.max_connections_per_address = 2;
    })
    .await;
    let mut first = TcpStream::connect(server.address).await.unwrap();
    let mut second = TcpStream::connect(server.address).await.unwrap();
    answered_on(&mut first).await;
    answered_on(&mut second).await;
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\n\r\n")
        .await
        .unwrap();
    let (sent, _) = read_until_closed(&mut third, Duration::from_secs(60)).await;
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));

    // A freed place is taken by the next connection, once the server has seen the close.
    drop(first);
    let mut answer = Vec::new();
    for _ in 0..1000 {
        let mut next = TcpStream::connect(server.address).await.unwrap();
        let asked = next
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\nConnection: close\r\n\r\n")
            .await;
        answer.clear();
        if asked.is_ok() && next.read_to_end(&mut answer).await.is_ok() && !answer.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// `--max-connections`: past it, a new connection waits to be accepted (it is not refused),
/// and is served as soon as another closes.
#[tokio::test]
async fn connections_past_the_total_wait_their_turn() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.connections.max_connections = 2;
    })
    .await;
    let mut first = TcpStream::connect(server.address).await.unwrap();
    let mut second = TcpStream::connect(server.address).await.unwrap();
    answered_on(&mut first).await;
    answered_on(&mut second).await;
    let mut waiting = TcpStream::connect(server.address).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // The two open connections are still served, and the third is not answered meanwhile.
    answered_on(&mut first).await;
    answered_on(&mut second).await;
    let mut early = [0; 64];
    assert!(
        matches!(waiting.try_read(&mut early), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "served past the limit"
    );
    drop(first);
    let (answer, _) = read_until_closed(&mut waiting, Duration::from_secs(120)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after_and_a_scim_body() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.requests_per_token = NonZeroU32::new(2);
    })
    .await;
    // Counts instead of timing: the burst of 4 is spent after 4 requests, and only a machine
    // taking half a second a request would refill it faster than they are sent.
    let mut statuses = Vec::new();
    let mut refused = None;
    while refused.is_none() && statuses.len() < 1000 {
        let reply = server
            .exchange("GET", "/scim/v2/Users", &[server.bearer()], None)
            .await;
        statuses.push(reply.status);
        if reply.status == 429 {
            refused = Some(reply);
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(refused.headers["content-type"], "application/scim+json");
    assert_eq!(refused.body["status"], "429");
    assert_eq!(
        refused.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert!(statuses.starts_with(&[200, 200, 200, 200]), "{statuses:?}");
    // The budget refills: waiting longer only refills more.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = server
        .exchange("GET", "/scim/v2/Users", &[server.bearer()], None)
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn an_address_that_guesses_tokens_is_refused_before_its_token_is_checked() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.failed_auth_per_address = NonZeroU32::new(3);
    })
    .await;
    let wrong = ("Authorization".to_owned(), "Bearer not-a-token".to_owned());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let reply = server
            .exchange("GET", "/scim/v2/Users", std::slice::from_ref(&wrong), None)
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Even the right token is refused from this address for now.
    let reply = server
        .exchange("GET", "/scim/v2/Users", &[server.bearer()], None)
        .await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    let wait: u64 = reply.headers["retry-after"].parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Unauthenticated operations endpoints are not affected.
    let reply = server.exchange("GET", "/healthz", &[], None).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_request_that_outlives_its_deadline_gets_503_and_changes_nothing() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.request_timeout = Duration::from_secs(1);
    })
    .await;
    // Another process holds SQLite's write lock, so the create waits on it.
    let options: sqlx::sqlite::SqliteConnectOptions = server.database_url.parse().unwrap();
    let mut blocker = sqlx::ConnectOptions::connect(&options).await.unwrap();
    sqlx::Executor::execute(&mut blocker, "BEGIN IMMEDIATE")
        .await
        .unwrap();
    let body = r#"{"userName":"late@example.com"}"#;
    let reply = server
        .exchange(
            "POST",
            "/scim/v2/Users",
            &[
                server.bearer(),
                ("Content-Type".into(), "application/scim+json".into()),
            ],
            Some(body),
        )
        .await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.headers.contains_key("retry-after"));
    sqlx::Executor::execute(&mut blocker, "ROLLBACK")
        .await
        .unwrap();
    drop(blocker);
    let listed = server
        .exchange(
            "GET",
            "/scim/v2/Users?filter=userName%20eq%20%22late%40example.com%22",
            &[server.bearer()],
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["totalResults"], 0, "{}", listed.text());
}

#[tokio::test]
async fn console_sign_in_guesses_spend_the_same_address_budget() {
    let server = LiveServer::start_with(String::new(), |config| {
        config.limits.failed_auth_per_address = NonZeroU32::new(2);
    })
    .await;
    let form = "email=ann%40example.com&password=wrong";
    let headers = [
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Origin".to_owned(), "http://scim.test".to_owned()),
    ];
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = server
            .exchange("POST", "/admin/sign-in", &headers, Some(form))
            .await;
        statuses.push(reply.status);
        if reply.status == 429 {
            assert!(reply.headers.contains_key("retry-after"));
            assert!(
                reply.text().contains("Too many failed sign-ins"),
                "{}",
                reply.text()
            );
        }
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
    // The admin API's keys answer to the same budget.
    let reply = server
        .exchange(
            "GET",
            "/admin/api/v1/users",
            &[("Authorization".into(), "Bearer scimd_admin_guess".into())],
            None,
        )
        .await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert!(
        reply.headers.contains_key("retry-after"),
        "{:?}",
        reply.headers
    );
    assert_eq!(reply.body["status"], 429);
}

/// README: `/readyz` says whether the database is reachable. A PostgreSQL database that stops
/// taking connections (its server's connections to it ended) makes it 503, `/healthz` stays
/// 200, and `/readyz` recovers with the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database() {
    let Some(admin_url) = scimd_store::test_support::postgres_admin_url() else {
        return;
    };
    let url = scimd_store::test_support::fresh_postgres_database(&admin_url)
        .await
        .unwrap();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let server = LiveServer::start(url).await;
    let status = |path: &'static str| {
        let server = &server;
        async move { server.exchange("GET", path, &[], None).await.status }
    };
    assert_eq!(status("/readyz").await, 200);

    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .unwrap()
        }
    };
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    assert_eq!(status("/readyz").await, 503);
    assert_eq!(status("/healthz").await, 200);

    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    assert_eq!(status("/readyz").await, 200);
    admin.close().await;
}
