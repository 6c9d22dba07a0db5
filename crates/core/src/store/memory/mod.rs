//! The port kept in memory, for the use cases' own tests: the tenants, the catalog and the
//! accounts the SCIM user use cases need ([`ScimStore`](super::ScimStore)), with the same
//! answers the SQL store gives (conflicts, capacity, versions, tenant scope). The SQL
//! conformance suite stays the truth for the databases; this says what the provisioner decides.

mod accounts;
mod catalog;

use super::{StoreError, StoreResult, TenantStore};
use crate::activity::Event;
use crate::catalog::{Mapping, Profile, Storage};
use crate::feed::{Recorded, StoredChange};
use crate::mail::Mail;
use crate::tenant::{ProvisioningMethod, Tenant, TenantId, TenantSlug};
use crate::user::User;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryStore(Arc<Mutex<State>>);

#[derive(Debug, Clone, Default)]
struct State {
    next_id: i64,
    tenants: Vec<Tenant>,
    profiles: Vec<Profile>,
    storages: Vec<Storage>,
    mappings: Vec<Mapping>,
    /// In key order.
    users: Vec<User>,
    events: Vec<Event>,
    /// Every tenant's change events, in commit order (none expire here).
    changes: Vec<(TenantId, StoredChange)>,
    mails: Vec<Mail>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn placed_in(&self, profile_id: i64) -> u64 {
        let placed = self.users.iter().filter(|user| {
            user.placement
                .as_ref()
                .is_some_and(|p| p.profile_id == profile_id)
        });
        placed.count() as u64
    }

    /// Whether `arriving` more accounts fit in the profile (0 is unlimited).
    fn has_room(&self, profile_id: i64, arriving: u64) -> bool {
        self.profiles
            .iter()
            .find(|profile| profile.id == profile_id)
            .is_some_and(|p| {
                p.max_users == 0 || self.placed_in(p.id) + arriving <= u64::from(p.max_users)
            })
    }

    /// The email (userName) is the tenant's only account with it, other than `key`.
    fn email_free(&self, user: &User, key: Option<i64>) -> bool {
        let email = fold_case(user.user_name());
        !self.users.iter().any(|other| {
            other.tenant_id == user.tenant_id
                && Some(other.key) != key
                && fold_case(other.user_name()) == email
        })
    }

    /// Keeps a write's records, its change event numbered after the tenant's last one.
    fn record(&mut self, record: &Recorded, account_key: i64) {
        let change = &record.change;
        let tenant = change.tenant_id;
        let last = self.changes.iter().filter(|(of, _)| *of == tenant).count();
        self.events.push(record.activity.clone());
        self.changes.push((
            tenant,
            StoredChange {
                sequence: last as i64 + 1,
                id: change.id.clone(),
                kind: change.kind,
                account_key,
                occurred_at: change.occurred_at,
                body: change.body.clone(),
            },
        ));
    }

    fn insert(&mut self, user: &User, record: &Recorded) -> StoreResult<i64> {
        if !self.email_free(user, None) {
            return Err(StoreError::Conflict(format!(
                "userName '{}' is taken",
                user.user_name()
            )));
        }
        if let Some(placement) = &user.placement
            && !self.has_room(placement.profile_id, 1)
        {
            return Err(StoreError::ProfileFull);
        }
        let key = self.id();
        self.users.push(User {
            key,
            ..user.clone()
        });
        self.record(record, key);
        Ok(key)
    }

    fn stored(&self, user_key: i64) -> Option<&User> {
        self.users.iter().find(|user| user.key == user_key)
    }
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `change` on a copy of the state and keeps it only when it succeeds: all or none.
    fn transaction<T>(&self, change: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let mut state = self.state();
        let mut copy = state.clone();
        let result = change(&mut copy)?;
        *state = copy;
        Ok(result)
    }

    /// Every event recorded, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.state().events.clone()
    }

    /// The tenant's change events, oldest first.
    pub fn changes(&self, tenant: TenantId) -> Vec<StoredChange> {
        let state = self.state();
        let of_tenant = state.changes.iter().filter(|(of, _)| *of == tenant);
        of_tenant.map(|(_, change)| change.clone()).collect()
    }

    /// Every mail queued, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        self.state().mails.clone()
    }
}

impl TenantStore for MemoryStore {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant> {
        self.transaction(|state| {
            if state.tenants.iter().any(|tenant| tenant.slug == *slug) {
                return Err(StoreError::Conflict(format!("tenant '{slug}' exists")));
            }
            let tenant = Tenant {
                id: TenantId(state.id()),
                slug: slug.clone(),
                name: name.to_owned(),
                created_at: now,
                provisioning: ProvisioningMethod::default(),
            };
            state.tenants.push(tenant.clone());
            Ok(tenant)
        })
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        Ok(self
            .state()
            .tenants
            .iter()
            .find(|t| t.slug == *slug)
            .cloned())
    }

    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        Ok(self.state().tenants.iter().find(|t| t.id == id).cloned())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        Ok(self.state().tenants.clone())
    }

    async fn set_provisioning(
        &self,
        tenant: TenantId,
        method: ProvisioningMethod,
    ) -> StoreResult<bool> {
        let mut state = self.state();
        let found = state.tenants.iter_mut().find(|t| t.id == tenant);
        Ok(found.map(|tenant| tenant.provisioning = method).is_some())
    }
}
