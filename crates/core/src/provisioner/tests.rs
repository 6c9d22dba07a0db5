//! The SCIM user use cases' own decisions, on the in-memory store: classification and
//! capacity (R-20 to R-23), the account's lifecycle across create, PATCH and DELETE (R-30,
//! R-34 to R-36), versions (`If-Match`), the activation email (R-48), and lists. What the
//! databases do with the same writes is the SQL conformance suite's part.

use super::Provisioner;
use crate::activity::{Actor, Client, Origin, Outcome};
use crate::catalog::NewMapping;
use crate::clock::ManualClock;
use crate::error::Error;
use crate::feed::{ChangeType, Recorded};
use crate::lifecycle::{AccountState, PreservedBy};
use crate::mapping::{Criteria, NO_MAPPING_MATCHED};
use crate::store::memory::MemoryStore;
use crate::store::{AccountReads, AccountWrites, CatalogStore, TenantStore};
use crate::tenant::{Tenant, TenantId, TenantSlug};
use crate::user::User;
use scim::datetime::Timestamp;
use scim::list::{PageLimits, SearchRequest};
use scim::schema::USER;
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A tenant whose catalog sends engineers to profile Gold (room for `gold_room`) in storage
/// EU with a 5 GB quota, and everyone else to Default.
struct World {
    provisioner: Provisioner<MemoryStore, ManualClock>,
    store: MemoryStore,
    tenant: Tenant,
    gold: i64,
    eu: i64,
}

async fn world(gold_room: u32, activation_email: bool) -> World {
    let store = MemoryStore::default();
    let now = Timestamp::from_millis(1_700_000_000_000);
    let slug = TenantSlug::parse("acme").unwrap();
    let tenant = store.create_tenant(&slug, "Acme", now).await.unwrap();
    let mapping = |name: &str, criteria, profile_id, storage_id, priority| NewMapping {
        tenant_id: tenant.id,
        name: name.into(),
        priority,
        criteria,
        profile_id,
        storage_id,
        quota_bytes: None,
        send_activation_email: false,
        now,
    };
    let default = store
        .create_profile(tenant.id, "Default", 0, now)
        .await
        .unwrap();
    let everywhere = store
        .create_storage(tenant.id, "Default", "default", now)
        .await
        .unwrap();
    let everyone = mapping(
        "Everyone",
        Criteria::AllowAnyUser,
        default.id,
        everywhere.id,
        1,
    );
    store.create_mapping(&everyone).await.unwrap();
    let gold = store
        .create_profile(tenant.id, "Gold", gold_room, now)
        .await
        .unwrap();
    let eu = store
        .create_storage(tenant.id, "EU", "eu-west-1", now)
        .await
        .unwrap();
    let engineers = NewMapping {
        quota_bytes: Some(5_000_000_000),
        send_activation_email: activation_email,
        ..mapping(
            "Engineers",
            Criteria::attribute("department", "Engineering").unwrap(),
            gold.id,
            eu.id,
            1,
        )
    };
    store.create_mapping(&engineers).await.unwrap();
    let provisioner =
        Provisioner::new(store.clone(), ManualClock::at_millis(now.as_millis())).with_mail(true);
    World {
        provisioner,
        store,
        tenant,
        gold: gold.id,
        eu: eu.id,
    }
}

/// An IdP's request, as the SCIM API makes it.
fn idp() -> Origin {
    Origin {
        actor: Actor::Token {
            id: 7,
            name: "entra".into(),
        },
        client: Client::EntraId,
        method: "POST".into(),
        path: "/scim/v2/Users".into(),
        received: std::time::Instant::now(),
    }
}

fn person(email: &str, department: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
           "userName": email, "displayName": "Pat Doe", ENTERPRISE: {"department": department}})
}

fn deactivate() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "path": "active", "value": false}]})
}

impl World {
    fn tenant(&self) -> TenantId {
        self.tenant.id
    }

    async fn create(&self, email: &str, department: &str) -> crate::Result<User> {
        let body = person(email, department);
        self.provisioner
            .create_user(&idp(), self.tenant(), &body)
            .await
    }

    async fn account(&self, email: &str) -> Option<User> {
        self.store
            .user_by_email(self.tenant(), email)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn new_users_are_placed_by_the_first_mapping_that_matches() {
    let world = world(10, false).await;
    let engineer = world
        .create("eng@example.com", "Engineering")
        .await
        .unwrap();
    let placement = engineer.placement.clone().unwrap();
    assert_eq!(
        (
            placement.profile_id,
            placement.storage_id,
            placement.quota_bytes
        ),
        (world.gold, world.eu, Some(5_000_000_000))
    );
    assert_eq!(placement.mapping.as_deref(), Some("Engineers"));
    let other = world.create("ops@example.com", "Operations").await.unwrap();
    assert_eq!(
        other.placement.unwrap().mapping.as_deref(),
        Some("Everyone")
    );
    // The IdP and token that created it are remembered (the account's manager).
    assert_eq!(engineer.manager(), "scim via entra (Entra ID)");
}

#[tokio::test]
async fn a_full_profile_or_no_matching_mapping_refuses_the_create_and_writes_nothing() {
    let world = world(1, false).await;
    world
        .create("first@example.com", "Engineering")
        .await
        .unwrap();
    let events = world.store.events().len();
    let full = world.create("second@example.com", "Engineering").await;
    assert!(
        matches!(full, Err(Error::Scim(ref e)) if e.status == 400),
        "{full:?}"
    );
    assert!(world.account("second@example.com").await.is_none());

    let mappings = world.store.list_mappings(world.tenant()).await.unwrap();
    let everyone = mappings.iter().find(|m| m.name == "Everyone").unwrap();
    let rest = [(mappings[0].id, 1, 1)];
    world
        .store
        .delete_mapping(world.tenant(), &everyone.name, &rest)
        .await
        .unwrap();
    let unmatched = world.create("nobody@example.com", "Sales").await;
    let Err(Error::Scim(refusal)) = unmatched else {
        panic!("{unmatched:?}");
    };
    assert_eq!(refusal.status, 400);
    assert!(
        refusal.detail.starts_with(NO_MAPPING_MATCHED),
        "{}",
        refusal.detail
    );
    assert!(world.account("nobody@example.com").await.is_none());
    assert_eq!(world.store.events().len(), events, "no event for a refusal");
}

#[tokio::test]
async fn a_deactivated_user_created_again_is_reactivated_where_it_was() {
    let world = world(10, false).await;
    let created = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    let id = created.id().to_owned();
    let patched = world
        .provisioner
        .patch_user(&idp(), world.tenant(), &id, &deactivate(), None)
        .await
        .unwrap();
    assert_eq!(patched.state, AccountState::Preserved(PreservedBy::Idp));
    // Back from another department: the mappings are not run again (R-34).
    let back = world.create("pat@example.com", "Sales").await.unwrap();
    assert_eq!(back.state, AccountState::Active);
    assert_eq!((back.key, back.id()), (created.key, id.as_str()));
    assert_eq!(back.placement, created.placement);
}

#[tokio::test]
async fn a_deleted_user_is_preserved_and_comes_back_under_a_new_id() {
    let world = world(10, false).await;
    let created = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    let id = created.id().to_owned();
    world
        .provisioner
        .delete_user(&idp(), world.tenant(), &id, None)
        .await
        .unwrap();
    let gone = world.provisioner.get_user(world.tenant(), &id).await;
    assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
    let kept = world.account("pat@example.com").await.unwrap();
    assert_eq!(kept.state, AccountState::Preserved(PreservedBy::Idp));
    let back = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    assert_eq!(back.key, created.key, "the same account");
    assert_ne!(
        back.id(),
        id,
        "a retired id is never reused (RFC 7644 §3.6)"
    );
    assert_eq!(back.state, AccountState::Active);
}

#[tokio::test]
async fn an_account_an_admin_preserved_is_not_brought_back_by_the_idp() {
    let world = world(10, false).await;
    let created = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    // As an admin's preserve writes it (see `admin_transition`).
    let now = world.provisioner.now();
    let admin_preserved = AccountState::Preserved(PreservedBy::Admin);
    let held = created.changed(created.resource.clone(), admin_preserved, now);
    let origin = Origin::system("test");
    let activity = crate::activity::Event::new(
        &origin,
        world.tenant(),
        now,
        "preserve",
        Outcome::Success,
        200,
    );
    let change = crate::feed::AccountChange {
        kind: ChangeType::Preserved,
        origin: &origin,
        at: now,
        before: Some(&created),
        after: &held,
        names: None,
    };
    let record = Recorded {
        activity,
        change: change.event("http://localhost/scim/v2").unwrap(),
    };
    world
        .store
        .update_user(&created, &held, &record)
        .await
        .unwrap();
    let refused = world.create("pat@example.com", "Engineering").await;
    assert!(
        matches!(refused, Err(Error::Scim(ref e)) if e.status == 400),
        "{refused:?}"
    );
    let reactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": true}]});
    let patched = world
        .provisioner
        .patch_user(&idp(), world.tenant(), created.id(), &reactivate, None)
        .await;
    assert!(patched.is_err(), "R-36: {patched:?}");
    assert_eq!(world.account("pat@example.com").await.unwrap(), held);
}

#[tokio::test]
async fn a_stale_if_match_changes_nothing_and_a_current_one_writes() {
    let world = world(10, false).await;
    let created = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    let events = world.store.events().len();
    let body = person("pat@example.com", "Engineering");
    let stale = world
        .provisioner
        .replace_user(
            &idp(),
            world.tenant(),
            created.id(),
            &body,
            Some("W/\"99\""),
        )
        .await;
    assert!(
        matches!(stale, Err(Error::PreconditionFailed(_))),
        "{stale:?}"
    );
    assert_eq!(world.account("pat@example.com").await.unwrap(), created);
    assert_eq!(world.store.events().len(), events);
    let renamed = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": "pat@example.com", "displayName": "Pat Renamed"});
    let current = created.etag();
    let replaced = world
        .provisioner
        .replace_user(
            &idp(),
            world.tenant(),
            created.id(),
            &renamed,
            Some(&current),
        )
        .await
        .unwrap();
    assert_eq!(replaced.version, created.version + 1);
    assert_eq!(replaced.display_name(), Some("Pat Renamed"));
    assert_eq!(world.store.events().len(), events + 1);
}

#[tokio::test]
async fn the_activation_email_is_queued_with_the_create_only_when_mail_is_on() {
    let on = world(10, true).await;
    on.create("eng@example.com", "Engineering").await.unwrap();
    on.create("ops@example.com", "Operations").await.unwrap();
    let mails = on.store.mails();
    assert_eq!(mails.len(), 1, "only the Engineers mapping sends one");
    assert_eq!(mails[0].to, "eng@example.com");
    assert!(mails[0].text.contains("'Gold'"), "{}", mails[0].text);

    let quiet = world(10, true).await;
    let off = Provisioner::new(quiet.store.clone(), ManualClock::default());
    let body = person("eng@example.com", "Engineering");
    off.create_user(&idp(), quiet.tenant(), &body)
        .await
        .unwrap();
    assert!(quiet.store.mails().is_empty(), "mail is off");
}

#[tokio::test]
async fn lists_filter_and_page_with_cursors_to_the_end() {
    let world = world(10, false).await;
    for n in 0..5 {
        world
            .create(&format!("user{n}@example.com"), "Engineering")
            .await
            .unwrap();
    }
    world.create("other@example.com", "Sales").await.unwrap();
    let mut request = SearchRequest {
        filter: Some(r#"userName sw "USER""#.into()),
        count: Some("2".into()),
        cursor: Some(String::new()),
        ..SearchRequest::default()
    };
    let mut seen = Vec::new();
    loop {
        let query = request.query(&USER, PageLimits::default()).unwrap();
        let page = world
            .provisioner
            .list_users(world.tenant(), &query)
            .await
            .unwrap();
        assert_eq!(page.total, 5);
        seen.extend(page.users.iter().map(|user| {
            let resource = user.resource("https://x/scim/v2").unwrap();
            resource["userName"].as_str().unwrap().to_owned()
        }));
        match page.next_cursor {
            Some(next) => request.cursor = Some(next.as_str().to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..5).map(|n| format!("user{n}@example.com")).collect();
    assert_eq!(seen, expected);
}

/// SPEC §11: each change of a user's life is one event of its type, numbered in order, with
/// the account as it became and the SCIM resource a GET would return.
#[tokio::test]
async fn every_change_of_a_life_is_one_event_in_sequence() {
    let world = world(10, false).await;
    let created = world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Pat Q. Doe"}]});
    for body in [rename, deactivate()] {
        world
            .provisioner
            .patch_user(&idp(), world.tenant(), created.id(), &body, None)
            .await
            .unwrap();
    }
    world
        .provisioner
        .delete_user(&idp(), world.tenant(), created.id(), None)
        .await
        .unwrap();
    world
        .create("pat@example.com", "Engineering")
        .await
        .unwrap();

    let changes = world.store.changes(world.tenant());
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeType::Created,
            ChangeType::Updated,
            ChangeType::Deactivated,
            ChangeType::Deleted,
            ChangeType::Reactivated
        ]
    );
    let sequences: Vec<_> = changes.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert!(changes.iter().all(|c| c.account_key == created.key));
    let events: Vec<Value> = changes
        .iter()
        .map(|c| serde_json::from_str(&c.render("acme")).unwrap())
        .collect();
    let account = &events[0]["data"]["account"];
    assert_eq!(account["email"], "pat@example.com");
    assert_eq!(account["profile"], "Gold");
    assert_eq!(account["storage"], "EU");
    assert_eq!(account["quota"], 5_000_000_000_u64);
    assert_eq!(events[0]["actor"]["name"], "entra");
    assert_eq!(events[0]["data"]["user"]["id"], created.id());
    assert_eq!(
        events[0]["data"]["user"]["meta"]["location"],
        format!("http://localhost:8080/scim/v2/Users/{}", created.id())
    );
    assert_eq!(events[1]["data"]["changed"], json!(["displayName"]));
    assert_eq!(events[1]["data"]["user"]["displayName"], "Pat Q. Doe");
    assert_eq!(events[2]["data"]["account"]["state"], "preserved");
    assert_eq!(events[2]["data"]["account"]["preserved_by"], "idp");
    // A deleted user has no SCIM resource any more; a reactivated one has a new id.
    assert_eq!(events[3]["data"]["user"], Value::Null);
    assert_eq!(events[3]["data"]["account"]["scim_id"], Value::Null);
    assert_eq!(events[3]["data"]["previous_scim_id"], created.id());
    assert_eq!(events[1]["data"]["previous_scim_id"], Value::Null);
    assert_ne!(events[4]["data"]["user"]["id"], created.id());
    assert_eq!(events[4]["data"]["account"]["state"], "active");
    let ids: std::collections::HashSet<_> = changes.iter().map(|c| &c.id).collect();
    assert_eq!(ids.len(), changes.len(), "event ids are unique");
}

/// A refused change records no event (SPEC §11: the event is the change's own).
#[tokio::test]
async fn a_refused_change_records_no_event() {
    let world = world(1, false).await;
    world.create("a@example.com", "Engineering").await.unwrap();
    let full = world.create("b@example.com", "Engineering").await;
    assert!(full.is_err(), "{full:?}");
    assert_eq!(world.store.changes(world.tenant()).len(), 1);
}
