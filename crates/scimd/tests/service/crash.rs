//! Crash safety: the real binary under a create/PATCH load is killed with SIGKILL, restarted on
//! the same database, and every request that was answered 2xx must be there with its latest
//! acknowledged state; a request cut off by the kill may or may not have happened, but never
//! half. 20 rounds on SQLite (default durability: WAL, synchronous=NORMAL) and, when
//! `SCIMD_TEST_POSTGRES_URL` is set, on PostgreSQL.

use crate::common;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUNDS: u64 = 20;
const CLIENTS: usize = 8;

/// `scimd serve` on a free loopback port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rate-limit-per-token",
                "0",
            ])
            .env("SCIMD_DATABASE_URL", database_url)
            .env("SCIMD_LOG", "warn,scimd=info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = common::listening_port(&mut lines);
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, port }
    }

    fn kill(self) {
        drop(self);
    }

    /// SIGTERM, as a service manager stops it; waits for the exit and tells whether it was
    /// clean.
    fn terminate(mut self) -> bool {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        self.child.wait().unwrap().success()
    }
}

/// SIGKILL, also when a failed assertion unwinds past the server.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a request got no answer.
#[derive(Debug, PartialEq)]
enum Unanswered {
    /// No connection, or the request could not be sent: the server never had it.
    Unsent,
    /// Sent whole, and the answer never came or was cut off: the server was killed with it
    /// in flight.
    CutOff,
}

/// One request on a fresh connection: the status and the JSON body, or why there is none.
fn request(
    port: u16,
    token: &str,
    method: &str,
    target: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), Unanswered> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|_| Unanswered::Unsent)?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|_| Unanswered::Unsent)?;
    answer(&mut stream).ok_or(Unanswered::CutOff)
}

/// The status and JSON body the server sent, or `None` when the answer is incomplete.
fn answer(stream: &mut TcpStream) -> Option<(u16, Value)> {
    // Only a server hung for good comes near it.
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|value| value.parse().ok())
        .unwrap_or(body.len());
    if body.len() < length {
        return None;
    }
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// What the clients were told about one user.
#[derive(Debug, Clone, Default)]
struct Known {
    /// Set once a create was answered 201.
    id: Option<String>,
    /// The displayName last acknowledged (201 or 200).
    acked: Option<String>,
    /// A write whose answer never came: it may or may not have happened.
    in_flight: Option<String>,
}

type Ledger = Arc<Mutex<HashMap<String, Known>>>;

/// What the clients of one round counted: writes acknowledged, and writes the kill cut off.
#[derive(Debug, Default)]
struct Counts {
    acknowledged: AtomicU64,
    cut_off: AtomicU64,
}

impl Counts {
    /// Counts an unanswered write; `Unsent` ones never reached the server.
    fn unanswered(&self, why: &Unanswered) {
        if *why == Unanswered::CutOff {
            self.cut_off.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One client: creates users and PATCHes its own, one request at a time, until told to stop.
fn client(
    port: u16,
    token: String,
    ledger: Ledger,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    name: String,
) -> Vec<String> {
    let mut unexpected = Vec::new();
    let mut mine: Vec<String> = Vec::new();
    let mut step = 0u64;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        let acked: Vec<(String, String)> = {
            let ledger = ledger.lock().unwrap();
            mine.iter()
                .filter_map(|user| ledger[user].id.clone().map(|id| (user.clone(), id)))
                .collect()
        };
        if acked.is_empty() || step.is_multiple_of(3) {
            let user = format!("{name}-{step}@crash.test");
            let display = "v0".to_owned();
            ledger.lock().unwrap().insert(
                user.clone(),
                Known {
                    in_flight: Some(display.clone()),
                    ..Known::default()
                },
            );
            mine.push(user.clone());
            let body = json!({"userName": user, "displayName": display, "active": true});
            match request(port, &token, "POST", "/scim/v2/Users", Some(&body)) {
                Ok((201, created)) => {
                    let mut ledger = ledger.lock().unwrap();
                    let known = ledger.get_mut(&user).unwrap();
                    known.id = created["id"].as_str().map(str::to_owned);
                    known.acked = Some(display);
                    known.in_flight = None;
                    counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                Ok((status, body)) => unexpected.push(format!("create {user}: {status} {body}")),
                // The server is gone: what was sent may or may not have happened.
                Err(why) => {
                    counts.unanswered(&why);
                    break;
                }
            }
        } else {
            let (user, id) = &acked[usize::try_from(step).unwrap() % acked.len()];
            let display = format!("v{step}");
            ledger.lock().unwrap().get_mut(user).unwrap().in_flight = Some(display.clone());
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": display}]
            });
            match request(
                port,
                &token,
                "PATCH",
                &format!("/scim/v2/Users/{id}"),
                Some(&body),
            ) {
                Ok((200, _)) => {
                    let mut ledger = ledger.lock().unwrap();
                    let known = ledger.get_mut(user).unwrap();
                    known.acked = Some(display);
                    known.in_flight = None;
                    counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                Ok((status, body)) => unexpected.push(format!("patch {user}: {status} {body}")),
                // The server is gone: what was sent may or may not have happened.
                Err(why) => {
                    counts.unanswered(&why);
                    break;
                }
            }
        }
    }
    unexpected
}

/// After a restart: every acknowledged write is there, an unacknowledged one is all there or
/// not at all, and every stored user is whole. Settles the ledger to what is stored.
fn verify(port: u16, token: &str, ledger: &Ledger, round: u64) {
    let mut ledger = ledger.lock().unwrap();
    let mut stored = HashMap::new();
    let mut start = 1;
    loop {
        let (status, page) = request(
            port,
            token,
            "GET",
            &format!("/scim/v2/Users?startIndex={start}&count=1000"),
            None,
        )
        .expect("the restarted server answers");
        assert_eq!(status, 200, "{page}");
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        for user in &resources {
            for field in ["id", "userName", "displayName"] {
                assert!(
                    user[field].is_string(),
                    "round {round}: a user without {field}: {user}"
                );
            }
            assert!(
                user["meta"]["created"].is_string() && user["meta"]["version"].is_string(),
                "round {round}: {user}"
            );
            stored.insert(user["userName"].as_str().unwrap().to_owned(), user.clone());
        }
        if resources.is_empty() || stored.len() as u64 >= page["totalResults"].as_u64().unwrap() {
            break;
        }
        start += resources.len();
    }
    for (user_name, known) in ledger.iter_mut() {
        let found = stored.get(user_name);
        if let Some(id) = &known.id {
            let user = found.unwrap_or_else(|| {
                panic!("round {round}: {user_name} was acknowledged and is lost")
            });
            assert_eq!(
                user["id"].as_str(),
                Some(id.as_str()),
                "round {round}: {user_name}"
            );
            let display = user["displayName"].as_str().unwrap();
            assert!(
                known.acked.as_deref() == Some(display)
                    || known.in_flight.as_deref() == Some(display),
                "round {round}: {user_name} has displayName {display}; acknowledged {:?}, in flight {:?}",
                known.acked,
                known.in_flight
            );
        } else if let Some(user) = found {
            // A create cut off by the kill that did commit: whole, as sent.
            assert_eq!(user["displayName"], "v0", "round {round}: {user}");
        }
        // Settle: what is stored is now what is known.
        match found {
            Some(user) => {
                known.id = user["id"].as_str().map(str::to_owned);
                known.acked = user["displayName"].as_str().map(str::to_owned);
            }
            None => known.acked = None,
        }
        known.in_flight = None;
    }
    ledger.retain(|_, known| known.id.is_some());
    assert_eq!(
        stored.len(),
        ledger.len(),
        "round {round}: users nobody created"
    );
}

/// A token made by the CLI, as an operator would.
fn create_token(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["token", "create", "--name", "crash"])
        .env("SCIMD_DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn crash_rounds(database_url: &str) {
    let token = create_token(database_url);
    let ledger: Ledger = Arc::default();
    let mut acknowledged = 0;
    for round in 0..ROUNDS {
        let server = Server::start(database_url);
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let (token, ledger, stop) = (token.clone(), ledger.clone(), stop.clone());
                let (port, counts) = (server.port, counts.clone());
                std::thread::spawn(move || {
                    client(port, token, ledger, counts, stop, format!("r{round}c{n}"))
                })
            })
            .collect();
        // Kill at a different point of the load each round: counted in acknowledged writes,
        // not in time, which a busy machine stretches.
        let kill_after = 20 + (round * 37) % 300;
        while counts.acknowledged.load(Ordering::Relaxed) < kill_after {
            assert!(
                !clients.iter().all(std::thread::JoinHandle::is_finished),
                "round {round}: every client stopped before the kill"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            let unexpected = client.join().unwrap();
            assert!(unexpected.is_empty(), "round {round}: {unexpected:?}");
        }
        // Eight clients that always have a request out: the kill cut some of them off.
        assert!(
            counts.cut_off.load(Ordering::Relaxed) > 0,
            "round {round}: the kill interrupted no write"
        );
        acknowledged = ledger
            .lock()
            .unwrap()
            .values()
            .filter(|known| known.id.is_some())
            .count();
        let server = Server::start(database_url);
        verify(server.port, &token, &ledger, round);
        server.kill();
    }
    assert!(
        acknowledged > usize::try_from(ROUNDS).unwrap(),
        "the load did create users: {acknowledged}"
    );
    eprintln!(
        "{ROUNDS} rounds, {} users stored, 0 lost",
        ledger.lock().unwrap().len()
    );
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_write_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_rounds(&format!(
        "sqlite://{}",
        dir.path().join("scimd.db").display()
    ));
}

/// A clean stop leaves no write in the WAL: an operator who copies the database file alone
/// after stopping the service has every acknowledged write.
#[tokio::test]
async fn after_sigterm_the_database_file_alone_holds_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("scimd.db");
    let url = format!("sqlite://{}", database.display());
    let token = create_token(&url);
    let server = Server::start(&url);
    const USERS: usize = 300;
    for n in 0..USERS {
        let body = json!({"userName": format!("u{n}@stop.test")});
        let created = request(server.port, &token, "POST", "/scim/v2/Users", Some(&body));
        assert_eq!(created.map(|(status, _)| status), Ok(201));
    }
    assert!(server.terminate(), "a clean exit");
    assert_eq!(
        common::rows_in_a_lone_copy(&database, "users").await,
        i64::try_from(USERS).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_under_load_loses_no_acknowledged_write_on_postgres() {
    let Some((_, url)) = common::database_urls()
        .await
        .into_iter()
        .find(|(backend, _)| *backend == "postgres")
    else {
        return;
    };
    tokio::task::spawn_blocking(move || crash_rounds(&url))
        .await
        .unwrap();
}
