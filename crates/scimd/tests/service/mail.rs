//! Email notifications against a real SMTP server on loopback, on SQLite and on
//! PostgreSQL when `SCIMD_TEST_POSTGRES_URL` is set: activation emails of a mapping with the
//! flag, token expiry reminders at 30, 7 and 1 days, the hourly failure digest; mail queued
//! with its cause, retried while the SMTP server is down, given up on a permanent refusal, and
//! sent once however many workers run.

use crate::common;

use crate::common::smtp::TestSmtp;
use crate::common::{TestApp, admin_origin};
use axum::http::{Method, StatusCode};
use scimd::mail::{MailConfig, SmtpMailer};
use scimd_core::access::Grant;
use scimd_core::admin::Role;
use scimd_core::clock::{ManualClock, SharedClock};
use scimd_core::mail::MailCounts;
use scimd_core::mapping::Criteria;
use scimd_core::provisioner::{MailRound, MappingSpec, Provisioner};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const DAY: i64 = 86_400_000;

fn mail_config(smtp: &TestSmtp) -> MailConfig {
    MailConfig {
        smtp_url: smtp.url(),
        from: "scimd <scimd@example.com>".into(),
        poll: Duration::from_millis(50),
    }
}

/// The app with mail on, sending to `smtp`; tenant `default` with one admin, one viewer, and a
/// mapping that sends activation emails to the R&D department (into a profile whose name
/// shows the escaping).
/// Its clock is the test's: it starts on 2027-01-15 and moves only when the test moves it.
async fn app_mailing_to(database_url: String, smtp: &TestSmtp) -> (TestApp, ManualClock) {
    let config = mail_config(smtp);
    let clock = ManualClock::at_millis(1_800_000_000_000);
    let shared: SharedClock = Arc::new(clock.clone());
    let app = TestApp::configured_at(database_url, shared, |c| c.mail = Some(config)).await;
    common::add_admin(
        &app.config.database_url,
        "ann@example.com",
        Role::Admin,
        "a long enough passphrase",
    )
    .await;
    common::add_admin(
        &app.config.database_url,
        "vic@example.com",
        Role::Viewer,
        "a long enough passphrase",
    )
    .await;
    let provisioner = app.provisioner().await;
    let tenant = provisioner.tenant("default").await.unwrap();
    provisioner
        .create_profile(
            &Grant::command_line(tenant.clone(), admin_origin()),
            "R&D <Lab>",
            0,
        )
        .await
        .unwrap();
    let welcome = MappingSpec {
        name: "Welcome R&D",
        criteria: Criteria::attribute("department", "R&D").unwrap(),
        profile: "R&D <Lab>",
        storage: "Default",
        quota_bytes: None,
        send_activation_email: true,
        priority: None,
    };
    provisioner
        .create_mapping(
            &Grant::command_line(tenant.clone(), admin_origin()),
            welcome,
        )
        .await
        .unwrap();
    (app, clock)
}

async fn counts(app: &TestApp) -> MailCounts {
    let provisioner = app.provisioner().await;
    let tenant = provisioner.tenant("default").await.unwrap();
    provisioner
        .mail_counts(&Grant::command_line(tenant.clone(), admin_origin()))
        .await
        .unwrap()
}

fn user(user_name: &str, department: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": user_name,
        "displayName": "Ann Lee",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": department},
    })
}

#[tokio::test]
async fn r48_activation_emails_are_queued_with_the_user_and_sent_once() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, _clock) = app_mailing_to(url, &smtp).await;
        let sender = SmtpMailer::new(&mail_config(&smtp)).unwrap();
        let provisioner = app.provisioner().await.with_mail(true);

        for (name, department) in [("new@example.com", "R&D"), ("other@example.com", "Sales")] {
            let created = app
                .call(Method::POST, "/scim/v2/Users", Some(user(name, department)))
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{backend}");
        }
        assert_eq!(
            counts(&app).await,
            MailCounts {
                queued: 1,
                sent: 0,
                failed: 0
            },
            "{backend}: queued with the create, only for the mapping with the flag"
        );
        let round = provisioner.deliver_mail(&sender).await.unwrap();
        assert_eq!(round.sent, 1, "{backend}");
        let mails = smtp.wait_for(1).await;
        assert_eq!(mails[0].to, ["new@example.com"], "{backend}");
        assert_eq!(mails[0].from, "scimd@example.com", "{backend}");
        let message = &mails[0].message;
        assert!(
            message.contains("Subject: Your account at Default is ready"),
            "{message}"
        );
        assert!(message.contains("Hello Ann Lee"), "{message}");
        assert!(
            message.contains("in profile 'R&D <Lab>'"),
            "{backend}: text: {message}"
        );
        assert!(message.contains("Content-Type: text/html"), "{message}");
        assert!(
            message.contains("&#39;R&amp;D &lt;Lab&gt;&#39;"),
            "{backend}: escaped: {message}"
        );
        // Sent: a second round sends nothing again.
        assert_eq!(
            provisioner.deliver_mail(&sender).await.unwrap(),
            MailRound::default()
        );
        assert_eq!(counts(&app).await.sent, 1, "{backend}");
        assert_eq!(smtp.received().len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn r48_mail_waits_out_an_smtp_server_that_is_down_and_gives_up_on_a_refusal() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, clock) = app_mailing_to(url, &smtp).await;
        let provisioner = app.provisioner().await.with_mail(true);
        // Nothing listens on a port just released.
        let down = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            drop(listener);
            SmtpMailer::new(&MailConfig {
                smtp_url: format!("smtp://127.0.0.1:{port}"),
                ..mail_config(&smtp)
            })
            .unwrap()
        };
        let up = SmtpMailer::new(&mail_config(&smtp)).unwrap();
        app.call(
            Method::POST,
            "/scim/v2/Users",
            Some(user("a@example.com", "R&D")),
        )
        .await;
        clock.advance_millis(1);

        let round = provisioner.deliver_mail(&down).await.unwrap();
        assert_eq!((round.sent, round.retried), (0, 1), "{backend}");
        assert_eq!(counts(&app).await.queued, 1, "{backend}: kept for later");
        // Not due again before its back-off ends, then sent.
        assert_eq!(
            provisioner.deliver_mail(&up).await.unwrap().sent,
            0,
            "{backend}"
        );
        clock.advance_millis(61_000);
        assert_eq!(
            provisioner.deliver_mail(&up).await.unwrap().sent,
            1,
            "{backend}"
        );
        assert_eq!(smtp.wait_for(1).await[0].to, ["a@example.com"], "{backend}");

        smtp.refuse_with(Some("550 5.7.1 sender refused"));
        app.call(
            Method::POST,
            "/scim/v2/Users",
            Some(user("b@example.com", "R&D")),
        )
        .await;
        clock.advance_millis(1);
        let round = provisioner.deliver_mail(&up).await.unwrap();
        assert_eq!((round.sent, round.given_up), (0, 1), "{backend}");
        smtp.refuse_with(Some("451 4.3.0 try again later"));
        app.call(
            Method::POST,
            "/scim/v2/Users",
            Some(user("c@example.com", "R&D")),
        )
        .await;
        clock.advance_millis(1);
        let round = provisioner.deliver_mail(&up).await.unwrap();
        assert_eq!((round.sent, round.retried), (0, 1), "{backend}");
        assert_eq!(
            counts(&app).await,
            MailCounts {
                queued: 1,
                sent: 1,
                failed: 1
            },
            "{backend}"
        );
        // The retry schedule ends after about three days: then it is given up too.
        for _ in 0..20 {
            clock.advance_millis(DAY / 4);
            provisioner.deliver_mail(&up).await.unwrap();
        }
        assert_eq!(counts(&app).await.failed, 2, "{backend}");
        assert_eq!(smtp.received().len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn r48_two_workers_send_each_mail_once() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, _clock) = app_mailing_to(url, &smtp).await;
        for n in 0..12 {
            let body = user(&format!("u{n}@example.com"), "R&D");
            app.call(Method::POST, "/scim/v2/Users", Some(body)).await;
        }
        let first = app.provisioner().await.with_mail(true);
        let second = app.provisioner().await.with_mail(true);
        let (a, b) = (
            SmtpMailer::new(&mail_config(&smtp)).unwrap(),
            SmtpMailer::new(&mail_config(&smtp)).unwrap(),
        );
        let (one, two) = tokio::join!(first.deliver_mail(&a), second.deliver_mail(&b));
        assert_eq!(one.unwrap().sent + two.unwrap().sent, 12, "{backend}");
        let mut recipients: Vec<String> = smtp
            .wait_for(12)
            .await
            .into_iter()
            .flat_map(|mail| mail.to)
            .collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(recipients.len(), 12, "{backend}");
        assert_eq!(smtp.received().len(), 12, "{backend}: none twice");
    }
}

#[tokio::test]
async fn r48_token_expiry_reminders_go_to_the_admins_at_30_7_and_1_days_once() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, clock) = app_mailing_to(url, &smtp).await;
        let provisioner = app.provisioner().await.with_mail(true);
        let sender = SmtpMailer::new(&mail_config(&smtp)).unwrap();
        let tenant = provisioner.tenant("default").await.unwrap();
        // TestApp's `entra` token lives a year: no reminder yet.
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            0,
            "{backend}"
        );
        provisioner
            .create_token(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "okta",
                Some(10),
                None,
            )
            .await
            .unwrap();
        // Ten days left: the 30-day reminder, to the one admin (not the viewer), once.
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            1,
            "{backend}"
        );
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            0,
            "{backend}"
        );
        clock.advance_millis(4 * DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            1,
            "{backend}: 7 days"
        );
        clock.advance_millis(DAY / 2);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            0,
            "{backend}"
        );
        clock.advance_millis(5 * DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            1,
            "{backend}: 1 day"
        );
        clock.advance_millis(DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            0,
            "{backend}: expired"
        );

        assert_eq!(
            provisioner.deliver_mail(&sender).await.unwrap().sent,
            3,
            "{backend}"
        );
        let mails = smtp.wait_for(3).await;
        assert!(
            mails.iter().all(|m| m.to == ["ann@example.com"]),
            "{backend}: {mails:?}"
        );
        let subjects: Vec<&str> = mails
            .iter()
            .map(|m| {
                m.message
                    .lines()
                    .find(|l| l.starts_with("Subject:"))
                    .unwrap()
            })
            .collect();
        assert_eq!(
            subjects,
            [
                "Subject: SCIM token 'okta' of Default expires within 30 days",
                "Subject: SCIM token 'okta' of Default expires within 7 days",
                "Subject: SCIM token 'okta' of Default expires within a day",
            ],
            "{backend}"
        );
        assert!(
            mails[0]
                .message
                .contains("scimd token create --tenant default --name okta"),
            "{}",
            mails[0].message
        );
    }
}

/// SPEC §12 with R-48: a client secret's admins are reminded before it expires, as for tokens;
/// its successor, added for the rotation, is not (it has years left).
#[tokio::test]
async fn client_secret_expiry_reminders_go_to_the_admins_once_each() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, clock) = app_mailing_to(url, &smtp).await;
        let provisioner = app.provisioner().await.with_mail(true);
        let sender = SmtpMailer::new(&mail_config(&smtp)).unwrap();
        let tenant = provisioner.tenant("default").await.unwrap();
        let grant = Grant::command_line(tenant.clone(), admin_origin());
        let first = provisioner
            .create_client(&grant, "entra", Some(730))
            .await
            .unwrap();
        assert_eq!(provisioner.queue_expiry_reminders().await.unwrap(), 0);
        // Past TestApp's token (a year), twenty days before the secret expires.
        clock.advance_millis(710 * DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            1,
            "{backend}: 30 days"
        );
        provisioner
            .add_client_secret(&grant, "entra", None)
            .await
            .unwrap();
        assert_eq!(provisioner.queue_expiry_reminders().await.unwrap(), 0);
        clock.advance_millis(15 * DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            1,
            "{backend}: 7 days, the old secret only"
        );
        provisioner
            .revoke_client_secret(&grant, "entra", first.info.id)
            .await
            .unwrap();
        clock.advance_millis(5 * DAY);
        assert_eq!(
            provisioner.queue_expiry_reminders().await.unwrap(),
            0,
            "{backend}: a revoked secret needs no reminder"
        );
        assert_eq!(provisioner.deliver_mail(&sender).await.unwrap().sent, 2);
        let mails = smtp.wait_for(2).await;
        assert!(
            mails[0].message.contains(
                "Subject: OAuth client 'entra' of Default: a secret expires within 30 days"
            ),
            "{}",
            mails[0].message
        );
        assert!(
            mails[1]
                .message
                .contains("scimd client revoke-secret --tenant default entra"),
            "{}",
            mails[1].message
        );
    }
}

#[tokio::test]
async fn r48_failed_calls_are_digested_at_most_once_an_hour() {
    for (backend, url) in common::database_urls().await {
        let smtp = TestSmtp::start().await;
        let (app, clock) = app_mailing_to(url, &smtp).await;
        let provisioner = app.provisioner().await.with_mail(true);
        let sender = SmtpMailer::new(&mail_config(&smtp)).unwrap();
        assert_eq!(
            provisioner.queue_failure_digests().await.unwrap(),
            0,
            "{backend}"
        );
        for name in ["not-an-email", "<script>@x"] {
            let refused = app
                .call(
                    Method::POST,
                    "/scim/v2/Users",
                    Some(json!({"userName": name})),
                )
                .await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        }
        clock.advance_millis(1);
        // Two instances at once: one digest.
        let other = Provisioner::new(
            provisioner.store().clone(),
            Arc::new(clock.clone()) as SharedClock,
        )
        .with_mail(true);
        let (a, b) = tokio::join!(
            provisioner.queue_failure_digests(),
            other.queue_failure_digests()
        );
        assert_eq!(a.unwrap() + b.unwrap(), 1, "{backend}");
        // A failure after that digest.
        clock.advance_millis(1);
        app.call(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({"userName": "again"})),
        )
        .await;
        clock.advance_millis(30 * 60_000);
        assert_eq!(
            provisioner.queue_failure_digests().await.unwrap(),
            0,
            "{backend}: within the hour"
        );
        clock.advance_millis(31 * 60_000);
        assert_eq!(
            provisioner.queue_failure_digests().await.unwrap(),
            1,
            "{backend}"
        );

        provisioner.deliver_mail(&sender).await.unwrap();
        let mails = smtp.wait_for(2).await;
        assert!(
            mails.iter().all(|m| m.to == ["ann@example.com"]),
            "{backend}"
        );
        let first = &mails[0].message;
        assert!(
            first.contains("Subject: 2 failed provisioning calls for Default"),
            "{first}"
        );
        assert!(
            first.contains("not-an-email") && first.contains("&lt;script&gt;@x"),
            "{first}"
        );
        let second = &mails[1].message;
        assert!(
            second.contains("Subject: 1 failed provisioning call for Default"),
            "{second}"
        );
        assert!(
            second.contains("again") && !second.contains("not-an-email"),
            "{second}"
        );
    }
}

/// Mail stays off without SMTP: nothing is queued, and asking for an activation email says
/// how to turn mail on.
#[tokio::test]
async fn r48_without_smtp_nothing_is_queued_and_asking_to_mail_is_refused() {
    let app = TestApp::new().await;
    let provisioner = app.provisioner().await;
    assert!(!provisioner.mail_enabled());
    let tenant = provisioner.tenant("default").await.unwrap();
    let spec = scimd_core::provisioner::ManualUser {
        email: "m@example.com".into(),
        name: "M".into(),
        profile: "Default".into(),
        storage: "Default".into(),
        send_activation_email: true,
    };
    let refused = provisioner
        .create_manual_user(&Grant::command_line(tenant.clone(), admin_origin()), &spec)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("--smtp-url"), "{refused}");
    assert!(
        provisioner
            .account(
                &Grant::command_line(tenant.clone(), admin_origin()),
                "m@example.com"
            )
            .await
            .is_err()
    );
    assert_eq!(provisioner.queue_expiry_reminders().await.unwrap(), 0);
    assert_eq!(
        provisioner
            .mail_counts(&Grant::command_line(tenant.clone(), admin_origin()))
            .await
            .unwrap(),
        MailCounts::default()
    );
}
