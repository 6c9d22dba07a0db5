//! Accounts (the users table) on either backend: how rows decode, shared by the reads and the
//! writes (every write is one transaction that also records its activity event).

use crate::backend::{Column, Row};
use crate::sql::users::USER_COLUMNS;
use scim::datetime::Timestamp;
use scimd_core::lifecycle::{AccountState, ManagedBy};
use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use scimd_core::user::{AccountProfile, Connection, Placement, StoredUser, User};
use serde_json::{Map, Value};

mod reads;
mod writes;

const USER_TYPES: &[Column] = &[
    Column::Int,
    Column::OptText,
    Column::Text,
    Column::Int,
    Column::Int,
    Column::Int,
    Column::OptText,
    Column::OptInt,
    Column::OptInt,
    Column::OptInt,
    Column::Text,
    Column::OptText,
    Column::OptInt,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::OptText,
    Column::OptText,
    Column::OptText,
];

/// What a read of users selects, and how its rows decode: whole accounts, or stored
/// documents for a response that shows them as they are. Both select `u.pk` first.
struct Shape<U> {
    columns: &'static str,
    types: &'static [Column],
    decode: fn(TenantId, Row) -> StoreResult<U>,
}

const ACCOUNTS: Shape<User> = Shape {
    columns: USER_COLUMNS,
    types: USER_TYPES,
    decode: user_from,
};

/// The first six of [`USER_COLUMNS`]: what a rendering needs.
const STORED: Shape<StoredUser> = Shape {
    columns: "u.pk, u.scim_id, u.resource, u.version, u.created_at, u.updated_at",
    types: USER_TYPES.split_at(6).0,
    decode: stored_from,
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored account has an invalid {what}").into())
}

fn user_from(tenant: TenantId, mut row: Row) -> StoreResult<User> {
    let resource: Map<String, Value> = serde_json::from_str(&row[2].take_text())
        .map_err(|error| StoreError::Backend(Box::new(error)))?;
    let placement = match (row[7].opt_int(), row[8].opt_int()) {
        (Some(profile_id), Some(storage_id)) => Some(Placement {
            mapping: row[6].opt_text(),
            moved_by: row[16].opt_text(),
            profile_id,
            storage_id,
            quota_bytes: row[9].opt_int().and_then(|quota| u64::try_from(quota).ok()),
        }),
        _ => None,
    };
    let preserved_by = row[11].opt_text();
    let state = AccountState::from_columns(&row[10].take_text(), preserved_by.as_deref())
        .ok_or_else(|| corrupt("state"))?;
    let managed_by = ManagedBy::parse(&row[13].take_text()).ok_or_else(|| corrupt("manager"))?;
    Ok(User {
        tenant_id: tenant,
        key: row[0].int(),
        scim_id: row[1].opt_text(),
        resource,
        version: row[3].int(),
        created_at: Timestamp::from_millis(row[4].int()),
        updated_at: Timestamp::from_millis(row[5].int()),
        state,
        preserved_at: row[12].opt_int().map(Timestamp::from_millis),
        managed_by,
        profile: AccountProfile {
            display_name: row[14].take_text(),
            upn: row[15].take_text(),
        },
        placement,
        connection: match (row[17].opt_text(), row[18].opt_text()) {
            (Some(token), Some(idp)) => Some(Connection { token, idp }),
            _ => None,
        },
    })
}

fn stored_from(_tenant: TenantId, mut row: Row) -> StoreResult<StoredUser> {
    Ok(StoredUser {
        key: row[0].int(),
        scim_id: row[1].take_text(),
        document: row[2].take_text(),
        version: row[3].int(),
        created_at: Timestamp::from_millis(row[4].int()),
        updated_at: Timestamp::from_millis(row[5].int()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_user_reads_the_first_columns_of_an_account() {
        assert!(USER_COLUMNS.starts_with("u.pk, "));
        assert!(USER_COLUMNS.starts_with(STORED.columns));
        assert_eq!(STORED.columns.split(", ").count(), STORED.types.len());
    }
}
