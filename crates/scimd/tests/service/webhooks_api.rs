//! Webhooks through the admin API (SPEC §11): an admin makes, lists, disables, enables,
//! rotates and deletes endpoints and sends an event again; a viewer only reads; bad bodies and
//! internal URLs are refused naming what is wrong, and change nothing.

use crate::common::admin_api::{call, key};
use crate::common::{TestApp, database_urls};
use axum::http::{Method, StatusCode};
use scimd_core::admin::Role;
use serde_json::json;

/// A public address that needs no name lookup (the tests have no DNS).
const PUBLIC_URL: &str = "https://93.184.216.34/hooks/scimd";

#[tokio::test]
async fn admins_manage_webhooks_through_the_api() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let admin = key(&app, "admin@example.com", Role::Admin).await;
        let viewer = key(&app, "viewer@example.com", Role::Viewer).await;

        let body = json!({"name": "crm", "url": PUBLIC_URL, "events": ["user.created"]});
        let (status, made) =
            call(&app, &admin, Method::POST, "/webhooks", Some(body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "[{backend}] {made}");
        let secret = made["secret"].as_str().unwrap().to_owned();
        assert!(
            secret.starts_with("whsec_") && secret.len() == 6 + 44,
            "{secret}"
        );
        assert_eq!(made["format"], "json");
        assert_eq!(made["state"], "enabled");
        assert_eq!(made["events"], json!(["user.created"]));
        let (status, _) = call(&app, &admin, Method::POST, "/webhooks", Some(body)).await;
        assert_eq!(status, StatusCode::CONFLICT, "[{backend}]");

        for (body, says) in [
            (
                json!({"name": "x", "url": "http://127.0.0.1:9/"}),
                "public addresses only",
            ),
            (
                json!({"name": "x", "url": "http://169.254.169.254/"}),
                "public addresses only",
            ),
            (
                json!({"name": "x", "url": "gopher://a/"}),
                "scheme must be http or https",
            ),
            (
                json!({"name": "x", "url": PUBLIC_URL, "events": ["user.exploded"]}),
                "'user.exploded' is not an event type",
            ),
            (
                json!({"name": "x", "url": PUBLIC_URL, "format": "xml"}),
                "'format' must be json or set",
            ),
            (
                json!({"name": "no spaces", "url": PUBLIC_URL}),
                "webhook name",
            ),
            (json!({"name": "x"}), "'url' is required"),
            (json!({"name": "x", "url": 7}), "'url'"),
        ] {
            let (status, answer) =
                call(&app, &admin, Method::POST, "/webhooks", Some(body.clone())).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "[{backend}] {body}: {answer}"
            );
            let error = answer["error"].as_str().unwrap();
            assert!(error.contains(says), "[{backend}] {body}: {error}");
        }
        let body = json!({"name": "sneaky", "url": PUBLIC_URL});
        let (status, _) = call(&app, &viewer, Method::POST, "/webhooks", Some(body)).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "[{backend}] viewers only read"
        );
        let (_, listed) = call(&app, &viewer, Method::GET, "/webhooks", None).await;
        let names: Vec<&str> = listed["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["crm"], "[{backend}] the refused ones made nothing");

        // An event, sent again to the endpoint named (no worker runs here: it stays pending).
        app.create("pat@example.com").await;
        let (_, feed) = call(&app, &viewer, Method::GET, "/events", None).await;
        let event_id = feed["data"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/events/{event_id}/redeliver");
        let (status, queued) = call(
            &app,
            &admin,
            Method::POST,
            &path,
            Some(json!({"webhook": "crm"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "[{backend}] {queued}");
        assert_eq!(queued["queued"], 1);
        let (status, _) = call(
            &app,
            &admin,
            Method::POST,
            "/events/nope/redeliver",
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{backend}]");
        let (_, log) = call(&app, &viewer, Method::GET, "/webhooks/crm/deliveries", None).await;
        assert_eq!(log["deliveries"][0]["event_id"], event_id.as_str());
        assert_eq!(log["deliveries"][0]["state"], "pending");

        let (status, _) = call(&app, &admin, Method::POST, "/webhooks/crm/disable", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "[{backend}]");
        let (_, listed) = call(&app, &admin, Method::GET, "/webhooks", None).await;
        assert_eq!(listed["webhooks"][0]["state"], "disabled");
        assert_eq!(listed["webhooks"][0]["reason"], "disabled by an admin");
        call(&app, &admin, Method::POST, "/webhooks/crm/enable", None).await;
        let (_, listed) = call(&app, &admin, Method::GET, "/webhooks", None).await;
        assert_eq!(listed["webhooks"][0]["state"], "enabled");

        let (status, rotated) = call(
            &app,
            &admin,
            Method::POST,
            "/webhooks/crm/rotate-secret",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "[{backend}]");
        assert_ne!(rotated["secret"], secret.as_str());
        let (status, _) = call(
            &app,
            &viewer,
            Method::POST,
            "/webhooks/crm/rotate-secret",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, _) = call(&app, &admin, Method::DELETE, "/webhooks/crm", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "[{backend}]");
        let (status, _) = call(&app, &admin, Method::GET, "/webhooks/crm/deliveries", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{backend}]");
        let (status, _) = call(&app, &admin, Method::DELETE, "/webhooks/crm", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{backend}]");
    }
}
