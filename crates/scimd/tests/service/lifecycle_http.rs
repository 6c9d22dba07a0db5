//! The account lifecycle of SPEC §4 over HTTP, on SQLite and on PostgreSQL: every transition
//! of the state machine, the errors of the catalogue, racing creates, and the activity log.

use crate::common::{TestApp, admin_origin, assert_scim_error, database_urls};
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use scim::datetime::Timestamp;
use scimd::AppProvisioner;
use scimd_core::access::Grant;
use scimd_core::activity::{EventQuery, Origin, Outcome};
use scimd_core::lifecycle::{AccountState, ManagedBy, PreservedBy};
use scimd_core::mapping::Criteria;
use scimd_core::provisioner::{ManualUser, MappingSpec};
use scimd_core::tenant::{ProvisioningMethod, Tenant};
use serde_json::{Value, json};
use tower::ServiceExt;

const INSYNC: &str = "urn:ietf:params:scim:schemas:extension:Druva:2.0:User";

struct Setup {
    backend: &'static str,
    app: TestApp,
    admin: AppProvisioner,
    tenant: Tenant,
}

/// One app per backend, with the admin side of the same database.
async fn setups() -> Vec<Setup> {
    let mut setups = Vec::new();
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let admin = app.provisioner().await;
        let tenant = admin.tenant("default").await.unwrap();
        setups.push(Setup {
            backend,
            app,
            admin,
            tenant,
        });
    }
    setups
}

fn origin() -> Origin {
    Origin::cli("alice", "test")
}

fn active_patch(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "active", "value": active}]})
}

impl Setup {
    async fn state(&self, email: &str) -> AccountState {
        self.admin
            .account(
                &Grant::command_line(self.tenant.clone(), admin_origin()),
                email,
            )
            .await
            .unwrap()
            .state
    }

    async fn operations(&self, email: &str) -> Vec<String> {
        let query = EventQuery {
            user_name: Some(email.into()),
            limit: 50,
            ..EventQuery::default()
        };
        let mut events = self
            .admin
            .activity(
                &Grant::command_line(self.tenant.clone(), admin_origin()),
                &query,
            )
            .await
            .unwrap();
        events.reverse();
        events
            .into_iter()
            .map(|event| format!("{}:{}", event.operation, event.outcome.as_str()))
            .collect()
    }
}

#[tokio::test]
async fn r34_delete_preserves_the_account_and_r30_reactivates_it_under_a_new_id() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        let created = app.create("leaver@example.com").await;
        let old_id = created["id"].as_str().unwrap().to_owned();
        let uri = format!("/scim/v2/Users/{old_id}");
        assert_eq!(
            app.call(Method::DELETE, &uri, None).await.status,
            StatusCode::NO_CONTENT
        );
        assert_scim_error(&app.call(Method::GET, &uri, None).await, 404, None);
        assert_scim_error(&app.call(Method::DELETE, &uri, None).await, 404, None);
        let listed = app
            .call(
                Method::GET,
                "/scim/v2/Users?filter=userName%20eq%20%22leaver@example.com%22",
                None,
            )
            .await;
        assert_eq!(listed.body["totalResults"], 0, "{backend}: gone from lists");
        let account = setup
            .admin
            .account(
                &Grant::command_line(setup.tenant.clone(), admin_origin()),
                "leaver@example.com",
            )
            .await
            .unwrap();
        assert_eq!(account.state, AccountState::Preserved(PreservedBy::Idp));
        assert_eq!(account.scim_id, None, "{backend}");
        assert!(account.preserved_at.is_some(), "{backend}");

        let again = app.create("Leaver@Example.com").await;
        let new_id = again["id"].as_str().unwrap();
        assert_ne!(new_id, old_id, "{backend}: a retired id is never reused");
        assert_eq!(again["active"], true, "{backend}");
        assert_scim_error(&app.call(Method::GET, &uri, None).await, 404, None);
        let back = setup
            .admin
            .account(
                &Grant::command_line(setup.tenant.clone(), admin_origin()),
                "leaver@example.com",
            )
            .await
            .unwrap();
        assert_eq!(back.key, account.key, "{backend}: the same account");
        assert_eq!(
            back.placement, account.placement,
            "{backend}: placement kept"
        );
        assert_eq!(back.state, AccountState::Active, "{backend}");
        assert_eq!(
            setup.operations("leaver@example.com").await,
            ["create:success", "delete:success", "reactivate:success"],
            "{backend}: failures by id name the id only"
        );
    }
}

#[tokio::test]
async fn r34_r35_active_false_preserves_and_active_true_reactivates() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        let id = app.create("toggle@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let uri = format!("/scim/v2/Users/{id}");
        let off = app
            .call(Method::PATCH, &uri, Some(active_patch(false)))
            .await;
        assert_eq!(off.status, StatusCode::OK, "{backend}: {}", off.body);
        assert_eq!(off.body["active"], false);
        let read = app.call(Method::GET, &uri, None).await;
        assert_eq!(read.body["active"], false, "{backend}: still readable");
        assert_eq!(
            setup.state("toggle@example.com").await,
            AccountState::Preserved(PreservedBy::Idp)
        );
        let filtered = app
            .call(
                Method::GET,
                "/scim/v2/Users?filter=active%20eq%20false",
                None,
            )
            .await;
        assert_eq!(filtered.body["totalResults"], 1, "{backend}");

        // A PUT without `active` keeps the state.
        let put = json!({"userName": "toggle@example.com", "displayName": "T"});
        let replaced = app.call(Method::PUT, &uri, Some(put)).await;
        assert_eq!(replaced.body["active"], false, "{backend}");

        let on = app
            .call(Method::PATCH, &uri, Some(active_patch(true)))
            .await;
        assert_eq!(on.body["active"], true, "{backend}");
        assert_eq!(
            setup.state("toggle@example.com").await,
            AccountState::Active
        );
        assert_eq!(
            setup.operations("toggle@example.com").await,
            [
                "create:success",
                "preserve:success",
                "update:success",
                "activate:success"
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn r36_an_account_an_admin_preserved_refuses_the_idp() {
    for setup in setups().await {
        let Setup {
            backend,
            app,
            admin,
            tenant,
        } = &setup;
        let id = app.create("held@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let uri = format!("/scim/v2/Users/{id}");
        admin
            .preserve_user(
                &Grant::command_line(tenant.clone(), origin()),
                "held@example.com",
            )
            .await
            .unwrap();
        let read = app.call(Method::GET, &uri, None).await;
        assert_eq!(read.body["active"], false, "{backend}");

        let refused = app
            .call(Method::PATCH, &uri, Some(active_patch(true)))
            .await;
        assert_scim_error(&refused, 400, Some("mutability"));
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains("an admin preserved"), "{backend}: {detail}");
        let put = json!({"userName": "held@example.com", "active": true});
        assert_scim_error(
            &app.call(Method::PUT, &uri, Some(put)).await,
            400,
            Some("mutability"),
        );
        assert_eq!(
            setup.state("held@example.com").await,
            AccountState::Preserved(PreservedBy::Admin),
            "{backend}: unchanged"
        );

        // A DELETE keeps the admin's preservation; a create after it is refused too.
        app.call(Method::DELETE, &uri, None).await;
        assert_eq!(
            setup.state("held@example.com").await,
            AccountState::Preserved(PreservedBy::Admin)
        );
        let body = json!({"userName": "held@example.com"});
        assert_scim_error(
            &app.call(Method::POST, "/scim/v2/Users", Some(body.clone()))
                .await,
            400,
            Some("mutability"),
        );

        admin
            .activate_user(
                &Grant::command_line(tenant.clone(), origin()),
                "held@example.com",
            )
            .await
            .unwrap();
        let back = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_eq!(back.status, StatusCode::CREATED, "{backend}: {}", back.body);
        let events = admin
            .activity(
                &Grant::command_line(tenant.clone(), admin_origin()),
                &EventQuery {
                    user_name: Some("held@example.com".into()),
                    limit: 50,
                    ..EventQuery::default()
                },
            )
            .await
            .unwrap();
        let by_admin = events
            .iter()
            .filter(|event| event.actor_kind == "admin" && event.actor == "alice")
            .count();
        assert_eq!(
            by_admin, 2,
            "{backend}: preserve and activate, by the admin"
        );
    }
}

#[tokio::test]
async fn r30_a_manual_account_is_adopted_with_its_profile_and_storage() {
    for setup in setups().await {
        let Setup {
            backend,
            app,
            admin,
            tenant,
        } = &setup;
        admin
            .create_profile(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Executives",
                0,
            )
            .await
            .unwrap();
        admin
            .create_storage(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Vault",
                "eu",
            )
            .await
            .unwrap();
        let manual = ManualUser {
            email: "boss@example.com".into(),
            name: "The Boss".into(),
            profile: "Executives".into(),
            storage: "Vault".into(),
            send_activation_email: false,
        };
        let before = admin
            .create_manual_user(&Grant::command_line(tenant.clone(), origin()), &manual)
            .await
            .unwrap();
        assert_eq!(before.scim_id, None, "{backend}: SCIM cannot see it yet");
        let listed = app.call(Method::GET, "/scim/v2/Users", None).await;
        assert_eq!(listed.body["totalResults"], 0, "{backend}");

        let adopted = app.create("BOSS@example.com").await;
        let after = admin
            .account(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "boss@example.com",
            )
            .await
            .unwrap();
        assert_eq!(after.key, before.key, "{backend}");
        assert_eq!(after.managed_by, ManagedBy::Scim, "{backend}");
        assert_eq!(before.manager(), "manual", "{backend}");
        assert_eq!(
            after.manager(),
            "scim via entra",
            "{backend}: the connection that adopted it"
        );
        assert_eq!(
            after.placement, before.placement,
            "{backend}: not reclassified"
        );
        assert_eq!(after.scim_id.as_deref(), adopted["id"].as_str());
        assert_eq!(
            setup.operations("boss@example.com").await,
            ["create:success", "adopt:success"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn r30_create_with_active_false_is_preserved_and_a_duplicate_is_409() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        let body = json!({"userName": "dormant@example.com", "active": false});
        let created = app
            .call(Method::POST, "/scim/v2/Users", Some(body.clone()))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend}");
        assert_eq!(created.body["active"], false, "{backend}");
        assert_eq!(
            setup.state("dormant@example.com").await,
            AccountState::Preserved(PreservedBy::Idp)
        );
        // The IdP creating it again, active: the preserved account is reactivated.
        let body = json!({"userName": "dormant@example.com"});
        let again = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_eq!(again.status, StatusCode::CREATED, "{backend}");
        assert_eq!(again.body["id"], created.body["id"], "{backend}: id kept");
        assert_eq!(again.body["active"], true);

        let twin = json!({"userName": "DORMANT@example.com"});
        let conflict = app.call(Method::POST, "/scim/v2/Users", Some(twin)).await;
        assert_scim_error(&conflict, 409, Some("uniqueness"));
    }
}

#[tokio::test]
async fn r32_r41_r43_the_account_names_are_derived_and_the_resource_keeps_what_was_sent() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        let body = json!({"userName": "odd@example.com",
            "name": {"givenName": "R&D <Lead>", "familyName": "A/B?"}});
        let created = app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{backend}");
        assert_eq!(
            created.body.get("displayName"),
            None,
            "{backend}: not invented"
        );
        assert_eq!(created.body["name"]["familyName"], "A/B?");
        let account = setup
            .admin
            .account(
                &Grant::command_line(setup.tenant.clone(), admin_origin()),
                "odd@example.com",
            )
            .await
            .unwrap();
        assert_eq!(account.profile.display_name, "R&D _Lead_ A_B_", "{backend}");
        assert_eq!(account.profile.upn, "R&D _Lead_ A_B_", "{backend}");

        let body = json!({"userName": "upn@example.com", "displayName": "U*",
            INSYNC: {"userPrincipalName": "u@corp.local"}});
        app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        let account = setup
            .admin
            .account(
                &Grant::command_line(setup.tenant.clone(), admin_origin()),
                "upn@example.com",
            )
            .await
            .unwrap();
        assert_eq!(account.profile.display_name, "U_", "{backend}");
        assert_eq!(account.profile.upn, "u@corp.local", "{backend}");

        let bare = app.create("plain.name@example.com").await;
        let id = bare["id"].as_str().unwrap();
        let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "New \\ Name"}]});
        app.call(Method::PATCH, &format!("/scim/v2/Users/{id}"), Some(rename))
            .await;
        let account = setup
            .admin
            .account(
                &Grant::command_line(setup.tenant.clone(), admin_origin()),
                "plain.name@example.com",
            )
            .await
            .unwrap();
        assert_eq!(
            account.profile.display_name, "New _ Name",
            "{backend}: R-33"
        );
    }
}

#[tokio::test]
async fn r33_a_user_name_taken_by_any_account_is_409() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        let gone = app.create("gone@example.com").await;
        app.call(
            Method::DELETE,
            &format!("/scim/v2/Users/{}", gone["id"].as_str().unwrap()),
            None,
        )
        .await;
        let id = app.create("stays@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let uri = format!("/scim/v2/Users/{id}");
        for taken in ["GONE@example.com"] {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "userName", "value": taken}]});
            let reply = app.call(Method::PATCH, &uri, Some(body)).await;
            assert_scim_error(&reply, 409, Some("uniqueness"));
        }
        let read = app.call(Method::GET, &uri, None).await;
        assert_eq!(read.body["userName"], "stays@example.com", "{backend}");
    }
}

/// SPEC §4: concurrent creates of one email end in exactly one account; the others get 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_email_make_exactly_one_account() {
    for setup in setups().await {
        let Setup { backend, app, .. } = &setup;
        for round in 0..3 {
            let email = format!("race{round}@example.com");
            let bodies = (0..8).map(|_| json!({"userName": email}));
            let replies = concurrent_creates(app, bodies).await;
            let created = replies
                .iter()
                .filter(|(status, _)| *status == StatusCode::CREATED)
                .count();
            assert_eq!(created, 1, "{backend}: round {round}: {replies:?}");
            for (status, body) in replies.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
                assert_eq!(*status, StatusCode::CONFLICT, "{backend}: {body}");
                assert_eq!(body["scimType"], "uniqueness", "{backend}");
            }
            let listed = app
                .call(
                    Method::GET,
                    &format!("/scim/v2/Users?filter=userName%20eq%20%22{email}%22"),
                    None,
                )
                .await;
            assert_eq!(listed.body["totalResults"], 1, "{backend}");
        }
    }
}

/// POSTs every body to `/Users` at once, on the runtime's threads; status and body of each.
async fn concurrent_creates(
    app: &TestApp,
    bodies: impl Iterator<Item = Value>,
) -> Vec<(StatusCode, Value)> {
    let handles: Vec<_> = bodies
        .map(|body| {
            let request = app
                .request(Method::POST, "/scim/v2/Users")
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let router = app.router.clone();
            tokio::spawn(async move {
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (status, serde_json::from_slice::<Value>(&body).unwrap())
            })
        })
        .collect();
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}

/// SPEC §2: a failed SCIM call is recorded with the exact body the IdP received, its client
/// from User-Agent, its status and scimType.
#[tokio::test]
async fn failures_are_recorded_with_the_exact_error_body() {
    for setup in setups().await {
        let Setup {
            backend,
            app,
            admin,
            tenant,
        } = &setup;
        let since = admin.now();
        let request = app
            .request(Method::POST, "/scim/v2/Users")
            .header(header::USER_AGENT, "Okta SCIM Client 1.0.0")
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Body::from(r#"{"userName": "not-an-email"}"#))
            .unwrap();
        let reply = app.send(request).await;
        assert_scim_error(&reply, 400, Some("invalidValue"));
        let failures = admin
            .activity(
                &Grant::command_line(tenant.clone(), admin_origin()),
                &EventQuery {
                    since: Some(Timestamp::from_millis(since.as_millis() - 1)),
                    outcome: Some(Outcome::Failure),
                    limit: 10,
                    ..EventQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(failures.len(), 1, "{backend}");
        let failure = &failures[0];
        assert_eq!(failure.client, "Okta", "{backend}");
        assert_eq!(failure.actor, "entra", "{backend}: the token's name");
        assert_eq!(failure.operation, "create");
        assert_eq!(failure.target_user_name.as_deref(), Some("not-an-email"));
        assert_eq!(failure.status, 400);
        assert_eq!(failure.scim_type.as_deref(), Some("invalidValue"));
        assert_eq!(
            failure.response.as_deref().map(str::as_bytes),
            Some(reply.raw.as_slice()),
            "{backend}: the exact body"
        );
        // Malformed JSON never reaches a handler, and is recorded all the same.
        let reply = app
            .send(
                app.request(Method::POST, "/scim/v2/Users")
                    .body(Body::from("{not json"))
                    .unwrap(),
            )
            .await;
        assert_scim_error(&reply, 400, Some("invalidSyntax"));
        let failures = admin
            .activity(
                &Grant::command_line(tenant.clone(), admin_origin()),
                &EventQuery {
                    outcome: Some(Outcome::Failure),
                    limit: 10,
                    ..EventQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(failures.len(), 2, "{backend}");
        assert_eq!(failures[0].scim_type.as_deref(), Some("invalidSyntax"));
    }
}

/// R-30: a full profile refuses the create, also when creates race for its last place.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r30_racing_creates_never_overfill_a_profile() {
    for setup in setups().await {
        let Setup {
            backend,
            app,
            admin,
            tenant,
        } = &setup;
        admin
            .create_profile(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "One",
                1,
            )
            .await
            .unwrap();
        let spec = MappingSpec {
            name: "Everyone",
            criteria: Criteria::AllowAnyUser,
            profile: "One",
            storage: "Default",
            quota_bytes: None,
            send_activation_email: false,
            priority: None,
        };
        admin
            .create_mapping(&Grant::command_line(tenant.clone(), admin_origin()), spec)
            .await
            .unwrap();
        admin
            .reorder_mapping(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Everyone",
                1,
            )
            .await
            .unwrap();
        let bodies = (0..8).map(|index| json!({"userName": format!("p{index}@example.com")}));
        let replies = concurrent_creates(app, bodies).await;
        let created = replies
            .iter()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{backend}: {replies:?}");
        for (status, body) in replies.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{backend}: {body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(
                detail.contains("profile 'One' is full (1 users)"),
                "{backend}: {detail}"
            );
        }
    }
}

/// The error catalogue of SPEC §4: each refusal's status, scimType and the words of its
/// detail, and that the refusal changed nothing.
#[tokio::test]
async fn the_lifecycle_error_catalogue() {
    for setup in setups().await {
        let Setup {
            backend,
            app,
            admin,
            tenant,
        } = &setup;
        let held = app.create("held@example.com").await;
        admin
            .preserve_user(
                &Grant::command_line(tenant.clone(), origin()),
                "held@example.com",
            )
            .await
            .unwrap();
        let active = app.create("active@example.com").await;
        let active_uri = format!("/scim/v2/Users/{}", active["id"].as_str().unwrap());
        let held_uri = format!("/scim/v2/Users/{}", held["id"].as_str().unwrap());
        let rename = |user_name: &str| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "userName", "value": user_name}]})
        };
        let cases: Vec<(&str, Method, String, Value, u16, &str, &str)> = vec![
            (
                "R-32 userName is not an email",
                Method::POST,
                "/scim/v2/Users".into(),
                json!({"userName": "bjensen"}),
                400,
                "invalidValue",
                "'userName' must be an email address",
            ),
            (
                "R-32 userName missing",
                Method::POST,
                "/scim/v2/Users".into(),
                json!({"displayName": "No Name"}),
                400,
                "invalidValue",
                "userName",
            ),
            (
                "R-30 an active SCIM user",
                Method::POST,
                "/scim/v2/Users".into(),
                json!({"userName": "ACTIVE@example.com"}),
                409,
                "uniqueness",
                "already provisioned",
            ),
            (
                "R-30 preserved by an admin",
                Method::POST,
                "/scim/v2/Users".into(),
                json!({"userName": "held@example.com"}),
                400,
                "mutability",
                "an admin preserved",
            ),
            (
                "R-36 active=true on Preserved(admin)",
                Method::PATCH,
                held_uri.clone(),
                active_patch(true),
                400,
                "mutability",
                "only an admin can activate it",
            ),
            (
                "R-33 userName of another account",
                Method::PATCH,
                active_uri.clone(),
                rename("held@example.com"),
                409,
                "uniqueness",
                "already taken",
            ),
            (
                "R-33 userName not an email",
                Method::PATCH,
                active_uri.clone(),
                rename("nobody"),
                400,
                "invalidValue",
                "must be an email address",
            ),
        ];
        for (name, method, uri, body, status, scim_type, words) in cases {
            let reply = app.call(method, &uri, Some(body)).await;
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{backend}: {name}: {}",
                reply.body
            );
            assert_eq!(reply.body["scimType"], scim_type, "{backend}: {name}");
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(words), "{backend}: {name}: {detail}");
        }
        let unchanged = app.call(Method::GET, &active_uri, None).await;
        assert_eq!(
            unchanged.body["userName"], "active@example.com",
            "{backend}"
        );
        assert_eq!(
            unchanged.body["meta"]["version"], active["meta"]["version"],
            "{backend}: refusals change nothing"
        );
        assert_eq!(
            setup.state("held@example.com").await,
            AccountState::Preserved(PreservedBy::Admin),
            "{backend}"
        );
    }
}

/// R-47: a tenant switched to manual provisioning refuses every SCIM call with a valid token
/// (discovery and Test Connection included) with a 403 SCIM error saying why, changes nothing,
/// and logs each refusal; other tenants and bad tokens are as before; switching back serves
/// the same users, untouched.
#[tokio::test]
async fn r47_manual_provisioning_refuses_every_scim_call_and_changes_nothing() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let created = app.create("a@example.com").await;
        let uri = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let before = app.call(Method::GET, &uri, None).await;
        let provisioner = app.provisioner().await;
        let tenant = provisioner.tenant("default").await.unwrap();
        assert_eq!(
            tenant.provisioning,
            ProvisioningMethod::Scim,
            "new tenants start in scim"
        );
        provisioner
            .set_provisioning(
                &Grant::command_line(tenant.clone(), admin_origin()),
                ProvisioningMethod::Manual,
            )
            .await
            .unwrap();

        let patch = json!({"Operations": [{"op": "replace", "path": "displayName", "value": "X"}]});
        let calls: Vec<(Method, String, Option<Value>)> = vec![
            (
                Method::GET,
                "/scim/v2/Users?filter=userName+eq+%22x%40example.com%22".into(),
                None,
            ),
            (Method::GET, uri.clone(), None),
            (
                Method::POST,
                "/scim/v2/Users".into(),
                Some(json!({"userName": "b@example.com"})),
            ),
            (Method::PATCH, uri.clone(), Some(patch)),
            (
                Method::PUT,
                uri.clone(),
                Some(json!({"userName": "a@example.com", "active": false})),
            ),
            (Method::DELETE, uri.clone(), None),
            (Method::GET, "/scim/v2/ServiceProviderConfig".into(), None),
            (Method::GET, "/scim/v2/Schemas".into(), None),
            (Method::GET, "/scim/v2/ResourceTypes".into(), None),
            (Method::GET, "/scim/v2/Groups".into(), None),
            (Method::GET, "/insync/scim/Users".into(), None),
        ];
        for (method, path, body) in &calls {
            let refused = app.call(method.clone(), path, body.clone()).await;
            assert_scim_error(&refused, 403, None);
            assert!(
                refused.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("SCIM provisioning is turned off for tenant 'default'"),
                "{backend} {method} {path}: {}",
                refused.body
            );
        }
        let other = app
            .send(
                axum::http::Request::builder()
                    .uri("/scim/v2/Users")
                    .header(header::HOST, "scim.test")
                    .header(
                        header::AUTHORIZATION,
                        format!("Bearer {}", app.other_tenant_token),
                    )
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            other.status,
            StatusCode::OK,
            "{backend}: other tenants are served"
        );
        let forged = app
            .send(
                axum::http::Request::builder()
                    .uri("/scim/v2/Users")
                    .header(header::HOST, "scim.test")
                    .header(header::AUTHORIZATION, "Bearer scimd_t_not-a-token")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{backend}: no hint to a guesser"
        );

        let failures = EventQuery {
            outcome: Some(Outcome::Failure),
            limit: 100,
            ..EventQuery::default()
        };
        let logged = provisioner
            .activity(
                &Grant::command_line(tenant.clone(), admin_origin()),
                &failures,
            )
            .await
            .unwrap();
        assert_eq!(logged.len(), calls.len(), "{backend}: each refusal logged");
        assert!(logged.iter().all(|event| event.status == 403), "{backend}");

        provisioner
            .set_provisioning(
                &Grant::command_line(tenant.clone(), admin_origin()),
                ProvisioningMethod::Scim,
            )
            .await
            .unwrap();
        let after = app.call(Method::GET, &uri, None).await;
        assert_eq!(after.status, StatusCode::OK, "{backend}");
        assert_eq!(after.body, before.body, "{backend}: untouched");
        let listed = app.call(Method::GET, "/scim/v2/Users", None).await;
        assert_eq!(listed.body["totalResults"], 1, "{backend}: nothing created");
    }
}

/// Reports name what placed each account as admins read it: the mapping, `(deleted)` after a
/// mapping that is gone, `manual`, and `manual (adopted)` once an IdP took a manual account.
#[tokio::test]
async fn reports_say_manual_adopted_and_deleted_mappings() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let provisioner = app.provisioner().await;
        let tenant = provisioner.tenant("default").await.unwrap();
        let manual = |email: &str| ManualUser {
            email: email.into(),
            name: "M".into(),
            profile: "Default".into(),
            storage: "Default".into(),
            send_activation_email: false,
        };
        for email in ["kept@example.com", "taken@example.com"] {
            provisioner
                .create_manual_user(
                    &Grant::command_line(tenant.clone(), admin_origin()),
                    &manual(email),
                )
                .await
                .unwrap();
        }
        assert_eq!(
            app.create("taken@example.com").await["userName"],
            "taken@example.com"
        );
        app.create("idp@example.com").await;
        let mapping_of = |views: &[scimd_core::provisioner::AccountView], email: &str| {
            views
                .iter()
                .find(|view| view.user.user_name() == email)
                .map(|view| view.mapping.clone())
                .unwrap()
        };
        let all = scimd_core::provisioner::AccountFilter::default();
        let views = provisioner
            .list_accounts(&Grant::command_line(tenant.clone(), admin_origin()), &all)
            .await
            .unwrap();
        assert_eq!(
            mapping_of(&views, "kept@example.com"),
            "manual",
            "{backend}"
        );
        assert_eq!(
            mapping_of(&views, "taken@example.com"),
            "manual (adopted)",
            "{backend}"
        );
        assert_eq!(
            mapping_of(&views, "idp@example.com"),
            "Default",
            "{backend}"
        );

        provisioner
            .delete_mapping(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "Default",
            )
            .await
            .unwrap();
        let views = provisioner
            .list_accounts(&Grant::command_line(tenant.clone(), admin_origin()), &all)
            .await
            .unwrap();
        assert_eq!(
            mapping_of(&views, "idp@example.com"),
            "Default (deleted)",
            "{backend}"
        );
    }
}

/// R-47 while an IdP is mid-sync: creates racing the switch to manual each either happen
/// whole (201, the user exists) or not at all (403, no user); the switch touches no user.
#[tokio::test]
async fn r47_a_switch_while_an_idp_is_mid_sync_leaves_no_half_writes() {
    for (backend, url) in database_urls().await {
        let app = TestApp::with_database(url).await;
        let existing = app.create("kept@example.com").await;
        let uri = format!("/scim/v2/Users/{}", existing["id"].as_str().unwrap());
        let before = app.call(Method::GET, &uri, None).await;
        let provisioner = app.provisioner().await;
        let tenant = provisioner.tenant("default").await.unwrap();

        let bodies = (0..40).map(|n| json!({"userName": format!("sync{n}@example.com")}));
        let admin = Grant::command_line(tenant.clone(), admin_origin());
        let (replies, switched) = tokio::join!(
            concurrent_creates(&app, bodies),
            provisioner.set_provisioning(&admin, ProvisioningMethod::Manual)
        );
        switched.unwrap();
        provisioner
            .set_provisioning(
                &Grant::command_line(tenant.clone(), admin_origin()),
                ProvisioningMethod::Scim,
            )
            .await
            .unwrap();
        let mut created = 0;
        for (n, (status, body)) in replies.iter().enumerate() {
            let email = format!("sync{n}@example.com");
            let account = provisioner
                .account(&Grant::command_line(tenant.clone(), admin_origin()), &email)
                .await;
            match status.as_u16() {
                201 => {
                    created += 1;
                    let id = body["id"].as_str().unwrap();
                    let read = app
                        .call(Method::GET, &format!("/scim/v2/Users/{id}"), None)
                        .await;
                    assert_eq!(read.status, StatusCode::OK, "{backend}: {email}");
                    assert!(account.is_ok(), "{backend}: {email}");
                }
                403 => assert!(
                    account.is_err(),
                    "{backend}: refused {email} was not created"
                ),
                other => panic!("{backend}: {email}: {other} {body}"),
            }
        }
        let listed = app.call(Method::GET, "/scim/v2/Users?count=0", None).await;
        assert_eq!(listed.body["totalResults"], created + 1, "{backend}");
        let after = app.call(Method::GET, &uri, None).await;
        assert_eq!(
            after.body, before.body,
            "{backend}: the switch touched no user"
        );
    }
}
