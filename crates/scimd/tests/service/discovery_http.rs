//! Discovery, groups, unknown paths and operations endpoints over HTTP.

use crate::common::{TestApp, assert_scim_error};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn discovery_documents_are_served_and_read_only() {
    let app = TestApp::new().await;
    let config = app
        .call(Method::GET, "/scim/v2/ServiceProviderConfig", None)
        .await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(
        config.body["meta"]["location"],
        "http://scim.test/scim/v2/ServiceProviderConfig"
    );
    let types = app.call(Method::GET, "/scim/v2/ResourceTypes", None).await;
    assert_eq!(types.body["totalResults"], 1);
    assert_eq!(
        app.call(Method::GET, "/scim/v2/ResourceTypes/User", None)
            .await
            .body["endpoint"],
        "/Users"
    );
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/ResourceTypes/Group", None)
            .await,
        404,
        None,
    );
    let schemas = app.call(Method::GET, "/scim/v2/Schemas", None).await;
    assert_eq!(schemas.body["totalResults"], 3);
    let core = app
        .call(
            Method::GET,
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    assert_eq!(core.body["name"], "User");
    for (method, uri) in [
        (Method::PUT, "/scim/v2/ServiceProviderConfig"),
        (Method::POST, "/scim/v2/Schemas"),
        (Method::DELETE, "/scim/v2/ResourceTypes/User"),
    ] {
        assert_scim_error(&app.call(method, uri, Some(json!({}))).await, 405, None);
    }
}

#[tokio::test]
async fn groups_answer_as_a_server_without_groups() {
    let app = TestApp::new().await;
    for uri in [
        "/scim/v2/Groups",
        "/scim/v2/Groups?startIndex=1&count=100",
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName%20eq%20%22x%22",
    ] {
        let reply = app.call(Method::GET, uri, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["totalResults"], 0);
        assert_eq!(reply.body["Resources"], json!([]));
    }
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Groups/123", None).await,
        404,
        None,
    );
    assert_scim_error(
        &app.call(
            Method::POST,
            "/scim/v2/Groups",
            Some(json!({"displayName": "x"})),
        )
        .await,
        501,
        None,
    );
    assert_scim_error(
        &app.call(Method::PATCH, "/scim/v2/Groups/123", Some(json!({})))
            .await,
        501,
        None,
    );
    assert_scim_error(
        &app.call(Method::DELETE, "/scim/v2/Groups/123", None).await,
        501,
        None,
    );
    assert_scim_error(
        &app.call(Method::POST, "/scim/v2/Bulk", Some(json!({})))
            .await,
        501,
        None,
    );
}

#[tokio::test]
async fn unknown_paths_are_scim_404s() {
    let app = TestApp::new().await;
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Nope", None).await,
        404,
        None,
    );
    assert_scim_error(&app.call(Method::GET, "/nowhere", None).await, 404, None);
}

#[tokio::test]
async fn operations_endpoints_need_no_token() {
    let app = TestApp::new().await;
    let get = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
    assert_eq!(app.send(get("/healthz")).await.status, StatusCode::OK);
    assert_eq!(app.send(get("/readyz")).await.status, StatusCode::OK);
    app.call(Method::GET, "/scim/v2/Users", None).await;
    let metrics = app.send(get("/metrics")).await;
    let text = String::from_utf8(metrics.raw).unwrap();
    assert!(
        text.contains(
            "scimd_http_requests_total{method=\"GET\",route=\"/scim/v2/Users\",status=\"200\"} 1"
        ),
        "{text}"
    );
}
