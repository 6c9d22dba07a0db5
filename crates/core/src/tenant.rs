//! Tenants: one customer organisation each; every SCIM call acts in its token's tenant.

use crate::error::{Error, Result};
use scim::datetime::Timestamp;
use std::fmt;

/// Database key of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub i64);

/// A tenant's short name: 1–63 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(text: &str) -> Result<Self> {
        let valid = !text.is_empty()
            && text.len() <= 63
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "tenant slug {text:?} must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
            )))
        }
    }

    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub created_at: Timestamp,
    pub provisioning: ProvisioningMethod,
}

/// how a tenant's users are provisioned (Druva's "select a user provisioning method").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProvisioningMethod {
    /// IdPs provision over SCIM; every new tenant starts here.
    #[default]
    Scim,
    /// Admins manage users themselves; every SCIM call is refused.
    Manual,
}

impl ProvisioningMethod {
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "scim" => Ok(Self::Scim),
            "manual" => Ok(Self::Manual),
            _ => Err(Error::Invalid(format!(
                "the provisioning method is 'scim' or 'manual', not {text:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::Manual => "manual",
        }
    }
}

impl fmt::Display for ProvisioningMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_dns_labels() {
        for good in ["default", "acme", "acme-eu-1", "a"] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acme_eu",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(TenantSlug::parse(bad), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }
}
