//! The change feed's Events API (SPEC §11): every account change of a tenant, in sequence
//! order after a cursor, read by admin key; bad parameters refused; a waiting read answers
//! when the next event is written.

use crate::common::{TestApp, admin_origin, database_urls};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use scimd_core::admin::Role;
use serde_json::{Value, json};

async fn viewer_key(app: &TestApp) -> String {
    let provisioner = app.provisioner().await;
    provisioner
        .create_admin(
            &admin_origin(),
            "viewer@example.com",
            Some("default"),
            Role::Viewer,
            "a long enough passphrase",
        )
        .await
        .unwrap();
    let key = provisioner
        .create_api_key("viewer@example.com", "feed", 30)
        .await
        .unwrap();
    key.expose().to_owned()
}

async fn events(app: &TestApp, key: &str, query: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .uri(format!("/admin/api/v1/events{query}"))
        .header(header::HOST, "scim.test")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    (reply.status, reply.body)
}

fn types(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect()
}

fn patch_active(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "active", "value": active}]})
}

#[tokio::test]
async fn the_events_api_reads_a_tenants_changes_in_order_after_a_cursor() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let key = viewer_key(&app).await;
        let created = app.create("pat@example.com").await;
        let id = created["id"].as_str().unwrap();
        let path = format!("/scim/v2/Users/{id}");
        let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Pat"}]});
        for body in [rename, patch_active(false), patch_active(true)] {
            let reply = app.call(Method::PATCH, &path, Some(body)).await;
            assert_eq!(reply.status, StatusCode::OK, "[{backend}] {}", reply.body);
        }
        let reply = app.call(Method::DELETE, &path, None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "[{backend}]");
        // Another tenant's change stays in that tenant's feed.
        let other = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                           "userName": "someone@other.example"});
        let request = Request::builder()
            .method(Method::POST)
            .uri("/scim/v2/Users")
            .header(header::HOST, "scim.test")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", app.other_tenant_token),
            )
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Body::from(other.to_string()))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::CREATED);

        let (status, page) = events(&app, &key, "").await;
        assert_eq!(status, StatusCode::OK, "[{backend}] {page}");
        assert_eq!(
            types(&page),
            [
                "user.created",
                "user.updated",
                "user.deactivated",
                "user.reactivated",
                "user.deleted"
            ],
            "[{backend}]"
        );
        let first = &page["data"][0];
        assert_eq!(first["sequence"], 1, "[{backend}]");
        assert_eq!(first["tenant"], "default");
        assert_eq!(first["actor"]["kind"], "token");
        assert_eq!(first["actor"]["name"], "entra");
        assert_eq!(first["data"]["account"]["email"], "pat@example.com");
        assert_eq!(first["data"]["account"]["profile"], "Default");
        assert_eq!(first["data"]["account"]["state"], "active");
        // The resource as GET returns it, under the configured (here: default) base URL.
        assert_eq!(first["data"]["user"]["id"], id);
        assert_eq!(
            first["data"]["user"]["meta"]["location"],
            format!("http://localhost:8080/scim/v2/Users/{id}")
        );
        assert_eq!(
            page["data"][1]["data"]["changed"],
            json!(["name.givenName"])
        );
        assert_eq!(page["data"][4]["data"]["user"], Value::Null);
        assert_eq!(page["next_cursor"], "5", "[{backend}]");

        // Paging: two at a time, resuming after each answer's cursor.
        let (mut after, mut seen) = (String::new(), Vec::new());
        loop {
            let (_, page) = events(&app, &key, &format!("?limit=2&after={after}")).await;
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= 2);
            if data.is_empty() {
                assert_eq!(page["next_cursor"], after, "an empty page keeps the cursor");
                break;
            }
            seen.extend(data.iter().map(|e| e["sequence"].as_i64().unwrap()));
            after = page["next_cursor"].as_str().unwrap().to_owned();
        }
        assert_eq!(seen, [1, 2, 3, 4, 5], "[{backend}]");

        let (_, page) = events(&app, &key, "?types=user.deactivated,user.deleted").await;
        assert_eq!(types(&page), ["user.deactivated", "user.deleted"]);
    }
}

#[tokio::test]
async fn events_name_users_under_the_public_url() {
    let app = TestApp::configured(String::new(), |config| {
        config.public_url = Some("https://scim.example.com/".into());
    })
    .await;
    let key = viewer_key(&app).await;
    let created = app.create("pat@example.com").await;
    let (_, page) = events(&app, &key, "").await;
    assert_eq!(
        page["data"][0]["data"]["user"]["meta"]["location"],
        format!(
            "https://scim.example.com/scim/v2/Users/{}",
            created["id"].as_str().unwrap()
        )
    );
}

#[tokio::test]
async fn bad_reads_are_refused_naming_the_parameter() {
    let app = TestApp::new().await;
    let key = viewer_key(&app).await;
    for (query, says) in [
        ("?after=-3", "'after' must be a cursor"),
        ("?after=%00", "'after' must be a cursor"),
        ("?limit=0", "'limit' must be a whole number from 1 to 1000"),
        ("?limit=100000", "'limit'"),
        (
            "?types=user.created,group.exploded",
            "'group.exploded' is not an event type",
        ),
        (
            "?wait=600",
            "'wait' must be a whole number of seconds from 0 to 30",
        ),
    ] {
        let (status, body) = events(&app, &key, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with(says), "{query}: {error}");
    }
    let (status, _) = events(&app, "scimd_k_not_a_key", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An IdP's SCIM token is not an admin key.
    let (status, _) = events(&app, &app.token, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A read with `wait` that finds nothing answers as soon as the next event is written (by
/// another request), not when its wait ends.
#[tokio::test]
async fn a_waiting_read_answers_with_the_next_event() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let key = viewer_key(&app).await;
        app.create("first@example.com").await;
        let waiting = {
            let (router, key) = (app.router.clone(), key.clone());
            tokio::spawn(async move {
                let request = Request::builder()
                    .uri("/admin/api/v1/events?after=1&wait=30")
                    .header(header::HOST, "scim.test")
                    .header(header::AUTHORIZATION, format!("Bearer {key}"))
                    .body(Body::empty())
                    .unwrap();
                let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
                let bytes = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                serde_json::from_slice::<Value>(&bytes).unwrap()
            })
        };
        app.create("second@example.com").await;
        let page = waiting.await.unwrap();
        assert_eq!(types(&page), ["user.created"], "[{backend}] {page}");
        assert_eq!(
            page["data"][0]["data"]["account"]["email"],
            "second@example.com"
        );
        assert_eq!(page["next_cursor"], "2");
    }
}
