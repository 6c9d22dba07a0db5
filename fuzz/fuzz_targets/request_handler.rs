//! The whole HTTP application in process, on a real SQLite database: any method, path, headers
//! and body, authenticated or not, answer with a well-formed response and never a 5xx or a
//! panic (SPEC: no input gives a 5xx, a panic or a hang).
//!
//! Input layout: byte 0 picks the method, byte 1 says whether to send the token and the JSON
//! content type, then the path up to the first newline, then the body.

#![no_main]

use axum::body::Body;
use axum::http::{Method, Request, header};
use libfuzzer_sys::fuzz_target;
use scimd::{ServeConfig, application, open_provisioner};
use scimd_core::activity::Origin;
use std::sync::OnceLock;
use tower::ServiceExt;

struct App {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config =
            ServeConfig::new(format!("sqlite://{}", dir.path().join("fuzz.db").display()));
        // The host every fuzzed request names: past the allowed-host check, into the routes.
        config.allowed_hosts.push("fuzz.test".into());
        // Fast inputs would spend the token's rate and be answered 429 before any route ran.
        config.limits.requests_per_token = None;
        let (router, token) = runtime.block_on(async {
            let provisioner = open_provisioner(&config.database_url, config.durability)
                .await
                .expect("database");
            let grant = provisioner
                .command_line_grant("default", Origin::cli("fuzz", "fuzz"))
                .await
                .expect("tenant");
            let (_, secret) = provisioner
                .create_token(&grant, "fuzz", None, None)
                .await
                .expect("token");
            let token = secret.expose().to_owned();
            (application(provisioner, &config), token)
        });
        App {
            runtime,
            router,
            token,
            _dir: dir,
        }
    })
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
];

fuzz_target!(|data: &[u8]| {
    let [method, flags, rest @ ..] = data else {
        return;
    };
    let method = METHODS[usize::from(*method) % METHODS.len()].clone();
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (path, body) = rest.split_at(split);
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    // Paths under the SCIM base, the console and the admin API, as the flags choose.
    let prefix = match flags % 4 {
        0 => "/scim/v2/",
        1 => "/scim/v2/Users/",
        2 => "/admin/",
        _ => "/admin/api/v1/",
    };
    let app = app();
    let mut request = Request::builder().method(method).header(header::HOST, "fuzz.test");
    let Ok(uri) = format!("{prefix}{path}").parse::<axum::http::Uri>() else {
        return;
    };
    request = request.uri(uri);
    if flags & 4 != 0 {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", app.token));
    }
    if flags & 8 != 0 {
        request = request.header(header::CONTENT_TYPE, "application/scim+json");
    }
    let Ok(request) = request.body(Body::from(body.get(1..).unwrap_or_default().to_vec())) else {
        return;
    };
    let status = app
        .runtime
        .block_on(app.router.clone().oneshot(request))
        .expect("the router is infallible")
        .status();
    assert!(!status.is_server_error(), "{status} for {path:?}");
    assert_ne!(status, 429, "no limit is on: every input reaches its route");
});
