//! One conformance story for the `Store`, run on SQLite always and on PostgreSQL when
//! `SCIMD_TEST_POSTGRES_URL` is set (each run gets a fresh database).

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::Filter;
use scim::datetime::Timestamp;
use scim::list::{self, ListQuery, Page, SortOrder};
use scim::schema::USER;
use scimd_core::activity::{Event, EventQuery, Origin, Outcome};
use scimd_core::feed::{AccountChange, ChangeQuery, ChangeType, MAX_PAGE_TEXT, Recorded};
use scimd_core::lifecycle::{AccountState, ManagedBy, PreservedBy};
use scimd_core::oauth::{
    AddedSecret, ClientSecret, IssueOutcome, MAX_LIVE_ACCESS_TOKENS, NewAccessToken, NewClient,
    NewSecret, OAuthClient,
};
use scimd_core::store::{
    AccountMove, AccountQuery, AccountReads, AccountWrites, ActivityStore, CatalogStore,
    ClientStore, Database, FeedStore, StateFilter, StoreError, TenantStore, TokenStore,
};
use scimd_core::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};
use scimd_core::token::{NewToken, TokenName, TokenSecret};
use scimd_core::user::{AccountProfile, Connection, Placement, User};
use scimd_store::{Durability, SqlStore, connect};
use serde_json::{Value, json};

struct Backend {
    name: &'static str,
    store: SqlStore,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh store per backend: a temp-file SQLite database, and a new PostgreSQL database
/// when the environment provides a server.
async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
    let sqlite = connect(&url, Durability::default())
        .await
        .expect("sqlite opens");
    let mut backends = vec![Backend {
        name: "sqlite",
        store: sqlite,
        _dir: Some(dir),
    }];
    if let Some(admin_url) = scimd_store::test_support::postgres_admin_url() {
        backends.push(Backend {
            name: "postgres",
            store: fresh_postgres(&admin_url).await,
            _dir: None,
        });
    }
    backends
}

async fn fresh_postgres(admin_url: &str) -> SqlStore {
    let url = scimd_store::test_support::fresh_postgres_database(admin_url)
        .await
        .expect("fresh database");
    connect(&url, Durability::default())
        .await
        .expect("postgres opens")
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

async fn tenant(store: &SqlStore, slug: &str) -> Tenant {
    store
        .create_tenant(&TenantSlug::parse(slug).unwrap(), slug, at(1))
        .await
        .expect("tenant")
}

fn user(tenant: &Tenant, id: &str, resource: Value) -> User {
    let mut resource = scim::normalise::normalise_resource(&resource, &USER)
        .expect("valid")
        .resource;
    let active = *resource.entry("active").or_insert(Value::Bool(true)) == Value::Bool(true);
    User {
        tenant_id: tenant.id,
        key: 0,
        scim_id: Some(id.into()),
        profile: AccountProfile::of(&resource),
        resource,
        version: 1,
        created_at: at(1000),
        updated_at: at(1000),
        state: if active {
            AccountState::Active
        } else {
            AccountState::Preserved(PreservedBy::Idp)
        },
        preserved_at: (!active).then_some(at(1000)),
        managed_by: ManagedBy::Scim,
        placement: None,
        connection: None,
    }
}

/// The records a test write makes: its activity event and its change event.
fn event(user: &User, operation: &str) -> Recorded {
    let origin = Origin::cli("tester", "conformance");
    let target = (user.user_name(), user.scim_id.as_deref());
    let activity = Event::success(
        &origin,
        user.tenant_id,
        at(5),
        operation,
        200,
        target,
        "test".into(),
    );
    let kind = match operation {
        "create" => ChangeType::Created,
        "delete" => ChangeType::Deleted,
        "destroy" => ChangeType::Destroyed,
        "move" => ChangeType::Moved,
        "reactivate" => ChangeType::Reactivated,
        _ => ChangeType::Updated,
    };
    let change = AccountChange {
        kind,
        origin: &origin,
        at: at(5),
        before: None,
        after: user,
        names: None,
    };
    Recorded {
        activity,
        change: change.event("http://localhost/scim/v2").unwrap(),
    }
}

/// Inserts `user` and gives it the key the store chose.
async fn insert(store: &SqlStore, user: &mut User) -> Result<(), StoreError> {
    user.key = store.insert_user(user, &event(user, "create")).await?;
    Ok(())
}

/// README: "each change and its activity event are written in one transaction". An event that
/// cannot be written (it names a tenant that does not exist: a foreign-key violation) takes
/// its change down with it, and the store is left as before, ready for the same change.
#[tokio::test]
async fn a_change_whose_event_cannot_be_written_is_not_made() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let unwritable = |user: &User, operation: &str| {
            let mut record = event(user, operation);
            record.activity.tenant_id = TenantId(999_999);
            record
        };
        let mut first = user(&acme, "u1", json!({"userName": "a@example.com"}));
        let refused = store
            .insert_user(&first, &unwritable(&first, "create"))
            .await;
        assert!(refused.is_err(), "{name}: {refused:?}");
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap(),
            None,
            "{name}"
        );
        let all = EventQuery {
            limit: 100,
            ..EventQuery::default()
        };
        assert!(
            store.list_events(acme.id, &all).await.unwrap().is_empty(),
            "{name}"
        );

        insert(&store, &mut first).await.unwrap();
        let second = renamed(&first, "Two");
        let refused = store
            .update_user(&first, &second, &unwritable(&second, "update"))
            .await;
        assert!(refused.is_err(), "{name}: {refused:?}");
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap().as_ref(),
            Some(&first),
            "{name}"
        );
        store
            .update_user(&first, &second, &event(&second, "update"))
            .await
            .unwrap();
        let operations: Vec<String> = store
            .list_events(acme.id, &all)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.operation)
            .collect();
        assert_eq!(operations, ["update", "create"], "{name}");
    }
}

/// What `/readyz` asks.
#[tokio::test]
async fn a_reachable_database_answers_the_ping() {
    for Backend { name, store, .. } in backends().await {
        store
            .ping()
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"));
    }
}

#[tokio::test]
async fn tenants_are_unique_by_slug() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let again = store
            .create_tenant(&TenantSlug::parse("acme").unwrap(), "Acme", at(2))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{name}");
        let found = store
            .tenant_by_slug(&TenantSlug::parse("acme").unwrap())
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(&acme), "{name}");
        let by_id = store.tenant_by_id(acme.id).await.unwrap();
        assert_eq!(by_id, Some(acme), "{name}");
        assert_eq!(
            store.tenant_by_id(TenantId(999_999)).await.unwrap(),
            None,
            "{name}"
        );
        tenant(&store, "beta").await;
        let slugs: Vec<String> = store
            .list_tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.slug.to_string())
            .collect();
        assert_eq!(slugs, ["acme", "beta"], "{name}");
    }
}

#[tokio::test]
async fn tokens_rotate_by_name_and_revoke() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let entra = TokenName::parse("entra").unwrap();
        let first = TokenSecret::generate().unwrap();
        let new_token = |secret: &TokenSecret, now: i64, keep: i64| NewToken {
            tenant_id: acme.id,
            name: entra.clone(),
            hash: secret.hash(),
            created_at: at(now),
            expires_at: at(now + 1_000_000),
            previous_revoked_at: at(now + keep),
        };
        store.insert_token(&new_token(&first, 10, 0)).await.unwrap();
        let found = store
            .token_by_hash(&first.hash())
            .await
            .unwrap()
            .expect("found");
        assert!(found.hash.matches(&first.hash()), "{name}");
        assert_eq!(found.token.revoked_at, None, "{name}");
        assert_eq!(
            (found.tenant_slug.as_str(), found.provisioning),
            ("acme", ProvisioningMethod::Scim),
            "{name}: the tenant comes with the token"
        );
        assert!(
            store
                .set_provisioning(acme.id, ProvisioningMethod::Manual)
                .await
                .unwrap()
        );
        let found = store.token_by_hash(&first.hash()).await.unwrap().unwrap();
        assert_eq!(found.provisioning, ProvisioningMethod::Manual, "{name}");
        assert_eq!(
            store
                .tenant_by_slug(&acme.slug)
                .await
                .unwrap()
                .unwrap()
                .provisioning,
            ProvisioningMethod::Manual,
            "{name}"
        );
        assert!(
            !store
                .set_provisioning(TenantId(999_999), ProvisioningMethod::Manual)
                .await
                .unwrap(),
            "{name}: no such tenant"
        );

        // Rotation with a grace period: the old token works until 20 + 500.
        let second = TokenSecret::generate().unwrap();
        store
            .insert_token(&new_token(&second, 20, 500))
            .await
            .unwrap();
        let old = store
            .token_by_hash(&first.hash())
            .await
            .unwrap()
            .unwrap()
            .token;
        assert_eq!(old.revoked_at, Some(at(520)), "{name}");
        assert!(old.is_usable(at(519)) && !old.is_usable(at(520)), "{name}");

        store.touch_token(old.id, at(30)).await.unwrap();
        let old = store
            .token_by_hash(&first.hash())
            .await
            .unwrap()
            .unwrap()
            .token;
        assert_eq!(old.last_used_at, Some(at(30)), "{name}");

        assert!(
            store.revoke_token(acme.id, &entra, at(40)).await.unwrap(),
            "{name}"
        );
        let tokens = store.list_tokens(acme.id).await.unwrap();
        assert_eq!(tokens.len(), 2, "{name}");
        assert!(
            tokens
                .iter()
                .all(|t| t.revoked_at.is_some_and(|r| r <= at(40))),
            "{name}: {tokens:?}"
        );
        assert!(
            !store.revoke_token(acme.id, &entra, at(50)).await.unwrap(),
            "{name}: nothing left to revoke"
        );
        assert!(
            store
                .token_by_hash(&TokenSecret::generate().unwrap().hash())
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn users_are_unique_per_tenant_case_insensitively_and_isolated() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let beta = tenant(&store, "beta").await;
        let mut bjensen = user(&acme, "u1", json!({"userName": "BJensen@Example.com"}));
        insert(&store, &mut bjensen).await.unwrap();
        let mut clash = user(&acme, "u2", json!({"userName": "bjensen@example.COM"}));
        assert!(
            matches!(
                insert(&store, &mut clash).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );
        // Another tenant may hold the same userName, and cannot see the first one.
        let mut other = user(&beta, "u3", json!({"userName": "bjensen@example.com"}));
        insert(&store, &mut other).await.unwrap();
        assert!(
            store
                .user_by_scim_id(beta.id, "u1")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap(),
            Some(bjensen.clone()),
            "{name}"
        );
        assert_eq!(
            store
                .user_by_email(acme.id, "BJENSEN@example.com")
                .await
                .unwrap(),
            Some(bjensen),
            "{name}: found by email, folded"
        );
    }
}

/// SPEC §4: the account outlives its SCIM id. Retiring the id hides it from SCIM; the email
/// stays the account's, and a new id can be given to the same account later.
#[tokio::test]
async fn updates_check_the_version_and_retired_ids_disappear_from_scim() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut original = user(
            &acme,
            "u1",
            json!({"userName": "a@example.com", "emails": [{"value": "a@example.com"}]}),
        );
        insert(&store, &mut original).await.unwrap();
        let mut changed = original.clone();
        changed.resource.insert("displayName".into(), "A".into());
        changed
            .resource
            .insert("emails".into(), json!([{"value": "new@example.com"}]));
        changed.version = 2;
        store
            .update_user(&original, &changed, &event(&changed, "update"))
            .await
            .unwrap();
        assert!(
            matches!(
                store
                    .update_user(&original, &changed, &event(&changed, "update"))
                    .await,
                Err(StoreError::VersionMismatch)
            ),
            "{name}"
        );
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap(),
            Some(changed.clone()),
            "{name}"
        );
        let by_email = ListQuery {
            filter: Some(Filter::parse_for(r#"emails.value eq "NEW@example.com""#, &USER).unwrap()),
            ..ListQuery::default()
        };
        assert_eq!(
            store.query_users(acme.id, &by_email).await.unwrap().total,
            1,
            "{name}: email index follows updates"
        );

        let mut retired = changed.clone();
        retired.scim_id = None;
        retired.state = AccountState::Preserved(PreservedBy::Idp);
        retired.resource.insert("active".into(), Value::Bool(false));
        retired.preserved_at = Some(at(6));
        retired.version = 3;
        store
            .update_user(&changed, &retired, &event(&retired, "delete"))
            .await
            .unwrap();
        assert!(
            store
                .user_by_scim_id(acme.id, "u1")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(
            store.query_users(acme.id, &by_email).await.unwrap().total,
            0,
            "{name}: a retired id leaves SCIM lists"
        );
        assert_eq!(
            store.user_by_email(acme.id, "a@example.com").await.unwrap(),
            Some(retired.clone()),
            "{name}: the account stays"
        );
        // The email still names that account: no second account may take it.
        let mut second = user(&acme, "u2", json!({"userName": "A@example.com"}));
        assert!(
            matches!(
                insert(&store, &mut second).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );
        // Reactivated under a new id, the same account is back.
        let mut back = retired.clone();
        back.scim_id = Some("u9".into());
        back.state = AccountState::Active;
        back.resource.insert("active".into(), Value::Bool(true));
        back.preserved_at = None;
        back.version = 4;
        store
            .update_user(&retired, &back, &event(&back, "reactivate"))
            .await
            .unwrap();
        assert_eq!(
            store.user_by_scim_id(acme.id, "u9").await.unwrap(),
            Some(back),
            "{name}"
        );
        assert!(
            store
                .user_by_scim_id(acme.id, "u1")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        // Two updates that left the addresses alone kept their rows.
        assert_eq!(
            store.query_users(acme.id, &by_email).await.unwrap().total,
            1,
            "{name}: email rows survive updates that do not change them"
        );
        let mut renamed = store.user_by_scim_id(acme.id, "u9").await.unwrap().unwrap();
        let before_rename = renamed.clone();
        renamed.resource.remove("emails");
        renamed.version = 5;
        store
            .update_user(&before_rename, &renamed, &event(&renamed, "update"))
            .await
            .unwrap();
        assert_eq!(
            store.query_users(acme.id, &by_email).await.unwrap().total,
            0,
            "{name}: removed addresses leave the email index"
        );
    }
}

/// An update names the indexed columns (userName, externalId, the SCIM id) only when they
/// change: a change still moves them in their indexes, and an update that leaves them keeps
/// them findable and unique.
#[tokio::test]
async fn updates_move_the_indexed_columns_only_when_they_change() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let count = |filter: &str| {
            let query = ListQuery {
                filter: Some(Filter::parse_for(filter, &USER).unwrap()),
                ..ListQuery::default()
            };
            let store = &store;
            async move { store.query_users(acme.id, &query).await.unwrap().total }
        };
        let mut original = user(
            &acme,
            "u1",
            json!({"userName": "old@example.com", "externalId": "X1"}),
        );
        insert(&store, &mut original).await.unwrap();

        let mut moved = original.clone();
        moved
            .resource
            .insert("userName".into(), "Moved@example.com".into());
        moved.resource.insert("externalId".into(), "X2".into());
        moved.version = 2;
        store
            .update_user(&original, &moved, &event(&moved, "update"))
            .await
            .unwrap();
        assert_eq!(
            count(r#"userName eq "MOVED@example.com""#).await,
            1,
            "{name}"
        );
        assert_eq!(count(r#"userName eq "old@example.com""#).await, 0, "{name}");
        assert_eq!(count(r#"externalId eq "X2""#).await, 1, "{name}");
        assert_eq!(count(r#"externalId eq "X1""#).await, 0, "{name}");

        let mut kept = moved.clone();
        kept.resource.insert("displayName".into(), "Kept".into());
        kept.version = 3;
        store
            .update_user(&moved, &kept, &event(&kept, "update"))
            .await
            .unwrap();
        assert_eq!(
            count(r#"userName eq "moved@example.com""#).await,
            1,
            "{name}"
        );
        assert_eq!(count(r#"externalId eq "X2""#).await, 1, "{name}");
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap(),
            Some(kept),
            "{name}"
        );
        let mut taken = user(&acme, "u2", json!({"userName": "moved@EXAMPLE.com"}));
        assert!(
            matches!(
                insert(&store, &mut taken).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: the kept userName is still unique"
        );
        let mut freed = user(&acme, "u3", json!({"userName": "old@example.com"}));
        insert(&store, &mut freed).await.unwrap();
    }
}

#[tokio::test]
async fn admin_listings_page_through_every_account_and_destroy_is_final() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut keys = Vec::new();
        for index in 0..5 {
            let mut account = user(
                &acme,
                &format!("id-{index}"),
                json!({"userName": format!("u{index}@example.com"), "active": index % 2 == 0}),
            );
            if index == 4 {
                account.scim_id = None;
                account.managed_by = ManagedBy::Manual;
            }
            insert(&store, &mut account).await.unwrap();
            keys.push(account.key);
        }
        let page = |state, after_key, limit| AccountQuery {
            state,
            after_key,
            limit,
            ..AccountQuery::default()
        };
        let first = store
            .list_accounts(acme.id, &page(None, None, 3))
            .await
            .unwrap();
        let rest = store
            .list_accounts(acme.id, &page(None, first.last().map(|u| u.key), 3))
            .await
            .unwrap();
        let listed: Vec<i64> = first.iter().chain(&rest).map(|u| u.key).collect();
        assert_eq!(listed, keys, "{name}: manual and SCIM accounts alike");
        let preserved = store
            .list_accounts(acme.id, &page(Some(StateFilter::Preserved), None, 10))
            .await
            .unwrap();
        assert_eq!(preserved.len(), 2, "{name}");
        assert!(preserved.iter().all(|u| !u.active()), "{name}");

        let search = AccountQuery {
            search: Some("U3@EXAMPLE".into()),
            managed_by: Some(ManagedBy::Scim),
            limit: 10,
            ..AccountQuery::default()
        };
        let found = store.list_accounts(acme.id, &search).await.unwrap();
        assert_eq!(found.len(), 1, "{name}: search is folded and narrows");
        let manual = AccountQuery {
            managed_by: Some(ManagedBy::Manual),
            limit: 10,
            ..AccountQuery::default()
        };
        assert_eq!(
            store.list_accounts(acme.id, &manual).await.unwrap().len(),
            1,
            "{name}"
        );
        let counts = store.count_accounts(acme.id).await.unwrap();
        assert_eq!((counts.active, counts.preserved), (3, 2), "{name}");

        let doomed = store
            .user_by_email(acme.id, "u1@example.com")
            .await
            .unwrap()
            .unwrap();
        store
            .destroy_user(&doomed, &event(&doomed, "destroy"))
            .await
            .unwrap();
        assert!(
            store
                .user_by_email(acme.id, "u1@example.com")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        let events = store
            .list_events(
                acme.id,
                &EventQuery {
                    user_name: Some("U1@example.com".into()),
                    limit: 10,
                    ..EventQuery::default()
                },
            )
            .await
            .unwrap();
        let operations: Vec<&str> = events.iter().map(|e| e.operation.as_str()).collect();
        assert_eq!(
            operations,
            ["destroy", "create"],
            "{name}: newest first, kept after destroy"
        );
        assert!(
            events.iter().all(|e| e.outcome == Outcome::Success),
            "{name}"
        );
    }
}

fn population(tenant: &Tenant) -> Vec<User> {
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut users = vec![
        user(
            tenant,
            "id-1",
            json!({"userName": "bjensen@example.com", "externalId": "E1", "displayName": "Babs Jensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"}, "title": "Tour Guide", "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
            enterprise: {"department": "Tour Operations", "manager": {"value": "id-2"}}}),
        ),
        user(
            tenant,
            "id-2",
            json!({"userName": "jsmith@example.com", "externalId": "e2", "displayName": "John Smith",
            "name": {"givenName": "John", "familyName": "Smith"}, "active": false, "userType": "Employee",
            "emails": [{"value": "JSMITH@example.com", "type": "work"}], enterprise: {"department": "Finance"}}),
        ),
        user(
            tenant,
            "id-3",
            json!({"userName": "Ünïcode@Example.org", "displayName": "Ünï Code", "nickName": "",
            "phoneNumbers": [{"value": "555-1234", "type": "mobile"}], "active": true}),
        ),
        user(
            tenant,
            "id-4",
            json!({"userName": "zed@example.net", "title": "Intern", "userType": "Intern",
            "roles": [{"value": "admin", "primary": true}]}),
        ),
    ];
    for (index, user) in users.iter_mut().enumerate() {
        let offset = i64::try_from(index).unwrap();
        user.created_at = at(1_000 + offset * 1_000);
        user.updated_at = at(2_000 + offset * 1_000);
    }
    users
}

/// Every filter is run in the database and by the in-memory evaluator over the same users; the
/// two must agree, and both must find the users listed with each filter.
#[tokio::test]
async fn database_filters_agree_with_the_in_memory_evaluator() {
    // Each with the users it must find, written out: the evaluator and the database could both
    // be wrong the same way, or agree on finding nothing.
    let filters: [(&str, &[&str]); 52] = [
        (r#"userName eq "BJENSEN@example.com""#, &["id-1"]),
        (r#"userName eq "ünïcode@example.org""#, &["id-3"]),
        (
            r#"userName ne "bjensen@example.com""#,
            &["id-2", "id-3", "id-4"],
        ),
        (
            r#"userName co "EXAMPLE""#,
            &["id-1", "id-2", "id-3", "id-4"],
        ),
        (r#"userName sw "j""#, &["id-2"]),
        (r#"userName ew ".NET""#, &["id-4"]),
        (r#"userName gt "k""#, &["id-3", "id-4"]),
        (r#"userName le "jsmith@example.com""#, &["id-1", "id-2"]),
        (r#"externalId eq "e1""#, &[]),
        (r#"externalId eq "E1""#, &["id-1"]),
        ("externalId pr", &["id-1", "id-2"]),
        ("not (externalId pr)", &["id-3", "id-4"]),
        ("externalId eq null", &["id-3", "id-4"]),
        (r#"id eq "id-3""#, &["id-3"]),
        (r#"id ne "id-3""#, &["id-1", "id-2", "id-4"]),
        ("active eq true", &["id-1", "id-3", "id-4"]),
        ("active eq false", &["id-2"]),
        (r#"active eq "False""#, &["id-2"]),
        (
            r#"meta.created gt "1970-01-01T00:00:02Z""#,
            &["id-3", "id-4"],
        ),
        (
            r#"meta.lastModified le "1970-01-01T00:00:03Z""#,
            &["id-1", "id-2"],
        ),
        (
            r#"meta.resourceType eq "User""#,
            &["id-1", "id-2", "id-3", "id-4"],
        ),
        (r#"emails.value eq "jsmith@EXAMPLE.com""#, &["id-2"]),
        (r#"emails.value co "jensen""#, &["id-1"]),
        (r#"emails co "example.com""#, &["id-1", "id-2"]),
        ("emails pr", &["id-1", "id-2"]),
        (r#"emails.type eq "home""#, &["id-1"]),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            &["id-1", "id-2"],
        ),
        (r#"emails[type eq "work" and primary eq true]"#, &["id-1"]),
        (r#"emails[not (primary eq true)]"#, &["id-1", "id-2"]),
        (r#"emails[type ne "work"]"#, &["id-1"]),
        (r#"roles[value ne "admin"]"#, &[]),
        (
            r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            &["id-1"],
        ),
        (r#"displayName co "ï""#, &["id-3"]),
        (r#"displayName sw "babs""#, &["id-1"]),
        ("nickName pr", &[]),
        (r#"nickName eq """#, &["id-3"]),
        (r#"name.familyName eq "smith""#, &["id-2"]),
        (r#"name.givenName gt "C""#, &["id-2"]),
        ("title pr and userType eq \"Intern\"", &["id-4"]),
        (
            r#"title pr or userType eq "Employee""#,
            &["id-1", "id-2", "id-4"],
        ),
        (r#"userType ne "Employee""#, &["id-1", "id-3", "id-4"]),
        (
            r#"not (userType eq "Employee") and not (title pr)"#,
            &["id-3"],
        ),
        (r#"phoneNumbers[type eq "mobile"]"#, &["id-3"]),
        (r#"roles[primary eq "True"]"#, &["id-4"]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "finance""#,
            &["id-2"],
        ),
        (r#"department co "Oper""#, &["id-1"]),
        (r#"manager.value eq "id-2""#, &["id-1"]),
        (r#"manager[value eq "id-2"]"#, &["id-1"]),
        (r#"manager eq "id-2""#, &["id-1"]),
        ("manager pr", &["id-1"]),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            &["id-1", "id-2"],
        ),
        (
            r#"(userName sw "b" or userName sw "z") and (active eq true)"#,
            &["id-1", "id-4"],
        ),
    ];
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut users = population(&acme);
        for user in &mut users {
            insert(&store, user).await.unwrap();
        }
        for (text, finds) in filters {
            let filter = Filter::parse_for(text, &USER).unwrap_or_else(|e| panic!("{text}: {e}"));
            let mut expected: Vec<&str> = users
                .iter()
                .filter(|u| filter.matches(&(*u).clone().into_scim("https://x/scim/v2")))
                .map(|u| u.id())
                .collect();
            expected.sort_unstable();
            assert_eq!(expected, finds, "the evaluator: {text}");
            let query = ListQuery {
                filter: Some(filter),
                ..ListQuery::default()
            };
            let page = store
                .query_users(acme.id, &query)
                .await
                .unwrap_or_else(|e| panic!("{name} {text}: {e}"));
            let mut actual: Vec<&str> = page.users.iter().map(|u| u.scim_id.as_str()).collect();
            actual.sort_unstable();
            assert_eq!(actual, expected, "{name}: {text}");
            assert_eq!(page.total, expected.len() as u64, "{name}: {text}");
        }
    }
}

#[tokio::test]
async fn paging_by_index_and_by_cursor_is_stable_and_exact() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        for index in 0..25 {
            let mut account = user(
                &acme,
                &format!("id-{index:02}"),
                json!({"userName": format!("u{index:02}@example.com")}),
            );
            insert(&store, &mut account).await.unwrap();
        }
        let page = |page: Page| ListQuery {
            page,
            ..ListQuery::default()
        };
        let first = store
            .query_users(
                acme.id,
                &page(Page::Index {
                    start_index: 1,
                    count: 10,
                }),
            )
            .await
            .unwrap();
        assert_eq!((first.total, first.users.len()), (25, 10), "{name}");
        assert_eq!(first.users[0].scim_id, "id-00", "{name}");
        let last = store
            .query_users(
                acme.id,
                &page(Page::Index {
                    start_index: 21,
                    count: 10,
                }),
            )
            .await
            .unwrap();
        assert_eq!(last.users.len(), 5, "{name}");
        let past = store
            .query_users(
                acme.id,
                &page(Page::Index {
                    start_index: 100,
                    count: 10,
                }),
            )
            .await
            .unwrap();
        assert_eq!((past.total, past.users.len()), (25, 0), "{name}");
        let totals = store
            .query_users(
                acme.id,
                &page(Page::Index {
                    start_index: 1,
                    count: 0,
                }),
            )
            .await
            .unwrap();
        assert_eq!((totals.total, totals.users.len()), (25, 0), "{name}");

        // A userName lookup's first page is its total; past it, or with count=0, the total is
        // still counted.
        let by_name = |page: Page| ListQuery {
            filter: Some(Filter::parse_for(r#"userName eq "U07@example.com""#, &USER).unwrap()),
            page,
            ..ListQuery::default()
        };
        for (page, expected) in [
            (
                Page::Index {
                    start_index: 1,
                    count: 10,
                },
                (1, 1),
            ),
            (
                Page::Cursor {
                    cursor: None,
                    count: 10,
                },
                (1, 1),
            ),
            (
                Page::Index {
                    start_index: 2,
                    count: 10,
                },
                (1, 0),
            ),
            (
                Page::Index {
                    start_index: 1,
                    count: 0,
                },
                (1, 0),
            ),
        ] {
            let found = store
                .query_users(acme.id, &by_name(page.clone()))
                .await
                .unwrap();
            assert_eq!(
                (found.total, found.users.len()),
                expected,
                "{name}: {page:?}"
            );
        }

        // Cursor paging walks every user exactly once, in both the default and a sorted order.
        for sort_by in [None, Some(list::sort_by("userName", &USER).unwrap())] {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let query = ListQuery {
                    sort_by,
                    sort_order: SortOrder::Descending,
                    page: Page::Cursor {
                        cursor: cursor.clone(),
                        count: 7,
                    },
                    ..ListQuery::default()
                };
                let result = store.query_users(acme.id, &query).await.unwrap();
                assert_eq!(result.total, 25, "{name}");
                seen.extend(result.users.into_iter().map(|u| u.scim_id));
                match result.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 25, "{name} {sort_by:?}");
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 25, "{name} {sort_by:?}: {seen:?}");
            if sort_by.is_some() {
                assert_eq!(seen[0], "id-24", "{name}: descending by userName");
            }
        }
    }
}

#[tokio::test]
async fn sorting_puts_unassigned_values_last() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        for mut user in population(&acme) {
            insert(&store, &mut user).await.unwrap();
        }
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let query = ListQuery {
                sort_by: Some(list::sort_by("title", &USER).unwrap()),
                sort_order: order,
                ..ListQuery::default()
            };
            let ids: Vec<String> = store
                .query_users(acme.id, &query)
                .await
                .unwrap()
                .users
                .into_iter()
                .map(|u| u.scim_id.clone())
                .collect();
            let expected = match order {
                SortOrder::Ascending => ["id-4", "id-1", "id-2", "id-3"],
                SortOrder::Descending => ["id-1", "id-4", "id-2", "id-3"],
            };
            assert_eq!(ids, expected, "{name} {order:?}");
        }
    }
}

#[tokio::test]
async fn catalog_names_are_unique_and_mapping_priorities_stay_one_to_n() {
    use scimd_core::catalog::{MappingChange, NewMapping};
    use scimd_core::mapping::Criteria;
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let gold = store
            .create_profile(acme.id, "Gold", 10, at(1))
            .await
            .unwrap();
        assert!(
            matches!(
                store.create_profile(acme.id, "GOLD", 0, at(1)).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );
        let eu = store
            .create_storage(acme.id, "EU", "eu-west-1", at(1))
            .await
            .unwrap();
        let placed = |mapping: &str, criteria: Criteria, priority: u32| NewMapping {
            tenant_id: acme.id,
            name: mapping.into(),
            priority,
            criteria,
            profile_id: gold.id,
            storage_id: eu.id,
            quota_bytes: Some(5_000_000),
            send_activation_email: true,
            now: at(2),
        };
        // Past the end is the bottom.
        let new_mapping = |mapping: &str, criteria: Criteria| placed(mapping, criteria, 99);
        let values = Criteria::Attribute {
            name: "department".into(),
            values: vec!["R&D".into(), "Sales,EU".into()],
        };
        let first = store
            .create_mapping(&new_mapping("first", values.clone()))
            .await
            .unwrap();
        let second = store
            .create_mapping(&new_mapping("second", Criteria::AllowAnyUser))
            .await
            .unwrap();
        let third = store
            .create_mapping(&new_mapping("third", Criteria::AllowAnyUser))
            .await
            .unwrap();
        assert_eq!(
            (first.priority, second.priority, third.priority),
            (1, 2, 3),
            "{name}: new mappings go to the bottom"
        );
        assert_eq!(first.criteria, values, "{name}");
        assert_eq!(
            (
                first.profile.as_str(),
                first.storage.as_str(),
                first.quota_bytes
            ),
            ("Gold", "EU", Some(5_000_000)),
            "{name}"
        );
        assert!(
            matches!(
                store
                    .create_mapping(&new_mapping("First", Criteria::AllowAnyUser))
                    .await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );

        // Move "third" to the top, in one transaction, without two mappings ever sharing a place.
        let mappings = store.list_mappings(acme.id).await.unwrap();
        let moves = scimd_core::catalog::reordered(&mappings, "third", 1).unwrap();
        store.set_mapping_priorities(acme.id, &moves).await.unwrap();
        let order: Vec<String> = store
            .list_mappings(acme.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(order, ["third", "first", "second"], "{name}");
        assert!(
            matches!(
                store.set_mapping_priorities(acme.id, &moves).await,
                Err(StoreError::VersionMismatch)
            ),
            "{name}: stale moves"
        );

        // A new mapping at a priority: the ones from there down make room, in one write.
        let inserted = store
            .create_mapping(&placed("fourth", Criteria::AllowAnyUser, 2))
            .await
            .unwrap();
        assert_eq!(inserted.priority, 2, "{name}");
        let order: Vec<(String, u32)> = store
            .list_mappings(acme.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.priority))
            .collect();
        assert_eq!(
            order,
            [
                ("third".to_owned(), 1),
                ("fourth".to_owned(), 2),
                ("first".to_owned(), 3),
                ("second".to_owned(), 4)
            ],
            "{name}"
        );
        let mappings = store.list_mappings(acme.id).await.unwrap();
        let moves = scimd_core::catalog::reordered(&mappings, "fourth", 99).unwrap();
        store.set_mapping_priorities(acme.id, &moves).await.unwrap();
        let fourth_id = inserted.id;
        let mappings = store.list_mappings(acme.id).await.unwrap();
        let deleted_moves = scimd_core::catalog::renumbered(
            &mappings
                .iter()
                .filter(|m| m.id != fourth_id)
                .collect::<Vec<_>>(),
        );
        assert!(
            store
                .delete_mapping(acme.id, "fourth", &deleted_moves)
                .await
                .unwrap(),
            "{name}"
        );

        let change = MappingChange {
            new_name: Some("renamed".into()),
            quota_bytes: Some(None),
            ..MappingChange::default()
        };
        assert!(
            store
                .update_mapping(acme.id, "FIRST", &change, at(3))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .update_mapping(acme.id, "nope", &change, at(3))
                .await
                .unwrap(),
            "{name}"
        );

        // A profile in use cannot go; deleting a mapping renumbers the rest.
        assert!(
            matches!(
                store.delete_profile(acme.id, "gold").await,
                Err(StoreError::InUse(_))
            ),
            "{name}"
        );
        let mappings = store.list_mappings(acme.id).await.unwrap();
        let rest: Vec<&scimd_core::catalog::Mapping> =
            mappings.iter().filter(|m| m.name != "third").collect();
        assert!(
            store
                .delete_mapping(acme.id, "third", &scimd_core::catalog::renumbered(&rest))
                .await
                .unwrap(),
            "{name}"
        );
        // A user remembers where it was placed; the profile counts it, preserved or not, until
        // an admin destroys it.
        let mut placed = user(&acme, "placed", json!({"userName": "placed@example.com"}));
        placed.placement = Some(scimd_core::user::Placement {
            mapping: Some("second".into()),
            moved_by: None,
            profile_id: gold.id,
            storage_id: eu.id,
            quota_bytes: Some(7),
        });
        insert(&store, &mut placed).await.unwrap();
        assert_eq!(
            store.user_by_scim_id(acme.id, "placed").await.unwrap(),
            Some(placed.clone()),
            "{name}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, gold.id).await.unwrap(),
            1,
            "{name}"
        );
        store
            .destroy_user(&placed, &event(&placed, "destroy"))
            .await
            .unwrap();
        assert_eq!(
            store.count_profile_users(acme.id, gold.id).await.unwrap(),
            0,
            "{name}"
        );

        let left: Vec<(String, u32, Option<u64>)> = store
            .list_mappings(acme.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.priority, m.quota_bytes))
            .collect();
        assert_eq!(
            left,
            [
                ("renamed".to_owned(), 1, None),
                ("second".to_owned(), 2, Some(5_000_000))
            ],
            "{name}"
        );
    }
}

/// What a SCIM read returns (the resource as stored, rendered without decoding) is the
/// account as written: by query, page after page, and by id; other tenants see none of it.
#[tokio::test]
async fn scim_reads_return_the_documents_as_written() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut users = population(&acme);
        for user in &mut users {
            insert(&store, user).await.unwrap();
        }
        let queries = [
            ListQuery::default(),
            ListQuery {
                filter: Some(
                    Filter::parse_for(r#"userName eq "BJENSEN@example.com""#, &USER).unwrap(),
                ),
                ..ListQuery::default()
            },
            ListQuery {
                page: Page::Cursor {
                    cursor: None,
                    count: 2,
                },
                ..ListQuery::default()
            },
            ListQuery {
                sort_by: Some(list::sort_by("userName", &USER).unwrap()),
                sort_order: SortOrder::Descending,
                page: Page::Index {
                    start_index: 2,
                    count: 3,
                },
                ..ListQuery::default()
            },
        ];
        for query in &queries {
            let page = store.query_users(acme.id, query).await.unwrap();
            assert!(!page.users.is_empty(), "{name} {query:?}");
            if let Some(next) = &page.next_cursor {
                let after = ListQuery {
                    page: Page::Cursor {
                        cursor: Some(next.clone()),
                        count: 2,
                    },
                    ..query.clone()
                };
                let following = store.query_users(acme.id, &after).await.unwrap();
                assert!(!following.users.is_empty(), "{name} {query:?}");
                assert!(
                    following
                        .users
                        .iter()
                        .all(|user| page.users.iter().all(|seen| seen.key != user.key)),
                    "{name} {query:?}: the next page repeats none"
                );
            }
            for stored in &page.users {
                let account = store
                    .user_by_scim_id(acme.id, &stored.scim_id)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    (
                        stored.key,
                        stored.version,
                        stored.created_at,
                        stored.updated_at
                    ),
                    (
                        account.key,
                        account.version,
                        account.created_at,
                        account.updated_at
                    ),
                    "{name}"
                );
                let document: serde_json::Map<String, Value> =
                    serde_json::from_str(&stored.document).unwrap();
                assert_eq!(document, account.resource, "{name}");
                assert_eq!(
                    store
                        .scim_resource(acme.id, &stored.scim_id)
                        .await
                        .unwrap()
                        .as_ref(),
                    Some(stored),
                    "{name}"
                );
            }
        }
        assert!(
            store
                .scim_resource(acme.id, "no-such-id")
                .await
                .unwrap()
                .is_none()
        );
        let other = tenant(&store, "other").await;
        let someone = users[0].id();
        assert!(
            store
                .scim_resource(other.id, someone)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}

/// `from`'s next version, with `display` as its displayName.
fn renamed(from: &User, display: &str) -> User {
    let mut next = from.clone();
    next.resource.insert("displayName".into(), display.into());
    next.version = from.version + 1;
    next
}

/// `read_scope` (a GET's token and user read in one transaction on SQLite): a read after the
/// scope's own write sees the write, and no scope, ended or dropped half-way as a timed-out
/// request is, leaves a connection behind in its old snapshot.
#[tokio::test]
async fn read_scopes_see_their_own_writes_and_leave_no_snapshot_behind() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut first = user(&acme, "u1", json!({"userName": "a@example.com"}));
        insert(&store, &mut first).await.unwrap();

        let second = renamed(&first, "Two");
        let seen = store
            .read_scope(async {
                let before = store.user_by_scim_id(acme.id, "u1").await.unwrap();
                store
                    .update_user(&first, &second, &event(&second, "update"))
                    .await
                    .unwrap();
                (before, store.user_by_scim_id(acme.id, "u1").await.unwrap())
            })
            .await;
        assert_eq!(seen, (Some(first.clone()), Some(second.clone())), "{name}");

        // Dropped half-way: after its read, never finished.
        let (has_read, read) = tokio::sync::oneshot::channel();
        let abandoned = store.read_scope(async {
            store.user_by_scim_id(acme.id, "u1").await.unwrap();
            has_read.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        tokio::select! {
            () = abandoned => panic!("{name}: the scope never ends"),
            answer = read => answer.unwrap(),
        }
        store
            .read_scope(async { store.user_by_scim_id(acme.id, "u1").await.unwrap() })
            .await;

        let third = renamed(&second, "Three");
        store
            .update_user(&second, &third, &event(&third, "update"))
            .await
            .unwrap();
        // Lookups take whichever connection is idle: ask often enough to meet each of them.
        for _ in 0..4 {
            let outside = store.user_by_scim_id(acme.id, "u1").await.unwrap();
            let inside = store
                .read_scope(async { store.user_by_scim_id(acme.id, "u1").await.unwrap() })
                .await;
            assert_eq!(outside.as_ref(), Some(&third), "{name}");
            assert_eq!(inside.as_ref(), Some(&third), "{name}");
        }
    }
}

/// A scope inside another joins it: on SQLite its reads stay in the outer scope's snapshot,
/// not a second transaction that would see what another request committed meanwhile.
/// PostgreSQL reads each statement on its own, so it sees the other request's write.
#[tokio::test]
async fn a_scope_inside_another_reads_in_the_outer_snapshot() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut first = user(&acme, "u1", json!({"userName": "a@example.com"}));
        insert(&store, &mut first).await.unwrap();
        let second = renamed(&first, "Two");

        let (outer, nested) = store
            .read_scope(async {
                let outer = store.user_by_scim_id(acme.id, "u1").await.unwrap();
                // Another request's write, from a task outside this scope.
                let (writer, from, to) = (store.clone(), first.clone(), second.clone());
                tokio::spawn(async move {
                    writer
                        .update_user(&from, &to, &event(&to, "update"))
                        .await
                        .unwrap();
                })
                .await
                .unwrap();
                let nested = store
                    .read_scope(async { store.user_by_scim_id(acme.id, "u1").await.unwrap() })
                    .await;
                (outer, nested)
            })
            .await;
        assert_eq!(outer.as_ref(), Some(&first), "{name}");
        let expected = if name == "sqlite" { &first } else { &second };
        assert_eq!(nested.as_ref(), Some(expected), "{name}");
        assert_eq!(
            store.user_by_scim_id(acme.id, "u1").await.unwrap().as_ref(),
            Some(&second),
            "{name}: after the scope"
        );
    }
}

/// R-45 in the store: a move is all or none, keeps the SCIM version, is counted against the
/// target profile under its row lock (two moves racing for its last place: one wins), and
/// does nothing when an account was moved since it was read. The IdP connection of an account
/// is kept as written.
#[tokio::test]
async fn r45_moves_are_all_or_none_and_fit_the_target_profile() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let big = store
            .create_profile(acme.id, "big", 0, at(1))
            .await
            .unwrap();
        let small = store
            .create_profile(acme.id, "small", 2, at(1))
            .await
            .unwrap();
        let last = store
            .create_profile(acme.id, "last", 1, at(1))
            .await
            .unwrap();
        let eu = store
            .create_storage(acme.id, "eu", "eu-west-1", at(1))
            .await
            .unwrap();
        let mut users = Vec::new();
        for n in 0..3 {
            let email = format!("u{n}@example.com");
            let mut placed = user(&acme, &format!("id{n}"), json!({"userName": email}));
            placed.placement = Some(Placement {
                mapping: Some("Default".into()),
                moved_by: None,
                profile_id: big.id,
                storage_id: eu.id,
                quota_bytes: None,
            });
            placed.connection = Some(Connection {
                token: "entra".into(),
                idp: "Entra ID".into(),
            });
            insert(&store, &mut placed).await.unwrap();
            users.push(placed);
        }
        assert_eq!(
            store
                .user_by_scim_id(acme.id, "id0")
                .await
                .unwrap()
                .as_ref(),
            Some(&users[0])
        );
        let move_to = |user: &User, profile: i64| AccountMove {
            current: user.clone(),
            to: Placement {
                mapping: Some("Default".into()),
                moved_by: Some("admin@example.com".into()),
                profile_id: profile,
                storage_id: eu.id,
                quota_bytes: Some(9),
            },
            record: event(user, "move"),
        };
        let moves_of = |count: usize| {
            users[..count]
                .iter()
                .map(|u| move_to(u, small.id))
                .collect::<Vec<_>>()
        };
        let events_before = store
            .count_events(acme.id, &EventQuery::default())
            .await
            .unwrap();

        let refused = store.move_users(small.id, &moves_of(3)).await;
        assert!(
            matches!(refused, Err(StoreError::ProfileFull)),
            "{name}: {refused:?}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, small.id).await.unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, big.id).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store
                .count_events(acme.id, &EventQuery::default())
                .await
                .unwrap(),
            events_before,
            "{name}"
        );

        store.move_users(small.id, &moves_of(2)).await.unwrap();
        let moved = store
            .user_by_scim_id(acme.id, "id0")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            moved.placement,
            Some(move_to(&users[0], small.id).to),
            "{name}"
        );
        assert_eq!(
            moved.version, users[0].version,
            "{name}: the SCIM resource did not change"
        );
        assert_eq!(moved.connection, users[0].connection, "{name}");
        assert_eq!(
            store.count_profile_users(acme.id, small.id).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, big.id).await.unwrap(),
            1,
            "{name}"
        );
        assert_eq!(
            store
                .count_events(acme.id, &EventQuery::default())
                .await
                .unwrap(),
            events_before + 2,
            "{name}"
        );

        // Read before the move above: it no longer is where the admin saw it.
        let stale = store
            .move_users(big.id, &[move_to(&users[0], big.id)])
            .await;
        assert!(
            matches!(stale, Err(StoreError::VersionMismatch)),
            "{name}: {stale:?}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, small.id).await.unwrap(),
            2,
            "{name}"
        );

        // Two admins moving different users into the last place at once: one wins.
        let first = [move_to(&users[2], last.id)];
        let moved_back = store
            .user_by_scim_id(acme.id, "id1")
            .await
            .unwrap()
            .unwrap();
        let second = [move_to(&moved_back, last.id)];
        let (a, b) = tokio::join!(
            store.move_users(last.id, &first),
            store.move_users(last.id, &second)
        );
        let outcomes = [a.is_ok(), b.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "{name}: {a:?} {b:?}"
        );
        assert!(
            matches!(
                (a, b),
                (Err(StoreError::ProfileFull), _) | (_, Err(StoreError::ProfileFull))
            ),
            "{name}"
        );
        assert_eq!(
            store.count_profile_users(acme.id, last.id).await.unwrap(),
            1,
            "{name}"
        );
    }
}

fn all_changes(after: i64) -> ChangeQuery {
    ChangeQuery {
        after,
        types: Vec::new(),
        limit: 1_000,
    }
}

/// SPEC §11: each tenant numbers its change events 1, 2, 3, ... in commit order; a refused write
/// takes no number, a read resumes after any number, and expiry never renumbers.
#[tokio::test]
async fn change_events_are_numbered_per_tenant_without_gaps() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        let mut a = user(&acme, "a1", json!({"userName": "a@example.com"}));
        insert(&store, &mut a).await.unwrap();
        let mut b = user(&other, "b1", json!({"userName": "b@example.com"}));
        insert(&store, &mut b).await.unwrap();
        let two = renamed(&a, "Two");
        store
            .update_user(&a, &two, &event(&two, "update"))
            .await
            .unwrap();
        let stale = store.update_user(&a, &two, &event(&two, "update")).await;
        assert!(matches!(stale, Err(StoreError::VersionMismatch)), "{name}");
        let three = renamed(&two, "Three");
        store
            .update_user(&two, &three, &event(&three, "update"))
            .await
            .unwrap();

        let page = store.changes(acme.id, &all_changes(0)).await.unwrap();
        let numbered: Vec<_> = page.events.iter().map(|e| (e.sequence, e.kind)).collect();
        assert_eq!(
            numbered,
            [
                (1, ChangeType::Created),
                (2, ChangeType::Updated),
                (3, ChangeType::Updated)
            ],
            "{name}"
        );
        assert!(page.events.iter().all(|e| e.account_key == a.key), "{name}");
        assert_eq!(page.next_after, 3, "{name}");
        let rendered: Value = serde_json::from_str(&page.events[2].render("acme")).unwrap();
        assert_eq!(rendered["data"]["user"]["displayName"], "Three", "{name}");
        let others = store.changes(other.id, &all_changes(0)).await.unwrap();
        assert_eq!(others.events.len(), 1, "{name}");
        assert_eq!(others.events[0].sequence, 1, "{name}");

        let one = ChangeQuery {
            limit: 1,
            ..all_changes(1)
        };
        let page = store.changes(acme.id, &one).await.unwrap();
        assert_eq!(page.events[0].sequence, 2, "{name}");
        assert_eq!(page.next_after, 2, "{name}");
        let created = ChangeQuery {
            types: vec![ChangeType::Created, ChangeType::Deleted],
            ..all_changes(0)
        };
        let page = store.changes(acme.id, &created).await.unwrap();
        assert_eq!(page.events.len(), 1, "{name}");
        let page = store.changes(acme.id, &all_changes(3)).await.unwrap();
        assert!(page.events.is_empty(), "{name}");
        assert_eq!(page.next_after, 3, "{name}: an empty page keeps the cursor");

        // Every event so far occurred at 5 ms; expiry deletes all but each tenant's latest,
        // a batch at a time, and numbering goes on.
        assert_eq!(
            store
                .delete_changes_before(acme.id, at(5), 100)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .delete_changes_before(acme.id, at(6), 1)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .delete_changes_before(acme.id, at(6), 100)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .delete_changes_before(acme.id, at(6), 100)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .delete_changes_before(other.id, at(6), 100)
                .await
                .unwrap(),
            0
        );
        let kept = store.changes(acme.id, &all_changes(0)).await.unwrap();
        assert_eq!(kept.events.len(), 1, "{name}");
        assert_eq!(kept.events[0].sequence, 3, "{name}");
        let four = renamed(&three, "Four");
        store
            .update_user(&three, &four, &event(&four, "update"))
            .await
            .unwrap();
        let page = store.changes(acme.id, &all_changes(3)).await.unwrap();
        assert_eq!(page.events[0].sequence, 4, "{name}");
    }
}

/// Writes racing in one tenant each take their own number: no gap, no repeat, and a reader
/// that saw number N never later finds a number below N appear (on PostgreSQL the counter is
/// taken last in each transaction, so numbers commit in order).
#[tokio::test]
async fn racing_writes_number_their_events_without_gaps_or_repeats() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let mut users = Vec::new();
        for n in 0..16 {
            let mut one = user(
                &acme,
                &format!("u{n}"),
                json!({"userName": format!("u{n}@example.com")}),
            );
            insert(&store, &mut one).await.unwrap();
            users.push(one);
        }
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let (mut seen, mut after) = (Vec::new(), 0);
                while seen.len() < 16 + 16 * 3 {
                    let page = store.changes(acme.id, &all_changes(after)).await.unwrap();
                    seen.extend(page.events.iter().map(|e| e.sequence));
                    after = page.next_after;
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let writers: Vec<_> = users
            .into_iter()
            .map(|mut current| {
                let store = store.clone();
                tokio::spawn(async move {
                    for round in 0..3 {
                        let next = renamed(&current, &format!("round {round}"));
                        store
                            .update_user(&current, &next, &event(&next, "update"))
                            .await
                            .unwrap();
                        current = next;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let seen = reader.await.unwrap();
        let expected: Vec<i64> = (1..=64).collect();
        assert_eq!(
            seen, expected,
            "{name}: the reader saw every number once, in order"
        );
    }
}

/// A page of events stops once their text passes the budget (events carry whole resources, up
/// to a request's size each), and the next read goes on from there: nothing skipped.
#[tokio::test]
async fn a_page_of_large_events_stops_at_the_text_budget() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let big = "x".repeat(700_000);
        for n in 0..8 {
            let mut one = user(
                &acme,
                &format!("u{n}"),
                json!({"userName": format!("u{n}@example.com"), "displayName": big}),
            );
            insert(&store, &mut one).await.unwrap();
        }
        // Each event carries the 700,000 characters about three times (the resource's
        // displayName, the account's display name and UPN): two fit in a page.
        let (mut after, mut seen, mut pages) = (0, Vec::new(), 0);
        loop {
            let page = store.changes(acme.id, &all_changes(after)).await.unwrap();
            if page.events.is_empty() {
                break;
            }
            pages += 1;
            let lengths: Vec<usize> = page.events.iter().map(|e| e.body.chars().count()).collect();
            let before_last: usize = lengths[..lengths.len() - 1].iter().sum();
            assert!(before_last < MAX_PAGE_TEXT, "{name}: {lengths:?}");
            seen.extend(page.events.iter().map(|e| e.sequence));
            after = page.next_after;
        }
        assert_eq!(
            seen,
            (1..=8).collect::<Vec<i64>>(),
            "{name}: nothing skipped"
        );
        assert!(pages >= 3, "{name}: {pages} pages for ~17 M characters");
    }
}

fn client_secret(now: i64, days: i64) -> (ClientSecret, NewSecret) {
    let secret = ClientSecret::generate().unwrap();
    let new = NewSecret {
        hash: secret.hash(),
        created_at: at(now),
        expires_at: at(now + days * 86_400_000),
    };
    (secret, new)
}

fn access_token(
    client: &OAuthClient,
    secret: Option<i64>,
    now: i64,
) -> (TokenSecret, NewAccessToken) {
    let token = TokenSecret::generate().unwrap();
    let new = NewAccessToken {
        tenant_id: client.tenant_id,
        client_pk: client.id,
        secret_id: secret,
        name: client.name.clone(),
        hash: token.hash(),
        created_at: at(now),
        expires_at: at(now + 3_600_000),
        assertion: None,
    };
    (token, new)
}

/// SPEC §12: at most two live secrets (also when additions race), access tokens that are
/// bearer tokens of the client's tenant but not admins' tokens, and revocations that end them.
#[tokio::test]
async fn oauth_clients_keep_two_live_secrets_and_revocation_ends_their_tokens() {
    for Backend { name, store, .. } in backends().await {
        let acme = tenant(&store, "acme").await;
        let (first, new_first) = client_secret(10, 730);
        let new = NewClient {
            tenant_id: acme.id,
            name: "entra",
            client_id: "scimd_client_1",
            secret: new_first,
        };
        let client = store.create_client(&new).await.unwrap();
        assert_eq!(client.secrets.len(), 1, "{name}");
        let again = NewClient {
            name: "ENTRA",
            client_id: "scimd_client_2",
            ..new
        };
        assert!(
            matches!(
                store.create_client(&again).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: names are unique per tenant, case-insensitively"
        );

        // Eight racing additions to a client with one live secret: exactly one is added.
        let racing: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .add_client_secret(client.id, &client_secret(20, 365).1)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut added = 0;
        for outcome in racing {
            match outcome.await.unwrap() {
                AddedSecret::Added(_) => added += 1,
                AddedSecret::Full => {}
                AddedSecret::NoClient => panic!("{name}: the client is live"),
            }
        }
        assert_eq!(added, 1, "{name}: at most two live secrets");

        let found = store
            .client_secret_by_hash(&first.hash())
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found.client.client_id, "scimd_client_1", "{name}");
        assert!(found.hash.matches(&first.hash()), "{name}");
        let first_id = found.secret.id;

        // An access token is a bearer token of the tenant, named after its client, but not
        // one of the admins' tokens: not listed, not revoked by `token revoke entra`.
        let (token, new_token) = access_token(&client, Some(first_id), 30);
        assert_eq!(
            store.insert_access_token(&new_token).await.unwrap(),
            IssueOutcome::Issued,
            "{name}"
        );
        let bearer = store.token_by_hash(&token.hash()).await.unwrap().unwrap();
        assert_eq!(bearer.token.name.as_str(), "entra", "{name}");
        assert!(
            store.list_tokens(acme.id).await.unwrap().is_empty(),
            "{name}"
        );
        let entra = TokenName::parse("entra").unwrap();
        assert!(
            !store.revoke_token(acme.id, &entra, at(31)).await.unwrap(),
            "{name}"
        );

        // Revoking the secret ends the token given for it, and no more are given for it.
        assert!(
            store
                .revoke_client_secret(client.id, first_id, at(40))
                .await
                .unwrap(),
            "{name}"
        );
        let revoked = store.token_by_hash(&token.hash()).await.unwrap().unwrap();
        assert!(!revoked.token.is_usable(at(41)), "{name}");
        assert_eq!(
            store
                .insert_access_token(&access_token(&client, Some(first_id), 50).1)
                .await
                .unwrap(),
            IssueOutcome::NoLongerLive,
            "{name}"
        );
        assert!(
            !store
                .revoke_client_secret(client.id, first_id, at(51))
                .await
                .unwrap(),
            "{name}: revoked already"
        );

        // An assertion's jti is taken once.
        let mut by_assertion = access_token(&client, None, 60).1;
        by_assertion.assertion = Some(("jti-1".into(), at(1_000)));
        assert_eq!(
            store.insert_access_token(&by_assertion).await.unwrap(),
            IssueOutcome::Issued,
            "{name}"
        );
        by_assertion.hash = TokenSecret::generate().unwrap().hash();
        assert_eq!(
            store.insert_access_token(&by_assertion).await.unwrap(),
            IssueOutcome::Replayed,
            "{name}"
        );

        // A client holds at most MAX_LIVE_ACCESS_TOKENS live tokens: more retire the oldest.
        let mut issued = Vec::new();
        for n in 0..MAX_LIVE_ACCESS_TOKENS + 5 {
            let (token, new) = access_token(&client, None, 100 + n);
            assert_eq!(
                store.insert_access_token(&new).await.unwrap(),
                IssueOutcome::Issued
            );
            issued.push(token);
        }
        let mut live = 0;
        for token in &issued {
            let found = store.token_by_hash(&token.hash()).await.unwrap().unwrap();
            live += usize::from(found.token.is_usable(at(200)));
        }
        assert_eq!(live, MAX_LIVE_ACCESS_TOKENS as usize, "{name}");

        // Issues racing the client's revocation: once it has committed, no token works.
        let racing: Vec<_> = (0..16)
            .map(|n| {
                let (store, client) = (store.clone(), client.clone());
                tokio::spawn(async move {
                    let (token, new) = access_token(&client, None, 300 + n);
                    let outcome = store.insert_access_token(&new).await.unwrap();
                    (token, outcome)
                })
            })
            .collect();
        assert!(
            store.revoke_client(client.id, at(300)).await.unwrap(),
            "{name}"
        );
        for task in racing {
            let (token, outcome) = task.await.unwrap();
            if outcome == IssueOutcome::Issued {
                let found = store.token_by_hash(&token.hash()).await.unwrap().unwrap();
                assert!(
                    !found.token.is_usable(at(400)),
                    "{name}: a token outlived its client"
                );
            }
        }
        for token in &issued {
            let found = store.token_by_hash(&token.hash()).await.unwrap().unwrap();
            assert!(!found.token.is_usable(at(301)), "{name}");
        }
        assert!(
            !store.revoke_client(client.id, at(310)).await.unwrap(),
            "{name}"
        );
        let listed = store.list_clients(acme.id).await.unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert!(listed[0].revoked_at.is_some(), "{name}");
        assert!(
            listed[0].secrets.iter().all(|s| s.revoked_at.is_some()),
            "{name}"
        );
        // Its name is free again.
        let renewed = NewClient {
            secret: client_secret(320, 365).1,
            ..again
        };
        store.create_client(&renewed).await.unwrap();

        store.purge_access_tokens(at(10_000_000)).await.unwrap();
        assert!(
            store
                .token_by_hash(&issued[24].hash())
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}
