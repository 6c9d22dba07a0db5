//! The activity log's retention (`serve --activity-retention-days`, default 90) on SQLite and
//! PostgreSQL: older events of every tenant go, a batch at a time; newer ones stay.

use crate::common::{admin_origin, database_or_temp, database_urls};
use scim::datetime::Timestamp;
use scimd::open_provisioner;
use scimd_core::access::Grant;
use scimd_core::activity::{Event, EventQuery, Outcome};
use scimd_core::provisioner::DEFAULT_ACTIVITY_RETENTION_DAYS;

const DAY: i64 = 86_400_000;

#[tokio::test]
async fn events_older_than_the_retention_are_deleted_in_every_tenant_and_newer_ones_kept() {
    for (backend, url) in database_urls().await {
        let dir = tempfile::tempdir().unwrap();
        let provisioner = open_provisioner(&database_or_temp(&dir, url), Default::default())
            .await
            .unwrap();
        let default = provisioner.tenant("default").await.unwrap();
        let other = provisioner
            .create_tenant(
                &Grant::command_line(default.clone(), admin_origin()),
                "other",
                None,
            )
            .await
            .unwrap();
        let now = provisioner.now().as_millis();
        let event = |tenant, days_ago: i64| Event {
            detail: Some(format!("{days_ago} days ago")),
            ..Event::new(
                &admin_origin(),
                tenant,
                Timestamp::from_millis(now - days_ago * DAY),
                "create",
                Outcome::Failure,
                400,
            )
        };
        // More than one batch of old events in one tenant.
        for _ in 0..1_200 {
            provisioner
                .record_failure(&event(default.id, 100))
                .await
                .unwrap();
        }
        for _ in 0..3 {
            provisioner
                .record_failure(&event(default.id, 10))
                .await
                .unwrap();
            provisioner
                .record_failure(&event(other.id, 91))
                .await
                .unwrap();
        }
        let deleted = provisioner
            .purge_activity(DEFAULT_ACTIVITY_RETENTION_DAYS)
            .await
            .unwrap();
        assert_eq!(deleted, 1_203, "{backend}");
        let failures = EventQuery {
            outcome: Some(Outcome::Failure),
            limit: 10_000,
            ..Default::default()
        };
        let kept = provisioner
            .activity(
                &Grant::command_line(default.clone(), admin_origin()),
                &failures,
            )
            .await
            .unwrap();
        assert_eq!(kept.len(), 3, "{backend}");
        assert!(
            kept.iter()
                .all(|event| event.detail.as_deref() == Some("10 days ago"))
        );
        assert!(
            provisioner
                .activity(
                    &Grant::command_line(other.clone(), admin_origin()),
                    &failures
                )
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            provisioner.purge_activity(90).await.unwrap(),
            0,
            "{backend}"
        );
    }
}
