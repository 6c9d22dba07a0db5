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

mod name_starts;
mod reads;
mod writes;

/// An account's columns, in the order [`USER_COLUMNS`] selects them: rows are read by these
/// names (see [`AccountRow`]), never by bare positions.
#[derive(Debug, Clone, Copy)]
enum Col {
    Pk,
    ScimId,
    Resource,
    Version,
    CreatedAt,
    UpdatedAt,
    MappingName,
    ProfileId,
    StorageId,
    QuotaBytes,
    State,
    PreservedBy,
    PreservedAt,
    ManagedBy,
    DisplayName,
    Upn,
    MovedBy,
    IdpToken,
    IdpClient,
}

/// Each column's name (as [`USER_COLUMNS`] spells it after `u.`) and type, in [`Col`] order.
const ACCOUNT_COLUMNS: [(&str, Column); 19] = [
    ("pk", Column::Int),
    ("scim_id", Column::OptText),
    ("resource", Column::Text),
    ("version", Column::Int),
    ("created_at", Column::Int),
    ("updated_at", Column::Int),
    ("mapping_name", Column::OptText),
    ("profile_id", Column::OptInt),
    ("storage_id", Column::OptInt),
    ("quota_bytes", Column::OptInt),
    ("state", Column::Text),
    ("preserved_by", Column::OptText),
    ("preserved_at", Column::OptInt),
    ("managed_by", Column::Text),
    ("display_name", Column::Text),
    ("upn", Column::Text),
    ("moved_by", Column::OptText),
    ("idp_token", Column::OptText),
    ("idp_client", Column::OptText),
];

const USER_TYPES: &[Column] = &{
    let mut types = [Column::Int; ACCOUNT_COLUMNS.len()];
    let mut index = 0;
    while index < types.len() {
        types[index] = ACCOUNT_COLUMNS[index].1;
        index += 1;
    }
    types
};

/// A row of [`USER_COLUMNS`] (or of its first columns), read by column.
struct AccountRow(Row);

impl AccountRow {
    fn int(&self, column: Col) -> i64 {
        self.0[column as usize].int()
    }

    fn opt_int(&self, column: Col) -> Option<i64> {
        self.0[column as usize].opt_int()
    }

    fn text(&mut self, column: Col) -> String {
        self.0[column as usize].take_text()
    }

    fn opt_text(&mut self, column: Col) -> Option<String> {
        self.0[column as usize].opt_text()
    }

    fn timestamp(&self, column: Col) -> Timestamp {
        Timestamp::from_millis(self.int(column))
    }
}

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

fn user_from(tenant: TenantId, row: Row) -> StoreResult<User> {
    let mut row = AccountRow(row);
    let resource: Map<String, Value> = serde_json::from_str(&row.text(Col::Resource))
        .map_err(|error| StoreError::Backend(Box::new(error)))?;
    let placement = match (row.opt_int(Col::ProfileId), row.opt_int(Col::StorageId)) {
        (Some(profile_id), Some(storage_id)) => Some(Placement {
            mapping: row.opt_text(Col::MappingName),
            moved_by: row.opt_text(Col::MovedBy),
            profile_id,
            storage_id,
            quota_bytes: row
                .opt_int(Col::QuotaBytes)
                .and_then(|quota| u64::try_from(quota).ok()),
        }),
        _ => None,
    };
    let preserved_by = row.opt_text(Col::PreservedBy);
    let state = AccountState::from_columns(&row.text(Col::State), preserved_by.as_deref())
        .ok_or_else(|| corrupt("state"))?;
    let managed_by =
        ManagedBy::parse(&row.text(Col::ManagedBy)).ok_or_else(|| corrupt("manager"))?;
    let connection = match (row.opt_text(Col::IdpToken), row.opt_text(Col::IdpClient)) {
        (Some(token), Some(idp)) => Some(Connection { token, idp }),
        _ => None,
    };
    Ok(User {
        tenant_id: tenant,
        key: row.int(Col::Pk),
        scim_id: row.opt_text(Col::ScimId),
        resource,
        version: row.int(Col::Version),
        created_at: row.timestamp(Col::CreatedAt),
        updated_at: row.timestamp(Col::UpdatedAt),
        state,
        preserved_at: row.opt_int(Col::PreservedAt).map(Timestamp::from_millis),
        managed_by,
        profile: AccountProfile {
            display_name: row.text(Col::DisplayName),
            upn: row.text(Col::Upn),
        },
        placement,
        connection,
    })
}

/// A row of the first six columns (see [`STORED`]).
fn stored_from(_tenant: TenantId, row: Row) -> StoreResult<StoredUser> {
    let mut row = AccountRow(row);
    Ok(StoredUser {
        key: row.int(Col::Pk),
        scim_id: row.text(Col::ScimId),
        document: row.text(Col::Resource),
        version: row.int(Col::Version),
        created_at: row.timestamp(Col::CreatedAt),
        updated_at: row.timestamp(Col::UpdatedAt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_in_the_order_the_columns_are_selected() {
        let selected: Vec<&str> = USER_COLUMNS.split(", ").collect();
        let named: Vec<String> = ACCOUNT_COLUMNS
            .iter()
            .map(|(name, _)| format!("u.{name}"))
            .collect();
        assert_eq!(selected, named);
        assert_eq!(selected[Col::IdpClient as usize], "u.idp_client");
        assert!(USER_COLUMNS.starts_with(STORED.columns));
        assert_eq!(STORED.columns.split(", ").count(), STORED.types.len());
        assert_eq!(STORED.types.len(), Col::UpdatedAt as usize + 1);
    }
}
