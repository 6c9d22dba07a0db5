//! Token lifetimes over HTTP with a controlled clock: expiry, revocation, rotation with a grace
//! period (SPEC §6, R-10–R-12).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scim::discovery::Capabilities;
use scimd::http::hosts::AllowedHosts;
use scimd::http::{AppState, HttpSettings, RequestLimits, app};
use scimd_core::Provisioner;
use scimd_core::access::Grant;
use scimd_core::clock::{ManualClock, SharedClock};
use scimd_store::{Durability, SqlStore};
use std::sync::Arc;
use tower::ServiceExt;

fn admin_origin() -> scimd_core::activity::Origin {
    scimd_core::activity::Origin::cli("tester", "test")
}

const DAY: i64 = 86_400_000;

async fn status_with(router: &axum::Router, secret: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .uri("/scim/v2/Users")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn expired_revoked_and_rotated_tokens_get_the_same_401() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
    let store: SqlStore = scimd_store::connect(&url, Durability::default())
        .await
        .unwrap();
    let clock = ManualClock::at_millis(1_000 * DAY);
    let provisioner = Arc::new(Provisioner::new(
        store,
        Arc::new(clock.clone()) as SharedClock,
    ));
    let tenant = provisioner.ensure_default_tenant().await.unwrap();
    let router = app(AppState::new(
        provisioner.clone(),
        HttpSettings {
            public_url: None,
            capabilities: Capabilities::default(),
            limits: RequestLimits::default(),
            allowed_hosts: AllowedHosts::new(["scim.test"], None),
            webhook_allow_private: false,
            access_token_minutes: 60,
        },
    ));

    let (_, short) = provisioner
        .create_token(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "short",
            Some(1),
            None,
        )
        .await
        .unwrap();
    let (_, entra_old) = provisioner
        .create_token(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "entra",
            None,
            None,
        )
        .await
        .unwrap();
    let (_, okta) = provisioner
        .create_token(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "okta",
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(status_with(&router, short.expose()).await.0, StatusCode::OK);

    // Rotation with a one-hour grace: both secrets work for the hour, then only the new one.
    let (_, entra_new) = provisioner
        .create_token(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "entra",
            None,
            Some(3_600_000),
        )
        .await
        .unwrap();
    assert_eq!(
        status_with(&router, entra_old.expose()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&router, entra_new.expose()).await.0,
        StatusCode::OK
    );
    provisioner
        .revoke_token(&Grant::command_line(tenant.clone(), admin_origin()), "okta")
        .await
        .unwrap();

    clock.advance_millis(DAY + 1);
    let (expired_status, expired_body) = status_with(&router, short.expose()).await;
    let (rotated_status, rotated_body) = status_with(&router, entra_old.expose()).await;
    let (revoked_status, revoked_body) = status_with(&router, okta.expose()).await;
    let (unknown_status, unknown_body) = status_with(&router, "scimd_unknown").await;
    assert_eq!(
        [
            expired_status,
            rotated_status,
            revoked_status,
            unknown_status
        ],
        [StatusCode::UNAUTHORIZED; 4]
    );
    assert!(
        expired_body == rotated_body
            && rotated_body == revoked_body
            && revoked_body == unknown_body,
        "no oracle"
    );
    assert_eq!(
        status_with(&router, entra_new.expose()).await.0,
        StatusCode::OK
    );

    let used = provisioner
        .list_tokens(&Grant::command_line(tenant.clone(), admin_origin()))
        .await
        .unwrap();
    assert!(
        used.iter()
            .any(|t| t.name.as_str() == "entra" && t.last_used_at.is_some())
    );
}
