//! Accounts in memory: SCIM's reads (filtered, sorted, paged by index or cursor) and the
//! writes, each all or nothing with its event, as the SQL store answers them.

use super::MemoryStore;
use crate::feed::Recorded;
use crate::lifecycle::AccountState;
use crate::mail::Mail;
use crate::store::{
    AccountCounts, AccountMove, AccountQuery, AccountReads, AccountWrites, StateFilter, StoreError,
    StoreResult, UserPage,
};
use crate::tenant::TenantId;
use crate::user::{StoredUser, User};
use scim::filter::fold_case;
use scim::list::{Cursor, ListQuery, Page, SortOrder};
use scim::schema::{Container, Resolved};
use serde_json::Value;
use std::cmp::Ordering;

impl AccountReads for MemoryStore {
    async fn user_by_scim_id(&self, tenant: TenantId, scim_id: &str) -> StoreResult<Option<User>> {
        let state = self.state();
        let found = state
            .users
            .iter()
            .find(|u| u.tenant_id == tenant && u.scim_id.as_deref() == Some(scim_id));
        Ok(found.cloned())
    }

    async fn scim_resource(
        &self,
        tenant: TenantId,
        scim_id: &str,
    ) -> StoreResult<Option<StoredUser>> {
        let user = self.user_by_scim_id(tenant, scim_id).await?;
        user.as_ref().map(stored).transpose()
    }

    async fn user_by_email(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        let email = fold_case(email);
        let state = self.state();
        let found = state
            .users
            .iter()
            .find(|u| u.tenant_id == tenant && fold_case(u.user_name()) == email);
        Ok(found.cloned())
    }

    async fn query_users(&self, tenant: TenantId, query: &ListQuery) -> StoreResult<UserPage> {
        let mut matches: Vec<User> = {
            let state = self.state();
            let visible = state
                .users
                .iter()
                .filter(|u| u.tenant_id == tenant && u.scim_id.is_some());
            let passes = |user: &&User| {
                let filter = query.filter.as_ref();
                filter.is_none_or(|filter| filter.matches(&(*user).clone().into_scim("")))
            };
            visible.filter(passes).cloned().collect()
        };
        if let Some(sort_by) = &query.sort_by {
            matches.sort_by(|a, b| ordered(a, b, sort_by, query.sort_order));
        }
        let total = matches.len() as u64;
        let (skip, count, cursored) = match &query.page {
            Page::Index { start_index, count } => {
                let skip = usize::try_from(start_index.saturating_sub(1)).unwrap_or(usize::MAX);
                (skip, *count, false)
            }
            Page::Cursor { cursor, count } => (position(cursor.as_ref())?, *count, true),
        };
        let page: Vec<&User> = matches.iter().skip(skip).take(count as usize).collect();
        let end = skip.saturating_add(page.len());
        let next_cursor = (cursored && end < matches.len())
            .then(|| Cursor::from_bytes(end.to_string().as_bytes()));
        Ok(UserPage {
            total,
            users: page.into_iter().map(stored).collect::<StoreResult<_>>()?,
            next_cursor,
            start_index: None,
        })
    }

    async fn list_accounts(
        &self,
        tenant: TenantId,
        query: &AccountQuery,
    ) -> StoreResult<Vec<User>> {
        let state = self.state();
        let search = query
            .search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(fold_case);
        let wanted = |user: &&User| {
            let placed = user.placement.as_ref();
            user.tenant_id == tenant
                && user.key > query.after_key.unwrap_or(0)
                && query.state.is_none_or(|state| match state {
                    StateFilter::Active => user.state == AccountState::Active,
                    StateFilter::Preserved => user.state != AccountState::Active,
                })
                && query
                    .profile_id
                    .is_none_or(|id| placed.is_some_and(|p| p.profile_id == id))
                && query
                    .storage_id
                    .is_none_or(|id| placed.is_some_and(|p| p.storage_id == id))
                && query.managed_by.is_none_or(|by| user.managed_by == by)
                && search.as_ref().is_none_or(|text| {
                    fold_case(user.user_name()).contains(text.as_str())
                        || user
                            .display_name()
                            .is_some_and(|name| fold_case(name).contains(text.as_str()))
                })
        };
        let found = state.users.iter().filter(wanted).take(query.limit as usize);
        Ok(found.cloned().collect())
    }

    async fn count_accounts(&self, tenant: TenantId) -> StoreResult<AccountCounts> {
        let state = self.state();
        let mut counts = AccountCounts::default();
        for user in state.users.iter().filter(|u| u.tenant_id == tenant) {
            match user.state {
                AccountState::Active => counts.active += 1,
                AccountState::Preserved(_) => counts.preserved += 1,
            }
        }
        Ok(counts)
    }
}

impl AccountWrites for MemoryStore {
    async fn insert_user(&self, user: &User, record: &Recorded) -> StoreResult<i64> {
        self.insert_user_mailing(user, record, &[]).await
    }

    async fn insert_user_mailing(
        &self,
        user: &User,
        record: &Recorded,
        mails: &[Mail],
    ) -> StoreResult<i64> {
        self.transaction(|state| {
            let key = state.insert(user, record)?;
            state.mails.extend_from_slice(mails);
            Ok(key)
        })
    }

    async fn insert_users(&self, accounts: &[(User, Recorded)]) -> StoreResult<()> {
        self.transaction(|state| {
            for (user, record) in accounts {
                state.insert(user, record)?;
            }
            Ok(())
        })
    }

    async fn update_user(&self, current: &User, next: &User, record: &Recorded) -> StoreResult<()> {
        self.transaction(|state| {
            let unchanged = state
                .stored(current.key)
                .is_some_and(|u| u.version == current.version);
            if !unchanged {
                return Err(StoreError::VersionMismatch);
            }
            if !state.email_free(next, Some(current.key)) {
                return Err(StoreError::Conflict(format!(
                    "userName '{}' is taken",
                    next.user_name()
                )));
            }
            if let Some(user) = state.users.iter_mut().find(|u| u.key == current.key) {
                *user = User {
                    key: current.key,
                    ..next.clone()
                };
            }
            state.record(record, current.key);
            Ok(())
        })
    }

    async fn move_users(&self, to_profile: i64, moves: &[AccountMove]) -> StoreResult<()> {
        self.transaction(|state| {
            let arriving = moves.iter().filter(|m| m.arrives()).count() as u64;
            if !state.has_room(to_profile, arriving) {
                return Err(StoreError::ProfileFull);
            }
            for AccountMove {
                current,
                to,
                record,
            } in moves
            {
                let user = state.users.iter_mut().find(|u| u.key == current.key);
                let user = user
                    .filter(|u| u.version == current.version && u.placement == current.placement)
                    .ok_or(StoreError::VersionMismatch)?;
                user.placement = Some(to.clone());
                state.record(record, current.key);
            }
            Ok(())
        })
    }

    async fn destroy_user(&self, user: &User, record: &Recorded) -> StoreResult<()> {
        self.transaction(|state| {
            let at = state
                .users
                .iter()
                .position(|u| u.key == user.key && u.version == user.version);
            state.users.remove(at.ok_or(StoreError::VersionMismatch)?);
            state.record(record, user.key);
            Ok(())
        })
    }

    async fn tidy_user_counts(&self) -> StoreResult<()> {
        // Nothing is counted ahead: listings count the map.
        Ok(())
    }
}

/// What a read returns: the document as the SQL store keeps it.
fn stored(user: &User) -> StoreResult<StoredUser> {
    StoredUser::of(user).map_err(|error| StoreError::Backend(Box::new(error)))
}

/// Where a cursor of this store resumes: the index of the next user, written as digits.
fn position(cursor: Option<&Cursor>) -> StoreResult<usize> {
    let Some(cursor) = cursor else {
        return Ok(0);
    };
    let digits = cursor.bytes().map_err(StoreError::Invalid)?;
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| StoreError::Invalid(Cursor::not_ours()))
}

/// `sortBy` order (RFC 7644 §3.4.2.3): by the attribute's first value, compared as the
/// attribute's case rule says; users without one come last either way; then by key.
fn ordered(a: &User, b: &User, sort_by: &Resolved, order: SortOrder) -> Ordering {
    let by_value = match (sort_value(a, sort_by), sort_value(b, sort_by)) {
        (Some(a), Some(b)) => match order {
            SortOrder::Ascending => a.cmp(&b),
            SortOrder::Descending => b.cmp(&a),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_value.then(a.key.cmp(&b.key))
}

fn sort_value(user: &User, sort_by: &Resolved) -> Option<String> {
    let resource = user.clone().into_scim("");
    let container = match sort_by.container {
        Container::Root => Some(&resource),
        Container::Extension(urn) => resource.get(urn).and_then(Value::as_object),
    }?;
    let mut value = container.get(sort_by.attribute.name)?;
    if let Value::Array(items) = value {
        value = items.first()?;
    }
    if let Some(sub) = sort_by.sub_attribute.or_else(|| {
        sort_by
            .attribute
            .multi_valued
            .then(|| sort_by.attribute.sub_attribute("value"))
            .flatten()
    }) {
        value = value.get(sub.name)?;
    }
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    Some(if sort_by.target().case_exact {
        text
    } else {
        fold_case(&text)
    })
}
