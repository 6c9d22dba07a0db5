//! Profiles, storages and mappings as stored (SPEC §2, §5): what a new user is classified into.

use crate::error::{Error, Result};
use crate::mapping::Criteria;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    /// 0 means unlimited.
    pub max_users: u32,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub region: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    /// 1 is tried first; priorities of a tenant are always 1..n.
    pub priority: u32,
    pub criteria: Criteria,
    pub profile: String,
    pub profile_id: i64,
    pub storage: String,
    pub storage_id: i64,
    pub quota_bytes: Option<u64>,
    pub send_activation_email: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A mapping about to be created; it goes to the bottom of the list.
#[derive(Debug, Clone)]
pub struct NewMapping {
    pub tenant_id: TenantId,
    pub name: String,
    pub criteria: Criteria,
    pub profile_id: i64,
    pub storage_id: i64,
    pub quota_bytes: Option<u64>,
    pub send_activation_email: bool,
    pub now: Timestamp,
}

/// What an edit may change: the name and the configuration, never the criteria.
#[derive(Debug, Clone, Default)]
pub struct MappingChange {
    pub new_name: Option<String>,
    pub profile_id: Option<i64>,
    pub storage_id: Option<i64>,
    /// `Some(None)` clears the quota.
    pub quota_bytes: Option<Option<u64>>,
    pub send_activation_email: Option<bool>,
}

/// Names of profiles, storages and mappings: 1–64 characters, not blank (SPEC §2).
pub fn check_name(kind: &str, name: &str) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 64 || trimmed.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a {kind} name is 1 to 64 printable characters, not {name:?}"
        )));
    }
    Ok(trimmed.to_owned())
}

/// The new priorities after moving `name` to `priority` (clamped to 1..n), as
/// `(id, old, new)` for the mappings whose priority changes.
pub fn reordered(mappings: &[Mapping], name: &str, priority: u32) -> Option<Vec<(i64, u32, u32)>> {
    let mut order: Vec<&Mapping> = mappings.iter().collect();
    order.sort_by_key(|mapping| mapping.priority);
    let from = order
        .iter()
        .position(|mapping| mapping.name.eq_ignore_ascii_case(name))?;
    let moving = order.remove(from);
    let to = usize::try_from(priority.max(1) - 1)
        .unwrap_or(usize::MAX)
        .min(order.len());
    order.insert(to, moving);
    Some(renumbered(&order))
}

/// Priorities 1..n for `order`, as `(id, old, new)` for the ones that change.
pub fn renumbered(order: &[&Mapping]) -> Vec<(i64, u32, u32)> {
    order
        .iter()
        .zip(1u32..)
        .filter(|(mapping, new)| mapping.priority != *new)
        .map(|(mapping, new)| (mapping.id, mapping.priority, new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(id: i64, name: &str, priority: u32) -> Mapping {
        Mapping {
            id,
            tenant_id: TenantId(1),
            name: name.into(),
            priority,
            criteria: Criteria::AllowAnyUser,
            profile: "Default".into(),
            profile_id: 1,
            storage: "Default".into(),
            storage_id: 1,
            quota_bytes: None,
            send_activation_email: false,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn r23_reordering_keeps_priorities_one_to_n() {
        let mappings = [
            mapping(10, "a", 1),
            mapping(11, "b", 2),
            mapping(12, "c", 3),
        ];
        assert_eq!(
            reordered(&mappings, "c", 1),
            Some(vec![(12, 3, 1), (10, 1, 2), (11, 2, 3)])
        );
        assert_eq!(
            reordered(&mappings, "A", 2),
            Some(vec![(11, 2, 1), (10, 1, 2)])
        );
        assert_eq!(
            reordered(&mappings, "a", 99),
            Some(vec![(11, 2, 1), (12, 3, 2), (10, 1, 3)])
        );
        assert_eq!(reordered(&mappings, "b", 2), Some(vec![]));
        assert_eq!(reordered(&mappings, "zz", 1), None);
    }

    #[test]
    fn names_are_one_to_sixty_four_printable_characters() {
        assert_eq!(check_name("mapping", "  Sales EU ").unwrap(), "Sales EU");
        assert!(matches!(check_name("mapping", " "), Err(Error::Invalid(_))));
        assert!(matches!(
            check_name("mapping", &"x".repeat(65)),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            check_name("profile", "a\nb"),
            Err(Error::Invalid(_))
        ));
    }
}
