//! The admin JSON API (SPEC §7): its OpenAPI document matches the routes, API keys and sessions
//! authenticate (sessions need the CSRF header to change anything), viewers only read, and the
//! operations do what the console and the CLI do.

use crate::common;

use crate::common::{TestApp, admin_origin};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use scimd_core::admin::Role;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough passphrase";
const OPENAPI: &str = include_str!("../../src/http/admin_api/openapi.json");
const ROUTES: &str = include_str!("../../src/http/admin_api/routes.rs");

async fn key_for(app: &TestApp, email: &str, role: Role) -> String {
    let provisioner = app.provisioner().await;
    provisioner
        .create_admin(&admin_origin(), email, Some("default"), role, PASSWORD)
        .await
        .unwrap();
    provisioner
        .create_api_key(email, "tests", 365)
        .await
        .unwrap()
        .expose()
        .to_owned()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "scim.test");
    if let Some(key) = auth {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `(METHOD, path)` of every route the handlers register, read from their `router()` source.
fn routes_in_code() -> BTreeSet<(String, String)> {
    let start = ROUTES.find("fn router()").unwrap();
    let router = &ROUTES[start..start + ROUTES[start..].find("\n}\n").unwrap()];
    let mut routes = BTreeSet::new();
    for registration in router.split(".route(").skip(1) {
        let path = registration
            .split('"')
            .nth(1)
            .unwrap()
            .replace("/admin/api/v1", "");
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = [
                format!("({method}("),
                format!(" {method}("),
                format!(".{method}("),
                format!("::{method}("),
            ]
            .iter()
            .any(|call| registration.contains(call.as_str()));
            if called {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn routes_documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/admin/api/v1");
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes() {
    let code = routes_in_code();
    assert!(code.len() >= 20, "{code:?}");
    assert_eq!(
        routes_documented(),
        code,
        "openapi.json and the router differ"
    );
    let app = TestApp::new().await;
    let (status, served) = call(&app, Method::GET, "/admin/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, serde_json::from_str::<Value>(OPENAPI).unwrap());
    // Every documented operation exists: with a key it never answers 404 for the route or 405.
    let key = key_for(&app, "ann@example.com", Role::Admin).await;
    for (method, path) in routes_documented() {
        let concrete = path
            .replace("{name}", "nothing-here")
            .replace("{email}", "nobody@example.com")
            .replace("{report}", "provisioning");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, body) = call(
            &app,
            method.clone(),
            &format!("/admin/api/v1{concrete}"),
            Some(&key),
            Some(json!({})),
        )
        .await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            status != StatusCode::NOT_FOUND || body["error"].is_string(),
            "{method} {path}: {body}"
        );
    }
}

#[tokio::test]
async fn keys_and_sessions_authenticate_and_viewers_only_read() {
    let app = TestApp::new().await;
    let admin = key_for(&app, "ann@example.com", Role::Admin).await;
    let viewer = key_for(&app, "vic@example.com", Role::Viewer).await;
    let (status, body) = call(&app, Method::GET, "/admin/api/v1/users", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["status"], 401);
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/v1/users",
        Some("scimd_k_nope"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An IdP's SCIM token is not an admin key.
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/v1/users",
        Some(&app.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/v1/profiles",
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let profile = json!({"name": "Gold", "max_users": 5});
    let (status, _) = call(
        &app,
        Method::POST,
        "/admin/api/v1/profiles",
        Some(&viewer),
        Some(profile.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = call(
        &app,
        Method::POST,
        "/admin/api/v1/profiles",
        Some(&admin),
        Some(profile),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // A session works too; its changes need the CSRF header.
    let provisioner = app.provisioner().await;
    let (_, secret, session) = provisioner
        .sign_in("ann@example.com", PASSWORD)
        .await
        .unwrap();
    let with_session = |method: Method, csrf: Option<&str>| {
        let mut request = Request::builder()
            .method(method)
            .uri("/admin/api/v1/storages")
            .header(header::HOST, "scim.test")
            .header(
                header::COOKIE,
                format!("__Host-scimd_session={}", secret.expose()),
            )
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
            .body(Body::from(
                json!({"name": "EU", "region": "eu-west-1"}).to_string(),
            ))
            .unwrap()
    };
    let status = |request: Request<Body>| {
        let router = app.router.clone();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    assert_eq!(
        status(with_session(Method::GET, None)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(with_session(Method::POST, None)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(with_session(Method::POST, Some(&session.csrf_token))).await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_api_runs_the_catalog_users_tokens_reports_and_activity() {
    let app = TestApp::new().await;
    let key = key_for(&app, "ann@example.com", Role::Admin).await;
    let api = |method: Method, path: &str, body: Option<Value>| {
        let key = key.clone();
        let path = format!("/admin/api/v1{path}");
        let app = &app;
        async move { call(app, method, &path, Some(&key), body).await }
    };
    let (status, mapping) = api(
        Method::POST,
        "/mappings",
        Some(json!({"name": "Eng", "criteria": {"attribute": "department", "values": ["R&D", "Engineering"]},
                    "profile": "Default", "storage": "Default", "quota_bytes": 1000})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mapping}");
    // above the catch-all `Default`, which stays last.
    assert_eq!(
        (&mapping["priority"], &mapping["shadowed_by"]),
        (&json!(1), &Value::Null)
    );
    let move_to = |priority: Value| {
        api(
            Method::PUT,
            "/mappings/Eng/priority",
            Some(json!({"priority": priority})),
        )
    };
    assert_eq!(move_to(json!(2)).await.0, StatusCode::NO_CONTENT);
    // below an any-user mapping, it is shadowed, and the list says by which.
    let (_, listed) = api(Method::GET, "/mappings", None).await;
    assert_eq!(listed["mappings"][1]["name"], "Eng");
    assert_eq!(listed["mappings"][1]["shadowed_by"], "Default");
    let (_, preview) = api(
        Method::POST,
        "/mappings/preview",
        Some(json!({"user": {"userName": "a@example.com", "department": "R&D"}})),
    )
    .await;
    assert_eq!(preview["matched"], "Default");
    assert_eq!(preview["shadowed"][0]["mapping"], "Eng");
    for bad in [json!(0), json!(-1), json!("1"), json!(1.5)] {
        let (status, refused) = move_to(bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {refused}");
    }
    assert_eq!(move_to(json!(1)).await.0, StatusCode::NO_CONTENT);
    let (_, listed) = api(Method::GET, "/mappings", None).await;
    assert_eq!(listed["mappings"][0]["name"], "Eng");
    assert_eq!(listed["mappings"][0]["shadowed_by"], Value::Null);
    let (status, refused) = api(
        Method::PATCH,
        "/mappings/Eng",
        Some(json!({"criteria": {"any_user": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["error"].as_str().unwrap().contains("R-24"));
    let (_, preview) = api(
        Method::POST,
        "/mappings/preview",
        Some(json!({"user": {"userName": "a@b.co", "department": "R&D"}})),
    )
    .await;
    assert_eq!(preview["matched"], "Eng");

    let (status, user) = api(
        Method::POST,
        "/users",
        Some(json!({"email": "man@example.com", "name": "Man Ual", "profile": "Default", "storage": "Default"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["managed_by"], "manual");
    let (_, preserved) = api(Method::POST, "/users/man@example.com/preserve", None).await;
    assert_eq!(preserved["preserved_by"], "admin");
    let (_, page) = api(Method::GET, "/users?state=preserved", None).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let (_, report) = api(Method::GET, "/reports/preserved", None).await;
    assert_eq!(report["rows"][0]["email"], "man@example.com");
    let (status, _) = api(Method::DELETE, "/users/man@example.com", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is required");
    let (status, _) = api(Method::DELETE, "/users/man@example.com?reason=test", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api(Method::GET, "/users/man@example.com", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, token) = api(Method::POST, "/tokens", Some(json!({"name": "okta"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(token["secret"].as_str().unwrap().starts_with("scimd_"));
    assert_eq!(
        api(Method::DELETE, "/tokens/okta", None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, tokens) = api(Method::GET, "/tokens", None).await;
    assert!(
        tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "okta" && t["status"] == "revoked")
    );

    let (_, events) = api(Method::GET, "/activity?user=man@example.com", None).await;
    let operations: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["destroy", "preserve", "create"]);
    assert_eq!(events["events"][0]["actor"], "ann@example.com");
    let (status, body) = api(
        Method::POST,
        "/profiles",
        Some(json!(["not", "an", "object"])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn tenants_are_for_operators_and_tenant_admins_stay_in_theirs() {
    let app = TestApp::new().await;
    let admin = key_for(&app, "ann@example.com", Role::Admin).await;
    let operator = key_for(&app, "ops@example.com", Role::Operator).await;
    app.create("default.user@example.com").await;
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/v1/tenants",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = call(
        &app,
        Method::POST,
        "/admin/api/v1/tenants",
        Some(&operator),
        Some(json!({"slug": "acme"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, tenants) = call(
        &app,
        Method::GET,
        "/admin/api/v1/tenants",
        Some(&operator),
        None,
    )
    .await;
    let slugs: Vec<&str> = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "default", "other"]);
    let (_, acme) = call(
        &app,
        Method::GET,
        "/admin/api/v1/users?tenant=acme",
        Some(&operator),
        None,
    )
    .await;
    assert!(
        acme["users"].as_array().unwrap().is_empty(),
        "the operator looks into acme"
    );
    // A tenant admin naming another tenant still sees only its own.
    let (_, own) = call(
        &app,
        Method::GET,
        "/admin/api/v1/users?tenant=acme",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(own["users"][0]["email"], "default.user@example.com");
}

/// R-46 over the API: profiles and storages are renamed and re-limited; a limit below the
/// users held, a bad limit, an unknown or taken name get clear errors and change nothing; a
/// viewer may not.
#[tokio::test]
async fn profiles_and_storages_are_edited_through_the_api() {
    let app = TestApp::new().await;
    let key = key_for(&app, "ann@example.com", Role::Admin).await;
    let viewer = key_for(&app, "vic@example.com", Role::Viewer).await;
    let api = |method: Method, path: &str, body: Option<Value>| {
        let key = key.clone();
        let path = format!("/admin/api/v1{path}");
        let app = &app;
        async move { call(app, method, &path, Some(&key), body).await }
    };
    api(
        Method::POST,
        "/profiles",
        Some(json!({"name": "Gold", "max_users": 5})),
    )
    .await;
    api(
        Method::POST,
        "/users",
        Some(
            json!({"email": "a@example.com", "name": "A", "profile": "Gold", "storage": "Default"}),
        ),
    )
    .await;
    for (body, status, says) in [
        (
            json!({"max_users": 0.5}),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (
            json!({"max_users": "3"}),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "give a new name"),
        (
            json!({"new_name": "Default"}),
            StatusCode::CONFLICT,
            "already exists",
        ),
    ] {
        let (got, refused) = api(Method::PATCH, "/profiles/Gold", Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {refused}");
        assert!(
            refused["error"].as_str().unwrap().contains(says),
            "{refused}"
        );
    }
    let (status, refused) = api(
        Method::PATCH,
        "/profiles/Nope",
        Some(json!({"max_users": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, _) = call(
        &app,
        Method::PATCH,
        "/admin/api/v1/profiles/Gold",
        Some(&viewer),
        Some(json!({"max_users": 9})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, profiles) = api(Method::GET, "/profiles", None).await;
    assert!(
        profiles["profiles"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "Gold", "max_users": 5}))
    );

    let (status, _) = api(
        Method::PATCH,
        "/profiles/Gold",
        Some(json!({"new_name": "Platinum", "max_users": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, profiles) = api(Method::GET, "/profiles", None).await;
    assert!(
        profiles["profiles"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "Platinum", "max_users": 1}))
    );
    let (user_status, user) = api(Method::GET, "/users/a@example.com", None).await;
    assert_eq!(user_status, StatusCode::OK);
    assert!(
        user.to_string().contains("Platinum"),
        "the user follows the rename: {user}"
    );

    let (status, _) = api(
        Method::PATCH,
        "/storages/Default",
        Some(json!({"region": "eu-west-1"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api(
        Method::PATCH,
        "/storages/Nope",
        Some(json!({"region": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, storages) = api(Method::GET, "/storages", None).await;
    assert_eq!(
        storages["storages"],
        json!([{"name": "Default", "region": "eu-west-1"}])
    );
}

/// R-47 over the API: read and switched by an admin, not by a viewer; a bad method is refused.
#[tokio::test]
async fn the_provisioning_method_is_read_and_switched_through_the_api() {
    let app = TestApp::new().await;
    let key = key_for(&app, "ann@example.com", Role::Admin).await;
    let viewer = key_for(&app, "vic@example.com", Role::Viewer).await;
    let path = "/admin/api/v1/provisioning";
    let (status, method) = call(&app, Method::GET, path, Some(&viewer), None).await;
    assert_eq!(
        (status, method),
        (StatusCode::OK, json!({"method": "scim"}))
    );
    let (status, _) = call(
        &app,
        Method::PUT,
        path,
        Some(&viewer),
        Some(json!({"method": "manual"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, refused) = call(
        &app,
        Method::PUT,
        path,
        Some(&key),
        Some(json!({"method": "off"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, set) = call(
        &app,
        Method::PUT,
        path,
        Some(&key),
        Some(json!({"method": "manual"})),
    )
    .await;
    assert_eq!((status, set), (StatusCode::OK, json!({"method": "manual"})));
    assert_eq!(
        app.call(Method::GET, "/scim/v2/Users", None).await.status,
        StatusCode::FORBIDDEN
    );
    let (_, method) = call(&app, Method::GET, path, Some(&key), None).await;
    assert_eq!(method, json!({"method": "manual"}));
}

/// R-45 through the API, on both databases: SCIM users of a mapping move all or none, keep
/// their SCIM id, ETag and state, and read `moved by admin`; the reports name the IdP
/// connection that manages them; a move that does not fit, and every bad input, changes
/// nothing; two admins racing for a profile's last place: one moves, the other is refused.
#[tokio::test]
async fn r45_users_move_through_the_api_all_or_none() {
    for (backend, url) in common::database_urls().await {
        let app = TestApp::with_database(url).await;
        let key = key_for(&app, "ann@example.com", Role::Admin).await;
        let api = |method: Method, path: &str, body: Option<Value>| {
            let key = key.clone();
            let path = format!("/admin/api/v1{path}");
            let app = &app;
            async move { call(app, method, &path, Some(&key), body).await }
        };
        for (name, max) in [("Gold", 3), ("Last", 1)] {
            let (status, _) = api(
                Method::POST,
                "/profiles",
                Some(json!({"name": name, "max_users": max})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{backend}");
        }
        api(
            Method::POST,
            "/storages",
            Some(json!({"name": "EU", "region": "eu-west-1"})),
        )
        .await;
        let mut scim = Vec::new();
        for n in 0..3 {
            let request = app
                .request(Method::POST, "/scim/v2/Users")
                .header(header::USER_AGENT, "Okta SCIM Client 1.0.0")
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(Body::from(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                           "userName": format!("s{n}@example.com")})
                    .to_string(),
                ))
                .unwrap();
            let created = app.send(request).await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend}");
            scim.push(created);
        }
        let (_, shown) = api(Method::GET, "/users/s0@example.com", None).await;
        assert_eq!(
            shown["managed_by"], "scim via entra (Okta)",
            "{backend}: {shown}"
        );
        assert_eq!(shown["mapping"], "Default", "{backend}: {shown}");
        let report = |body: Value| async move {
            let (status, answer) = api(Method::POST, "/users/move", Some(body)).await;
            (status, answer)
        };

        // Bad inputs: clear errors, nothing moved.
        for (body, expected, says) in [
            (json!({"profile": "Gold"}), 400, "exactly one of"),
            (
                json!({"emails": ["s0@example.com"], "from_profile": "Default", "profile": "Gold"}),
                400,
                "exactly one of",
            ),
            (
                json!({"emails": [], "profile": "Gold"}),
                400,
                "non-empty list",
            ),
            (
                json!({"emails": [7], "profile": "Gold"}),
                400,
                "'emails[0]' must be a string",
            ),
            (
                json!({"emails": (0..10_001).map(|n| format!("u{n}@example.com")).collect::<Vec<_>>(),
                       "profile": "Gold"}),
                400,
                "at most 10000 accounts by email, not 10001",
            ),
            (json!({"emails": ["s0@example.com"]}), 400, "'profile'"),
            (
                json!({"emails": ["s0@example.com"], "profile": "Gold", "quota_bytes": -1}),
                400,
                "whole number",
            ),
            (
                json!({"emails": ["nobody@example.com"], "profile": "Gold"}),
                404,
                "no account with email 'nobody@example.com'",
            ),
            (
                json!({"emails": ["s0@example.com"], "profile": "Nope"}),
                404,
                "no profile 'Nope'",
            ),
            (
                json!({"emails": ["s0@example.com"], "profile": "Gold", "storage": "Nope"}),
                404,
                "no storage 'Nope'",
            ),
            (
                json!({"from_mapping": "Nope", "profile": "Gold"}),
                404,
                "no mapping 'Nope'",
            ),
            (
                json!({"from_mapping": "Default", "profile": "Last"}),
                400,
                "profile 'Last' holds 0 of 1 users: moving 3 more accounts into it does not fit",
            ),
        ] {
            let (status, answer) = report(body.clone()).await;
            assert_eq!(status.as_u16(), expected, "{backend}: {body}: {answer}");
            assert!(
                answer["error"].as_str().unwrap_or_default().contains(says),
                "{backend}: {body}: {answer}"
            );
        }
        let (_, unchanged) = api(Method::GET, "/users/s0@example.com", None).await;
        assert_eq!(
            unchanged, shown,
            "{backend}: a refused move changed nothing"
        );

        let (status, moved) = report(
            json!({"from_mapping": "default", "profile": "Gold", "storage": "EU", "quota_bytes": 1000}),
        )
        .await;
        assert_eq!(
            (status, &moved),
            (StatusCode::OK, &json!({"moved": 3})),
            "{backend}"
        );
        for (n, created) in scim.iter().enumerate() {
            let (_, view) = api(Method::GET, &format!("/users/s{n}@example.com"), None).await;
            assert_eq!(
                (
                    &view["profile"],
                    &view["storage"],
                    &view["quota_bytes"],
                    &view["mapping"]
                ),
                (
                    &json!("Gold"),
                    &json!("EU"),
                    &json!("1000"),
                    &json!("moved by admin")
                ),
                "{backend}: {view}"
            );
            assert_eq!(view["state"], "active", "{backend}");
            let id = created.body["id"].as_str().unwrap();
            let read = app
                .call(Method::GET, &format!("/scim/v2/Users/{id}"), None)
                .await;
            assert_eq!(
                read.status,
                StatusCode::OK,
                "{backend}: the SCIM id is kept"
            );
            assert_eq!(
                read.header(header::ETAG),
                created.header(header::ETAG),
                "{backend}: the SCIM resource did not change"
            );
        }
        // Moved users are no longer the mapping's.
        let (status, answer) = report(json!({"from_mapping": "Default", "profile": "Last"})).await;
        assert_eq!(
            (status, answer),
            (StatusCode::OK, json!({"moved": 0})),
            "{backend}"
        );
        let (_, activity) = api(Method::GET, "/activity?operation=move", None).await;
        let events = activity["events"].as_array().unwrap();
        assert_eq!(events.len(), 3, "{backend}: {activity}");
        assert!(events.iter().all(|e| {
            e["actor"] == "ann@example.com"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("to profile 'Gold', storage 'EU'")
        }));

        // Two admins, two users, one place left in Last: one wins, the other is refused.
        let (first, second) = tokio::join!(
            report(json!({"emails": ["s0@example.com"], "profile": "Last"})),
            report(json!({"emails": ["s1@example.com"], "profile": "Last"})),
        );
        let statuses = [first.0, second.0];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::BAD_REQUEST),
            "{backend}: {first:?} {second:?}"
        );
        let refused = if first.0 == StatusCode::OK {
            second.1
        } else {
            first.1
        };
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("profile 'Last' holds 1 of 1 users"),
            "{backend}: {refused}"
        );
        let (_, gold) = api(Method::GET, "/users?profile=Gold", None).await;
        assert_eq!(
            gold["users"].as_array().unwrap().len(),
            2,
            "{backend}: {gold}"
        );
    }
}

/// R-48 through the API: the dashboard says whether mail is on; asking for an activation email
/// while it is off, or with a value that is not a boolean, is refused and creates nothing.
#[tokio::test]
async fn activation_emails_are_asked_for_through_the_api() {
    let app = TestApp::new().await;
    let key = key_for(&app, "ann@example.com", Role::Admin).await;
    let (_, dashboard) = call(
        &app,
        Method::GET,
        "/admin/api/v1/dashboard",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(dashboard["mail"], json!({"on": false}));
    for (asked, says) in [
        (json!("yes"), "'send_activation_email' must be a boolean"),
        (json!(true), "email notifications are off"),
    ] {
        let body = json!({"email": "m@example.com", "name": "M", "profile": "Default",
                          "storage": "Default", "send_activation_email": asked});
        let (status, answer) = call(
            &app,
            Method::POST,
            "/admin/api/v1/users",
            Some(&key),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    let (status, _) = call(
        &app,
        Method::GET,
        "/admin/api/v1/users/m@example.com",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Every route that takes a body refuses one that does not fit its shape with a 400 that names
/// the member (or says the body is not a JSON object, or not JSON), and changes nothing.
#[tokio::test]
async fn malformed_bodies_are_refused_naming_the_member_and_change_nothing() {
    let app = TestApp::new().await;
    let key = key_for(&app, "ann@example.com", Role::Operator).await;
    let api = |method: Method, path: &str, body: Value| {
        let (app, key, path) = (&app, key.clone(), format!("/admin/api/v1{path}"));
        async move { call(app, method, &path, Some(&key), Some(body)).await }
    };
    let everything = || async {
        let mut seen = Vec::new();
        for path in [
            "/profiles",
            "/storages",
            "/mappings",
            "/tokens",
            "/users",
            "/tenants",
        ] {
            let (_, body) = api(Method::GET, path, Value::Null).await;
            seen.push(body);
        }
        seen
    };
    let before = everything().await;
    let routes = [
        (Method::POST, "/tenants"),
        (Method::POST, "/tokens"),
        (Method::POST, "/profiles"),
        (Method::PATCH, "/profiles/Default"),
        (Method::POST, "/storages"),
        (Method::PATCH, "/storages/Default"),
        (Method::POST, "/mappings"),
        (Method::PATCH, "/mappings/Default"),
        (Method::PUT, "/mappings/Default/priority"),
        (Method::POST, "/mappings/preview"),
        (Method::POST, "/users"),
        (Method::POST, "/users/move"),
        (Method::PUT, "/provisioning"),
    ];
    for (method, path) in routes {
        for (body, says) in [
            (json!(["a list"]), "the body must be a JSON object"),
            (json!("text"), "the body must be a JSON object"),
        ] {
            let (status, answer) = api(method.clone(), path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
            assert_eq!(answer["error"], says, "{method} {path}");
        }
    }
    for (method, path, body, says) in [
        (
            Method::POST,
            "/tenants",
            json!({"slug": 7}),
            "'slug' must be a string",
        ),
        (Method::POST, "/tokens", json!({}), "'name' is required"),
        (
            Method::POST,
            "/tokens",
            json!({"name": "t", "keep_previous_seconds": -5}),
            "'keep_previous_seconds' must be a whole number",
        ),
        (
            Method::PATCH,
            "/profiles/Default",
            json!({"max_users": [1]}),
            "'max_users' must be a whole number",
        ),
        (
            Method::PATCH,
            "/storages/Default",
            json!({"region": false}),
            "'region' must be a string",
        ),
        (
            Method::POST,
            "/mappings",
            json!({"name": "m", "criteria": {"attribute": "department", "values": 3},
                   "profile": "Default", "storage": "Default"}),
            "'criteria.values'",
        ),
        (
            Method::PATCH,
            "/mappings/Default",
            json!({"quota_bytes": 1.5}),
            "'quota_bytes' must be a whole number",
        ),
        (
            Method::PUT,
            "/mappings/Default/priority",
            json!({"priority": 0}),
            "'priority' must be a whole number from 1",
        ),
        (
            Method::POST,
            "/mappings/preview",
            json!({}),
            "'user' is required",
        ),
        (
            Method::POST,
            "/users/move",
            json!({"emails": "a@example.com", "profile": "Default"}),
            "'emails' must be",
        ),
        (
            Method::PUT,
            "/provisioning",
            json!({"method": 1}),
            "'method' must be a string",
        ),
    ] {
        let (status, answer) = api(method.clone(), path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {answer}"
        );
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{method} {path} {body}: {answer}");
    }
    let (status, answer) = call(
        &app,
        Method::POST,
        "/admin/api/v1/profiles",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not JSON"),
        "{answer}"
    );
    assert_eq!(everything().await, before, "nothing changed");
}
