//! The catalog in memory: profiles, storages and mappings, with the SQL store's conflicts,
//! capacity checks, renames that mappings follow, and priorities kept 1..n.

use super::{MemoryStore, State};
use crate::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Storage, StorageChange,
};
use crate::feed::PlacementNames;
use crate::store::{CatalogStore, StoreError, StoreResult};
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use scim::filter::fold_case;

/// A catalog entry: named uniquely per tenant, case-insensitively.
trait Named {
    const KIND: &'static str;
    fn id(&self) -> i64;
    fn owner(&self) -> TenantId;
    fn name(&self) -> &str;
}

impl Named for Profile {
    const KIND: &'static str = "profile";
    fn id(&self) -> i64 {
        self.id
    }
    fn owner(&self) -> TenantId {
        self.tenant_id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for Storage {
    const KIND: &'static str = "storage";
    fn id(&self) -> i64 {
        self.id
    }
    fn owner(&self) -> TenantId {
        self.tenant_id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for Mapping {
    const KIND: &'static str = "mapping";
    fn id(&self) -> i64 {
        self.id
    }
    fn owner(&self) -> TenantId {
        self.tenant_id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The name of the entry `id` refers to.
fn name_by_id<T: Named>(items: &[T], id: i64) -> Option<String> {
    items
        .iter()
        .find(|item| item.id() == id)
        .map(|item| item.name().to_owned())
}

/// Where the tenant's entry of this name is.
fn position<T: Named>(items: &[T], tenant: TenantId, name: &str) -> Option<usize> {
    let name = fold_case(name);
    items
        .iter()
        .position(|item| item.owner() == tenant && fold_case(item.name()) == name)
}

/// `Conflict` when the tenant already has an entry named `name`.
fn free<T: Named>(items: &[T], tenant: TenantId, name: &str) -> StoreResult<()> {
    match position(items, tenant, name) {
        Some(_) => Err(StoreError::Conflict(format!("{} '{name}' exists", T::KIND))),
        None => Ok(()),
    }
}

/// `Conflict` when a rename from `name` lands on another entry's name.
fn rename_free<T: Named>(
    items: &[T],
    tenant: TenantId,
    name: &str,
    new_name: Option<&String>,
) -> StoreResult<()> {
    match new_name {
        Some(new_name) if fold_case(new_name) != fold_case(name) => free(items, tenant, new_name),
        _ => Ok(()),
    }
}

impl CatalogStore for MemoryStore {
    async fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        max_users: u32,
        now: Timestamp,
    ) -> StoreResult<Profile> {
        self.transaction(|state| {
            free(&state.profiles, tenant, name)?;
            let profile = Profile {
                id: state.id(),
                tenant_id: tenant,
                name: name.to_owned(),
                max_users,
                created_at: now,
            };
            state.profiles.push(profile.clone());
            Ok(profile)
        })
    }

    async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>> {
        let state = self.state();
        Ok(state
            .profiles
            .iter()
            .filter(|p| p.tenant_id == tenant)
            .cloned()
            .collect())
    }

    async fn delete_profile(&self, tenant: TenantId, name: &str) -> StoreResult<bool> {
        self.transaction(|state| {
            let Some(at) = position(&state.profiles, tenant, name) else {
                return Ok(false);
            };
            let id = state.profiles[at].id;
            if state.mappings.iter().any(|m| m.profile_id == id) || state.placed_in(id) > 0 {
                return Err(StoreError::InUse(format!("profile '{name}'")));
            }
            state.profiles.remove(at);
            Ok(true)
        })
    }

    async fn update_profile(
        &self,
        tenant: TenantId,
        name: &str,
        change: &ProfileChange,
    ) -> StoreResult<bool> {
        self.transaction(|state| {
            rename_free(&state.profiles, tenant, name, change.new_name.as_ref())?;
            let Some(at) = position(&state.profiles, tenant, name) else {
                return Ok(false);
            };
            let held = state.placed_in(state.profiles[at].id);
            if change
                .max_users
                .is_some_and(|max| max != 0 && u64::from(max) < held)
            {
                return Ok(false);
            }
            let profile = &mut state.profiles[at];
            profile.name = change
                .new_name
                .clone()
                .unwrap_or_else(|| profile.name.clone());
            profile.max_users = change.max_users.unwrap_or(profile.max_users);
            let (id, renamed) = (profile.id, profile.name.clone());
            for mapping in state.mappings.iter_mut().filter(|m| m.profile_id == id) {
                mapping.profile = renamed.clone();
            }
            Ok(true)
        })
    }

    async fn create_storage(
        &self,
        tenant: TenantId,
        name: &str,
        region: &str,
        now: Timestamp,
    ) -> StoreResult<Storage> {
        self.transaction(|state| {
            free(&state.storages, tenant, name)?;
            let storage = Storage {
                id: state.id(),
                tenant_id: tenant,
                name: name.to_owned(),
                region: region.to_owned(),
                created_at: now,
            };
            state.storages.push(storage.clone());
            Ok(storage)
        })
    }

    async fn update_storage(
        &self,
        tenant: TenantId,
        name: &str,
        change: &StorageChange,
    ) -> StoreResult<bool> {
        self.transaction(|state| {
            rename_free(&state.storages, tenant, name, change.new_name.as_ref())?;
            let Some(storage) =
                position(&state.storages, tenant, name).map(|at| &mut state.storages[at])
            else {
                return Ok(false);
            };
            storage.name = change
                .new_name
                .clone()
                .unwrap_or_else(|| storage.name.clone());
            storage.region = change
                .region
                .clone()
                .unwrap_or_else(|| storage.region.clone());
            let (id, renamed) = (storage.id, storage.name.clone());
            for mapping in state.mappings.iter_mut().filter(|m| m.storage_id == id) {
                mapping.storage = renamed.clone();
            }
            Ok(true)
        })
    }

    async fn list_storages(&self, tenant: TenantId) -> StoreResult<Vec<Storage>> {
        let state = self.state();
        Ok(state
            .storages
            .iter()
            .filter(|s| s.tenant_id == tenant)
            .cloned()
            .collect())
    }

    async fn create_mapping(&self, new: &NewMapping) -> StoreResult<Mapping> {
        self.transaction(|state| {
            let tenant = new.tenant_id;
            free(&state.mappings, tenant, &new.name)?;
            let (Some(profile), Some(storage)) = (
                name_by_id(&state.profiles, new.profile_id),
                name_by_id(&state.storages, new.storage_id),
            ) else {
                return Err(StoreError::Conflict("no such profile or storage".into()));
            };
            let count = state
                .mappings
                .iter()
                .filter(|m| m.tenant_id == tenant)
                .count();
            let priority = new
                .priority
                .min(u32::try_from(count).unwrap_or(u32::MAX) + 1);
            for mapping in state
                .mappings
                .iter_mut()
                .filter(|m| m.tenant_id == tenant && m.priority >= priority)
            {
                mapping.priority += 1;
            }
            let mapping = Mapping {
                id: state.id(),
                tenant_id: tenant,
                name: new.name.clone(),
                priority,
                criteria: new.criteria.clone(),
                profile,
                profile_id: new.profile_id,
                storage,
                storage_id: new.storage_id,
                quota_bytes: new.quota_bytes,
                send_activation_email: new.send_activation_email,
                created_at: new.now,
                updated_at: new.now,
            };
            state.mappings.push(mapping.clone());
            Ok(mapping)
        })
    }

    async fn list_mappings(&self, tenant: TenantId) -> StoreResult<Vec<Mapping>> {
        let state = self.state();
        let mut mappings: Vec<Mapping> = state
            .mappings
            .iter()
            .filter(|m| m.tenant_id == tenant)
            .cloned()
            .collect();
        mappings.sort_by_key(|m| m.priority);
        Ok(mappings)
    }

    async fn update_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        change: &MappingChange,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.transaction(|state| {
            rename_free(&state.mappings, tenant, name, change.new_name.as_ref())?;
            let profile = change
                .profile_id
                .and_then(|id| name_by_id(&state.profiles, id));
            let storage = change
                .storage_id
                .and_then(|id| name_by_id(&state.storages, id));
            let Some(mapping) =
                position(&state.mappings, tenant, name).map(|at| &mut state.mappings[at])
            else {
                return Ok(false);
            };
            if let Some(new_name) = &change.new_name {
                mapping.name = new_name.clone();
            }
            if let (Some(id), Some(profile)) = (change.profile_id, profile) {
                (mapping.profile_id, mapping.profile) = (id, profile);
            }
            if let (Some(id), Some(storage)) = (change.storage_id, storage) {
                (mapping.storage_id, mapping.storage) = (id, storage);
            }
            mapping.quota_bytes = change.quota_bytes.unwrap_or(mapping.quota_bytes);
            mapping.send_activation_email = change
                .send_activation_email
                .unwrap_or(mapping.send_activation_email);
            mapping.updated_at = now;
            Ok(true)
        })
    }

    async fn set_mapping_priorities(
        &self,
        tenant: TenantId,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<()> {
        self.transaction(|state| renumber(state, tenant, moves))
    }

    async fn delete_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<bool> {
        self.transaction(|state| {
            let Some(at) = position(&state.mappings, tenant, name) else {
                return Ok(false);
            };
            state.mappings.remove(at);
            renumber(state, tenant, moves).map(|()| true)
        })
    }

    async fn count_profile_users(&self, _tenant: TenantId, profile_id: i64) -> StoreResult<u64> {
        Ok(self.state().placed_in(profile_id))
    }

    async fn placement_names(
        &self,
        tenant: TenantId,
        profile_id: i64,
        storage_id: i64,
    ) -> StoreResult<Option<PlacementNames>> {
        let state = self.state();
        let profile = state
            .profiles
            .iter()
            .find(|p| p.tenant_id == tenant && p.id == profile_id);
        let storage = state
            .storages
            .iter()
            .find(|s| s.tenant_id == tenant && s.id == storage_id);
        Ok(profile
            .zip(storage)
            .map(|(profile, storage)| PlacementNames {
                profile: profile.name.clone(),
                storage: storage.name.clone(),
            }))
    }
}

/// Moves `(id, old, new)`, each only from the priority the caller read.
fn renumber(state: &mut State, tenant: TenantId, moves: &[(i64, u32, u32)]) -> StoreResult<()> {
    for (id, old, new) in moves {
        let mapping = state
            .mappings
            .iter_mut()
            .find(|m| m.tenant_id == tenant && m.id == *id && m.priority == *old);
        mapping.ok_or(StoreError::VersionMismatch)?.priority = *new;
    }
    Ok(())
}
