//! `/Users` over HTTP, in process: every route, every header rule, every error path.

use crate::common;

use crate::common::{TestApp, assert_scim_error, database_urls};
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use scimd_core::access::Grant;
use scimd_core::activity::{EventQuery, Outcome};
use serde_json::{Value, json};

#[tokio::test]
async fn create_answers_201_with_location_etag_and_meta() {
    let app = TestApp::new().await;
    let body = json!({"userName": "bjensen@example.com", "password": "hunter2", "id": "client-id", "groups": []});
    let reply = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        Some("application/scim+json")
    );
    let id = reply.body["id"].as_str().unwrap();
    assert_ne!(id, "client-id");
    let location = format!("http://scim.test/scim/v2/Users/{id}");
    assert_eq!(reply.header(header::LOCATION), Some(location.as_str()));
    assert_eq!(reply.header(header::ETAG), Some("W/\"1\""));
    assert_eq!(reply.body["meta"]["location"], location);
    assert_eq!(reply.body["meta"]["resourceType"], "User");
    assert_eq!(reply.body["active"], true);
    assert!(reply.body.get("password").is_none());
}

#[tokio::test]
async fn create_refuses_duplicates_and_non_email_user_names() {
    let app = TestApp::new().await;
    app.create("bjensen@example.com").await;
    let duplicate = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "BJensen@Example.com"})),
        )
        .await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));
    let not_email = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "bjensen"})),
        )
        .await;
    assert_scim_error(&not_email, 400, Some("invalidValue"));
    let missing = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"displayName": "x"})),
        )
        .await;
    assert_scim_error(&missing, 400, Some("invalidValue"));
}

#[tokio::test]
async fn read_supports_if_none_match_and_projection() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    let reply = app.call(Method::GET, &uri, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::ETAG), Some("W/\"1\""));
    let cached = app
        .send(
            app.request(Method::GET, &uri)
                .header(header::IF_NONE_MATCH, "W/\"1\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.raw.is_empty());
    let projected = app
        .call(Method::GET, &format!("{uri}?attributes=userName"), None)
        .await;
    let keys: Vec<&String> = projected.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["schemas", "id", "userName"]);
}

#[tokio::test]
async fn put_replaces_keeps_active_when_omitted_and_honours_if_match() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    app.call(
        Method::PATCH,
        &uri,
        Some(json!({"Operations": [{"op": "replace", "value": {"active": false}}]})),
    )
    .await;
    let replaced = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"userName": "a@example.com", "displayName": "A"})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(replaced.body["displayName"], "A");
    assert_eq!(
        replaced.body["active"], false,
        "PUT without active keeps it"
    );
    assert!(
        replaced.body.get("name").is_none(),
        "PUT replaces the whole resource"
    );
    assert_eq!(replaced.header(header::ETAG), Some("W/\"3\""));

    let stale = app
        .send(
            app.request(Method::PUT, &uri)
                .header(header::IF_MATCH, "W/\"1\"")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"userName": "a@example.com"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_scim_error(&stale, 412, None);
    let fresh = app
        .send(
            app.request(Method::PUT, &uri)
                .header(header::IF_MATCH, "W/\"3\"")
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(Body::from(
                    json!({"userName": "a@example.com", "active": true}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(fresh.body["active"], true);
}

#[tokio::test]
async fn patch_answers_200_with_the_full_resource() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}, {"op": "Add", "path": "nickName", "value": "Babs"}]});
    let reply = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}?aadOptscim062020"),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["active"], false);
    assert_eq!(reply.body["nickName"], "Babs");
    assert_eq!(reply.body["userName"], "a@example.com");
    let bad = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({"Operations": [{"op": "remove", "path": "userName"}]})),
        )
        .await;
    assert_scim_error(&bad, 400, Some("mutability"));
    let unchanged = app
        .call(Method::GET, &format!("/scim/v2/Users/{id}"), None)
        .await;
    assert_eq!(unchanged.body["nickName"], "Babs");
}

/// RFC 7644 §3.5.2: "If any of the operations fails, the request is not applied": the third
/// operation fails, so the first two are not stored either, the ETag stays, and the activity
/// log gains the refusal and no change.
#[tokio::test]
async fn a_patch_whose_third_operation_fails_changes_nothing() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let created = app.create("a@example.com").await;
        let uri = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let before = app.call(Method::GET, &uri, None).await;
        let provisioner = app.provisioner().await;
        let tenant = provisioner.tenant("default").await.unwrap();
        let events = |outcome| EventQuery {
            outcome: Some(outcome),
            limit: 1000,
            ..EventQuery::default()
        };
        let changes = provisioner
            .activity(
                &Grant::command_line(tenant.clone(), common::admin_origin()),
                &events(Outcome::Success),
            )
            .await
            .unwrap();

        let refused = app
            .call(
                Method::PATCH,
                &uri,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "replace", "path": "displayName", "value": "Changed"},
                        {"op": "add", "path": "nickName", "value": "Babs"},
                        {"op": "remove", "path": "userName"}]}),
                ),
            )
            .await;
        assert_scim_error(&refused, 400, Some("mutability"));
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .starts_with("operation 3:"),
            "{backend}: {}",
            refused.body
        );

        let after = app.call(Method::GET, &uri, None).await;
        assert_eq!(after.body, before.body, "{backend}");
        assert_eq!(
            after.header(header::ETAG),
            before.header(header::ETAG),
            "{backend}"
        );
        assert_eq!(
            provisioner
                .activity(
                    &Grant::command_line(tenant.clone(), common::admin_origin()),
                    &events(Outcome::Success)
                )
                .await
                .unwrap(),
            changes,
            "{backend}: no change logged"
        );
        let failures = provisioner
            .activity(
                &Grant::command_line(tenant.clone(), common::admin_origin()),
                &events(Outcome::Failure),
            )
            .await
            .unwrap();
        assert_eq!(
            failures
                .iter()
                .map(|event| (event.status, event.scim_type.as_deref()))
                .collect::<Vec<_>>(),
            [(400, Some("mutability"))],
            "{backend}: the refusal logged"
        );
    }
}

#[tokio::test]
async fn patch_and_delete_honour_if_match() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    let patch = |tag: &str| {
        app.request(Method::PATCH, &uri)
            .header(header::IF_MATCH, tag)
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Body::from(
                json!({"Operations": [{"op": "add", "path": "nickName", "value": tag}]})
                    .to_string(),
            ))
            .unwrap()
    };
    assert_scim_error(&app.send(patch("W/\"9\"")).await, 412, None);
    let applied = app.send(patch("W/\"1\"")).await;
    assert_eq!(
        (applied.status, applied.header(header::ETAG)),
        (StatusCode::OK, Some("W/\"2\""))
    );
    let delete = |tag: &str| {
        app.request(Method::DELETE, &uri)
            .header(header::IF_MATCH, tag)
            .body(Body::empty())
            .unwrap()
    };
    assert_scim_error(&app.send(delete("W/\"1\"")).await, 412, None);
    assert_eq!(
        app.send(delete("W/\"2\"")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_of_one_user_name_make_exactly_one_user() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.call(
                    Method::POST,
                    "/scim/v2/Users",
                    Some(json!({"userName": "race@example.com"})),
                )
                .await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for attempt in attempts {
        replies.push(attempt.await.unwrap());
    }
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count(),
        1
    );
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_scim_error(reply, 409, Some("uniqueness"));
    }
    let listed = app
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22race%40example.com%22",
            None,
        )
        .await;
    assert_eq!(listed.body["totalResults"], 1);
}

#[tokio::test]
async fn unsupported_methods_are_scim_405s() {
    let app = TestApp::new().await;
    assert_scim_error(
        &app.call(Method::DELETE, "/scim/v2/Users", None).await,
        405,
        None,
    );
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Users/.search", None).await,
        405,
        None,
    );
    assert_scim_error(
        &app.call(Method::POST, "/scim/v2/Users/some-id", Some(json!({})))
            .await,
        405,
        None,
    );
}

#[tokio::test]
async fn delete_answers_204_then_404_for_ever() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    assert_eq!(
        app.call(Method::DELETE, &uri, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_scim_error(&app.call(Method::GET, &uri, None).await, 404, None);
    assert_scim_error(&app.call(Method::DELETE, &uri, None).await, 404, None);
    let patch = json!({"Operations": [{"op": "replace", "value": {"active": true}}]});
    assert_scim_error(&app.call(Method::PATCH, &uri, Some(patch)).await, 404, None);
    let listed = app.call(Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(listed.body["totalResults"], 0);
}

#[tokio::test]
async fn list_filters_pages_and_always_returns_a_list_response() {
    let app = TestApp::new().await;
    for index in 0..5 {
        app.create(&format!("user{index}@example.com")).await;
    }
    let empty = app
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName+eq+%22nobody%40example.com%22",
            None,
        )
        .await;
    assert_eq!(
        empty.body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
    let one = app
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22USER3%40example.com%22",
            None,
        )
        .await;
    assert_eq!(one.body["totalResults"], 1);
    assert_eq!(one.body["Resources"][0]["userName"], "user3@example.com");

    let page = app
        .call(Method::GET, "/scim/v2/Users?startIndex=2&count=2", None)
        .await;
    assert_eq!(
        (
            page.body["totalResults"].as_u64(),
            page.body["itemsPerPage"].as_u64(),
            page.body["startIndex"].as_u64()
        ),
        (Some(5), Some(2), Some(2))
    );
    assert_eq!(page.body["Resources"][0]["userName"], "user1@example.com");
    let totals = app.call(Method::GET, "/scim/v2/Users?count=0", None).await;
    assert_eq!(
        (
            totals.body["totalResults"].as_u64(),
            totals.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(5), Some(0))
    );
    let past = app
        .call(Method::GET, "/scim/v2/Users?startIndex=99&count=10", None)
        .await;
    assert_eq!(past.body["Resources"], json!([]));
    let negative = app
        .call(
            Method::GET,
            "/scim/v2/Users?startIndex=-5&count=999999999",
            None,
        )
        .await;
    assert_eq!(
        (negative.status, negative.body["startIndex"].as_u64()),
        (StatusCode::OK, Some(1))
    );

    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let reply = app
            .call(
                Method::GET,
                &format!("/scim/v2/Users?count=2&cursor={cursor}"),
                None,
            )
            .await;
        assert!(reply.body.get("startIndex").is_none());
        seen += reply.body["Resources"].as_array().unwrap().len();
        match reply.body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 5);
    let sorted = app
        .call(
            Method::GET,
            "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=1",
            None,
        )
        .await;
    assert_eq!(sorted.body["Resources"][0]["userName"], "user4@example.com");
}

#[tokio::test]
async fn search_takes_the_query_in_the_body() {
    let app = TestApp::new().await;
    app.create("a@example.com").await;
    app.create("b@example.com").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"b\"", "attributes": ["userName"], "startIndex": 1, "count": 10});
    let reply = app
        .call(Method::POST, "/scim/v2/Users/.search", Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["totalResults"], 1);
    assert_eq!(
        reply.body["Resources"][0],
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": reply.body["Resources"][0]["id"], "userName": "b@example.com"})
    );
    let bad = app
        .call(
            Method::POST,
            "/scim/v2/Users/.search",
            Some(json!({"filter": 42.5, "count": {"x": 1}})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // RFC 7644 §3.4.3: the same search at the root spans all resource types (User only).
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"a\""});
    let root = app.call(Method::POST, "/scim/v2/.search", Some(body)).await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.body);
    assert_eq!(root.body["totalResults"], 1);
    assert_eq!(root.body["Resources"][0]["meta"]["resourceType"], "User");
}

/// RFC 7644 §3.5.2.2: a removed attribute is unassigned. Removing `active` is not a
/// deactivation (R-34 needs `active:false`): the account stays as it is, and the document
/// is returned as the IdP left it.
#[tokio::test]
async fn patch_remove_of_active_unassigns_it_and_keeps_the_account_state() {
    let app = TestApp::new().await;
    let id = app.create("keep@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/scim/v2/Users/{id}");
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "active"}]});
    let reply = app.call(Method::PATCH, &uri, Some(remove)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body.get("active"), None);
    assert_eq!(
        app.call(Method::GET, &uri, None).await.body.get("active"),
        None
    );
    let active = app
        .call(
            Method::GET,
            "/scim/v2/Users?filter=active%20eq%20true",
            None,
        )
        .await;
    assert_eq!(
        active.body["totalResults"], 1,
        "the account is still active"
    );
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let reply = app.call(Method::PATCH, &uri, Some(off)).await;
    assert_eq!(reply.body["active"], false);
}

#[tokio::test]
async fn bad_inputs_get_scim_errors_and_the_server_keeps_serving() {
    let app = TestApp::new().await;
    let raw = |method: Method, uri: &str, content_type: &str, body: Vec<u8>| {
        app.request(method, uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "application/json",
            b"{\"userName\":".to_vec(),
        ))
        .await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "application/json",
            b"".to_vec(),
        ))
        .await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "text/plain",
            b"{}".to_vec(),
        ))
        .await,
        415,
        None,
    );
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "application/json",
            vec![b'{', 0xff, 0xfe, b'}'],
        ))
        .await,
        400,
        Some("invalidSyntax"),
    );
    let huge = format!(
        "{{\"userName\":\"a@b.co\",\"x\":\"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "application/json",
            huge.into_bytes(),
        ))
        .await,
        413,
        None,
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_scim_error(
        &app.send(raw(
            Method::POST,
            "/scim/v2/Users",
            "application/json",
            deep.into_bytes(),
        ))
        .await,
        400,
        Some("invalidSyntax"),
    );
    assert_scim_error(
        &app.call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!(["not", "an", "object"])),
        )
        .await,
        400,
        Some("invalidSyntax"),
    );

    let deep_filter = format!("{}userName pr{}", "(".repeat(1000), ")".repeat(1000));
    let uri = format!("/scim/v2/Users?filter={}", deep_filter.replace(' ', "%20"));
    assert_scim_error(
        &app.call(Method::GET, &uri, None).await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &app.call(
            Method::GET,
            "/scim/v2/Users?filter=shoeSize%20eq%2042",
            None,
        )
        .await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Users?startIndex=abc", None)
            .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &app.call(
            Method::GET,
            "/scim/v2/Users?count=99999999999999999999999",
            None,
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Users?cursor=not-ours", None)
            .await,
        400,
        Some("invalidCursor"),
    );
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Users?sortBy=name", None)
            .await,
        400,
        Some("invalidValue"),
    );
    // A malformed escape is kept literally by the query decoder, and is then no filter.
    assert_scim_error(
        &app.call(Method::GET, "/scim/v2/Users?filter=%ZZ", None)
            .await,
        400,
        Some("invalidFilter"),
    );
    for bogus in ["nope", "00919288221112222", "..%2F..%2Fetc", "%00"] {
        assert_scim_error(
            &app.call(Method::GET, &format!("/scim/v2/Users/{bogus}"), None)
                .await,
            404,
            None,
        );
    }
    assert_eq!(
        app.call(Method::GET, "/scim/v2/Users", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_authentication_failure_is_the_same_401() {
    let app = TestApp::new().await;
    let mut bodies = Vec::new();
    for authorization in [
        None,
        Some("Bearer"),
        Some("Basic dXNlcjpwYXNz"),
        Some("non-token"),
        Some("Bearer scimd_0000000000000000000000000000000000000000000000000000000000000000"),
    ] {
        let mut builder = axum::http::Request::builder().uri("/scim/v2/Users");
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let reply = app.send(builder.body(Body::empty()).unwrap()).await;
        assert_scim_error(&reply, 401, None);
        assert_eq!(
            reply.header(header::WWW_AUTHENTICATE),
            Some("Bearer realm=\"scimd\"")
        );
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "no oracle: {bodies:?}"
    );
}

#[tokio::test]
async fn tenants_cannot_see_each_other() {
    let app = TestApp::new().await;
    let id = app.create("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_other = |method: Method, uri: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", app.other_tenant_token),
            )
            .body(Body::empty())
            .unwrap()
    };
    assert_scim_error(
        &app.send(as_other(Method::GET, &format!("/scim/v2/Users/{id}")))
            .await,
        404,
        None,
    );
    assert_scim_error(
        &app.send(as_other(Method::DELETE, &format!("/scim/v2/Users/{id}")))
            .await,
        404,
        None,
    );
    assert_eq!(
        app.send(as_other(Method::GET, "/scim/v2/Users")).await.body["totalResults"],
        0
    );
    // The same userName is free in the other tenant.
    let create = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", app.other_tenant_token),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"userName": "a@example.com"}).to_string()))
        .unwrap();
    assert_eq!(app.send(create).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_public_url_replaces_scheme_and_host_in_locations() {
    let app = TestApp::configured(String::new(), |config| {
        config.public_url = Some("https://scim.example.com/".into());
    })
    .await;
    let created = app.create("a@example.com").await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["meta"]["location"],
        format!("https://scim.example.com/scim/v2/Users/{id}")
    );
    let reply = app
        .call(Method::GET, &format!("/insync/scim/Users/{id}"), None)
        .await;
    assert_eq!(
        reply.body["meta"]["location"],
        format!("https://scim.example.com/insync/scim/Users/{id}")
    );
}

#[tokio::test]
async fn both_base_paths_serve_the_same_api() {
    let app = TestApp::new().await;
    let created = app.create("a@example.com").await;
    let id = created["id"].as_str().unwrap();
    let reply = app
        .call(Method::GET, &format!("/insync/scim/Users/{id}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["meta"]["location"],
        format!("http://scim.test/insync/scim/Users/{id}")
    );
}

/// SPEC §2: every failed SCIM call is logged with the operation its route attempts, the SCIM
/// id or userName it was about, and the exact error body the client received; also when the
/// request is refused before its handler runs (a body that is not JSON).
#[tokio::test]
async fn every_route_logs_its_failures_with_operation_target_and_the_body_sent() {
    let app = TestApp::new().await;
    let created = app.create("kept@example.com").await;
    let id = created["id"].as_str().unwrap();
    let uri = format!("/scim/v2/Users/{id}");
    let malformed = |method: Method, uri: &str| {
        app.request(method, uri)
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Body::from("{not json"))
            .unwrap()
    };
    let failures = [
        (
            app.call(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": "KEPT@example.com"})),
            )
            .await,
            ("create", None, Some("KEPT@example.com")),
        ),
        (
            app.call(Method::GET, "/scim/v2/Users/no-such-id", None)
                .await,
            ("read", Some("no-such-id"), None),
        ),
        (
            app.send(malformed(Method::PUT, &uri)).await,
            ("replace", Some(id), None),
        ),
        (
            app.call(
                Method::PATCH,
                &uri,
                Some(json!({"Operations": [{"op": "explode"}]})),
            )
            .await,
            ("update", Some(id), None),
        ),
        (
            app.send(
                app.request(Method::DELETE, &uri)
                    .header(header::IF_MATCH, "W/\"99\"")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await,
            ("delete", Some(id), None),
        ),
        (
            app.call(Method::GET, "/scim/v2/Users?filter=nope%20eq%201", None)
                .await,
            ("list", None, None),
        ),
        (
            app.call(
                Method::POST,
                "/scim/v2/Users/.search",
                Some(json!({"count": [1]})),
            )
            .await,
            ("search", None, None),
        ),
    ];
    let provisioner = app.provisioner().await;
    let grant = provisioner
        .command_line_grant("default", common::admin_origin())
        .await
        .unwrap();
    let query = EventQuery {
        outcome: Some(Outcome::Failure),
        limit: 100,
        ..EventQuery::default()
    };
    let mut logged = provisioner.activity(&grant, &query).await.unwrap();
    logged.reverse();
    assert_eq!(logged.len(), failures.len(), "{logged:#?}");
    for ((reply, (operation, target_id, user_name)), event) in failures.iter().zip(&logged) {
        let what = format!("{operation}: {}", reply.body);
        assert!(reply.status.is_client_error(), "{what}");
        assert_eq!(event.operation, *operation, "{what}");
        assert_eq!(event.status, reply.status.as_u16(), "{what}");
        assert_eq!(event.target_id.as_deref(), *target_id, "{what}");
        assert_eq!(event.target_user_name.as_deref(), *user_name, "{what}");
        assert_eq!(
            event.response.as_deref().map(str::as_bytes),
            Some(reply.raw.as_slice()),
            "{what}: the body the client received"
        );
        assert_eq!(
            event.detail.as_deref(),
            reply.body["detail"].as_str(),
            "{what}"
        );
        assert_eq!(
            event.scim_type.as_deref(),
            reply.body["scimType"].as_str(),
            "{what}"
        );
    }
}
