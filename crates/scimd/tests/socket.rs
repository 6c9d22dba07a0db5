//! The real server on a loopback socket through `run(config, listener, shutdown)`.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::discovery::Capabilities;
use scimd::{ServeConfig, open_provisioner, run};
use scimd_store::Durability;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP/1.1 exchange over a fresh connection; returns the status line and body.
async fn exchange(address: std::net::SocketAddr, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn serves_on_a_socket_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        database_url: format!("sqlite://{}", dir.path().join("scimd.db").display()),
        durability: Durability::default(),
        public_url: None,
        capabilities: Capabilities::default(),
    };
    let token = {
        let provisioner = open_provisioner(&config.database_url, config.durability)
            .await
            .unwrap();
        let tenant = provisioner.tenant("default").await.unwrap();
        provisioner
            .create_token(
                &scimd_core::activity::Origin::cli("tester", "test"),
                &tenant,
                "entra",
                None,
                None,
            )
            .await
            .unwrap()
            .1
            .expose()
            .to_owned()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(config, listener, async {
        let _ = stopped.await;
    }));

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

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops in time");
    result.unwrap().unwrap();
    assert!(
        TcpStream::connect(address).await.is_err(),
        "the listener is closed"
    );
}
