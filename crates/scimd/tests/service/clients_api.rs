//! OAuth clients through the admin API (SPEC §12): an admin creates a client (the answer holds
//! the four values Entra asks for, the secret once), adds and revokes secrets, sets and removes
//! a trust, revokes the client; a viewer only reads; bad bodies are refused naming what is
//! wrong, and change nothing.

use crate::common::admin_api::{call, key};
use crate::common::{TestApp, database_urls};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use scimd_core::admin::Role;
use serde_json::{Value, json};

/// `POST /oauth/token` with these credentials by HTTP Basic: the status.
async fn token_status(app: &TestApp, credentials: &Value) -> StatusCode {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials["client_id"].as_str().unwrap(),
        credentials["client_secret"].as_str().unwrap()
    ));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/oauth/token")
        .header(header::HOST, "scim.test")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    app.send(request).await.status
}

#[tokio::test]
async fn admins_manage_oauth_clients_through_the_api() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let admin = key(&app, "admin@example.com", Role::Admin).await;
        let viewer = key(&app, "viewer@example.com", Role::Viewer).await;

        let (status, made) = call(
            &app,
            &admin,
            Method::POST,
            "/clients",
            Some(json!({"name": "entra", "secret_expires_in_days": 365})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{backend}] {made}");
        let first = made["credentials"].clone();
        assert_eq!(first["token_endpoint"], "http://scim.test/oauth/token");
        assert_eq!(first["scim_base_url"], "http://scim.test/scim/v2");
        assert!(
            first["client_secret"]
                .as_str()
                .unwrap()
                .starts_with("scimd_cs_")
        );
        assert_eq!(made["status"], "active");
        assert_eq!(
            token_status(&app, &first).await,
            StatusCode::OK,
            "[{backend}]"
        );

        let (status, _) = call(
            &app,
            &admin,
            Method::POST,
            "/clients",
            Some(json!({"name": "ENTRA"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "[{backend}]");

        let (status, second) = call(
            &app,
            &admin,
            Method::POST,
            "/clients/entra/secrets",
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{backend}] {second}");
        assert_eq!(second["client_id"], first["client_id"]);
        assert_eq!(token_status(&app, &second).await, StatusCode::OK);
        let (status, third) = call(
            &app,
            &admin,
            Method::POST,
            "/clients/entra/secrets",
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "[{backend}] {third}");

        let (_, listed) = call(&app, &viewer, Method::GET, "/clients", None).await;
        let secrets = listed["clients"][0]["secrets"].as_array().unwrap().clone();
        assert_eq!(secrets.len(), 2, "[{backend}] {listed}");
        assert!(
            secrets[0]["last_used_at"].is_string(),
            "[{backend}] {listed}"
        );
        assert!(
            !listed.to_string().contains("scimd_cs_"),
            "a listing never holds a secret"
        );
        let first_id = secrets[0]["id"].as_i64().unwrap();
        let path = format!("/clients/entra/secrets/{first_id}");
        let (status, _) = call(&app, &admin, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "[{backend}]");
        assert_eq!(token_status(&app, &first).await, StatusCode::UNAUTHORIZED);
        assert_eq!(token_status(&app, &second).await, StatusCode::OK);
        let (status, _) = call(&app, &admin, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{backend}] revoked already");

        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
        let trust = json!({"issuer": "https://login.example.com/t/v2.0", "subject": "app",
                           "audience": "api://scimd", "jwks": jwks});
        let (status, body) = call(
            &app,
            &admin,
            Method::PUT,
            "/clients/entra/trust",
            Some(trust.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "[{backend}] {body}");
        let (_, listed) = call(&app, &admin, Method::GET, "/clients", None).await;
        assert_eq!(listed["clients"][0]["trust"]["subject"], "app");

        // Refusals name what is wrong and change nothing.
        for (method, path, body, status, says) in [
            (
                Method::POST,
                "/clients",
                json!({"name": "a b"}),
                400,
                "client name",
            ),
            (
                Method::POST,
                "/clients",
                json!({"name": "x", "secret_expires_in_days": 30}),
                400,
                "365 to 1095",
            ),
            (
                Method::POST,
                "/clients",
                json!({"name": "x", "colour": "red"}),
                400,
                "colour",
            ),
            (
                Method::PUT,
                "/clients/entra/trust",
                json!({"issuer": "x", "subject": "s", "audience": "a", "jwks": jwks}),
                400,
                "http(s) URL",
            ),
            (
                Method::PUT,
                "/clients/entra/trust",
                json!({"issuer": "https://i", "subject": "s", "audience": "a"}),
                400,
                "jwks",
            ),
            (
                Method::PUT,
                "/clients/entra/trust",
                json!({"issuer": "https://i", "subject": "s", "audience": "a", "jwks": {"keys": []}}),
                400,
                "no RSA or P-256",
            ),
            (
                Method::PUT,
                "/clients/entra/trust",
                json!({"issuer": "https://i", "subject": "s", "audience": "a", "jwks_url": "http://169.254.169.254/keys"}),
                400,
                "public addresses only",
            ),
            (
                Method::POST,
                "/clients/nobody/secrets",
                json!({}),
                404,
                "nobody",
            ),
        ] {
            let (got, answer) = call(&app, &admin, method, path, Some(body)).await;
            assert_eq!(got.as_u16(), status, "[{backend}] {path}: {answer}");
            assert!(
                answer["error"].as_str().unwrap().contains(says),
                "[{backend}] {says}: {answer}"
            );
        }
        let (status, _) = call(
            &app,
            &admin,
            Method::DELETE,
            "/clients/entra/secrets/abc",
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "[{backend}] a secret id is a number"
        );
        let (_, after) = call(&app, &admin, Method::GET, "/clients", None).await;
        assert_eq!(after, listed, "[{backend}] the refusals changed nothing");

        // A viewer reads, and changes nothing.
        for (method, path, body) in [
            (Method::POST, "/clients", Some(json!({"name": "v"}))),
            (Method::POST, "/clients/entra/secrets", Some(json!({}))),
            (Method::PUT, "/clients/entra/trust", Some(trust)),
            (Method::DELETE, "/clients/entra", None),
            (Method::DELETE, "/clients/entra/trust", None),
        ] {
            let (status, _) = call(&app, &viewer, method, path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "[{backend}] {path}");
        }

        let (status, _) = call(&app, &admin, Method::DELETE, "/clients/entra/trust", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&app, &admin, Method::DELETE, "/clients/entra", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(token_status(&app, &second).await, StatusCode::UNAUTHORIZED);
        let (_, listed) = call(&app, &admin, Method::GET, "/clients", None).await;
        assert_eq!(listed["clients"][0]["status"], "revoked");
    }
}
