//! Accounts as admins handle them (SPEC §4, §7): manual users, preserve, activate, destroy,
//! import, and the listings reports are made of. The same rules as the SCIM face.

use super::Provisioner;
use crate::activity::{Event, EventQuery, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::lifecycle::{AccountState, ManagedBy, decide_admin_activate, decide_admin_preserve};
use crate::mail::activation;
use crate::store::{AccountQuery, StateFilter, Store, StoreError};
use crate::tenant::Tenant;
use crate::user::{AccountProfile, Placement, User, check_user_name_is_email};
use scim::schema::user::CORE_USER_URN;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Accounts read per round trip when listing.
const LIST_PAGE: u32 = 1000;

/// A manual account to create: what `scimd user create` and each import line give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualUser {
    pub email: String,
    pub name: String,
    pub profile: String,
    pub storage: String,
    /// Mail the user its activation email (R-48; refused while mail is off).
    pub send_activation_email: bool,
}

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
    pub async fn account(&self, tenant: &Tenant, email: &str) -> Result<User> {
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

    pub async fn account_view(&self, tenant: &Tenant, email: &str) -> Result<AccountView> {
        let user = self.account(tenant, email).await?;
        Ok(self.views(tenant, vec![user]).await?.remove(0))
    }

    /// Every account that passes `filter`, in creation order.
    pub async fn list_accounts(
        &self,
        tenant: &Tenant,
        filter: &AccountFilter<'_>,
    ) -> Result<Vec<AccountView>> {
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
        tenant: &Tenant,
        search: &AccountSearch<'_>,
    ) -> Result<(Vec<AccountView>, Option<i64>)> {
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
            .list_profiles(tenant)
            .await?
            .into_iter()
            .map(|profile| (profile.id, profile.name))
            .collect();
        let storages: HashMap<i64, String> = self
            .list_storages(tenant)
            .await?
            .into_iter()
            .map(|storage| (storage.id, storage.name))
            .collect();
        let mappings: Vec<String> = self
            .list_mappings(tenant)
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

    /// A manual account (managed by admins until an IdP creates the same email and adopts it).
    pub async fn create_manual_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        spec: &ManualUser,
    ) -> Result<User> {
        let (mut user, event) = self.manual_user(origin, tenant, spec).await?;
        let mails = match (spec.send_activation_email, self.mail) {
            (false, _) => Vec::new(),
            (true, true) => vec![activation(tenant, &user, spec.profile.trim())],
            (true, false) => {
                return Err(Error::Invalid(
                    "email notifications are off: start scimd with --smtp-url and --mail-from \
                     (SCIMD_SMTP_URL, SCIMD_MAIL_FROM) to send activation emails"
                        .into(),
                ));
            }
        };
        user.key = self
            .store
            .insert_user_mailing(&user, &event, &mails)
            .await
            .map_err(|error| match error {
                StoreError::ProfileFull => {
                    Error::Invalid(format!("profile '{}' is full", spec.profile.trim()))
                }
                other => email_taken(other, &spec.email),
            })?;
        Ok(user)
    }

    /// Checks a manual account and builds it with its event; nothing is written.
    async fn manual_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        spec: &ManualUser,
    ) -> Result<(User, Event)> {
        let email = spec.email.trim();
        check_user_name_is_email(email)
            .map_err(|_| Error::Invalid(format!("{email:?} is not an email address")))?;
        let name = spec.name.trim();
        if name.is_empty() {
            return Err(Error::Invalid(format!(
                "the account of '{email}' needs a name"
            )));
        }
        scim::text::check_no_control(name, false, "name")
            .map_err(|error| Error::Invalid(error.detail))?;
        let profile_id = self.profile_id(tenant, &spec.profile).await?;
        let storage_id = self.storage_id(tenant, &spec.storage).await?;
        self.check_capacity(tenant.id, profile_id, &spec.profile)
            .await?
            .map_err(Error::Invalid)?;
        let resource: Map<String, Value> = match json!({
            "schemas": [CORE_USER_URN],
            "userName": email,
            "displayName": name,
            "active": true,
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let now = self.now();
        let user = User {
            tenant_id: tenant.id,
            key: 0,
            scim_id: None,
            profile: AccountProfile::of(&resource),
            resource,
            version: 1,
            created_at: now,
            updated_at: now,
            state: AccountState::Active,
            preserved_at: None,
            managed_by: ManagedBy::Manual,
            placement: Some(Placement {
                mapping: None,
                moved_by: None,
                profile_id,
                storage_id,
                quota_bytes: None,
            }),
            connection: None,
        };
        let detail = format!(
            "manual account in profile '{}', storage '{}'",
            spec.profile, spec.storage
        );
        let event = Event::success(origin, tenant.id, now, "create", 201, (email, None), detail);
        Ok((user, event))
    }

    /// Creates every account of a file or none (R-30 for manual users). `progress` is told how
    /// many lines have been checked. Errors name the 1-based line (after the header).
    pub async fn import_manual_users(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        lines: &[(usize, ManualUser)],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<usize> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut accounts = Vec::with_capacity(lines.len());
        let mut per_profile: HashMap<i64, u64> = HashMap::new();
        for (checked, (line, spec)) in lines.iter().enumerate() {
            let at_line = |error: Error| Error::Invalid(format!("line {line}: {error}"));
            let folded = scim::filter::fold_case(spec.email.trim());
            if let Some(first) = seen.insert(folded, *line) {
                return Err(at_line(Error::Invalid(format!(
                    "'{}' is also on line {first}",
                    spec.email.trim()
                ))));
            }
            if self
                .store
                .user_by_email(tenant.id, &spec.email)
                .await?
                .is_some()
            {
                return Err(at_line(Error::Conflict(format!(
                    "an account with email '{}' already exists",
                    spec.email.trim()
                ))));
            }
            let (user, event) = self
                .manual_user(origin, tenant, spec)
                .await
                .map_err(at_line)?;
            if let Some(placement) = &user.placement {
                *per_profile.entry(placement.profile_id).or_default() += 1;
            }
            accounts.push((user, event));
            progress(checked as u64 + 1);
        }
        for profile in self.list_profiles(tenant).await? {
            let adding = per_profile.get(&profile.id).copied().unwrap_or(0);
            if profile.max_users == 0 || adding == 0 {
                continue;
            }
            let used = self
                .store
                .count_profile_users(tenant.id, profile.id)
                .await?;
            if used + adding > u64::from(profile.max_users) {
                return Err(Error::Invalid(format!(
                    "profile '{}' holds {used} of {} users; the file adds {adding}",
                    profile.name, profile.max_users
                )));
            }
        }
        self.store
            .insert_users(&accounts)
            .await
            .map_err(|error| match error {
                StoreError::ProfileFull => Error::Invalid(
                    "a profile filled up while importing; nothing was imported".into(),
                ),
                other => email_taken(other, "one of the file's emails"),
            })?;
        Ok(accounts.len())
    }

    /// An admin preserves an account: the IdP can no longer reactivate it. `false` when
    /// it already was preserved by an admin.
    pub async fn preserve_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        email: &str,
    ) -> Result<(User, bool)> {
        self.admin_transition(origin, tenant, email, decide_admin_preserve, "preserve")
            .await
    }

    /// An admin activates a preserved account, whoever preserved it. `false` when it already was
    /// active.
    pub async fn activate_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        email: &str,
    ) -> Result<(User, bool)> {
        self.admin_transition(origin, tenant, email, decide_admin_activate, "activate")
            .await
    }

    async fn admin_transition(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        email: &str,
        decide: fn(AccountState) -> Option<AccountState>,
        operation: &str,
    ) -> Result<(User, bool)> {
        for _ in 0..super::users::WRITE_ATTEMPTS {
            let current = self.account(tenant, email).await?;
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
            let event = Event::success(
                origin,
                tenant.id,
                now,
                operation,
                200,
                (current.user_name(), current.scim_id.as_deref()),
                detail,
            );
            match self.store.update_user(&current, &next, &event).await {
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
    pub async fn destroy_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        email: &str,
        reason: &str,
    ) -> Result<User> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Invalid(
                "deleting an account needs a reason (--reason TEXT); it is kept in the activity log"
                    .into(),
            ));
        }
        let current = self.account(tenant, email).await?;
        let event = Event::success(
            origin,
            tenant.id,
            self.now(),
            "destroy",
            200,
            (current.user_name(), current.scim_id.as_deref()),
            format!("account and data deleted by an admin; reason: {reason}"),
        );
        match self.store.destroy_user(&current, &event).await {
            Ok(()) => Ok(current),
            Err(StoreError::VersionMismatch) => Err(Error::Conflict(format!(
                "the account of '{email}' changed while deleting it; look at it again"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// The activity log, newest first.
    pub async fn activity(&self, tenant: &Tenant, query: &EventQuery) -> Result<Vec<Event>> {
        Ok(self.store.list_events(tenant.id, query).await?)
    }

    /// A failed SCIM call, recorded on its own (nothing else was written).
    pub async fn record_failure(&self, event: &Event) -> Result<()> {
        Ok(self.store.record_event(event).await?)
    }
}

fn email_taken(error: StoreError, email: &str) -> Error {
    match error {
        StoreError::Conflict(_) => Error::Conflict(format!(
            "an account with email '{}' already exists",
            email.trim()
        )),
        other => other.into(),
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
