//! Console accounts and sessions (SPEC §7) on SQLite and PostgreSQL: Argon2id passwords,
//! lockout after repeated failures, idle and absolute session expiry, sign-out.

use crate::common::{admin_origin, database_urls};
use scimd_core::Provisioner;
use scimd_core::admin::Role;
use scimd_core::clock::{ManualClock, SharedClock};
use scimd_core::error::Error;
use scimd_store::{Durability, SqlStore};
use std::sync::Arc;

// What the README promises, written out rather than read from the code's constants, so that a
// change to those fails here: sessions end after 30 minutes idle or 12 hours in all; five wrong
// passwords lock an account for 15 minutes.
const MINUTE: i64 = 60_000;
const SESSION_IDLE: i64 = 30 * MINUTE;
const SESSION_LIFETIME: i64 = 12 * 60 * MINUTE;
const FAILURES_THAT_LOCK: u32 = 5;
const LOCKOUT: i64 = 15 * MINUTE;

const PASSWORD: &str = "a long enough passphrase";

async fn provisioners() -> Vec<(
    &'static str,
    Provisioner<SqlStore, SharedClock>,
    ManualClock,
    Option<tempfile::TempDir>,
)> {
    let mut out = Vec::new();
    for (backend, url) in database_urls().await {
        let dir = tempfile::tempdir().unwrap();
        let url = if url.is_empty() {
            format!("sqlite://{}", dir.path().join("scimd.db").display())
        } else {
            url
        };
        let store = scimd_store::connect(&url, Durability::default())
            .await
            .unwrap();
        let clock = ManualClock::at_millis(1_700_000_000_000);
        let provisioner = Provisioner::new(store, Arc::new(clock.clone()) as SharedClock);
        provisioner.ensure_default_tenant().await.unwrap();
        out.push((backend, provisioner, clock, Some(dir)));
    }
    out
}

/// Admin ann@example.com of tenant `default`, with [`PASSWORD`].
async fn create_ann(provisioner: &Provisioner<SqlStore, SharedClock>) {
    provisioner
        .create_admin(
            &admin_origin(),
            "ann@example.com",
            Some("default"),
            Role::Admin,
            PASSWORD,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn admins_are_created_with_a_role_and_unique_emails() {
    for (backend, provisioner, _, _dir) in provisioners().await {
        let origin = admin_origin();
        let admin = provisioner
            .create_admin(
                &origin,
                "Ann@Example.com",
                Some("default"),
                Role::Admin,
                PASSWORD,
            )
            .await
            .unwrap();
        assert_eq!(admin.role, Role::Admin, "{backend}");
        assert!(admin.tenant_id.is_some(), "{backend}");
        let again = provisioner
            .create_admin(
                &origin,
                "ann@example.COM",
                Some("default"),
                Role::Viewer,
                PASSWORD,
            )
            .await;
        assert!(
            matches!(again, Err(Error::Conflict(_))),
            "{backend}: {again:?}"
        );
        let operator = provisioner
            .create_admin(
                &origin,
                "ops@example.com",
                Some("default"),
                Role::Operator,
                PASSWORD,
            )
            .await
            .unwrap();
        assert_eq!(
            operator.tenant_id, None,
            "{backend}: operators span tenants"
        );
        for (email, tenant, role, password, why) in [
            ("viewer@example.com", None, Role::Viewer, PASSWORD, "tenant"),
            (
                "short@example.com",
                Some("default"),
                Role::Viewer,
                "short",
                "characters",
            ),
            (
                "not-an-email",
                Some("default"),
                Role::Viewer,
                PASSWORD,
                "not an email",
            ),
            (
                "nowhere@example.com",
                Some("nowhere"),
                Role::Viewer,
                PASSWORD,
                "nowhere",
            ),
        ] {
            let refused = provisioner
                .create_admin(&origin, email, tenant, role, password)
                .await;
            match refused {
                Err(Error::Invalid(detail) | Error::NotFound(detail)) => {
                    assert!(detail.contains(why), "{backend}: {email}: {detail}");
                }
                other => panic!("{backend}: {email} {password}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn sign_in_opens_a_session_that_ends_when_idle_or_signed_out() {
    for (backend, provisioner, clock, _dir) in provisioners().await {
        create_ann(&provisioner).await;
        let (admin, secret, session) = provisioner
            .sign_in("ANN@example.com", PASSWORD)
            .await
            .unwrap();
        assert_eq!(admin.email, "ann@example.com", "{backend}");
        assert_eq!(session.csrf_token.len(), 64, "{backend}");
        let (found, _) = provisioner.session(secret.expose()).await.unwrap();
        assert_eq!(found.id, admin.id, "{backend}");
        assert!(matches!(
            provisioner.session("scimd_s_nope").await,
            Err(Error::Unauthorized)
        ));

        clock.advance_millis(SESSION_IDLE - 1_000);
        assert!(
            provisioner.session(secret.expose()).await.is_ok(),
            "{backend}: still live"
        );
        clock.advance_millis(SESSION_IDLE - 1_000);
        assert!(
            provisioner.session(secret.expose()).await.is_ok(),
            "{backend}: use keeps it"
        );
        clock.advance_millis(SESSION_IDLE);
        assert!(
            matches!(
                provisioner.session(secret.expose()).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: idle too long"
        );

        // Used every 29 minutes, a session still ends 12 hours after it began.
        let (_, secret, _) = provisioner
            .sign_in("ann@example.com", PASSWORD)
            .await
            .unwrap();
        let mut lived = 0;
        while lived + 29 * MINUTE < SESSION_LIFETIME {
            clock.advance_millis(29 * MINUTE);
            lived += 29 * MINUTE;
            assert!(
                provisioner.session(secret.expose()).await.is_ok(),
                "{backend}: live after {lived} ms"
            );
        }
        clock.advance_millis(SESSION_LIFETIME - lived);
        assert!(
            matches!(
                provisioner.session(secret.expose()).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: 12 hours in all"
        );

        let (_, secret, _) = provisioner
            .sign_in("ann@example.com", PASSWORD)
            .await
            .unwrap();
        provisioner.sign_out(secret.expose()).await.unwrap();
        assert!(
            matches!(
                provisioner.session(secret.expose()).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: signed out"
        );
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    for (backend, provisioner, clock, _dir) in provisioners().await {
        create_ann(&provisioner).await;
        assert!(matches!(
            provisioner.sign_in("nobody@example.com", PASSWORD).await,
            Err(Error::Unauthorized)
        ));
        let accounts = &provisioner;
        let wrong_passwords = |count| async move {
            for _ in 0..count {
                let wrong = accounts.sign_in("ann@example.com", "wrong password!").await;
                assert!(matches!(wrong, Err(Error::Unauthorized)), "{backend}");
            }
        };
        // One fewer than the lock: the right password still works, and starts the count over.
        wrong_passwords(FAILURES_THAT_LOCK - 1).await;
        assert!(
            provisioner
                .sign_in("ann@example.com", PASSWORD)
                .await
                .is_ok(),
            "{backend}: four wrong passwords do not lock"
        );
        wrong_passwords(FAILURES_THAT_LOCK).await;
        assert!(
            matches!(
                provisioner.sign_in("ann@example.com", PASSWORD).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: locked, even with the right password"
        );
        clock.advance_millis(LOCKOUT - 1_000);
        assert!(
            matches!(
                provisioner.sign_in("ann@example.com", PASSWORD).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: still locked a second before 15 minutes"
        );
        clock.advance_millis(1_000);
        assert!(
            provisioner
                .sign_in("ann@example.com", PASSWORD)
                .await
                .is_ok(),
            "{backend}: unlocked after the lockout"
        );
    }
}

/// Issue: concurrent sign-ins each read the failure count, checked the password, then wrote
/// an absolute count, so a stale write lost failures and lifted a lock. Here every attempt is
/// looked up before any is finished: the widest such race, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_all_count_and_a_lock_outlasts_a_right_one_checked_before_it() {
    for (backend, provisioner, _clock, _dir) in provisioners().await {
        create_ann(&provisioner).await;
        let mut wrong = Vec::new();
        for _ in 0..FAILURES_THAT_LOCK + 2 {
            let attempt = provisioner.begin_sign_in("ann@example.com").await.unwrap();
            wrong.push(attempt.check("wrong password!"));
        }
        let right = provisioner
            .begin_sign_in("ann@example.com")
            .await
            .unwrap()
            .check(PASSWORD);
        let provisioner = Arc::new(provisioner);
        let finishing: Vec<_> = wrong
            .into_iter()
            .map(|checked| {
                let provisioner = Arc::clone(&provisioner);
                tokio::spawn(async move { provisioner.finish_sign_in(checked).await })
            })
            .collect();
        for task in finishing {
            assert!(matches!(task.await.unwrap(), Err(Error::Unauthorized)));
        }
        assert!(
            matches!(
                provisioner.finish_sign_in(right).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: a right password checked before the lock does not lift it"
        );
        assert!(
            matches!(
                provisioner.sign_in("ann@example.com", PASSWORD).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: still locked"
        );
    }
}

/// Issue: admin accounts could not be disabled, deleted or given a new password, their
/// sessions could not be ended, and API keys never expired and kept working for a locked
/// admin.
#[tokio::test]
async fn admins_are_disabled_enabled_repassworded_signed_out_and_deleted_and_keys_expire() {
    use scimd_core::admin::ApiKeySecret;
    for (backend, provisioner, clock, _dir) in provisioners().await {
        create_ann(&provisioner).await;
        let bearer = |key: &ApiKeySecret| format!("Bearer {}", key.expose());
        let key = provisioner
            .create_api_key("ann@example.com", "ci", 30)
            .await
            .unwrap();
        let (_, session, _) = provisioner
            .sign_in("ann@example.com", PASSWORD)
            .await
            .unwrap();
        let cookie = session.expose().to_owned();
        assert!(
            provisioner
                .authenticate_api_key(&bearer(&key))
                .await
                .is_ok()
        );

        // Disabled: the session ends, the key and the password stop working.
        provisioner.disable_admin("ann@example.com").await.unwrap();
        assert!(
            matches!(provisioner.session(&cookie).await, Err(Error::Unauthorized)),
            "{backend}"
        );
        assert!(matches!(
            provisioner.authenticate_api_key(&bearer(&key)).await,
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            provisioner.sign_in("ann@example.com", PASSWORD).await,
            Err(Error::Unauthorized)
        ));
        provisioner.enable_admin("ann@example.com").await.unwrap();
        assert!(
            provisioner
                .authenticate_api_key(&bearer(&key))
                .await
                .is_ok()
        );
        let (_, session, _) = provisioner
            .sign_in("ann@example.com", PASSWORD)
            .await
            .unwrap();

        // A new password: the old one fails, every session ends.
        let new_password = "another long passphrase";
        provisioner
            .change_admin_password("ann@example.com", new_password)
            .await
            .unwrap();
        assert!(
            matches!(
                provisioner.session(session.expose()).await,
                Err(Error::Unauthorized)
            ),
            "{backend}"
        );
        assert!(matches!(
            provisioner.sign_in("ann@example.com", PASSWORD).await,
            Err(Error::Unauthorized)
        ));
        let (_, session, _) = provisioner
            .sign_in("ann@example.com", new_password)
            .await
            .unwrap();
        assert_eq!(
            provisioner
                .end_admin_sessions("ann@example.com")
                .await
                .unwrap(),
            1
        );
        assert!(matches!(
            provisioner.session(session.expose()).await,
            Err(Error::Unauthorized)
        ));

        // Locked after failed sign-ins: its key is refused too.
        for _ in 0..FAILURES_THAT_LOCK {
            let _ = provisioner
                .sign_in("ann@example.com", "wrong password!")
                .await;
        }
        assert!(
            matches!(
                provisioner.authenticate_api_key(&bearer(&key)).await,
                Err(Error::Unauthorized)
            ),
            "{backend}"
        );
        clock.advance_millis(LOCKOUT);
        assert!(
            provisioner
                .authenticate_api_key(&bearer(&key))
                .await
                .is_ok()
        );

        // Keys expire, and are listed without their secrets.
        let keys = provisioner.api_keys(Some("ann@example.com")).await.unwrap();
        assert_eq!(keys.len(), 1, "{backend}");
        assert_eq!(keys[0].name, "ci");
        clock.advance_millis(30 * 86_400_000);
        assert!(
            matches!(
                provisioner.authenticate_api_key(&bearer(&key)).await,
                Err(Error::Unauthorized)
            ),
            "{backend}: expired"
        );
        assert!(matches!(
            provisioner
                .create_api_key("ann@example.com", "x", 5000)
                .await,
            Err(Error::Invalid(_))
        ));

        provisioner.delete_admin("ann@example.com").await.unwrap();
        assert!(matches!(
            provisioner.sign_in("ann@example.com", new_password).await,
            Err(Error::Unauthorized)
        ));
        assert!(
            provisioner.api_keys(None).await.unwrap().is_empty(),
            "{backend}"
        );
        assert!(matches!(
            provisioner.delete_admin("ann@example.com").await,
            Err(Error::NotFound(_))
        ));
    }
}
