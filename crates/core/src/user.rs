//! A provisioned user as stored, and its SCIM representation.

use crate::account;
use crate::error::{Error, Result};
use crate::lifecycle::{AccountState, ManagedBy};
use crate::secret::hex;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use serde_json::{Map, Value};

/// A product account and the SCIM user it shows as: the normalised SCIM document (no `id`, no
/// `meta`) plus what the server owns. The account outlives its SCIM id (SPEC §4).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub tenant_id: TenantId,
    /// The account's key in the store, stable for its whole life; 0 before it is stored.
    pub key: i64,
    /// The live SCIM id: server-assigned, opaque, never reused. `None` for a manual account and
    /// after a DELETE retired it (the old id answers 404 for ever).
    pub scim_id: Option<String>,
    pub resource: Map<String, Value>,
    /// Bumped on every change; the weak ETag is `W/"<version>"`.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub state: AccountState,
    /// When the account was last preserved; `None` while active.
    pub preserved_at: Option<Timestamp>,
    pub managed_by: ManagedBy,
    /// What the product shows: the derived display name with R-41's replacements, and the UPN.
    pub profile: AccountProfile,
    /// Where mappings (or the admin, for a manual account) placed the account at creation.
    pub placement: Option<Placement>,
}

/// The names the product account uses, derived from the SCIM document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    pub display_name: String,
    pub upn: String,
}

impl AccountProfile {
    pub fn of(resource: &Map<String, Value>) -> Self {
        let display_name = account::account_name(&account::display_name(resource));
        let upn = account::upn(resource, &display_name);
        Self { display_name, upn }
    }
}

/// The classification an account got at creation; later attribute changes never alter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The mapping's name, kept after the mapping itself is deleted; `None` for a manual
    /// account placed by an admin.
    pub mapping: Option<String>,
    pub profile_id: i64,
    pub storage_id: i64,
    pub quota_bytes: Option<u64>,
}

impl User {
    pub fn user_name(&self) -> &str {
        self.resource
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.resource.get("externalId").and_then(Value::as_str)
    }

    pub fn display_name(&self) -> Option<&str> {
        self.resource.get("displayName").and_then(Value::as_str)
    }

    /// The next version of this account: `resource`, the names derived from it, `state`, and
    /// when the account became preserved. The document's `active` is made to match the state,
    /// unless the IdP removed it and the state stays (RFC 7644 §3.5.2.2: a removed attribute
    /// is unassigned, and scimd returns what the IdP sent, R-33).
    pub fn changed(
        &self,
        mut resource: Map<String, Value>,
        state: AccountState,
        now: Timestamp,
    ) -> User {
        if resource.contains_key("active") || state != self.state {
            resource.insert("active".into(), Value::Bool(state.is_active()));
        }
        let preserved_at = match (self.state.is_active(), state.is_active()) {
            (_, true) => None,
            (false, false) if self.state == state => self.preserved_at,
            (_, false) => Some(now),
        };
        User {
            tenant_id: self.tenant_id,
            key: self.key,
            scim_id: self.scim_id.clone(),
            profile: AccountProfile::of(&resource),
            resource,
            version: self.version + 1,
            created_at: self.created_at,
            updated_at: now,
            state,
            preserved_at,
            managed_by: self.managed_by,
            placement: self.placement.clone(),
        }
    }

    /// The document's `active`, which every write keeps equal to the account's state.
    pub fn active(&self) -> bool {
        self.state == AccountState::Active
    }

    /// Every `emails[].value`, for the indexed email lookup.
    pub fn email_values(&self) -> Vec<&str> {
        self.resource
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|email| email.get("value").and_then(Value::as_str))
            .collect()
    }

    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// The SCIM id, or "" for an account SCIM cannot see; SCIM operations only ever hand out
    /// accounts found by their live id.
    pub fn id(&self) -> &str {
        self.scim_id.as_deref().unwrap_or_default()
    }

    pub fn location(&self, base_url: &str) -> String {
        [base_url, "/Users/", self.id()].concat()
    }

    /// The full SCIM resource: `schemas`, `id`, the attributes, then `meta`. Consumes the
    /// user: the document's values move into the resource instead of being copied.
    pub fn into_scim(self, base_url: &str) -> Map<String, Value> {
        let meta = serde_json::json!({
            "resourceType": "User",
            "created": self.created_at.to_rfc3339(),
            "lastModified": self.updated_at.to_rfc3339(),
            "location": self.location(base_url),
            "version": self.etag(),
        });
        let mut resource = self.resource;
        let mut out = Map::with_capacity(resource.len() + 2);
        if let Some(schemas) = resource.remove("schemas") {
            out.insert("schemas".into(), schemas);
        }
        out.insert("id".into(), self.scim_id.unwrap_or_default().into());
        out.extend(resource);
        out.insert("meta".into(), meta);
        out
    }
}

/// A new random SCIM id in the UUID v4 layout.
pub fn new_user_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let text = hex(&bytes);
    let mut id = String::with_capacity(36);
    for (at, group) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if at > 0 {
            id.push('-');
        }
        id.push_str(&text[group]);
    }
    Ok(id)
}

/// SPEC R-32: the userName is the account's email address. A deliberately plain check (one
/// `@`, something on each side, a dot in the domain, no spaces): the IdP owns the address.
pub fn check_user_name_is_email(user_name: &str) -> Result<(), scim::Error> {
    let valid = match user_name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !user_name.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(scim::Error::invalid_value(format!(
            "'userName' must be an email address, and {user_name:?} is not one"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_look_like_uuid_v4_and_differ() {
        let a = new_user_id().expect("random");
        assert_eq!(a.len(), 36);
        for (at, c) in a.char_indices() {
            if [8, 13, 18, 23].contains(&at) {
                assert_eq!(c, '-', "{a}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{a}");
            }
        }
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, new_user_id().expect("random"));
    }

    #[test]
    fn user_name_must_be_an_email_r32() {
        for good in [
            "a@b.co",
            "Test_User_00aa@testuser.com",
            "first.last+tag@sub.example.org",
        ] {
            assert!(check_user_name_is_email(good).is_ok(), "{good}");
        }
        for bad in [
            "", "bjensen", "a@b", "@b.co", "a@.co", "a@b.co.", "a b@c.co", "a@b@c.co",
        ] {
            let error = check_user_name_is_email(bad).expect_err(bad);
            assert_eq!(error.scim_type, Some(scim::ScimType::InvalidValue));
        }
    }
}
