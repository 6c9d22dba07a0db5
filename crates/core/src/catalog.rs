//! Profiles, storages and mappings as stored (SPEC §2, §5): what a new user is classified into.

use crate::error::{Error, Result};
use crate::mapping::Criteria;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::fmt;

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

/// A mapping about to be created at `priority`: the mappings from there down move one place
/// down to make room, and a priority past the last is the bottom.
#[derive(Debug, Clone)]
pub struct NewMapping {
    pub tenant_id: TenantId,
    pub name: String,
    pub priority: u32,
    pub criteria: Criteria,
    pub profile_id: i64,
    pub storage_id: i64,
    pub quota_bytes: Option<u64>,
    pub send_activation_email: bool,
    pub now: Timestamp,
}

/// What a profile edit changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub new_name: Option<String>,
    /// 0 is unlimited.
    pub max_users: Option<u32>,
}

/// What a storage edit changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageChange {
    pub new_name: Option<String>,
    pub region: Option<String>,
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

/// Where a new mapping goes when no priority is asked for (R-23, R-23a): directly above the
/// first any-user mapping, so a catch-all stays last; at the bottom when there is none.
pub fn priority_for_new(mappings: &[Mapping]) -> u32 {
    mappings
        .iter()
        .filter(|mapping| mapping.criteria == Criteria::AllowAnyUser)
        .map(|mapping| mapping.priority)
        .min()
        .unwrap_or_else(|| {
            u32::try_from(mappings.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1)
        })
}

/// a mapping that can never match, because an any-user mapping comes before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    pub mapping: String,
    /// The first any-user mapping before it.
    pub by: String,
}

impl fmt::Display for Shadowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mapping '{}' can never match: '{}' comes before it and matches any user",
            self.mapping, self.by
        )
    }
}

/// The mapping that shadows `name` among `shadowed`, if any.
pub fn shadower_of<'a>(shadowed: &'a [Shadowed], name: &str) -> Option<&'a str> {
    shadowed
        .iter()
        .find(|shadowed| shadowed.mapping == name)
        .map(|shadowed| shadowed.by.as_str())
}

/// every mapping of `mappings` that an any-user mapping before it shadows, in priority
/// order.
pub fn shadowed(mappings: &[Mapping]) -> Vec<Shadowed> {
    let mut ordered: Vec<&Mapping> = mappings.iter().collect();
    ordered.sort_by_key(|mapping| mapping.priority);
    let Some(first) = ordered
        .iter()
        .position(|mapping| mapping.criteria == Criteria::AllowAnyUser)
    else {
        return Vec::new();
    };
    ordered[first + 1..]
        .iter()
        .map(|mapping| Shadowed {
            mapping: mapping.name.clone(),
            by: ordered[first].name.clone(),
        })
        .collect()
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
            priority,
            ..placed(name)
        }
    }

    fn by_attribute(id: i64, name: &str, priority: u32) -> Mapping {
        Mapping {
            id,
            priority,
            criteria: Criteria::attribute("department", name).unwrap(),
            ..placed(name)
        }
    }

    fn placed(name: &str) -> Mapping {
        Mapping {
            id: 0,
            tenant_id: TenantId(1),
            name: name.into(),
            priority: 0,
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
    fn r23_a_new_mapping_goes_above_the_first_any_user_mapping() {
        assert_eq!(priority_for_new(&[]), 1);
        assert_eq!(priority_for_new(&[mapping(1, "Default", 1)]), 1);
        let tenant = [
            by_attribute(1, "Fin", 1),
            by_attribute(2, "Eng", 2),
            mapping(3, "Default", 3),
            mapping(4, "Rest", 4),
        ];
        assert_eq!(priority_for_new(&tenant), 3);
        assert_eq!(
            priority_for_new(&tenant[..2]),
            3,
            "no catch-all: the bottom"
        );
    }

    #[test]
    fn r29_a_mapping_below_an_any_user_mapping_is_shadowed_by_the_first() {
        let tenant = [
            by_attribute(1, "Fin", 1),
            mapping(2, "Default", 2),
            by_attribute(3, "Eng", 3),
            mapping(4, "Rest", 4),
        ];
        let found: Vec<String> = shadowed(&tenant).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "mapping 'Eng' can never match: 'Default' comes before it and matches any user",
                "mapping 'Rest' can never match: 'Default' comes before it and matches any user",
            ],
            "not 'Fin', before it, nor the first catch-all itself"
        );
        assert!(shadowed(&tenant[..2]).is_empty());
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
