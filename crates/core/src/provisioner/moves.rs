//! Moving accounts to another profile, storage or quota: named accounts, or every
//! account of a profile or of a mapping, all or none.

use super::catalog::{profile_named, storage_named};
use super::feed::Described;
use super::{AccountSearch, Provisioner};
use crate::access::Grant;
use crate::activity::Event;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::feed::{ChangeType, PlacementNames};
use crate::store::{AccountMove, AccountQuery, Store, StoreError};
use crate::tenant::Tenant;
use crate::user::{Placement, User};
use std::collections::{HashMap, HashSet};

/// Which accounts move.
#[derive(Debug, Clone, Copy)]
pub enum MoveSelection<'a> {
    /// These emails (each must name an account of the tenant).
    Emails(&'a [String]),
    /// Every account in this profile.
    Profile(&'a str),
    /// Every account this mapping placed and no admin has moved since.
    Mapping(&'a str),
    /// Every account a Users page search finds (all its pages).
    Matching(&'a AccountSearch<'a>),
}

/// Where they go: a profile, and a storage and quota when given (otherwise each account keeps
/// its own).
#[derive(Debug, Clone, Copy)]
pub struct MoveTarget<'a> {
    pub profile: &'a str,
    pub storage: Option<&'a str>,
    pub quota_bytes: Option<u64>,
}

/// The most accounts one move names by email: each is looked up, so the list a request may
/// send is bounded; bigger moves select a profile or a mapping.
pub const MAX_MOVE_EMAILS: usize = 10_000;

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// Moves the selected accounts, all or none; how many moved. SCIM id and state stay;
    /// each account records the admin who placed it and gets an activity event. `progress` is
    /// told how many accounts of how many were checked.
    pub async fn move_users(
        &self,
        grant: &Grant,
        selection: MoveSelection<'_>,
        target: MoveTarget<'_>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<usize> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        if let MoveSelection::Emails(emails) = selection
            && emails.len() > MAX_MOVE_EMAILS
        {
            return Err(Error::Invalid(format!(
                "a move names at most {MAX_MOVE_EMAILS} accounts by email, not {}; move a whole \
                 profile or mapping's accounts instead (--from-profile, --from-mapping)",
                emails.len()
            )));
        }
        let profiles = self.list_profiles(grant).await?;
        let storages = self.list_storages(grant).await?;
        let profile_names: HashMap<i64, &str> =
            profiles.iter().map(|p| (p.id, p.name.as_str())).collect();
        let storage_names: HashMap<i64, &str> =
            storages.iter().map(|s| (s.id, s.name.as_str())).collect();
        let to_profile = profile_named(&profiles, target.profile)?;
        let to_storage = match target.storage {
            Some(name) => Some(storage_named(&storages, name)?.id),
            None => None,
        };
        let accounts = self.selected(tenant, selection, progress).await?;
        let admin = origin.actor.name().to_owned();
        let now = self.now();
        let mut moves = Vec::with_capacity(accounts.len());
        for current in accounts {
            let from = current.placement.as_ref();
            let storage_id = match (to_storage, from) {
                (Some(id), _) => id,
                (None, Some(from)) => from.storage_id,
                (None, None) => {
                    return Err(Error::Invalid(format!(
                        "'{}' has no storage yet; name one with --storage",
                        current.user_name()
                    )));
                }
            };
            let to = Placement {
                mapping: from.and_then(|p| p.mapping.clone()),
                moved_by: Some(admin.clone()),
                profile_id: to_profile.id,
                storage_id,
                quota_bytes: target.quota_bytes.or(from.and_then(|p| p.quota_bytes)),
            };
            let name_of = |names: &HashMap<i64, &str>, id: Option<i64>| {
                id.and_then(|id| names.get(&id).copied())
                    .unwrap_or("none")
                    .to_owned()
            };
            let detail = format!(
                "moved by an admin from profile '{}', storage '{}' to profile '{}', storage '{}'{}",
                name_of(&profile_names, from.map(|p| p.profile_id)),
                name_of(&storage_names, from.map(|p| p.storage_id)),
                name_of(&profile_names, Some(to.profile_id)),
                name_of(&storage_names, Some(to.storage_id)),
                to.quota_bytes
                    .map(|q| format!(", quota {q} bytes"))
                    .unwrap_or_default()
            );
            let activity = Event::success(
                origin,
                tenant.id,
                now,
                "move",
                200,
                (current.user_name(), current.scim_id.as_deref()),
                detail,
            );
            let moved = User {
                placement: Some(to.clone()),
                ..current.clone()
            };
            let names = PlacementNames {
                profile: to_profile.name.clone(),
                storage: name_of(&storage_names, Some(to.storage_id)),
            };
            let described = Described {
                origin,
                activity,
                kind: ChangeType::Moved,
                before: Some(&current),
                after: &moved,
            };
            let record = self.recorded_placed(described, Some(&names))?;
            moves.push(AccountMove {
                current,
                to,
                record,
            });
        }
        if moves.is_empty() {
            return Ok(0);
        }
        match self.store.move_users(to_profile.id, &moves).await {
            Ok(()) => Ok(moves.len()),
            Err(StoreError::ProfileFull) => {
                let used = self
                    .store
                    .count_profile_users(tenant.id, to_profile.id)
                    .await?;
                let arriving = moves.iter().filter(|m| m.arrives()).count();
                Err(Error::Invalid(format!(
                    "profile '{}' holds {used} of {} users: moving {arriving} more accounts into \
                     it does not fit (raise its limit with `scimd profile edit`)",
                    to_profile.name, to_profile.max_users,
                )))
            }
            Err(StoreError::VersionMismatch) => Err(Error::Conflict(
                "an account was moved or deleted by someone else meanwhile; try again".into(),
            )),
            Err(other) => Err(other.into()),
        }
    }

    /// The accounts a selection names, each once.
    async fn selected(
        &self,
        tenant: &Tenant,
        selection: MoveSelection<'_>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Vec<User>> {
        match selection {
            MoveSelection::Emails(emails) => {
                let total = emails.len() as u64;
                let mut seen = HashSet::new();
                let mut accounts = Vec::with_capacity(emails.len());
                for (checked, email) in emails.iter().enumerate() {
                    let account = self.account_in(tenant, email).await?;
                    if seen.insert(account.key) {
                        accounts.push(account);
                    }
                    progress(checked as u64 + 1, total);
                }
                Ok(accounts)
            }
            MoveSelection::Profile(name) => {
                let search = AccountSearch {
                    profile: Some(name),
                    ..AccountSearch::default()
                };
                let query = self.account_query(tenant, &search).await?;
                let accounts = self.all_accounts(tenant, query).await?;
                progress(accounts.len() as u64, accounts.len() as u64);
                Ok(accounts)
            }
            MoveSelection::Matching(search) => {
                let query = AccountQuery {
                    after_key: None,
                    ..self.account_query(tenant, search).await?
                };
                let accounts = self.all_accounts(tenant, query).await?;
                progress(accounts.len() as u64, accounts.len() as u64);
                Ok(accounts)
            }
            MoveSelection::Mapping(name) => {
                let placed_by = |user: &User| {
                    user.placement.as_ref().is_some_and(|p| {
                        p.moved_by.is_none()
                            && p.mapping
                                .as_deref()
                                .is_some_and(|m| m.eq_ignore_ascii_case(name.trim()))
                    })
                };
                let mut accounts = self.all_accounts(tenant, AccountQuery::default()).await?;
                accounts.retain(placed_by);
                let known = self
                    .store
                    .list_mappings(tenant.id)
                    .await?
                    .iter()
                    .any(|m| m.name.eq_ignore_ascii_case(name.trim()));
                if accounts.is_empty() && !known {
                    return Err(Error::NotFound(format!(
                        "no mapping '{}' and no account placed by one of that name; \
                         `scimd mapping list` shows them",
                        name.trim()
                    )));
                }
                progress(accounts.len() as u64, accounts.len() as u64);
                Ok(accounts)
            }
        }
    }
}
