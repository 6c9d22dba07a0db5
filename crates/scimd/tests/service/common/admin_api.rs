//! The admin API as a script calls it: an API key of a new admin, and JSON calls with it.

use super::{TestApp, admin_origin};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use scimd_core::admin::Role;
use serde_json::Value;

/// The API key of a new admin of tenant `default` with `role`.
pub async fn key(app: &TestApp, email: &str, role: Role) -> String {
    let provisioner = app.provisioner().await;
    provisioner
        .create_admin(
            &admin_origin(),
            email,
            Some("default"),
            role,
            "a long enough passphrase",
        )
        .await
        .unwrap();
    let key = provisioner
        .create_api_key(email, "tests", 30)
        .await
        .unwrap();
    key.expose().to_owned()
}

pub async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/admin/api/v1{path}"))
        .header(header::HOST, "scim.test")
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let reply = app.send(request.body(body).unwrap()).await;
    (reply.status, reply.body)
}
