//! What a `user.updated` (or any change of an existing account) names as changed.

use crate::user::User;
use serde_json::{Map, Value};

/// The attributes that differ between two versions of an account, in the order of the SCIM
/// document: top-level attributes by name (`displayName`, `emails`), the members of `name`
/// and of extension schemas by path (`name.givenName`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`), then what an admin
/// changes outside the document: `profile`, `storage`, `quota`.
pub fn changed_attributes(before: &User, after: &User) -> Vec<String> {
    let mut changed = Vec::new();
    members_changed(&before.resource, &after.resource, None, &mut changed);
    let (was, is) = (before.placement.as_ref(), after.placement.as_ref());
    let placement_changes = [
        (
            "profile",
            was.map(|p| p.profile_id) != is.map(|p| p.profile_id),
        ),
        (
            "storage",
            was.map(|p| p.storage_id) != is.map(|p| p.storage_id),
        ),
        (
            "quota",
            was.map(|p| p.quota_bytes) != is.map(|p| p.quota_bytes),
        ),
    ];
    changed.extend(
        placement_changes
            .into_iter()
            .filter(|(_, differs)| *differs)
            .map(|(name, _)| name.to_owned()),
    );
    changed
}

/// Appends each member of `before` or `after` whose value differs, under `parent`'s path.
/// `name` and extension objects are compared member by member; other values whole.
fn members_changed(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    parent: Option<&str>,
    changed: &mut Vec<String>,
) {
    let removed = before.keys().filter(|key| !after.contains_key(*key));
    for key in after.keys().chain(removed) {
        let (was, is) = (before.get(key), after.get(key));
        if was == is || key == "schemas" {
            continue;
        }
        let path = match parent {
            None => key.clone(),
            Some(urn) if urn.starts_with("urn:") => format!("{urn}:{key}"),
            Some(parent) => format!("{parent}.{key}"),
        };
        let nested = parent.is_none() && (key == "name" || key.starts_with("urn:"));
        match (was, is) {
            (Some(Value::Object(was)), Some(Value::Object(is))) if nested => {
                members_changed(was, is, Some(&path), changed);
            }
            _ => changed.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{AccountState, ManagedBy};
    use crate::tenant::TenantId;
    use crate::user::{AccountProfile, Placement};
    use scim::datetime::Timestamp;
    use serde_json::json;

    fn user(resource: Value, profile_id: i64) -> User {
        let resource = resource.as_object().cloned().unwrap();
        User {
            tenant_id: TenantId(1),
            key: 1,
            scim_id: Some("id".into()),
            profile: AccountProfile::of(&resource),
            resource,
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            state: AccountState::Active,
            preserved_at: None,
            managed_by: ManagedBy::Scim,
            placement: Some(Placement {
                mapping: None,
                moved_by: None,
                profile_id,
                storage_id: 1,
                quota_bytes: None,
            }),
            connection: None,
        }
    }

    #[test]
    fn names_changed_members_by_path_and_placement_by_field() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let before = user(
            json!({"userName": "a@x.com", "title": "Dev", "active": true,
                   "name": {"givenName": "A", "familyName": "B"},
                   enterprise: {"department": "R&D", "employeeNumber": "1"}}),
            1,
        );
        let after = user(
            json!({"userName": "a@x.com", "active": false, "displayName": "A B",
                   "name": {"givenName": "Ann", "familyName": "B"},
                   enterprise: {"department": "Ops", "employeeNumber": "1"}}),
            2,
        );
        assert_eq!(
            changed_attributes(&before, &after),
            [
                "active",
                "displayName",
                "name.givenName",
                &format!("{enterprise}:department"),
                "title",
                "profile"
            ]
        );
        assert!(changed_attributes(&before, &before).is_empty());
    }
}
