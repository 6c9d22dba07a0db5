//! RFC 7644 §3.12 errors: one type every layer above renders the same way.

use serde_json::{Value, json};
use std::fmt;

/// URN of the SCIM error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12 Table 9, plus those RFC 9865 adds for cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    InvalidCursor,
    ExpiredCursor,
    InvalidCount,
}

impl ScimType {
    /// The keyword exactly as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
            Self::InvalidCursor => "invalidCursor",
            Self::ExpiredCursor => "expiredCursor",
            Self::InvalidCount => "invalidCount",
        }
    }

    /// The HTTP status RFC 7644 pairs with the keyword.
    pub fn status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            Self::Sensitive => 403,
            Self::InvalidVers => 412,
            Self::InvalidFilter
            | Self::TooMany
            | Self::Mutability
            | Self::InvalidSyntax
            | Self::InvalidPath
            | Self::NoTarget
            | Self::InvalidValue
            | Self::InvalidCursor
            | Self::ExpiredCursor
            | Self::InvalidCount => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: the HTTP status, the optional `scimType` and a human `detail` that says what
/// was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map_or("error", ScimType::as_str))]
pub struct Error {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl Error {
    /// An error whose status follows from its `scimType`.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// An error with a status and no `scimType` (404, 401, 412 on ETag mismatch, 501, ...).
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Uniqueness, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(404, detail)
    }

    /// The RFC 7644 §3.12 JSON body; `status` is a string as the RFC's examples show.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
        });
        if let (Some(scim_type), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), scim_type.as_str().into());
        }
        if let Some(map) = body.as_object_mut() {
            map.insert("detail".into(), self.detail.clone().into());
        }
        body
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_renders_status_as_string_with_scim_type_and_detail() {
        let error = Error::invalid_filter("unexpected ')' at position 12");
        assert_eq!(
            error.to_json(),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "unexpected ')' at position 12",
            })
        );
    }

    #[test]
    fn body_without_scim_type_omits_the_key() {
        let body = Error::not_found("User 42 not found").to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn each_scim_type_maps_to_the_rfc_status() {
        assert_eq!(Error::uniqueness("dup").status, 409);
        assert_eq!(Error::new(ScimType::Sensitive, "x").status, 403);
        assert_eq!(Error::new(ScimType::InvalidVers, "x").status, 412);
        assert_eq!(Error::new(ScimType::TooMany, "x").status, 400);
        assert_eq!(ScimType::InvalidCount.as_str(), "invalidCount");
    }
}
