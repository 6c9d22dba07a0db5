//! An in-process scimd on a temp SQLite database, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use scimd::{ServeConfig, application, open_provisioner};
use scimd_core::Provisioner;
use scimd_core::access::Grant;
use scimd_core::clock::{SharedClock, SystemClock};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

pub mod admin_api;
pub mod cli;
pub mod live;
pub mod receiver;
// Shared with the library's unit tests, which use parts these tests do not.
#[allow(dead_code)]
pub mod signing;
pub mod smtp;

pub struct TestApp {
    pub router: Router,
    pub token: String,
    pub other_tenant_token: String,
    pub config: ServeConfig,
    clock: SharedClock,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The databases to run against: SQLite always, PostgreSQL when `SCIMD_TEST_POSTGRES_URL` is
/// set (a fresh database per call).
pub async fn database_urls() -> Vec<(&'static str, String)> {
    let mut urls = vec![("sqlite", String::new())];
    if let Some(admin_url) = scimd_store::test_support::postgres_admin_url() {
        urls.push((
            "postgres",
            scimd_store::test_support::fresh_postgres_database(&admin_url)
                .await
                .unwrap(),
        ));
    }
    urls
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_database(String::new()).await
    }

    /// An app on `database_url`, or on a fresh temp SQLite file when it is empty.
    pub async fn with_database(database_url: String) -> Self {
        Self::configured(database_url, |_| {}).await
    }

    /// An app on `database_url` (as [`Self::with_database`]) with `adjust` applied to its
    /// configuration.
    pub async fn configured(database_url: String, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        Self::configured_at(database_url, Arc::new(SystemClock), adjust).await
    }

    /// [`Self::configured`] on `clock`: the app and [`Self::provisioner`] read the time from it.
    pub async fn configured_at(
        database_url: String,
        clock: SharedClock,
        adjust: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = database_or_temp(&dir, database_url);
        let mut config = ServeConfig::new(database_url);
        // The name every test request is sent to.
        config.allowed_hosts.push("scim.test".into());
        adjust(&mut config);
        let opened = open_provisioner(&config.database_url, config.durability)
            .await
            .unwrap();
        let provisioner = Provisioner::new(opened.store().clone(), Arc::clone(&clock));
        let default = provisioner.tenant("default").await.unwrap();
        let (_, secret) = provisioner
            .create_token(
                &Grant::command_line(default.clone(), admin_origin()),
                "entra",
                None,
                None,
            )
            .await
            .unwrap();
        let other = provisioner
            .create_tenant(
                &Grant::command_line(default.clone(), admin_origin()),
                "other",
                None,
            )
            .await
            .unwrap();
        let (_, other_secret) = provisioner
            .create_token(
                &Grant::command_line(other.clone(), admin_origin()),
                "okta",
                None,
                None,
            )
            .await
            .unwrap();
        let router = application(provisioner, &config);
        Self {
            router,
            clock,
            token: secret.expose().to_owned(),
            other_tenant_token: other_secret.expose().to_owned(),
            config,
            _dir: dir,
        }
    }

    /// The admin side of this app's database, as the CLI and console reach it.
    pub async fn provisioner(&self) -> scimd::AppProvisioner {
        let opened = open_provisioner(&self.config.database_url, self.config.durability)
            .await
            .unwrap();
        Provisioner::new(opened.store().clone(), Arc::clone(&self.clock))
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    pub fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "scim.test")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let builder = self.request(method, uri);
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    pub async fn create(&self, user_name: &str) -> Value {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"value": user_name, "type": "work", "primary": true}],
        });
        let reply = self.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }
}

/// Asserts an RFC 7644 §3.12 error body and content type.
pub fn assert_scim_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{}",
        String::from_utf8_lossy(&reply.raw)
    );
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        Some("application/scim+json")
    );
    assert_eq!(
        reply.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(reply.body["status"], status.to_string());
    assert_eq!(
        reply.body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{}",
        reply.body
    );
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The rows of `table` in a copy of the SQLite file `database` taken alone, without its `-wal`:
/// what an operator who copies only the database file gets.
pub async fn rows_in_a_lone_copy(database: &std::path::Path, table: &'static str) -> i64 {
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("scimd.db");
    std::fs::copy(database, &copied).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copied);
    let mut connection = sqlx::ConnectOptions::connect(&options).await.unwrap();
    // The table is a constant of the calling test.
    let count = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    let (rows,): (i64,) = sqlx::query_as(count)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    rows
}

/// A console account of tenant `default` on the database at `database_url`.
pub async fn add_admin(
    database_url: &str,
    email: &str,
    role: scimd_core::admin::Role,
    password: &str,
) {
    let provisioner = open_provisioner(database_url, Default::default())
        .await
        .unwrap();
    provisioner
        .create_admin(&admin_origin(), email, Some("default"), role, password)
        .await
        .unwrap();
}

/// The admin a test acts as.
pub fn admin_origin() -> scimd_core::activity::Origin {
    scimd_core::activity::Origin::cli("tester", "test")
}

/// The port a `scimd serve --listen 127.0.0.1:0` reports in its log, read from its stderr lines
/// (the lines after it are left to the caller).
pub fn listening_port(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> u16 {
    loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            return rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    }
}

/// `database_url`, or a fresh SQLite file in `dir` when it is empty.
pub fn database_or_temp(dir: &tempfile::TempDir, database_url: String) -> String {
    if database_url.is_empty() {
        format!("sqlite://{}", dir.path().join("scimd.db").display())
    } else {
        database_url
    }
}
