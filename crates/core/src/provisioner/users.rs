//! `/Users` use cases: create, read, replace, patch, delete, query.

use super::Provisioner;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::etag;
use crate::mapping::{MatchInput, evaluate, no_match_detail};
use crate::store::{Store, StoreError, UserPage, UserQuery};
use crate::tenant::TenantId;
use crate::user::{Placement, User, check_user_name_is_email, new_user_id};
use scim::AttrPath;
use scim::filter::Filter;
use scim::list::{Page, PageLimits, SortOrder};
use scim::normalise::{Normalised, normalise_resource};
use scim::patch::{PatchRequest, apply};
use scim::schema::USER;
use serde_json::{Map, Value};

/// Attempts at a read-modify-write before a concurrent writer wins (without `If-Match`).
const WRITE_ATTEMPTS: usize = 5;

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
    /// R-30 for a new email: classify by the mappings, check the profile's capacity,
    /// create. A userName already taken is 409 `uniqueness`.
    pub async fn create_user(&self, tenant: TenantId, body: &Value) -> Result<User> {
        let normalised = normalise_resource(body, &USER)?;
        check_user_name_is_email(user_name_of(&normalised.resource))?;
        let placement = self.classify(tenant, &normalised).await?;
        let mut resource = normalised.resource;
        resource.entry("active").or_insert(Value::Bool(true));
        let now = self.now();
        let user = User {
            tenant_id: tenant,
            id: new_user_id()?,
            resource,
            version: 1,
            created_at: now,
            updated_at: now,
            placement: Some(placement),
        };
        self.store
            .insert_user(&user)
            .await
            .map_err(|error| taken(error, user.user_name()))?;
        Ok(user)
    }

    /// The first matching mapping decides profile, storage and quota; none matching, or a full
    /// profile, refuses the create with a 400 that says why.
    async fn classify(&self, tenant: TenantId, normalised: &Normalised) -> Result<Placement> {
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
        let profiles = self.store.list_profiles(tenant).await?;
        let limit = profiles
            .iter()
            .find(|p| p.id == mapping.profile_id)
            .map_or(0, |p| p.max_users);
        if limit > 0
            && self
                .store
                .count_profile_users(tenant, mapping.profile_id)
                .await?
                >= u64::from(limit)
        {
            return Err(scim::Error::invalid_value(format!(
                "profile '{}' is full ({limit} users); mapping '{}' placed this user there. \
                 Raise the profile's limit or change the mapping",
                mapping.profile, mapping.name
            ))
            .into());
        }
        Ok(Placement {
            mapping: mapping.name,
            profile_id: mapping.profile_id,
            storage_id: mapping.storage_id,
            quota_bytes: mapping.quota_bytes,
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
        tenant: TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<User> {
        let resource = checked_resource(body)?;
        self.rewrite(tenant, id, if_match, move |current| {
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
        tenant: TenantId,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<User> {
        let request = PatchRequest::parse(body, &USER)?;
        self.rewrite(tenant, id, if_match, |current| {
            let mut document = current.resource.clone();
            document.insert("id".into(), current.id.clone().into());
            let patched = apply(&document, &request, &USER)?;
            if !patched.changed {
                return Ok(None);
            }
            check_user_name_is_email(user_name_of(&patched.resource))?;
            Ok(Some(patched.resource))
        })
        .await
    }

    pub async fn delete_user(
        &self,
        tenant: TenantId,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<()> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.get_user(tenant, id).await?;
            check_if_match(&current, if_match)?;
            match self
                .store
                .delete_user(tenant, id, current.version, self.now())
                .await
            {
                Err(StoreError::VersionMismatch) if if_match.is_none() => continue,
                Err(StoreError::VersionMismatch) => return Err(changed_since(&current)),
                other => return Ok(other?),
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
    /// `None` when nothing changes (the version is kept).
    async fn rewrite(
        &self,
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
            if resource == current.resource {
                return Ok(current);
            }
            let updated = User {
                resource,
                version: current.version + 1,
                updated_at: self.now(),
                ..current.clone()
            };
            match self.store.update_user(&updated, current.version).await {
                Ok(()) => return Ok(updated),
                Err(StoreError::VersionMismatch) if if_match.is_none() => continue,
                Err(StoreError::VersionMismatch) => return Err(changed_since(&current)),
                Err(error) => return Err(taken(error, updated.user_name())),
            }
        }
        Err(busy(id))
    }
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
        current.id,
        current.etag()
    ))
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

fn busy(id: &str) -> Error {
    Error::Conflict(format!(
        "User {id} kept changing concurrently; retry the request"
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
