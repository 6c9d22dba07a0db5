//! scimd on a real loopback socket through `run(config, listener, shutdown)`, with an IdP
//! token, and raw HTTP/1.1 exchanges with it (request bytes exactly as given).

use super::{admin_origin, database_or_temp};
use scimd::{ServeConfig, open_provisioner, run};
use scimd_core::access::Grant;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A serving scimd; stopped (gracefully) when dropped or by [`LiveServer::stop`].
pub struct LiveServer {
    pub address: SocketAddr,
    pub token: String,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl LiveServer {
    /// On `database_url`, or on a temp SQLite file when it is empty, with the defaults.
    pub async fn start(database_url: String) -> Self {
        Self::start_with(database_url, |_| {}).await
    }

    /// As [`start`](Self::start), with the configuration adjusted first.
    pub async fn start_with(database_url: String, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = database_or_temp(&dir, database_url);
        let mut config = ServeConfig::new(database_url.clone());
        // The name every test request is sent to.
        config.allowed_hosts.push("scim.test".into());
        adjust(&mut config);
        let provisioner = open_provisioner(&config.database_url, config.durability)
            .await
            .unwrap();
        let tenant = provisioner.tenant("default").await.unwrap();
        let (_, secret) = provisioner
            .create_token(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "idp",
                None,
                None,
            )
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(config, listener, async {
            let _ = stopped.await;
        }));
        Self {
            address,
            token: secret.expose().to_owned(),
            database_url,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops accepting, waits for the requests in flight, and returns what `run` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), task)
            .await
            .expect("the server stops in time")
            .unwrap()
    }

    /// One request on a fresh connection: `method target` with a Host header, the given
    /// headers, `Content-Length` and `Connection: close`.
    pub async fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Reply {
        let request = http_request(method, target, headers, body);
        exchange(self.address, request.as_bytes()).await
    }

    pub fn bearer(&self) -> (String, String) {
        ("Authorization".into(), format!("Bearer {}", self.token))
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `method target` with a Host header, the given headers, `Content-Length` and
/// `Connection: close`.
pub fn http_request(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> String {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: scim.test\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    request
}

/// Writes `request` on a fresh connection and reads until the server closes it.
pub async fn exchange(address: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    Reply::parse(&response)
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status line, e.g. `HTTP/1.1 201 Created`.
    pub status_line: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    /// The body, de-chunked.
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Reply {
    pub fn parse(response: &[u8]) -> Self {
        let split = response
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "an incomplete response: {:?}",
                    String::from_utf8_lossy(response)
                )
            });
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap();
        let headers: HashMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let mut raw = response[split + 4..].to_vec();
        if headers
            .get("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            raw = dechunk(&raw);
        }
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Self {
            status,
            status_line,
            headers,
            raw,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}
