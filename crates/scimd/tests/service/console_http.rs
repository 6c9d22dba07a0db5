//! The web console over HTTP (SPEC §7): sign-in and sessions, the Provisioning page's tokens,
//! and the security rules: no page without a session, CSRF tokens, same-origin POSTs, viewers
//! read only, sign-out ends the session, every value HTML-escaped.

use crate::common;

use crate::common::{TestApp, admin_origin};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use scimd_core::access::Grant;
use scimd_core::admin::Role;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough passphrase";
const ORIGIN: &str = "http://scim.test";

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    html: String,
}

async fn send(app: &TestApp, request: Request<Body>) -> Page {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        html: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .uri(path)
        .header(header::HOST, "scim.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("__Host-scimd_session={cookie}"));
    }
    request.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)], origin: &str) -> Request<Body> {
    let body: String = form
        .iter()
        .map(|(name, value)| format!("{name}={}", urlencode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "scim.test")
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("__Host-scimd_session={cookie}"));
    }
    request.body(Body::from(body)).unwrap()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn with_admin(app: &TestApp, email: &str, role: Role) {
    common::add_admin(&app.config.database_url, email, role, PASSWORD).await;
}

/// Signs in; returns the session cookie's value.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let page = send(
        app,
        post(
            "/admin/sign-in",
            None,
            &[("email", email), ("password", PASSWORD)],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let cookie = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("__Host-scimd_session=")
        .unwrap()
        .to_owned()
}

/// The CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

#[tokio::test]
async fn no_page_without_a_session() {
    let app = TestApp::new().await;
    for path in ["/admin", "/admin/provisioning"] {
        let page = send(&app, get(path, None)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.headers[header::LOCATION], "/admin/sign-in", "{path}");
        let forged = send(&app, get(path, Some("scimd_s_0000"))).await;
        assert_eq!(
            forged.status,
            StatusCode::SEE_OTHER,
            "{path}: a made-up cookie"
        );
    }
    let sign_in = send(&app, get("/admin/sign-in", None)).await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(sign_in.html.contains("type=\"password\""));
    assert!(
        sign_in.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn sign_in_sets_a_host_only_strict_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let wrong = send(
        &app,
        post(
            "/admin/sign-in",
            None,
            &[("email", "ann@example.com"), ("password", "nope nope nope")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("Wrong email or password"));
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());

    let page = send(
        &app,
        post(
            "/admin/sign-in",
            None,
            &[("email", "ann@example.com"), ("password", PASSWORD)],
            ORIGIN,
        ),
    )
    .await;
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in [
        "__Host-scimd_session=scimd_s_",
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    // Session fixation: every sign-in makes a new session, whatever cookie came with it.
    let first = sign_in(&app, "ann@example.com").await;
    let second = sign_in(&app, "ann@example.com").await;
    assert_ne!(first, second);

    let dashboard = send(&app, get("/admin", Some(&first))).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.html.contains("active users"));
    let csrf = csrf_of(&dashboard.html);
    let stale = send(
        &app,
        post("/admin/sign-out", Some(&first), &[("csrf", "0")], ORIGIN),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::FORBIDDEN,
        "sign-out needs the CSRF token"
    );
    let out = send(
        &app,
        post("/admin/sign-out", Some(&first), &[("csrf", &csrf)], ORIGIN),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = send(&app, get("/admin", Some(&first))).await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
    let other = send(&app, get("/admin", Some(&second))).await;
    assert_eq!(other.status, StatusCode::OK, "other sessions stay");
}

#[tokio::test]
async fn a_token_created_in_the_console_is_shown_once_and_works() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let page = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(
        page.html.contains("http://scim.test/scim/v2"),
        "the SCIM base URL"
    );
    let csrf = csrf_of(&page.html);
    let created = send(
        &app,
        post(
            "/admin/provisioning/tokens",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("name", "okta"),
                ("days", "30"),
                ("keep", "0"),
            ],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let at = created.html.find("id=\"token-secret\">").unwrap() + 18;
    let secret = &created.html[at..at + 70];
    assert!(secret.starts_with("scimd_"), "{secret}");
    let scim = app
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/scim/v2/Users")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        scim.status(),
        StatusCode::OK,
        "the new token works for SCIM"
    );
    let again = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(!again.html.contains(secret), "shown once");
    assert!(again.html.contains(">okta<") && again.html.contains("status-valid"));

    let revoked = send(
        &app,
        post(
            "/admin/provisioning/tokens/okta/revoke",
            Some(&cookie),
            &[("csrf", &csrf)],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let listed = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(listed.html.contains("status-revoked"));
}

#[tokio::test]
async fn changes_need_the_csrf_token_the_same_origin_and_a_role_that_may_change() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    with_admin(&app, "vic@example.com", Role::Viewer).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let csrf = csrf_of(&send(&app, get("/admin", Some(&cookie))).await.html);
    for (case, request) in [
        (
            "no token",
            post(
                "/admin/provisioning/tokens",
                Some(&cookie),
                &[("name", "sneaky")],
                ORIGIN,
            ),
        ),
        (
            "wrong token",
            post(
                "/admin/provisioning/tokens",
                Some(&cookie),
                &[("csrf", &"0".repeat(64)), ("name", "sneaky")],
                ORIGIN,
            ),
        ),
        (
            "another site",
            post(
                "/admin/provisioning/tokens",
                Some(&cookie),
                &[("csrf", &csrf), ("name", "sneaky")],
                "https://evil.example",
            ),
        ),
    ] {
        let page = send(&app, request).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{case}");
    }

    let viewer = sign_in(&app, "vic@example.com").await;
    let page = send(&app, get("/admin/provisioning", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.html.contains("Create token"),
        "a viewer sees no forms to change things"
    );
    let viewer_csrf = csrf_of(&page.html);
    let refused = send(
        &app,
        post(
            "/admin/provisioning/tokens",
            Some(&viewer),
            &[("csrf", &viewer_csrf), ("name", "sneaky")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let listed = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(!listed.html.contains("sneaky"), "nothing was created");
}

#[tokio::test]
async fn every_value_is_html_escaped() {
    let app = TestApp::new().await;
    let email = "<script>alert(1)</script>@example.com";
    with_admin(&app, email, Role::Admin).await;
    let cookie = sign_in(&app, email).await;
    let page = send(&app, get("/admin", Some(&cookie))).await;
    assert!(!page.html.contains("<script>alert(1)"), "{}", page.html);
    assert!(
        page.html.contains("&#60;script&#62;alert(1)")
            || page.html.contains("&lt;script&gt;alert(1)")
    );
}

#[tokio::test]
async fn users_are_searched_opened_preserved_activated_and_deleted_from_the_console() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    app.create("bjensen@example.com").await;
    let body = serde_json::json!({"userName": "evil@example.com", "displayName": "<script>alert(1)</script>"});
    let created = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let cookie = sign_in(&app, "ann@example.com").await;

    let all = send(&app, get("/admin/users", Some(&cookie))).await;
    assert!(all.html.contains("bjensen@example.com") && all.html.contains("evil@example.com"));
    assert!(
        !all.html.contains("<script>alert(1)"),
        "display names are escaped"
    );
    let found = send(&app, get("/admin/users?q=JENSEN", Some(&cookie))).await;
    assert!(found.html.contains("bjensen@example.com"));
    assert!(!found.html.contains("evil@example.com"), "search narrows");
    let by_name = send(&app, get("/admin/users?q=%3Cscript", Some(&cookie))).await;
    assert!(
        by_name.html.contains("evil@example.com"),
        "search covers displayName"
    );
    let none = send(&app, get("/admin/users?state=preserved", Some(&cookie))).await;
    assert!(none.html.contains("No users match."));

    let detail = send(
        &app,
        get("/admin/user?email=bjensen%40example.com", Some(&cookie)),
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.html.contains("Preserve") && detail.html.contains(">create<"));
    let csrf = csrf_of(&detail.html);
    let email = [("csrf", csrf.as_str()), ("email", "bjensen@example.com")];
    let preserved = send(
        &app,
        post("/admin/user/preserve", Some(&cookie), &email, ORIGIN),
    )
    .await;
    assert_eq!(preserved.status, StatusCode::SEE_OTHER);
    let after = send(&app, get("/admin/users?state=preserved", Some(&cookie))).await;
    assert!(after.html.contains("bjensen@example.com") && after.html.contains("(by admin)"));
    let scim = app
        .call(
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22bjensen@example.com%22",
            None,
        )
        .await;
    assert_eq!(
        scim.body["Resources"][0]["active"], false,
        "the IdP sees it preserved"
    );
    let activated = send(
        &app,
        post("/admin/user/activate", Some(&cookie), &email, ORIGIN),
    )
    .await;
    assert_eq!(activated.status, StatusCode::SEE_OTHER);

    let no_reason = send(
        &app,
        post("/admin/user/delete", Some(&cookie), &email, ORIGIN),
    )
    .await;
    assert_eq!(
        no_reason.status,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    let mut with_reason = email.to_vec();
    with_reason.push(("reason", "left the company"));
    let deleted = send(
        &app,
        post("/admin/user/delete", Some(&cookie), &with_reason, ORIGIN),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let gone = send(
        &app,
        get("/admin/user?email=bjensen%40example.com", Some(&cookie)),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reports_and_the_activity_log_show_and_export_what_happened() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Viewer).await;
    app.create("kept@example.com").await;
    let gone = app.create("gone@example.com").await;
    app.call(
        Method::DELETE,
        &format!("/scim/v2/Users/{}", gone["id"].as_str().unwrap()),
        None,
    )
    .await;
    let refused = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(serde_json::json!({"userName": "no-email"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let cookie = sign_in(&app, "ann@example.com").await;

    let report = send(&app, get("/admin/reports/provisioning", Some(&cookie))).await;
    assert!(report.html.contains("kept@example.com") && report.html.contains("gone@example.com"));
    let preserved = send(&app, get("/admin/reports/preserved", Some(&cookie))).await;
    assert!(
        preserved.html.contains("gone@example.com") && !preserved.html.contains("kept@example.com")
    );
    let csv = send(&app, get("/admin/reports/preserved.csv", Some(&cookie))).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(
        csv.html
            .starts_with("User,Email,Profile,Storage,Preserved by,Preserved at,Managed by\n")
    );
    assert_eq!(csv.html.lines().count(), 2, "{}", csv.html);

    let failures = send(&app, get("/admin/activity?outcome=failure", Some(&cookie))).await;
    assert!(
        failures.html.contains("no-email"),
        "the failed create, by userName"
    );
    assert!(
        failures
            .html
            .contains("&#34;scimType&#34;:&#34;invalidValue&#34;")
            || failures
                .html
                .contains("&quot;scimType&quot;:&quot;invalidValue&quot;"),
        "the exact body the IdP received: {}",
        failures.html
    );
    assert!(!failures.html.contains(">delete<"), "only failures");
    let export = send(
        &app,
        get("/admin/activity.csv?operation=delete", Some(&cookie)),
    )
    .await;
    assert_eq!(export.html.lines().count(), 2, "{}", export.html);
    assert!(export.html.contains("gone@example.com"));
    let until = send(
        &app,
        get("/admin/activity?until=2000-01-01T00:00", Some(&cookie)),
    )
    .await;
    assert!(
        until.html.contains("No activity."),
        "a time range before everything"
    );
}

#[tokio::test]
async fn mappings_are_created_in_two_steps_reordered_previewed_edited_and_deleted() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let csrf = csrf_of(&send(&app, get("/admin/mappings", Some(&cookie))).await.html);
    let profile = send(
        &app,
        post(
            "/admin/catalog/profiles",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Engineers"), ("max_users", "10")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER);
    let catalog = send(&app, get("/admin/catalog", Some(&cookie))).await;
    assert!(catalog.html.contains("Engineers") && catalog.html.contains(">10<"));

    let step_one = [
        ("csrf", csrf.as_str()),
        ("name", "Eng"),
        ("kind", "attribute"),
        ("attribute", "department"),
        ("values", "R&D,Engineering"),
    ];
    let step_two = send(
        &app,
        post("/admin/mappings/new", Some(&cookie), &step_one, ORIGIN),
    )
    .await;
    assert_eq!(step_two.status, StatusCode::OK);
    assert!(step_two.html.contains("Step 2 of 2") && step_two.html.contains("department"));
    let mut configured = step_one.to_vec();
    configured.extend([
        ("step", "2"),
        ("profile", "Engineers"),
        ("storage", "Default"),
        ("quota", "1000"),
    ]);
    let created = send(
        &app,
        post("/admin/mappings/new", Some(&cookie), &configured, ORIGIN),
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let bad = [
        ("csrf", csrf.as_str()),
        ("name", "Bad"),
        ("kind", "attribute"),
        ("attribute", "department"),
        ("values", ""),
    ];
    let refused = send(
        &app,
        post("/admin/mappings/new", Some(&cookie), &bad, ORIGIN),
    )
    .await;
    assert!(
        refused.html.contains("class=\"error\""),
        "bad criteria stay on step 1"
    );

    let list = send(&app, get("/admin/mappings", Some(&cookie))).await;
    assert!(
        list.html.find(">Eng<").unwrap() < list.html.find(">Default<").unwrap(),
        "R-23: a new mapping goes above the catch-all, which stays last"
    );
    assert!(!list.html.contains("can never match"));
    let reorder = |priority: &'static str| {
        post(
            "/admin/mappings/reorder",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Eng"), ("priority", priority)],
            ORIGIN,
        )
    };
    assert_eq!(send(&app, reorder("2")).await.status, StatusCode::SEE_OTHER);
    // R-29: below the catch-all, the page says it can never match, and why.
    let list = send(&app, get("/admin/mappings", Some(&cookie))).await;
    let said = list.html.replace("&#39;", "'").replace("&#x27;", "'");
    assert!(
        said.contains(
            "Mapping 'Eng' can never match: 'Default' comes before it and matches any user"
        ) && said.contains("shadowed by 'Default'"),
        "{}",
        list.html
    );
    let sample = r#"{"userName": "a@example.com", "department": "R&D"}"#;
    let shadowed_preview = send(
        &app,
        post(
            "/admin/mappings/preview",
            Some(&cookie),
            &[("csrf", &csrf), ("sample", sample)],
            ORIGIN,
        ),
    )
    .await;
    assert!(
        shadowed_preview
            .html
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .contains("Never tried: mapping 'Eng' can never match"),
        "{}",
        shadowed_preview.html
    );
    assert_eq!(send(&app, reorder("1")).await.status, StatusCode::SEE_OTHER);
    let list = send(&app, get("/admin/mappings", Some(&cookie))).await;
    assert!(list.html.find(">Eng<").unwrap() < list.html.find(">Default<").unwrap());
    assert!(!list.html.contains("can never match"));

    let sample = r#"{"userName": "a@example.com", "department": "R&D"}"#;
    let preview = send(
        &app,
        post(
            "/admin/mappings/preview",
            Some(&cookie),
            &[("csrf", &csrf), ("sample", sample)],
            ORIGIN,
        ),
    )
    .await;
    assert!(
        preview
            .html
            .contains("would be created by mapping &#39;Eng&#39;")
            || preview
                .html
                .contains("would be created by mapping &#x27;Eng&#x27;"),
        "{}",
        preview.html
    );

    let edit_page = send(&app, get("/admin/mappings/edit?name=Eng", Some(&cookie))).await;
    assert!(
        edit_page
            .html
            .contains("fixed: to change them, create another mapping")
    );
    let edited = send(
        &app,
        post(
            "/admin/mappings/edit",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("name", "Eng"),
                ("new_name", "Engineering"),
                ("profile", "Default"),
                ("storage", "Default"),
                ("quota", ""),
            ],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.html);
    let deleted = send(
        &app,
        post(
            "/admin/mappings/delete",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Engineering")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let list = send(&app, get("/admin/mappings", Some(&cookie))).await;
    assert!(!list.html.contains("Engineering<"));
}

#[tokio::test]
async fn admins_see_only_their_tenant_and_operators_choose_one() {
    let app = TestApp::new().await;
    let provisioner = app.provisioner().await;
    provisioner
        .create_admin(
            &admin_origin(),
            "otto@example.com",
            Some("other"),
            Role::Admin,
            PASSWORD,
        )
        .await
        .unwrap();
    with_admin(&app, "ops@example.com", Role::Operator).await;
    app.create("default.user@example.com").await;

    let other = sign_in(&app, "otto@example.com").await;
    let users = send(&app, get("/admin/users", Some(&other))).await;
    assert!(users.html.contains("tenant <strong>other</strong>"));
    assert!(!users.html.contains("default.user@example.com"));
    let sneaky = send(&app, get("/admin/users?tenant=default", Some(&other))).await;
    assert!(
        !sneaky.html.contains("default.user@example.com"),
        "a tenant admin cannot switch"
    );
    let direct = send(
        &app,
        get("/admin/user?email=default.user%40example.com", Some(&other)),
    )
    .await;
    assert_eq!(
        direct.status,
        StatusCode::NOT_FOUND,
        "another tenant's user is not found"
    );

    let ops = sign_in(&app, "ops@example.com").await;
    let default = send(&app, get("/admin/users?tenant=default", Some(&ops))).await;
    assert!(default.html.contains("default.user@example.com"));
    let other_tenant = send(&app, get("/admin/users?tenant=other", Some(&ops))).await;
    assert!(other_tenant.html.contains("tenant <strong>other</strong>"));
    assert!(!other_tenant.html.contains("default.user@example.com"));
}

#[tokio::test]
async fn operators_create_tenants_and_choose_the_one_they_work_in() {
    let app = TestApp::new().await;
    with_admin(&app, "ops@example.com", Role::Operator).await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let admin = sign_in(&app, "ann@example.com").await;
    let refused = send(&app, get("/admin/tenants", Some(&admin))).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "only operators manage tenants"
    );

    let ops = sign_in(&app, "ops@example.com").await;
    let page = send(&app, get("/admin/tenants", Some(&ops))).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = csrf_of(&page.html);
    let created = send(
        &app,
        post(
            "/admin/tenants",
            Some(&ops),
            &[("csrf", &csrf), ("slug", "acme"), ("name", "Acme Corp")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let selected = send(
        &app,
        post(
            "/admin/tenants/select",
            Some(&ops),
            &[("csrf", &csrf), ("slug", "acme")],
            ORIGIN,
        ),
    )
    .await;
    let cookie = selected.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-scimd_tenant=acme;"), "{cookie}");
    let request = Request::builder()
        .uri("/admin/mappings")
        .header(header::HOST, "scim.test")
        .header(
            header::COOKIE,
            format!("__Host-scimd_session={ops}; __Host-scimd_tenant=acme"),
        )
        .body(Body::empty())
        .unwrap();
    let mappings = send(&app, request).await;
    assert!(
        mappings.html.contains("tenant <strong>acme</strong>"),
        "every page follows the choice"
    );
    assert!(
        mappings.html.contains(">Default<"),
        "a new tenant has the default catalog"
    );
}

#[tokio::test]
async fn the_sign_in_page_warns_when_the_browser_would_refuse_the_cookie() {
    let app = TestApp::configured(String::new(), |config| {
        config.allowed_hosts.push("scim.example.com".into());
    })
    .await;
    let page = |host: &str, proto: Option<&str>| {
        let mut request = Request::builder()
            .uri("/admin/sign-in")
            .header(header::HOST, host);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.body(Body::empty()).unwrap()
    };
    let warning = "will not keep the console's session cookie";
    assert!(
        send(&app, page("scim.example.com", None))
            .await
            .html
            .contains(warning)
    );
    assert!(
        !send(&app, page("127.0.0.1:8080", None))
            .await
            .html
            .contains(warning)
    );
    assert!(
        !send(&app, page("localhost:8080", None))
            .await
            .html
            .contains(warning)
    );
    assert!(
        !send(&app, page("scim.example.com", Some("https")))
            .await
            .html
            .contains(warning)
    );
}

/// Issue: any token holder could put `=HYPERLINK(...)` into an export with one failed create.
/// Every CSV the console writes quotes a cell a spreadsheet would run as a formula.
#[tokio::test]
async fn every_csv_export_quotes_cells_a_spreadsheet_would_run_as_formulas() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let formula = "=HYPERLINK(\"http://evil.test\",\"open\")";
    for user in ["kept@example.com", "gone@example.com"] {
        let created = app
            .call(
                Method::POST,
                "/scim/v2/Users",
                Some(serde_json::json!({"userName": user, "displayName": formula})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        if user.starts_with("gone") {
            let id = created.body["id"].as_str().unwrap();
            let deleted = app
                .call(Method::DELETE, &format!("/scim/v2/Users/{id}"), None)
                .await;
            assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        }
    }
    let refused = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(serde_json::json!({"userName": formula})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let cookie = sign_in(&app, "ann@example.com").await;
    for export in [
        "/admin/reports/provisioning.csv",
        "/admin/reports/preserved.csv",
        "/admin/activity.csv",
    ] {
        let csv = send(&app, get(export, Some(&cookie))).await;
        assert_eq!(csv.status, StatusCode::OK, "{export}");
        assert!(
            csv.html.contains("'=HYPERLINK("),
            "{export}: the formula is there, quoted\n{}",
            csv.html
        );
        let formula_cells = csv
            .html
            .split([',', '\n'])
            .map(|cell| cell.trim_start_matches('"'))
            .filter(|cell| cell.starts_with(['=', '+', '-', '@']))
            .count();
        assert_eq!(formula_cells, 0, "{export}\n{}", csv.html);
    }
}

/// The log is paged (100 events a page) and its CSV export streams every event, a chunk at a
/// time, whatever the log's size.
#[tokio::test]
async fn the_activity_log_is_paged_and_its_export_holds_every_event() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let provisioner = app.provisioner().await;
    let tenant = provisioner.tenant("default").await.unwrap();
    for n in 0..2_250 {
        let event = scimd_core::activity::Event {
            detail: Some(format!("failure {n}")),
            ..scimd_core::activity::Event::new(
                &admin_origin(),
                tenant.id,
                provisioner.now(),
                "create",
                scimd_core::activity::Outcome::Failure,
                400,
            )
        };
        provisioner.record_failure(&event).await.unwrap();
    }
    let all = provisioner
        .activity(
            &Grant::command_line(tenant.clone(), admin_origin()),
            &scimd_core::activity::EventQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let cookie = sign_in(&app, "ann@example.com").await;
    let rows = |html: &str| html.matches("<tr>").count() - 1;
    let first = send(&app, get("/admin/activity?outcome=failure", Some(&cookie))).await;
    assert_eq!(rows(&first.html), 100);
    assert!(first.html.contains("page=2\">Older"), "{}", first.html);
    let last = send(
        &app,
        get("/admin/activity?outcome=failure&page=23", Some(&cookie)),
    )
    .await;
    assert_eq!(rows(&last.html), 50);
    assert!(!last.html.contains("Older"));
    assert!(last.html.contains("page=22\">"));
    let csv = send(&app, get("/admin/activity.csv", Some(&cookie))).await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.html.lines().collect();
    assert_eq!(lines.len(), all.len() + 1, "a header and every event");
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("Time,"))
            .count(),
        1
    );
    for n in [0, 999, 1_000, 2_249] {
        let detail = format!(",failure {n},");
        assert_eq!(
            lines.iter().filter(|line| line.contains(&detail)).count(),
            1,
            "{detail}"
        );
    }
}

/// A link cannot make the console say words of its own: `done` picks one of a few fixed
/// notices, and anything else shows none.
#[tokio::test]
async fn the_notice_after_a_change_is_chosen_by_code_and_never_echoes_the_link() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let spoof = "Your+session+expired%3A+call+%2B1+555+0100";
    for page in ["/admin/mappings", "/admin/user?email=nobody%40example.com"] {
        let separator = if page.contains('?') { '&' } else { '?' };
        let shown = send(
            &app,
            get(&format!("{page}{separator}done={spoof}"), Some(&cookie)),
        )
        .await;
        assert!(!shown.html.contains("555 0100"), "{page}: {}", shown.html);
    }
    let known = send(
        &app,
        get("/admin/mappings?done=mapping-saved", Some(&cookie)),
    )
    .await;
    assert!(known.html.contains("Mapping saved."), "{}", known.html);
}

/// The report exports stream a chunk of accounts at a time and hold every account once.
#[tokio::test]
async fn report_exports_hold_every_account_across_chunks() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    for n in 0..1_050 {
        app.create(&format!("u{n:04}@example.com")).await;
    }
    let cookie = sign_in(&app, "ann@example.com").await;
    let csv = send(&app, get("/admin/reports/provisioning.csv", Some(&cookie))).await;
    let lines: Vec<&str> = csv.html.lines().collect();
    assert_eq!(lines.len(), 1 + 1_050, "a header and every account");
    for n in [0, 999, 1_000, 1_049] {
        let email = format!(",u{n:04}@example.com,");
        assert_eq!(
            lines.iter().filter(|line| line.contains(&email)).count(),
            1,
            "{email}"
        );
    }
    let preserved = send(&app, get("/admin/reports/preserved.csv", Some(&cookie))).await;
    assert_eq!(preserved.html.lines().count(), 1, "a header only");
}

/// R-46 in the console: each profile and storage row edits its name and limit or region; a
/// limit below the users held or not a number is refused with the reason and changes nothing.
#[tokio::test]
async fn profiles_and_storages_are_edited_on_their_page() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let csrf = csrf_of(&send(&app, get("/admin/catalog", Some(&cookie))).await.html);
    app.create("a@example.com").await;
    let form = |path: &'static str, fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        post(path, Some(&cookie), &all, ORIGIN)
    };
    let edit = "/admin/catalog/profiles/edit";
    for (fields, says) in [
        (
            vec![
                ("name", "Default"),
                ("new_name", "Default"),
                ("max_users", "abc"),
            ],
            "not a whole number",
        ),
        (
            vec![("name", "Nope"), ("new_name", "Nope"), ("max_users", "3")],
            "no profile",
        ),
    ] {
        let refused = send(&app, form(edit, &fields)).await;
        assert_eq!(refused.status.as_u16() / 100, 4, "{fields:?}");
        assert!(refused.html.contains(says), "{fields:?}: {}", refused.html);
    }
    let page = send(&app, get("/admin/catalog", Some(&cookie))).await;
    assert!(
        page.html
            .contains("aria-label=\"Users at most in Default (0: unlimited)\"")
    );

    let renamed = send(
        &app,
        form(
            edit,
            &[
                ("name", "Default"),
                ("new_name", "Standard"),
                ("max_users", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.html);
    let page = send(&app, get("/admin/catalog", Some(&cookie))).await;
    assert!(
        page.html.contains("<td>Standard</td><td>1</td>"),
        "{}",
        page.html
    );

    let stored = send(
        &app,
        form(
            "/admin/catalog/storages/edit",
            &[
                ("name", "Default"),
                ("new_name", "Europe"),
                ("region", "eu-west-1"),
            ],
        ),
    )
    .await;
    assert_eq!(stored.status, StatusCode::SEE_OTHER, "{}", stored.html);
    let page = send(&app, get("/admin/catalog", Some(&cookie))).await;
    assert!(
        page.html.contains("<td>Europe</td><td>eu-west-1</td>"),
        "{}",
        page.html
    );
}

/// R-47 in the console: the switch needs its confirmation box; the page then says the method.
#[tokio::test]
async fn the_provisioning_switch_asks_for_a_confirmation() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let page = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(page.html.contains("Switch to manual provisioning"));
    let csrf = csrf_of(&page.html);
    let switch = |fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        post("/admin/provisioning/method", Some(&cookie), &all, ORIGIN)
    };
    let unconfirmed = send(&app, switch(&[("method", "manual")])).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(unconfirmed.html.contains("confirm the switch"));
    assert_eq!(
        app.call(Method::GET, "/scim/v2/Users", None).await.status,
        StatusCode::OK
    );
    let switched = send(&app, switch(&[("method", "manual"), ("confirm", "yes")])).await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let page = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(page.html.contains("Turn SCIM provisioning back on"));
    assert_eq!(
        app.call(Method::GET, "/scim/v2/Users", None).await.status,
        StatusCode::FORBIDDEN
    );
}

/// R-45 in the console: a user's page moves it; the Users page moves every user its search
/// finds (all pages) once confirmed; a move into a full profile is refused and changes nothing.
#[tokio::test]
async fn users_are_moved_from_their_page_and_from_a_filtered_list() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    let provisioner = app.provisioner().await;
    let tenant = provisioner.tenant("default").await.unwrap();
    let origin = admin_origin();
    provisioner
        .create_profile(
            &Grant::command_line(tenant.clone(), origin.clone()),
            "Gold",
            2,
        )
        .await
        .unwrap();
    provisioner
        .create_storage(
            &Grant::command_line(tenant.clone(), origin.clone()),
            "EU",
            "eu-west-1",
        )
        .await
        .unwrap();
    for n in 0..3 {
        app.create(&format!("u{n}@example.com")).await;
    }
    app.create("other@elsewhere.test").await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let page = send(
        &app,
        get("/admin/user?email=u0%40example.com", Some(&cookie)),
    )
    .await;
    assert!(
        page.html.contains("action=\"/admin/user/move\""),
        "{}",
        page.html
    );
    let csrf = csrf_of(&page.html);
    let form = |path: &'static str, fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        post(path, Some(&cookie), &all, ORIGIN)
    };
    let placement = |email: &'static str| {
        let provisioner = &provisioner;
        let tenant = &tenant;
        async move {
            let view = provisioner
                .account_view(&Grant::command_line(tenant.clone(), admin_origin()), email)
                .await
                .unwrap();
            (view.profile.unwrap(), view.storage.unwrap(), view.mapping)
        }
    };

    let refused = send(
        &app,
        form(
            "/admin/user/move",
            &[
                ("email", "u0@example.com"),
                ("profile", "Gold"),
                ("quota", "lots"),
            ],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(
        refused.html.contains("whole number of bytes"),
        "{}",
        refused.html
    );
    let moved = send(
        &app,
        form(
            "/admin/user/move",
            &[
                ("email", "u0@example.com"),
                ("profile", "Gold"),
                ("storage", "EU"),
                ("quota", ""),
            ],
        ),
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    assert_eq!(
        location(&moved),
        Some("/admin/user?email=u0%40example.com&done=user-moved")
    );
    assert_eq!(
        placement("u0@example.com").await,
        ("Gold".into(), "EU".into(), "moved by admin".into())
    );

    // The list: everyone whose email holds "example.com" (u0 is in Gold already): u1 and u2
    // do not both fit in Gold's one free place, so nothing moves.
    let list = send(&app, get("/admin/users?q=example.com", Some(&cookie))).await;
    assert!(
        list.html.contains("action=\"/admin/users/move\""),
        "{}",
        list.html
    );
    let everyone = [("filter_q", "example.com"), ("profile", "Gold")];
    let unconfirmed = send(&app, form("/admin/users/move", &everyone)).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(unconfirmed.html.contains("confirm the move"));
    let mut confirmed = everyone.to_vec();
    confirmed.push(("confirm", "yes"));
    let full = send(&app, form("/admin/users/move", &confirmed)).await;
    assert_eq!(full.status, StatusCode::BAD_REQUEST, "{}", full.html);
    assert!(
        full.html.contains(
            "profile 'Gold' holds 1 of 2 users: moving 2 more accounts into it does not fit"
        ),
        "{}",
        full.html
    );
    assert_eq!(placement("u1@example.com").await.0, "Default");

    let to_eu = [
        ("filter_q", "example.com"),
        ("filter_profile", "Default"),
        ("profile", "Default"),
        ("storage", "EU"),
        ("confirm", "yes"),
    ];
    let moved = send(&app, form("/admin/users/move", &to_eu)).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    assert_eq!(
        location(&moved),
        Some("/admin/users?q=example.com&profile=Default&done=users-moved")
    );
    for email in ["u1@example.com", "u2@example.com"] {
        assert_eq!(
            placement(email).await,
            ("Default".into(), "EU".into(), "moved by admin".into())
        );
    }
    assert_eq!(
        placement("other@elsewhere.test").await,
        ("Default".into(), "Default".into(), "Default".into())
    );
    let page = send(&app, get(location(&moved).unwrap(), Some(&cookie))).await;
    assert!(
        page.html.contains("Moved every user the filter found"),
        "{}",
        page.html
    );
}

fn location(page: &Page) -> Option<&str> {
    page.headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
}

/// R-48 on the dashboard: whether email notifications are on, and how the tenant's mail fares.
#[tokio::test]
async fn the_dashboard_says_whether_email_notifications_are_on() {
    let off = TestApp::new().await;
    with_admin(&off, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&off, "ann@example.com").await;
    let page = send(&off, get("/admin", Some(&cookie))).await;
    assert!(
        page.html.contains("Off: no activation emails"),
        "{}",
        page.html
    );
    assert!(page.html.contains("--smtp-url"), "{}", page.html);

    let on = TestApp::configured(String::new(), |config| {
        config.mail = Some(scimd::mail::MailConfig {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            from: "scimd@example.com".into(),
            poll: std::time::Duration::from_secs(5),
        });
    })
    .await;
    with_admin(&on, "ann@example.com", Role::Admin).await;
    let cookie = sign_in(&on, "ann@example.com").await;
    let page = send(&on, get("/admin", Some(&cookie))).await;
    assert!(page.html.contains("On: activation emails"), "{}", page.html);
    assert!(page.html.contains("0 waiting, 0 sent"), "{}", page.html);
}

/// SPEC §11 in the console: an endpoint is made (its secret shown once), its deliveries are
/// listed with a button that sends an event again, it is disabled (the dashboard says so),
/// enabled and deleted; internal URLs are refused; viewers see but change nothing.
#[tokio::test]
async fn webhooks_are_managed_from_their_page() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    with_admin(&app, "vic@example.com", Role::Viewer).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let page = send(&app, get("/admin/webhooks", Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("No endpoints yet"));
    let csrf = csrf_of(&page.html);
    let form = |fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        all
    };
    let refused = send(
        &app,
        post(
            "/admin/webhooks",
            Some(&cookie),
            &form(&[("name", "lan"), ("url", "http://192.168.1.20/hook")]),
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("public addresses only"),
        "{}",
        refused.html
    );

    let fields = [
        ("name", "crm"),
        ("url", "https://93.184.216.34/hooks"),
        ("format", "json"),
        ("events", "user.created, user.deleted"),
    ];
    let made = send(
        &app,
        post("/admin/webhooks", Some(&cookie), &form(&fields), ORIGIN),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.html);
    assert!(
        made.html.contains("Signing secret of 'crm'"),
        "{}",
        made.html
    );
    assert!(made.html.contains("whsec_"));
    let listed = send(&app, get("/admin/webhooks", Some(&cookie))).await;
    assert!(!listed.html.contains("whsec_"), "the secret is shown once");
    assert!(listed.html.contains("user.created, user.deleted"));

    app.create("pat@example.com").await;
    let provisioner = app.provisioner().await;
    let grant = provisioner
        .command_line_grant("default", admin_origin())
        .await
        .unwrap();
    let feed = provisioner
        .changes(
            &grant,
            &scimd_core::feed::ChangeQuery {
                after: 0,
                types: vec![],
                limit: 10,
            },
        )
        .await
        .unwrap();
    let event_id = feed.events[0].id.clone();
    let redeliver = format!("/admin/webhooks/crm/redeliver/{event_id}");
    let queued = send(&app, post(&redeliver, Some(&cookie), &form(&[]), ORIGIN)).await;
    assert_eq!(queued.status, StatusCode::SEE_OTHER);
    let detail = send(&app, get(location(&queued).unwrap(), Some(&cookie))).await;
    assert!(
        detail.html.contains("Queued: the event is sent again"),
        "{}",
        detail.html
    );
    assert!(detail.html.contains(&event_id));
    assert!(detail.html.contains("pending"));

    let disabled = send(
        &app,
        post(
            "/admin/webhooks/crm/disable",
            Some(&cookie),
            &form(&[]),
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    let dashboard = send(&app, get("/admin", Some(&cookie))).await;
    assert!(
        dashboard
            .html
            .contains("gets no events (disabled: disabled by an admin)"),
        "{}",
        dashboard.html
    );
    send(
        &app,
        post(
            "/admin/webhooks/crm/enable",
            Some(&cookie),
            &form(&[]),
            ORIGIN,
        ),
    )
    .await;
    let dashboard = send(&app, get("/admin", Some(&cookie))).await;
    assert!(!dashboard.html.contains("gets no events"));

    let viewer = sign_in(&app, "vic@example.com").await;
    let seen = send(&app, get("/admin/webhooks", Some(&viewer))).await;
    assert!(seen.html.contains("crm") && !seen.html.contains("Create endpoint"));
    let viewer_csrf = csrf_of(&seen.html);
    let tried = send(
        &app,
        post(
            "/admin/webhooks/crm/delete",
            Some(&viewer),
            &[("csrf", &viewer_csrf)],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(tried.status, StatusCode::FORBIDDEN);

    let deleted = send(
        &app,
        post(
            "/admin/webhooks/crm/delete",
            Some(&cookie),
            &form(&[]),
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let listed = send(&app, get("/admin/webhooks", Some(&cookie))).await;
    assert!(listed.html.contains("No endpoints yet"));
}

/// SPEC §12: a client made on the Provisioning page shows exactly the four values Entra asks
/// for, the secret once; the secret works at the token endpoint; secrets and clients are
/// revoked from their rows; a viewer gets no forms.
#[tokio::test]
async fn oauth_clients_are_made_on_the_provisioning_page_with_the_four_values_entra_asks_for() {
    let app = TestApp::new().await;
    with_admin(&app, "ann@example.com", Role::Admin).await;
    with_admin(&app, "vic@example.com", Role::Viewer).await;
    let cookie = sign_in(&app, "ann@example.com").await;
    let csrf = csrf_of(
        &send(&app, get("/admin/provisioning", Some(&cookie)))
            .await
            .html,
    );
    let created = send(
        &app,
        post(
            "/admin/provisioning/clients",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "entra"), ("days", "365")],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let value = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let at = created.html.find(&marker).unwrap() + marker.len();
        let end = created.html[at..].find('<').unwrap();
        created.html[at..at + end].to_owned()
    };
    assert_eq!(value("client-scim-url"), "http://scim.test/scim/v2");
    assert_eq!(
        value("client-token-endpoint"),
        "http://scim.test/oauth/token"
    );
    let (client_id, secret) = (value("client-id"), value("client-secret"));
    assert!(secret.starts_with("scimd_cs_"), "{secret}");

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let token = |basic: String| {
        Request::builder()
            .method("POST")
            .uri("/oauth/token")
            .header(header::HOST, "scim.test")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials"))
            .unwrap()
    };
    let issued = app
        .router
        .clone()
        .oneshot(token(basic.clone()))
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::OK, "the secret works");

    let page = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(!page.html.contains(&secret), "shown once");
    assert!(page.html.contains(&client_id) && page.html.contains("status-valid"));

    let revoked = send(
        &app,
        post(
            "/admin/provisioning/clients/entra/secrets/1/revoke",
            Some(&cookie),
            &[("csrf", &csrf)],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.html);
    let refused = app.router.clone().oneshot(token(basic)).await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked secret"
    );

    let viewer = sign_in(&app, "vic@example.com").await;
    let seen = send(&app, get("/admin/provisioning", Some(&viewer))).await;
    assert!(seen.html.contains(&client_id), "a viewer sees the client");
    assert!(
        !seen.html.contains("/admin/provisioning/clients"),
        "and no form"
    );

    let gone = send(
        &app,
        post(
            "/admin/provisioning/clients/entra/revoke",
            Some(&cookie),
            &[("csrf", &csrf)],
            ORIGIN,
        ),
    )
    .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let listed = send(&app, get("/admin/provisioning", Some(&cookie))).await;
    assert!(listed.html.contains("status-revoked"));
}
