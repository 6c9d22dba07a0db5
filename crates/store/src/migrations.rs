//! Per-backend migrations, append-only, embedded in the binary.

use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration::new(
            $version,
            $description.into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!($file)),
            false,
        )
    };
}

pub(crate) fn sqlite() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "initial", "../migrations/sqlite/0001_initial.sql"),
        migration!(2, "catalog", "../migrations/sqlite/0002_catalog.sql"),
        migration!(
            3,
            "user placement",
            "../migrations/sqlite/0003_user_placement.sql"
        ),
        migration!(4, "accounts", "../migrations/sqlite/0004_accounts.sql"),
        migration!(5, "activity", "../migrations/sqlite/0005_activity.sql"),
        migration!(6, "admins", "../migrations/sqlite/0006_admins.sql"),
        migration!(
            7,
            "admin api keys",
            "../migrations/sqlite/0007_admin_api_keys.sql"
        ),
        migration!(
            8,
            "listing index",
            "../migrations/sqlite/0008_listing_index.sql"
        ),
        migration!(
            9,
            "profile user count",
            "../migrations/sqlite/0009_profile_user_count.sql"
        ),
        migration!(
            10,
            "server keys",
            "../migrations/sqlite/0010_server_keys.sql"
        ),
        migration!(
            11,
            "admin lifecycle",
            "../migrations/sqlite/0011_admin_lifecycle.sql"
        ),
        migration!(
            12,
            "provisioning method",
            "../migrations/sqlite/0012_provisioning_method.sql"
        ),
        migration!(
            13,
            "account origin",
            "../migrations/sqlite/0013_account_origin.sql"
        ),
        migration!(14, "mail", "../migrations/sqlite/0014_mail.sql"),
        migration!(
            15,
            "change events",
            "../migrations/sqlite/0015_change_events.sql"
        ),
        migration!(16, "webhooks", "../migrations/sqlite/0016_webhooks.sql"),
        migration!(
            17,
            "oauth clients",
            "../migrations/sqlite/0017_oauth_clients.sql"
        ),
        migration!(
            18,
            "client secret reminders",
            "../migrations/sqlite/0018_client_secret_reminders.sql"
        ),
        migration!(
            19,
            "profile count at commit",
            "../migrations/sqlite/0019_profile_count_at_commit.sql"
        ),
        migration!(
            20,
            "user counts",
            "../migrations/sqlite/0020_user_counts.sql"
        ),
        migration!(
            21,
            "active in name index",
            "../migrations/sqlite/0021_active_in_name_index.sql"
        ),
    ])
}

pub(crate) fn postgres() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "initial", "../migrations/postgres/0001_initial.sql"),
        migration!(2, "catalog", "../migrations/postgres/0002_catalog.sql"),
        migration!(
            3,
            "user placement",
            "../migrations/postgres/0003_user_placement.sql"
        ),
        migration!(4, "accounts", "../migrations/postgres/0004_accounts.sql"),
        migration!(5, "activity", "../migrations/postgres/0005_activity.sql"),
        migration!(6, "admins", "../migrations/postgres/0006_admins.sql"),
        migration!(
            7,
            "admin api keys",
            "../migrations/postgres/0007_admin_api_keys.sql"
        ),
        migration!(
            8,
            "listing index",
            "../migrations/postgres/0008_listing_index.sql"
        ),
        migration!(
            9,
            "profile user count",
            "../migrations/postgres/0009_profile_user_count.sql"
        ),
        migration!(
            10,
            "server keys",
            "../migrations/postgres/0010_server_keys.sql"
        ),
        migration!(
            11,
            "admin lifecycle",
            "../migrations/postgres/0011_admin_lifecycle.sql"
        ),
        migration!(
            12,
            "provisioning method",
            "../migrations/postgres/0012_provisioning_method.sql"
        ),
        migration!(
            13,
            "account origin",
            "../migrations/postgres/0013_account_origin.sql"
        ),
        migration!(14, "mail", "../migrations/postgres/0014_mail.sql"),
        migration!(
            15,
            "change events",
            "../migrations/postgres/0015_change_events.sql"
        ),
        migration!(16, "webhooks", "../migrations/postgres/0016_webhooks.sql"),
        migration!(
            17,
            "oauth clients",
            "../migrations/postgres/0017_oauth_clients.sql"
        ),
        migration!(
            18,
            "client secret reminders",
            "../migrations/postgres/0018_client_secret_reminders.sql"
        ),
        migration!(
            19,
            "profile count at commit",
            "../migrations/postgres/0019_profile_count_at_commit.sql"
        ),
        migration!(
            20,
            "sequence after commit",
            "../migrations/postgres/0020_sequence_after_commit.sql"
        ),
        migration!(
            21,
            "user counts",
            "../migrations/postgres/0021_user_counts.sql"
        ),
        migration!(
            22,
            "active in name index",
            "../migrations/postgres/0022_active_in_name_index.sql"
        ),
    ])
}

/// Migration 0004 turns rows of the old model into accounts: a live user stays active, a
/// tombstone becomes an account preserved by the IdP with its SCIM id retired, and a tombstone
/// superseded by a newer row of the same email gives way to it.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Durability, connect};
    use scimd_core::lifecycle::{AccountState, PreservedBy};
    use scimd_core::store::{AccountReads, CatalogStore};
    use scimd_core::tenant::TenantId;

    /// Users as the 0003 schema held them: one live, one deleted, and one email deleted then
    /// created again.
    const OLD_ROWS: &str = r#"
        INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'default', 'Default', 0);
        INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, resource,
                           resource_ci, version, created_at, updated_at, deleted_at) VALUES
          (1, 1, 'id-a', 'a@x.com', 'a@x.com', true,
           '{"userName":"a@x.com","displayName":"A/B","emails":[{"value":"a@x.com"}]}', '{}', 1, 1, 1, NULL),
          (2, 1, 'id-b', 'b@x.com', 'b@x.com', true, '{"userName":"b@x.com"}', '{}', 2, 1, 2, 5),
          (3, 1, 'id-c1', 'c@x.com', 'c@x.com', true, '{"userName":"c@x.com"}', '{}', 2, 1, 2, 6),
          (4, 1, 'id-c2', 'C@x.com', 'c@x.com', true, '{"userName":"C@x.com"}', '{}', 1, 7, 7, NULL);
        INSERT INTO user_emails (user_pk, tenant_id, value_ci) VALUES (1, 1, 'a@x.com'), (3, 1, 'c@x.com');
    "#;

    async fn check_upgraded(url: &str) {
        let store = connect(url, Durability::default()).await.expect("upgraded");
        let tenant = TenantId(1);
        let a = store
            .user_by_scim_id(tenant, "id-a")
            .await
            .unwrap()
            .expect("a");
        assert_eq!(a.state, AccountState::Active);
        assert_eq!(a.profile.display_name, "A_B");
        let b = store
            .user_by_email(tenant, "b@x.com")
            .await
            .unwrap()
            .expect("b");
        assert_eq!(
            (b.scim_id, b.state),
            (None, AccountState::Preserved(PreservedBy::Idp))
        );
        assert!(
            store
                .user_by_scim_id(tenant, "id-c1")
                .await
                .unwrap()
                .is_none()
        );
        let c = store
            .user_by_email(tenant, "c@x.com")
            .await
            .unwrap()
            .expect("c");
        assert_eq!(c.scim_id.as_deref(), Some("id-c2"));
        let by_email = scim::list::ListQuery {
            filter: Some(
                scim::Filter::parse_for(r#"emails.value eq "a@x.com""#, &scim::schema::USER)
                    .unwrap(),
            ),
            ..Default::default()
        };
        assert_eq!(store.query_users(tenant, &by_email).await.unwrap().total, 1);
    }

    /// A SQLite database with the first `applied` migrations and `rows`; its URL.
    async fn sqlite_at(dir: &tempfile::TempDir, applied: usize, rows: &'static str) -> String {
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        let old = Migrator::with_migrations(sqlite().migrations[..applied].to_vec());
        old.run(&pool).await.unwrap();
        sqlx::raw_sql(rows).execute(&pool).await.unwrap();
        pool.close().await;
        url
    }

    /// Like [`sqlite_at`], in a fresh PostgreSQL database; `None` (said) without one.
    async fn postgres_at(applied: usize, rows: &'static str) -> Option<String> {
        let admin_url = crate::test_support::postgres_admin_url()?;
        let url = crate::test_support::fresh_postgres_database(&admin_url)
            .await
            .unwrap();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let old = Migrator::with_migrations(postgres().migrations[..applied].to_vec());
        old.run(&pool).await.unwrap();
        sqlx::raw_sql(rows).execute(&pool).await.unwrap();
        pool.close().await;
        Some(url)
    }

    #[tokio::test]
    async fn sqlite_rows_of_the_old_model_become_accounts() {
        let dir = tempfile::tempdir().unwrap();
        check_upgraded(&sqlite_at(&dir, 3, OLD_ROWS).await).await;
    }

    #[tokio::test]
    async fn postgres_rows_of_the_old_model_become_accounts() {
        if let Some(url) = postgres_at(3, OLD_ROWS).await {
            check_upgraded(&url).await;
        }
    }

    /// Accounts placed before migration 0009 (two in one profile, none in the other): the
    /// counts it adds to the profiles start from them.
    const PLACED_ROWS: &str = r#"
        INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'default', 'Default', 0);
        INSERT INTO profiles (id, tenant_id, name, name_ci, max_users, created_at) VALUES
          (1, 1, 'Gold', 'gold', 5, 0), (2, 1, 'Free', 'free', 0, 0);
        INSERT INTO storages (id, tenant_id, name, name_ci, region, created_at) VALUES
          (1, 1, 'EU', 'eu', 'eu', 0);
        INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, resource,
                           resource_ci, version, created_at, updated_at, state, managed_by,
                           display_name, upn, profile_id, storage_id) VALUES
          (1, 1, 'id-a', 'a@x.com', 'a@x.com', true, '{}', '{}', 1, 1, 1, 'active', 'scim',
           'a', 'a@x.com', 1, 1),
          (2, 1, 'id-b', 'b@x.com', 'b@x.com', true, '{}', '{}', 1, 1, 1, 'active', 'scim',
           'b', 'b@x.com', 1, 1),
          (3, 1, 'id-c', 'c@x.com', 'c@x.com', true, '{}', '{}', 1, 1, 1, 'active', 'scim',
           'c', 'c@x.com', NULL, NULL);
    "#;

    async fn check_counted(url: &str) {
        let store = connect(url, Durability::default()).await.expect("upgraded");
        let tenant = TenantId(1);
        assert_eq!(store.count_profile_users(tenant, 1).await.unwrap(), 2);
        assert_eq!(store.count_profile_users(tenant, 2).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn sqlite_profiles_count_the_users_placed_before() {
        let dir = tempfile::tempdir().unwrap();
        check_counted(&sqlite_at(&dir, 8, PLACED_ROWS).await).await;
    }

    #[tokio::test]
    async fn postgres_profiles_count_the_users_placed_before() {
        if let Some(url) = postgres_at(8, PLACED_ROWS).await {
            check_counted(&url).await;
        }
    }

    /// README: several instances may start at once on one PostgreSQL database; migrations run
    /// under an advisory lock, so each is applied once and every instance opens.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn instances_starting_together_on_postgres_migrate_once() {
        let Some(admin_url) = crate::test_support::postgres_admin_url() else {
            return;
        };
        let url = crate::test_support::fresh_postgres_database(&admin_url)
            .await
            .unwrap();
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { connect(&url, Durability::default()).await })
            })
            .collect();
        for start in starts {
            start.await.unwrap().expect("every instance opens");
        }
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let applied: Vec<(i64, bool)> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        let expected: Vec<(i64, bool)> = postgres()
            .migrations
            .iter()
            .map(|migration| (migration.version, true))
            .collect();
        assert_eq!(applied, expected);
        pool.close().await;
    }
}
