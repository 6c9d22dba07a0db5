//! Classification at creation over HTTP (SPEC ), on SQLite and PostgreSQL:
//! the first matching mapping places the user; no match or a full profile refuses the create
//! and changes nothing.

use crate::common::{TestApp, admin_origin, assert_scim_error, database_urls};
use axum::http::{Method, StatusCode};
use scimd::AppProvisioner;
use scimd_core::access::Grant;
use scimd_core::mapping::Criteria;
use scimd_core::provisioner::MappingSpec;
use scimd_core::store::AccountReads;
use serde_json::json;

const INSYNC: &str = "urn:ietf:params:scim:schemas:extension:Druva:2.0:User";

/// The admin side of the same database, with `Default` replaced by: Engineering users (by the
/// inSync `department` or the custom `city`) in a one-user profile.
async fn admin(app: &TestApp) -> AppProvisioner {
    let provisioner = app.provisioner().await;
    let tenant = provisioner.tenant("default").await.unwrap();
    provisioner
        .create_profile(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "Engineers",
            1,
        )
        .await
        .unwrap();
    provisioner
        .create_storage(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "EU",
            "eu-west-1",
        )
        .await
        .unwrap();
    for (name, attribute, values) in [
        ("Eng", "department", "R&D,Engineering"),
        ("Pune", "city", "Pune"),
    ] {
        let spec = MappingSpec {
            name,
            criteria: Criteria::attribute(attribute, values).unwrap(),
            profile: "Engineers",
            storage: "EU",
            quota_bytes: Some(1_000),
            send_activation_email: false,
            priority: None,
        };
        provisioner
            .create_mapping(&Grant::command_line(tenant.clone(), admin_origin()), spec)
            .await
            .unwrap();
    }
    provisioner
        .delete_mapping(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "Default",
        )
        .await
        .unwrap();
    provisioner
}

#[tokio::test]
async fn r30_no_matching_mapping_refuses_with_druvas_text_and_creates_nothing() {
    for (_backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        admin(&app).await;
        let body = json!({"userName": "a@example.com", INSYNC: {"department": "Finance"}});
        let reply = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_scim_error(&reply, 400, Some("invalidValue"));
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("None of the SCIM Mapping matched to create user."),
            "{detail}"
        );
        assert!(
            detail.contains(
                "'Eng' (department in [R&D,Engineering]) does not match: the user has [Finance]"
            ),
            "{detail}"
        );
        assert!(
            detail.contains("'Pune' (city in [Pune]) does not match: the attribute was not sent"),
            "{detail}"
        );
        assert_eq!(
            app.call(Method::GET, "/scim/v2/Users", None).await.body["totalResults"],
            0
        );
    }
}

#[tokio::test]
async fn r26_the_first_matching_mapping_places_the_user_and_r44_custom_attributes_are_not_kept() {
    for (_backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let provisioner = admin(&app).await;
        let body = json!({"userName": "a@example.com", "displayName": "A", INSYNC: {"city": "Pune", "userPrincipalName": "a@corp"}});
        let reply = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(
            reply.body[INSYNC],
            json!({"userPrincipalName": "a@corp"}),
            "city classified, then discarded"
        );

        let tenant = provisioner.tenant("default").await.unwrap();
        let user = provisioner
            .store()
            .user_by_scim_id(tenant.id, reply.body["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let placement = user.placement.expect("placed");
        assert_eq!(
            (placement.mapping.as_deref(), placement.quota_bytes),
            (Some("Pune"), Some(1_000))
        );
        let engineers = provisioner
            .list_profiles(&Grant::command_line(tenant.clone(), admin_origin()))
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name == "Engineers")
            .unwrap();
        assert_eq!(placement.profile_id, engineers.id);
    }
}

#[tokio::test]
async fn a_full_profile_refuses_the_next_user() {
    for (_backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        admin(&app).await;
        let body = |user: &str| json!({"userName": user, "department": "R&D"});
        assert_eq!(
            app.call(Method::POST, "/scim/v2/Users", Some(body("a@example.com")))
                .await
                .status,
            StatusCode::CREATED
        );
        let full = app
            .call(Method::POST, "/scim/v2/Users", Some(body("b@example.com")))
            .await;
        assert_scim_error(&full, 400, Some("invalidValue"));
        assert!(
            full.body["detail"]
                .as_str()
                .unwrap()
                .contains("profile 'Engineers' is full (1 users)"),
            "{}",
            full.body
        );
        assert_eq!(
            app.call(Method::GET, "/scim/v2/Users", None).await.body["totalResults"],
            1
        );
    }
}

/// What scim2-tester's whole-extension PATCH checks, read back: writeOnly custom attributes
/// are dropped, `userPrincipalName` is written, and a replace that leaves it out keeps it
/// (RFC 7644 §3.5.2.3: sub-attributes not named are left unchanged).
#[tokio::test]
async fn r44_a_patch_of_the_whole_extension_keeps_the_user_principal_name() {
    for (_backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let created = app
            .call(
                Method::POST,
                "/scim/v2/Users",
                Some(json!({"userName": "a@example.com", INSYNC: {"userPrincipalName": "a@corp"}})),
            )
            .await;
        let uri = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
        let patch = |op: &str, value: serde_json::Value| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": op, "path": INSYNC, "value": value}]})
        };
        for (op, value, upn) in [
            (
                "replace",
                json!({"userPrincipalName": "b@corp", "city": "Pune", "country": "IN", "department": "R&D"}),
                "b@corp",
            ),
            ("replace", json!({"city": "Paris"}), "b@corp"),
            (
                "add",
                json!({"userPrincipalName": "c@corp", "department": "Ops"}),
                "c@corp",
            ),
            ("add", json!({"country": "FR"}), "c@corp"),
        ] {
            let reply = app
                .call(Method::PATCH, &uri, Some(patch(op, value.clone())))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{op} {value}: {}", reply.body);
            let read_back = app.call(Method::GET, &uri, None).await.body;
            for body in [&reply.body, &read_back] {
                assert_eq!(
                    body[INSYNC],
                    json!({"userPrincipalName": upn}),
                    "{op} {value}"
                );
                assert!(
                    body["schemas"].as_array().unwrap().contains(&json!(INSYNC)),
                    "{body}"
                );
            }
        }
    }
}

/// R-46 against creates: a new limit is checked in the same write as the users it counts, so
/// a limit change racing with creates never leaves a profile holding more than its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limit_change_racing_with_creates_never_leaves_a_profile_over_its_limit() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let provisioner = admin(&app).await;
        let tenant = provisioner.tenant("default").await.unwrap();
        provisioner
            .edit_profile(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Engineers",
                None,
                Some(0),
            )
            .await
            .unwrap();
        let body = |n: usize| json!({"userName": format!("u{n}@example.com"), "department": "R&D"});
        let creates: Vec<_> = (0..8)
            .map(|n| {
                let router = app.router.clone();
                let request = app
                    .request(Method::POST, "/scim/v2/Users")
                    .header("content-type", "application/scim+json")
                    .body(axum::body::Body::from(body(n).to_string()))
                    .unwrap();
                tokio::spawn(async move {
                    tower::ServiceExt::oneshot(router, request)
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        let limited = provisioner
            .edit_profile(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Engineers",
                None,
                Some(3),
            )
            .await;
        let mut created = 0;
        for create in creates {
            match create.await.unwrap() {
                StatusCode::CREATED => created += 1,
                StatusCode::BAD_REQUEST => {}
                other => panic!("{backend}: {other}"),
            }
        }
        let engineers = provisioner
            .list_profiles(&Grant::command_line(tenant.clone(), admin_origin()))
            .await
            .unwrap()
            .into_iter()
            .find(|profile| profile.name == "Engineers")
            .unwrap();
        match limited {
            Ok(()) => {
                assert_eq!(engineers.max_users, 3, "{backend}");
                assert!(
                    created <= 3,
                    "{backend}: {created} created under a limit of 3"
                );
            }
            Err(refused) => {
                assert_eq!(engineers.max_users, 0, "{backend}: unchanged");
                assert!(
                    created > 3,
                    "{backend}: refused with {created} users: {refused}"
                );
                assert!(
                    refused.to_string().contains("holds"),
                    "{backend}: {refused}"
                );
            }
        }
    }
}
