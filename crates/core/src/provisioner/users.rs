//! `/Users` use cases: create, read, replace, patch, delete, query.

use super::Provisioner;
use super::feed::Described;
use crate::activity::{Event, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::etag;
use crate::feed::ChangeType;
use crate::lifecycle::{PreservedBy, Refusal, decide_active, state_after_delete};
use crate::store::{ScimStore, StoreError, UserPage};
use crate::tenant::TenantId;
use crate::user::{StoredUser, User, check_user_name_is_email};
use scim::list::{ListQuery, Page};
use scim::normalise::normalise_resource;
use scim::patch::{PatchRequest, apply};
use scim::schema::USER;
use serde_json::{Map, Value};

/// Attempts at a read-modify-write before a concurrent writer wins (without `If-Match`).
pub(super) const WRITE_ATTEMPTS: usize = 5;

impl<S: ScimStore, C: Clock> Provisioner<S, C> {
    /// GET (RFC 7644 §3.4.1): the resource, to render with any projection.
    pub async fn get_user(&self, tenant: TenantId, id: &str) -> Result<StoredUser> {
        self.store
            .scim_resource(tenant, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The account behind a live SCIM id, whole, as a change starts from it.
    async fn current(&self, tenant: TenantId, id: &str) -> Result<User> {
        self.store
            .user_by_scim_id(tenant, id)
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
            let current = self.current(tenant, id).await?;
            check_if_match(&current, if_match)?;
            let state = state_after_delete(current.state);
            let now = self.now();
            let next = User {
                scim_id: None,
                ..current.changed(current.resource.clone(), state, now)
            };
            let activity = Event::success(
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
            let record = self
                .recorded(Described {
                    origin,
                    activity,
                    kind: ChangeType::Deleted,
                    before: Some(&current),
                    after: &next,
                })
                .await?;
            match self.store.update_user(&current, &next, &record).await {
                Ok(()) => return Ok(()),
                Err(StoreError::VersionMismatch) if if_match.is_none() => continue,
                Err(StoreError::VersionMismatch) => return Err(changed_since(&current)),
                Err(other) => return Err(other.into()),
            }
        }
        Err(busy(id))
    }

    /// A list or search (RFC 7644 §3.4.2, §3.4.3), checked by [`scim::list::SearchRequest`]:
    /// one page of resources, to render with any projection.
    pub async fn list_users(&self, tenant: TenantId, query: &ListQuery) -> Result<UserPage> {
        let start_index = match query.page {
            Page::Index { start_index, .. } => Some(start_index),
            Page::Cursor { .. } => None,
        };
        let page = self.store.query_users(tenant, query).await?;
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
            let current = self.current(tenant, id).await?;
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
            let (operation, kind, detail) = match (current.state.is_active(), state.is_active()) {
                (true, false) => (
                    "preserve",
                    ChangeType::Deactivated,
                    "deactivated by the IdP; the account is preserved",
                ),
                (false, true) => (
                    "activate",
                    ChangeType::Reactivated,
                    "reactivated by the IdP",
                ),
                _ => ("update", ChangeType::Updated, "attributes updated"),
            };
            let activity = Event::success(
                origin,
                tenant,
                now,
                operation,
                200,
                (updated.user_name(), Some(id)),
                detail.to_owned(),
            );
            let record = self
                .recorded(Described {
                    origin,
                    activity,
                    kind,
                    before: Some(&current),
                    after: &updated,
                })
                .await?;
            match self.store.update_user(&current, &updated, &record).await {
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

pub(super) fn user_name_of(resource: &Map<String, Value>) -> &str {
    resource
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
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

pub(super) fn busy(user: &str) -> Error {
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

/// only an admin brings back an account an admin preserved.
pub(super) fn admin_preserved(user_name: &str) -> Error {
    scim::Error::mutability(format!(
        "an admin preserved the account of '{user_name}'; only an admin can activate it \
         (scimd user activate {user_name})"
    ))
    .into()
}
