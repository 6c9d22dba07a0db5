//! Accounts as admins handle them (SPEC §4, §7): look one up, list and search them as reports
//! show them, preserve, activate, destroy; the activity log. The same rules as the SCIM face.

use super::Provisioner;
use super::feed::Described;
use crate::access::Grant;
use crate::activity::{Event, EventQuery, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::feed::ChangeType;
use crate::lifecycle::{AccountState, ManagedBy, decide_admin_activate, decide_admin_preserve};
use crate::store::{AccountQuery, StateFilter, Store, StoreError};
use crate::tenant::Tenant;
use crate::user::User;
use std::collections::HashMap;

/// Accounts read per round trip when listing.
const LIST_PAGE: u32 = 1000;

/// An account with its profile and storage by name, as listings and reports show it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub user: User,
    pub profile: Option<String>,
    pub storage: Option<String>,
    /// What placed the account, as admins read it: the mapping (`(deleted)` after it when it
    /// is gone), `manual`, `manual (adopted)` for a manual account an IdP took over, or
    /// `moved by admin`.
    pub mapping: String,
}

/// One page of accounts for the console's Users page.
#[derive(Debug, Clone, Default)]
pub struct AccountSearch<'a> {
    pub state: Option<StateFilter>,
    pub profile: Option<&'a str>,
    pub storage: Option<&'a str>,
    pub managed_by: Option<ManagedBy>,
    pub search: Option<&'a str>,
    pub after_key: Option<i64>,
    pub limit: u32,
}

/// Which accounts a listing shows.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter<'a> {
    pub state: Option<StateFilter>,
    pub profile: Option<&'a str>,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// The account holding `email`, in any state.
    pub async fn account(&self, grant: &Grant, email: &str) -> Result<User> {
        self.account_in(grant.tenant(), email).await
    }

    pub(super) async fn account_in(&self, tenant: &Tenant, email: &str) -> Result<User> {
        self.store
            .user_by_email(tenant.id, email.trim())
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no account with email '{}' in tenant '{}'",
                    email.trim(),
                    tenant.slug
                ))
            })
    }

    pub async fn account_view(&self, grant: &Grant, email: &str) -> Result<AccountView> {
        let tenant = grant.tenant();
        let user = self.account(grant, email).await?;
        Ok(self.views(tenant, vec![user]).await?.remove(0))
    }

    /// Every account that passes `filter`, in creation order.
    pub async fn list_accounts(
        &self,
        grant: &Grant,
        filter: &AccountFilter<'_>,
    ) -> Result<Vec<AccountView>> {
        let tenant = grant.tenant();
        let profile_id = match filter.profile {
            Some(name) => Some(self.profile_id(tenant, name).await?),
            None => None,
        };
        let query = AccountQuery {
            state: filter.state,
            profile_id,
            ..AccountQuery::default()
        };
        let users = self.all_accounts(tenant, query).await?;
        self.views(tenant, users).await
    }

    /// Every account `query` matches, in key order, read a page at a time.
    pub(super) async fn all_accounts(
        &self,
        tenant: &Tenant,
        mut query: AccountQuery,
    ) -> Result<Vec<User>> {
        query.limit = LIST_PAGE;
        let mut users = Vec::new();
        loop {
            let page = self.store.list_accounts(tenant.id, &query).await?;
            let full = page.len() == LIST_PAGE as usize;
            query.after_key = page.last().map(|user| user.key);
            users.extend(page);
            if !full {
                return Ok(users);
            }
        }
    }

    /// A page of accounts matching `search`, and the key to continue after when there are more.
    pub async fn search_accounts(
        &self,
        grant: &Grant,
        search: &AccountSearch<'_>,
    ) -> Result<(Vec<AccountView>, Option<i64>)> {
        let tenant = grant.tenant();
        let limit = search.limit.clamp(1, LIST_PAGE);
        let query = AccountQuery {
            // One more than asked, to know whether there is a next page.
            limit: limit + 1,
            ..self.account_query(tenant, search).await?
        };
        let mut users = self.store.list_accounts(tenant.id, &query).await?;
        let next = (users.len() > limit as usize).then(|| {
            users.truncate(limit as usize);
            users.last().map(|user| user.key)
        });
        Ok((self.views(tenant, users).await?, next.flatten()))
    }

    /// The store's query for `search`, its names resolved.
    pub(super) async fn account_query(
        &self,
        tenant: &Tenant,
        search: &AccountSearch<'_>,
    ) -> Result<AccountQuery> {
        let profile_id = match search.profile {
            Some(name) => Some(self.profile_id(tenant, name).await?),
            None => None,
        };
        let storage_id = match search.storage {
            Some(name) => Some(self.storage_id(tenant, name).await?),
            None => None,
        };
        Ok(AccountQuery {
            state: search.state,
            profile_id,
            storage_id,
            managed_by: search.managed_by,
            search: search.search.map(str::to_owned),
            after_key: search.after_key,
            limit: search.limit,
        })
    }

    async fn views(&self, tenant: &Tenant, users: Vec<User>) -> Result<Vec<AccountView>> {
        let profiles: HashMap<i64, String> = self
            .store
            .list_profiles(tenant.id)
            .await?
            .into_iter()
            .map(|profile| (profile.id, profile.name))
            .collect();
        let storages: HashMap<i64, String> = self
            .store
            .list_storages(tenant.id)
            .await?
            .into_iter()
            .map(|storage| (storage.id, storage.name))
            .collect();
        let mappings: Vec<String> = self
            .store
            .list_mappings(tenant.id)
            .await?
            .into_iter()
            .map(|mapping| mapping.name)
            .collect();
        Ok(users
            .into_iter()
            .map(|user| {
                let placement = user.placement.as_ref();
                AccountView {
                    profile: placement.and_then(|p| profiles.get(&p.profile_id).cloned()),
                    storage: placement.and_then(|p| storages.get(&p.storage_id).cloned()),
                    mapping: placed_by(&user, &mappings),
                    user,
                }
            })
            .collect())
    }

    /// An admin preserves an account: the IdP can no longer reactivate it. `false` when
    /// it already was preserved by an admin.
    pub async fn preserve_user(&self, grant: &Grant, email: &str) -> Result<(User, bool)> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        self.admin_transition(
            origin,
            tenant,
            email,
            decide_admin_preserve,
            ("preserve", ChangeType::Preserved),
        )
        .await
    }

    /// An admin activates a preserved account, whoever preserved it. `false` when it already was
    /// active.
    pub async fn activate_user(&self, grant: &Grant, email: &str) -> Result<(User, bool)> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        self.admin_transition(
            origin,
            tenant,
            email,
            decide_admin_activate,
            ("activate", ChangeType::Activated),
        )
        .await
    }

    async fn admin_transition(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        email: &str,
        decide: fn(AccountState) -> Option<AccountState>,
        (operation, kind): (&str, ChangeType),
    ) -> Result<(User, bool)> {
        for _ in 0..super::users::WRITE_ATTEMPTS {
            let current = self.account_in(tenant, email).await?;
            let Some(state) = decide(current.state) else {
                return Ok((current, false));
            };
            let now = self.now();
            let next = current.changed(current.resource.clone(), state, now);
            let detail = match state {
                AccountState::Active => "activated by an admin".to_owned(),
                AccountState::Preserved(_) => {
                    "preserved by an admin; the IdP cannot reactivate it".to_owned()
                }
            };
            let activity = Event::success(
                origin,
                tenant.id,
                now,
                operation,
                200,
                (current.user_name(), current.scim_id.as_deref()),
                detail,
            );
            let record = self
                .recorded(Described {
                    origin,
                    activity,
                    kind,
                    before: Some(&current),
                    after: &next,
                })
                .await?;
            match self.store.update_user(&current, &next, &record).await {
                Ok(()) => return Ok((next, true)),
                Err(StoreError::VersionMismatch) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Conflict(format!(
            "the account of '{email}' kept changing concurrently; try again"
        )))
    }

    /// Destroys an account and its data for good: the only way one ever goes, and only by an
    /// admin with a stated reason (recorded in the activity log).
    pub async fn destroy_user(&self, grant: &Grant, email: &str, reason: &str) -> Result<User> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Invalid(
                "deleting an account needs a reason (--reason TEXT); it is kept in the activity log"
                    .into(),
            ));
        }
        let current = self.account_in(tenant, email).await?;
        let activity = Event::success(
            origin,
            tenant.id,
            self.now(),
            "destroy",
            200,
            (current.user_name(), current.scim_id.as_deref()),
            format!("account and data deleted by an admin; reason: {reason}"),
        );
        let record = self
            .recorded(Described {
                origin,
                activity,
                kind: ChangeType::Destroyed,
                before: None,
                after: &current,
            })
            .await?;
        match self.store.destroy_user(&current, &record).await {
            Ok(()) => Ok(current),
            Err(StoreError::VersionMismatch) => Err(Error::Conflict(format!(
                "the account of '{email}' changed while deleting it; look at it again"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// The activity log, newest first.
    pub async fn activity(&self, grant: &Grant, query: &EventQuery) -> Result<Vec<Event>> {
        let tenant = grant.tenant();
        Ok(self.store.list_events(tenant.id, query).await?)
    }

    /// A failed SCIM call, recorded on its own (nothing else was written).
    pub async fn record_failure(&self, event: &Event) -> Result<()> {
        Ok(self.store.record_event(event).await?)
    }
}

/// What placed `user`, as admins read it (reports, `user show`): `moved by admin` once an admin
/// moved it; else its mapping, marked `(deleted)` when none of `mappings` has that name
/// any more; `manual` for an account an admin created, and `manual (adopted)` once an IdP took
/// it over.
fn placed_by(user: &User, mappings: &[String]) -> String {
    if user
        .placement
        .as_ref()
        .is_some_and(|p| p.moved_by.is_some())
    {
        return "moved by admin".to_owned();
    }
    match (
        user.placement.as_ref().and_then(|p| p.mapping.as_deref()),
        user.managed_by,
    ) {
        (Some(name), _) if mappings.iter().any(|m| m.eq_ignore_ascii_case(name)) => name.to_owned(),
        (Some(name), _) => format!("{name} (deleted)"),
        (None, ManagedBy::Scim) => "manual (adopted)".to_owned(),
        (None, ManagedBy::Manual) => "manual".to_owned(),
    }
}
