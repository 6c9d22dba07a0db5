//! `/Users` use cases: create, read, replace, patch, delete, query.

use super::Provisioner;
use crate::activity::{Event, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::etag;
use crate::lifecycle::{
    AccountState, CreateDecision, Existing, ManagedBy, PreservedBy, Refusal, decide_active,
    decide_create, state_after_delete,
};
use crate::mapping::{MatchInput, evaluate, no_match_detail};
use crate::store::{Store, StoreError, UserPage, UserQuery};
use crate::tenant::TenantId;
use crate::user::{AccountProfile, Placement, User, check_user_name_is_email, new_user_id};
use scim::AttrPath;
use scim::filter::Filter;
use scim::list::{Page, PageLimits, SortOrder};
use scim::normalise::{Normalised, normalise_resource};
use scim::patch::{PatchRequest, apply};
use scim::schema::USER;
use serde_json::{Map, Value};

/// Attempts at a read-modify-write before a concurrent writer wins (without `If-Match`).
pub(super) const WRITE_ATTEMPTS: usize = 5;

/// A list or `/.search` request as it arrives, before checking.
#[derive(Debug, Clone, Default)]
pub struct ListRequest<'a> {
    pub filter: Option<&'a str>,
    pub sort_by: Option<&'a str>,
    pub sort_order: Option<&'a str>,
    pub start_index: Option<&'a str>,
    pub count: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// a POST names an email; what happens depends on the account that already holds it
    /// (see [`decide_create`]). Racing creates of one email meet at the store's unique index:
    /// the loser decides again and adopts, reactivates or gets 409, never a second account.
    pub async fn create_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        body: &Value,
    ) -> Result<User> {
        let normalised = normalise_resource(body, &USER)?;
        let user_name = user_name_of(&normalised.resource).to_owned();
        check_user_name_is_email(&user_name)?;
        let requested_active = normalised
            .resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        for _ in 0..WRITE_ATTEMPTS {
            let existing = self.store.user_by_email(tenant, &user_name).await?;
            let facts = existing.as_ref().map(|user| Existing {
                state: user.state,
                managed_by: user.managed_by,
                scim_id_live: user.scim_id.is_some(),
            });
            let written = match (decide_create(facts, requested_active), existing) {
                (CreateDecision::Create { initial }, _) => {
                    self.insert_scim_user(origin, tenant, &normalised, initial)
                        .await?
                }
                (CreateDecision::Adopt { initial }, Some(manual)) => {
                    let detail = "a manual account taken over by the IdP; profile and storage kept";
                    let claim = Claim::new(initial, "adopt", detail, manual.scim_id.is_none());
                    self.claim(origin, manual, &normalised.resource, claim)
                        .await?
                }
                (
                    CreateDecision::Reactivate {
                        initial,
                        new_scim_id,
                    },
                    Some(preserved),
                ) => {
                    let detail = if new_scim_id {
                        "a preserved account reactivated under a new SCIM id; profile and storage kept"
                    } else {
                        "a preserved account reactivated; profile and storage kept"
                    };
                    let claim = Claim::new(initial, "reactivate", detail, new_scim_id);
                    self.claim(origin, preserved, &normalised.resource, claim)
                        .await?
                }
                (CreateDecision::RefuseAdminPreserved, _) => {
                    return Err(admin_preserved(&user_name));
                }
                (CreateDecision::Conflict, _) => {
                    return Err(scim::Error::uniqueness(format!(
                        "userName '{user_name}' is already provisioned in this tenant; \
                         update that user instead (filter userName eq \"{user_name}\")"
                    ))
                    .into());
                }
                // Adopt and Reactivate are only decided for an existing account.
                (CreateDecision::Adopt { .. } | CreateDecision::Reactivate { .. }, None) => None,
            };
            if let Some(user) = written {
                return Ok(user);
            }
        }
        Err(busy(&user_name))
    }

    /// A new account classified by the mappings; `None` when another create of the same email
    /// won the race.
    async fn insert_scim_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        normalised: &Normalised,
        initial: AccountState,
    ) -> Result<Option<User>> {
        let (placement, described) = self.classify(tenant, normalised).await?;
        let mut resource = normalised.resource.clone();
        resource.insert("active".into(), Value::Bool(initial.is_active()));
        let now = self.now();
        let mut user = User {
            tenant_id: tenant,
            key: 0,
            scim_id: Some(new_user_id()?),
            profile: AccountProfile::of(&resource),
            resource,
            version: 1,
            created_at: now,
            updated_at: now,
            state: initial,
            preserved_at: (!initial.is_active()).then_some(now),
            managed_by: ManagedBy::Scim,
            placement: Some(placement),
        };
        let detail = if initial.is_active() {
            described
        } else {
            format!("{described}; created preserved (active:false)")
        };
        let event = Event::success(
            origin,
            tenant,
            now,
            "create",
            201,
            (user.user_name(), user.scim_id.as_deref()),
            detail,
        );
        match self.store.insert_user(&user, &event).await {
            Ok(key) => {
                user.key = key;
                Ok(Some(user))
            }
            // Another create took the email, or the profile's last place: decide again.
            Err(StoreError::Conflict(_) | StoreError::ProfileFull) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Hands an existing account to the IdP (adopt, reactivate): the body becomes its SCIM
    /// document; profile and storage stay. `None` when the account changed meanwhile.
    async fn claim(
        &self,
        origin: &Origin,
        current: User,
        resource: &Map<String, Value>,
        claim: Claim,
    ) -> Result<Option<User>> {
        let now = self.now();
        let scim_id = match (&current.scim_id, claim.new_scim_id) {
            (Some(id), false) => Some(id.clone()),
            _ => Some(new_user_id()?),
        };
        // A create always states `active`, as a new account's document does.
        let mut resource = resource.clone();
        resource.insert("active".into(), Value::Bool(claim.initial.is_active()));
        let next = User {
            scim_id,
            managed_by: ManagedBy::Scim,
            ..current.changed(resource, claim.initial, now)
        };
        let event = Event::success(
            origin,
            current.tenant_id,
            now,
            claim.operation,
            201,
            (next.user_name(), next.scim_id.as_deref()),
            claim.detail.to_owned(),
        );
        match self.store.update_user(&next, current.version, &event).await {
            Ok(()) => Ok(Some(next)),
            Err(StoreError::VersionMismatch | StoreError::Conflict(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The first matching mapping decides profile, storage and quota; none matching, or a full
    /// profile, refuses the create with a 400 that says why. Also says where the user went.
    async fn classify(
        &self,
        tenant: TenantId,
        normalised: &Normalised,
    ) -> Result<(Placement, String)> {
        let mappings = self.store.list_mappings(tenant).await?;
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
        let Some(mapping) = matched.and_then(|name| mappings.into_iter().find(|m| m.name == name))
        else {
            return Err(scim::Error::invalid_value(no_match_detail(&explanations)).into());
        };
        self.check_capacity(tenant, mapping.profile_id, &mapping.profile)
            .await?
            .map_err(|full| {
                scim::Error::invalid_value(format!(
                    "{full}; mapping '{}' placed this user there. Raise the profile's limit or \
                     change the mapping",
                    mapping.name
                ))
            })?;
        let described = format!(
            "mapping '{}' placed the user in profile '{}', storage '{}'",
            mapping.name, mapping.profile, mapping.storage
        );
        let placement = Placement {
            mapping: Some(mapping.name),
            profile_id: mapping.profile_id,
            storage_id: mapping.storage_id,
            quota_bytes: mapping.quota_bytes,
        };
        Ok((placement, described))
    }

    /// `Err` with a sentence when the profile holds its `max_users` already (0 = unlimited).
    pub(super) async fn check_capacity(
        &self,
        tenant: TenantId,
        profile_id: i64,
        profile_name: &str,
    ) -> Result<std::result::Result<(), String>> {
        let limit = self
            .store
            .list_profiles(tenant)
            .await?
            .iter()
            .find(|p| p.id == profile_id)
            .map_or(0, |p| p.max_users);
        let used = if limit > 0 {
            self.store.count_profile_users(tenant, profile_id).await?
        } else {
            0
        };
        Ok(if limit > 0 && used >= u64::from(limit) {
            Err(format!("profile '{profile_name}' is full ({limit} users)"))
        } else {
            Ok(())
        })
    }

    pub async fn get_user(&self, tenant: TenantId, id: &str) -> Result<User> {
        self.store
            .get_user(tenant, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// PUT (RFC 7644 §3.5.1): the body replaces every writable attribute. `active` is kept when
    /// the body leaves it out, so a profile push never deactivates anyone by omission.
    pub async fn replace_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<User> {
        let resource = checked_resource(body)?;
        self.rewrite(origin, tenant, id, if_match, move |current| {
            let mut next = resource.clone();
            if !next.contains_key("active") {
                next.insert("active".into(), Value::Bool(current.active()));
            }
            Ok(Some(next))
        })
        .await
    }

    /// PATCH (RFC 7644 §3.5.2): all operations or none.
    pub async fn patch_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<User> {
        let request = PatchRequest::parse(body, &USER)?;
        self.rewrite(origin, tenant, id, if_match, |current| {
            let mut document = current.resource.clone();
            document.insert("id".into(), current.id().into());
            let patched = apply(&document, &request, &USER)?;
            if !patched.changed {
                return Ok(None);
            }
            check_user_name_is_email(user_name_of(&patched.resource))?;
            Ok(Some(patched.resource))
        })
        .await
    }

    /// a DELETE preserves the account and retires its SCIM id, which answers 404 from
    /// then on; no SCIM call destroys an account. An admin's preservation stays as it is.
    pub async fn delete_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<()> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.get_user(tenant, id).await?;
            check_if_match(&current, if_match)?;
            let state = state_after_delete(current.state);
            let now = self.now();
            let next = User {
                scim_id: None,
                ..current.changed(current.resource.clone(), state, now)
            };
            let event = Event::success(
                origin,
                tenant,
                now,
                "delete",
                204,
                (current.user_name(), Some(id)),
                format!(
                    "SCIM id retired; the account is preserved (by {})",
                    state.preserved_by().map_or("idp", PreservedBy::as_str)
                ),
            );
            match self.store.update_user(&next, current.version, &event).await {
                Ok(()) => return Ok(()),
                Err(StoreError::VersionMismatch) if if_match.is_none() => continue,
                Err(StoreError::VersionMismatch) => return Err(changed_since(&current)),
                Err(other) => return Err(other.into()),
            }
        }
        Err(busy(id))
    }

    pub async fn list_users(
        &self,
        tenant: TenantId,
        request: &ListRequest<'_>,
        limits: PageLimits,
    ) -> Result<UserPage> {
        let filter = request
            .filter
            .map(|text| Filter::parse_for(text, &USER))
            .transpose()?;
        let sort_by = request.sort_by.map(sort_key).transpose()?;
        let sort_order = SortOrder::parse(request.sort_order)?;
        let page = Page::from_params(request.start_index, request.count, request.cursor, limits)?;
        let start_index = match page {
            Page::Index { start_index, .. } => Some(start_index),
            Page::Cursor { .. } => None,
        };
        let query = UserQuery {
            filter,
            sort_by,
            sort_order,
            page: Some(page),
        };
        let page = self.store.query_users(tenant, &query).await?;
        Ok(UserPage {
            start_index,
            ..page
        })
    }

    /// Read, compute the next document, write if the version is unchanged; retried when a
    /// concurrent writer got there first and no `If-Match` pinned the version. `next` returns
    /// `None` when nothing changes (the version is kept). The document's `active` drives the
    /// account's state.
    async fn rewrite(
        &self,
        origin: &Origin,
        tenant: TenantId,
        id: &str,
        if_match: Option<&str>,
        next: impl Fn(&User) -> Result<Option<Map<String, Value>>>,
    ) -> Result<User> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.get_user(tenant, id).await?;
            check_if_match(&current, if_match)?;
            let Some(resource) = next(&current)? else {
                return Ok(current);
            };
            let requested_active = resource
                .get("active")
                .and_then(Value::as_bool)
                .unwrap_or(current.active());
            let state = match decide_active(current.state, requested_active) {
                Ok(changed) => changed.unwrap_or(current.state),
                Err(Refusal::AdminPreserved) => {
                    return Err(admin_preserved(current.user_name()));
                }
            };
            let now = self.now();
            let updated = current.changed(resource, state, now);
            if updated.resource == current.resource {
                return Ok(current);
            }
            let (operation, detail) = match (current.state.is_active(), state.is_active()) {
                (true, false) => (
                    "preserve",
                    "deactivated by the IdP; the account is preserved",
                ),
                (false, true) => ("activate", "reactivated by the IdP"),
                _ => ("update", "attributes updated"),
            };
            let event = Event::success(
                origin,
                tenant,
                now,
                operation,
                200,
                (updated.user_name(), Some(id)),
                detail.to_owned(),
            );
            match self
                .store
                .update_user(&updated, current.version, &event)
                .await
            {
                Ok(()) => return Ok(updated),
                Err(StoreError::VersionMismatch) if if_match.is_none() => continue,
                Err(StoreError::VersionMismatch) => return Err(changed_since(&current)),
                Err(error) => return Err(taken(error, updated.user_name())),
            }
        }
        Err(busy(id))
    }
}

/// How an existing account is handed to the IdP by a create.
struct Claim {
    initial: AccountState,
    operation: &'static str,
    detail: &'static str,
    new_scim_id: bool,
}

impl Claim {
    fn new(
        initial: AccountState,
        operation: &'static str,
        detail: &'static str,
        new_scim_id: bool,
    ) -> Self {
        Self {
            initial,
            operation,
            detail,
            new_scim_id,
        }
    }
}

/// only an admin brings back an account an admin preserved.
fn admin_preserved(user_name: &str) -> Error {
    scim::Error::mutability(format!(
        "an admin preserved the account of '{user_name}'; only an admin can activate it \
         (scimd user activate {user_name})"
    ))
    .into()
}

/// Normalises a POST/PUT body and applies R-32.
fn checked_resource(body: &Value) -> Result<Map<String, Value>> {
    let normalised = normalise_resource(body, &USER)?;
    check_user_name_is_email(user_name_of(&normalised.resource))?;
    Ok(normalised.resource)
}

fn user_name_of(resource: &Map<String, Value>) -> &str {
    resource
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn sort_key(text: &str) -> Result<AttrPath> {
    let unknown =
        || scim::Error::invalid_value(format!("'sortBy' names no attribute of User: {text:?}"));
    let path = AttrPath::parse(text.trim()).map_err(|_| unknown())?;
    let resolved = USER.resolve(&path).ok_or_else(unknown)?;
    if resolved.target().is_complex()
        || resolved.is_multi_valued() && resolved.target().sub_attribute("value").is_none()
    {
        return Err(scim::Error::invalid_value(format!(
            "'sortBy' needs a simple attribute; {text:?} is not one"
        ))
        .into());
    }
    Ok(resolved.canonical_path())
}

fn check_if_match(current: &User, if_match: Option<&str>) -> Result<()> {
    match if_match {
        Some(header) if !etag::header_lists(header, &current.etag()) => Err(changed_since(current)),
        _ => Ok(()),
    }
}

fn changed_since(current: &User) -> Error {
    Error::PreconditionFailed(format!(
        "User {} is at version {}; re-read it and retry with that ETag",
        current.id(),
        current.etag()
    ))
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

fn busy(user: &str) -> Error {
    Error::Conflict(format!(
        "User {user} kept changing concurrently; retry the request"
    ))
}

fn taken(error: StoreError, user_name: &str) -> Error {
    match error {
        StoreError::Conflict(_) => Error::Scim(scim::Error::uniqueness(format!(
            "userName '{user_name}' is already taken by another user of this tenant"
        ))),
        other => other.into(),
    }
}
