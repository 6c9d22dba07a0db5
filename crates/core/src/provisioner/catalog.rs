//! Profiles, storages and mappings: the admin use cases (SPEC §5), shared by CLI, API and console.

use super::Provisioner;
use crate::access::Grant;
use crate::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Shadowed, Storage, StorageChange,
    check_name, priority_for_new, renumbered, reordered, shadowed,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::mapping::{Criteria, Explanation, MatchInput, evaluate};
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;
use scim::normalise::normalise_resource;
use scim::schema::USER;
use serde_json::Value;

/// The configuration a new mapping needs.
#[derive(Debug, Clone)]
pub struct MappingSpec<'a> {
    pub name: &'a str,
    pub criteria: Criteria,
    pub profile: &'a str,
    pub storage: &'a str,
    pub quota_bytes: Option<u64>,
    pub send_activation_email: bool,
    /// Where it goes (clamped to 1..n+1); by default directly above the first any-user
    /// mapping, so a catch-all stays last.
    pub priority: Option<u32>,
}

/// What an edit may change (R-24: never the criteria).
#[derive(Debug, Clone, Default)]
pub struct MappingEdit<'a> {
    pub new_name: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub storage: Option<&'a str>,
    pub quota_bytes: Option<Option<u64>>,
    pub send_activation_email: Option<bool>,
}

/// What the preview says of a sample user (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingPreview {
    /// The mapping that would create the user.
    pub matched: Option<String>,
    /// Each mapping tried, up to the one that matched.
    pub explanations: Vec<Explanation>,
    /// Mappings never tried, whatever the user.
    pub shadowed: Vec<Shadowed>,
}

/// Attempts at reordering before a concurrent edit wins.
const REORDER_ATTEMPTS: usize = 3;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// SPEC §8: a new tenant starts with profile, storage and mapping `Default` (AllowAnyUser),
    /// so provisioning works before an admin writes any mapping.
    pub(super) async fn seed_catalog(&self, tenant: &Tenant) -> Result<()> {
        let grant = self.system_grant(tenant, "seed the default catalog");
        self.create_profile(&grant, "Default", 0).await?;
        self.create_storage(&grant, "Default", "default").await?;
        let spec = MappingSpec {
            name: "Default",
            criteria: Criteria::AllowAnyUser,
            profile: "Default",
            storage: "Default",
            quota_bytes: None,
            send_activation_email: false,
            priority: None,
        };
        self.create_mapping(&grant, spec).await.map(drop)
    }

    pub async fn create_profile(
        &self,
        grant: &Grant,
        name: &str,
        max_users: u32,
    ) -> Result<Profile> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let name = check_name("profile", name)?;
        let profile = self
            .store
            .create_profile(tenant.id, &name, max_users, self.now())
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    Error::Conflict(format!("profile '{name}' already exists"))
                }
                other => other.into(),
            })?;
        let limit = match max_users {
            0 => "unlimited".to_owned(),
            n => format!("at most {n} users"),
        };
        let detail = format!("profile '{name}' created ({limit})");
        self.record_admin(origin, tenant, "create profile", detail)
            .await?;
        Ok(profile)
    }

    pub async fn list_profiles(&self, grant: &Grant) -> Result<Vec<Profile>> {
        let tenant = grant.tenant();
        Ok(self.store.list_profiles(tenant.id).await?)
    }

    /// a new name, a new limit, or both. A limit below the users the profile holds is
    /// refused, saying how many it holds; the users and mappings follow a rename.
    pub async fn edit_profile(
        &self,
        grant: &Grant,
        name: &str,
        new_name: Option<&str>,
        max_users: Option<u32>,
    ) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let change = ProfileChange {
            new_name: new_name
                .map(|new_name| check_name("profile", new_name))
                .transpose()?,
            max_users,
        };
        if change == ProfileChange::default() {
            return Err(Error::Invalid(
                "give a new name, a new limit of users, or both".into(),
            ));
        }
        let changed = self
            .store
            .update_profile(tenant.id, name, &change)
            .await
            .map_err(|error| renamed_onto_another("profile", error, &change.new_name))?;
        if !changed {
            let profile_id = self.profile_id(tenant, name).await?;
            let holds = self
                .store
                .count_profile_users(tenant.id, profile_id)
                .await?;
            return Err(Error::Invalid(format!(
                "profile '{name}' holds {holds} users: its limit cannot go below {holds} \
                 (move users out first, or give 0 for no limit)"
            )));
        }
        let mut changes = Vec::new();
        if let Some(new_name) = &change.new_name {
            changes.push(format!("renamed '{new_name}'"));
        }
        match change.max_users {
            Some(0) => changes.push("no limit of users".to_owned()),
            Some(limit) => changes.push(format!("at most {limit} users")),
            None => {}
        }
        let detail = format!("profile '{name}' edited: {}", changes.join(", "));
        self.record_admin(origin, tenant, "edit profile", detail)
            .await
    }

    pub async fn delete_profile(&self, grant: &Grant, name: &str) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        match self.store.delete_profile(tenant.id, name).await {
            Ok(true) => {
                let detail = format!("profile '{name}' deleted");
                self.record_admin(origin, tenant, "delete profile", detail)
                    .await
            }
            Ok(false) => Err(Error::NotFound(format!("no profile '{name}'"))),
            Err(StoreError::InUse(_)) => Err(Error::Conflict(format!(
                "profile '{name}' is used by a mapping or by users, so it cannot be deleted"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn create_storage(&self, grant: &Grant, name: &str, region: &str) -> Result<Storage> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let name = check_name("storage", name)?;
        let region = check_name("region", region)?;
        let storage = self
            .store
            .create_storage(tenant.id, &name, &region, self.now())
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    Error::Conflict(format!("storage '{name}' already exists"))
                }
                other => other.into(),
            })?;
        let detail = format!("storage '{name}' created in region '{region}'");
        self.record_admin(origin, tenant, "create storage", detail)
            .await?;
        Ok(storage)
    }

    pub async fn list_storages(&self, grant: &Grant) -> Result<Vec<Storage>> {
        let tenant = grant.tenant();
        Ok(self.store.list_storages(tenant.id).await?)
    }

    /// a new name, a new region, or both; users and mappings follow a rename.
    pub async fn edit_storage(
        &self,
        grant: &Grant,
        name: &str,
        new_name: Option<&str>,
        region: Option<&str>,
    ) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let change = StorageChange {
            new_name: new_name
                .map(|new_name| check_name("storage", new_name))
                .transpose()?,
            region: region
                .map(|region| check_name("region", region))
                .transpose()?,
        };
        if change == StorageChange::default() {
            return Err(Error::Invalid(
                "give a new name, a new region, or both".into(),
            ));
        }
        let changed = self
            .store
            .update_storage(tenant.id, name, &change)
            .await
            .map_err(|error| renamed_onto_another("storage", error, &change.new_name))?;
        if !changed {
            return Err(Error::NotFound(format!(
                "no storage '{name}'; `scimd storage list` shows them"
            )));
        }
        let mut changes = Vec::new();
        if let Some(new_name) = &change.new_name {
            changes.push(format!("renamed '{new_name}'"));
        }
        if let Some(region) = &change.region {
            changes.push(format!("region '{region}'"));
        }
        let detail = format!("storage '{name}' edited: {}", changes.join(", "));
        self.record_admin(origin, tenant, "edit storage", detail)
            .await
    }

    pub(super) async fn profile_id(&self, tenant: &Tenant, name: &str) -> Result<i64> {
        Ok(profile_named(&self.store.list_profiles(tenant.id).await?, name)?.id)
    }

    pub(super) async fn storage_id(&self, tenant: &Tenant, name: &str) -> Result<i64> {
        Ok(storage_named(&self.store.list_storages(tenant.id).await?, name)?.id)
    }

    /// a new mapping goes where the spec says, else directly above the first any-user
    /// mapping (the bottom when there is none).
    pub async fn create_mapping(&self, grant: &Grant, spec: MappingSpec<'_>) -> Result<Mapping> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let name = check_name("mapping", spec.name)?;
        let priority = match spec.priority {
            Some(priority) => priority.max(1),
            None => priority_for_new(&self.store.list_mappings(tenant.id).await?),
        };
        let mapping = NewMapping {
            tenant_id: tenant.id,
            name: name.clone(),
            priority,
            criteria: spec.criteria,
            profile_id: self.profile_id(tenant, spec.profile).await?,
            storage_id: self.storage_id(tenant, spec.storage).await?,
            quota_bytes: spec.quota_bytes,
            send_activation_email: spec.send_activation_email,
            now: self.now(),
        };
        let mapping = self.store.create_mapping(&mapping).await.map_err(|error| match error {
            StoreError::Conflict(_) => Error::Conflict(format!(
                "mapping '{name}' already exists (or another mapping was added at the same moment; retry)"
            )),
            other => other.into(),
        })?;
        let detail = format!(
            "mapping '{name}' ({}) created at priority {}: profile '{}', storage '{}'",
            mapping.criteria, mapping.priority, mapping.profile, mapping.storage
        );
        self.record_admin(origin, tenant, "create mapping", detail)
            .await?;
        Ok(mapping)
    }

    /// In priority order.
    pub async fn list_mappings(&self, grant: &Grant) -> Result<Vec<Mapping>> {
        let tenant = grant.tenant();
        Ok(self.store.list_mappings(tenant.id).await?)
    }

    /// the name and the configuration change; the criteria never do.
    pub async fn edit_mapping(
        &self,
        grant: &Grant,
        name: &str,
        edit: MappingEdit<'_>,
    ) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let new_name = edit
            .new_name
            .map(|new_name| check_name("mapping", new_name))
            .transpose()?;
        let change = MappingChange {
            profile_id: match edit.profile {
                Some(profile) => Some(self.profile_id(tenant, profile).await?),
                None => None,
            },
            storage_id: match edit.storage {
                Some(storage) => Some(self.storage_id(tenant, storage).await?),
                None => None,
            },
            new_name,
            quota_bytes: edit.quota_bytes,
            send_activation_email: edit.send_activation_email,
        };
        match self
            .store
            .update_mapping(tenant.id, name, &change, self.now())
            .await
        {
            Ok(true) => {
                let detail = format!("mapping '{name}' edited: {}", describe_edit(&edit));
                self.record_admin(origin, tenant, "edit mapping", detail)
                    .await
            }
            Ok(false) => Err(Error::NotFound(format!("no mapping '{name}'"))),
            Err(StoreError::Conflict(_)) => Err(Error::Conflict(
                "another mapping already has that name".into(),
            )),
            Err(other) => Err(other.into()),
        }
    }

    /// moves a mapping to `priority` (clamped to 1..n); the others keep their order.
    pub async fn reorder_mapping(&self, grant: &Grant, name: &str, priority: u32) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        for _ in 0..REORDER_ATTEMPTS {
            let mappings = self.store.list_mappings(tenant.id).await?;
            let moves = reordered(&mappings, name, priority)
                .ok_or_else(|| Error::NotFound(format!("no mapping '{name}'")))?;
            match self.store.set_mapping_priorities(tenant.id, &moves).await {
                Err(StoreError::VersionMismatch) => continue,
                Err(other) => return Err(other.into()),
                Ok(()) => {
                    let detail = format!("mapping '{name}' moved to priority {priority}");
                    return self
                        .record_admin(origin, tenant, "reorder mapping", detail)
                        .await;
                }
            }
        }
        Err(Error::Conflict("the mappings kept changing; retry".into()))
    }

    /// the mapping goes; the users it classified keep their profile and storage.
    pub async fn delete_mapping(&self, grant: &Grant, name: &str) -> Result<()> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let mappings = self.store.list_mappings(tenant.id).await?;
        let rest: Vec<&Mapping> = mappings
            .iter()
            .filter(|mapping| !mapping.name.eq_ignore_ascii_case(name))
            .collect();
        if rest.len() == mappings.len() {
            return Err(Error::NotFound(format!("no mapping '{name}'")));
        }
        if self
            .store
            .delete_mapping(tenant.id, name, &renumbered(&rest))
            .await?
        {
            let detail = format!("mapping '{name}' deleted; its users keep profile and storage");
            self.record_admin(origin, tenant, "delete mapping", detail)
                .await
        } else {
            Err(Error::Conflict(
                "the mappings changed meanwhile; retry".into(),
            ))
        }
    }

    /// The preview (SPEC §5): which mapping a sample SCIM user would get, and why the others
    /// would not match.
    pub async fn preview_mapping(&self, grant: &Grant, body: &Value) -> Result<MappingPreview> {
        let tenant = grant.tenant();
        let normalised = normalise_resource(body, &USER)?;
        let mappings = self.store.list_mappings(tenant.id).await?;
        let input = MatchInput {
            resource: &normalised.resource,
            custom: &normalised.custom,
        };
        let (matched, explanations) = evaluate(
            mappings
                .iter()
                .map(|m| (m.name.as_str(), m.priority, &m.criteria)),
            input,
        );
        Ok(MappingPreview {
            matched,
            explanations,
            shadowed: shadowed(&mappings),
        })
    }

    /// the tenant's mappings that can never match.
    pub async fn shadowed_mappings(&self, grant: &Grant) -> Result<Vec<Shadowed>> {
        let tenant = grant.tenant();
        Ok(shadowed(&self.store.list_mappings(tenant.id).await?))
    }
}

/// A rename onto a name the tenant already uses is a conflict that names it.
fn renamed_onto_another(kind: &str, error: StoreError, new_name: &Option<String>) -> Error {
    match (error, new_name) {
        (StoreError::Conflict(_), Some(taken)) => {
            Error::Conflict(format!("{kind} '{taken}' already exists"))
        }
        (other, _) => other.into(),
    }
}

/// What an edit changes, for the activity log.
fn describe_edit(edit: &MappingEdit<'_>) -> String {
    let mut changes = Vec::new();
    if let Some(name) = edit.new_name {
        changes.push(format!("name '{name}'"));
    }
    if let Some(profile) = edit.profile {
        changes.push(format!("profile '{profile}'"));
    }
    if let Some(storage) = edit.storage {
        changes.push(format!("storage '{storage}'"));
    }
    match edit.quota_bytes {
        Some(Some(quota)) => changes.push(format!("quota {quota} bytes")),
        Some(None) => changes.push("no quota".into()),
        None => {}
    }
    if let Some(send) = edit.send_activation_email {
        changes.push(format!(
            "activation email {}",
            if send { "on" } else { "off" }
        ));
    }
    if changes.is_empty() {
        "nothing".into()
    } else {
        changes.join(", ")
    }
}

/// The profile of `profiles` called `name` (any case), or the error that says there is none.
pub(super) fn profile_named<'a>(profiles: &'a [Profile], name: &str) -> Result<&'a Profile> {
    profiles
        .iter()
        .find(|profile| profile.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no profile '{name}'; `scimd profile list` shows them"
            ))
        })
}

/// The storage of `storages` called `name` (any case), or the error that says there is none.
pub(super) fn storage_named<'a>(storages: &'a [Storage], name: &str) -> Result<&'a Storage> {
    storages
        .iter()
        .find(|storage| storage.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no storage '{name}'; `scimd storage list` shows them"
            ))
        })
}
