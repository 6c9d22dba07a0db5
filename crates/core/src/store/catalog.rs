//! Profiles, storages and mappings: where new users go.

use super::StoreResult;
use crate::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Storage, StorageChange,
};
use crate::feed::PlacementNames;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::future::Future;

/// Profiles, storages and mappings. Names are unique per tenant, case-insensitively.
pub trait CatalogStore {
    fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        max_users: u32,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Profile>> + Send;
    fn list_profiles(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Profile>>> + Send;
    /// False when there is no such profile; `Conflict` when a mapping still uses it.
    fn delete_profile(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Renames a profile or changes its limit; `false` when there is no such profile or the
    /// limit is below the users it holds, checked in the write (as creates check capacity), so
    /// no create slips in between. A taken name is `Conflict`.
    fn update_profile(
        &self,
        tenant: TenantId,
        name: &str,
        change: &ProfileChange,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn create_storage(
        &self,
        tenant: TenantId,
        name: &str,
        region: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Storage>> + Send;
    /// Renames a storage or changes its region; `false` when there is no such storage; a taken
    /// name is `Conflict`.
    fn update_storage(
        &self,
        tenant: TenantId,
        name: &str,
        change: &StorageChange,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn list_storages(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Storage>>> + Send;
    /// Inserts the mapping at its priority: the mappings from there down move one place down;
    /// past the end is the bottom.
    fn create_mapping(
        &self,
        mapping: &NewMapping,
    ) -> impl Future<Output = StoreResult<Mapping>> + Send;
    /// In priority order.
    fn list_mappings(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = StoreResult<Vec<Mapping>>> + Send;
    fn update_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        change: &MappingChange,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Writes new priorities `(id, old, new)` in one transaction; `VersionMismatch` when another
    /// change got there first.
    fn set_mapping_priorities(
        &self,
        tenant: TenantId,
        moves: &[(i64, u32, u32)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the mapping and renumbers the rest (`moves`, as for reordering) in one transaction.
    fn delete_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        moves: &[(i64, u32, u32)],
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Accounts placed in a profile, active or preserved, for its capacity (`max_users`).
    fn count_profile_users(
        &self,
        tenant: TenantId,
        profile_id: i64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The names of a profile and a storage of the tenant, as change events show a placement;
    /// `None` when either is gone.
    fn placement_names(
        &self,
        tenant: TenantId,
        profile_id: i64,
        storage_id: i64,
    ) -> impl Future<Output = StoreResult<Option<PlacementNames>>> + Send;
}
