//! Attribute paths (RFC 7644 §3.10) and PATCH paths (§3.5.2: `attrPath / valuePath [subAttr]`).

use crate::error::{Result, ScimType};
use crate::filter::{Filter, parser};
use std::fmt;

/// `[URN ":"] ATTRNAME ["." subAttr]`, spelled as the client sent it until resolved against the
/// schema registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A core attribute without a sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// Parses one attribute path; the error says what is wrong with it.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (urn, rest) = match text.rfind(':') {
            Some(colon) => (Some(&text[..colon]), &text[colon + 1..]),
            None => (None, text),
        };
        if let Some(urn) = urn
            && (urn.is_empty() || !urn.chars().all(is_urn_char))
        {
            return Err(format!("'{text}' does not start with a valid schema URN"));
        }
        let (name, sub_attr) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        check_attr_name(name).map_err(|why| format!("attribute name in '{text}' {why}"))?;
        if let Some(sub) = sub_attr {
            check_attr_name(sub).map_err(|why| format!("sub-attribute in '{text}' {why}"))?;
        }
        Ok(Self {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }
}

/// Schema URNs are plain ASCII. `%` is refused too: it only appears in a URN here when a filter
/// was encoded twice, and accepting it would make a printed path decode differently.
fn is_urn_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '"' | '(' | ')' | '[' | ']' | '\\' | '%')
}

/// RFC 7643 §2.1: `ATTRNAME = ALPHA *(nameChar)`, plus the `$ref` sub-attribute of references.
pub(crate) fn check_attr_name(name: &str) -> std::result::Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("is empty"),
        Some(_) if name == "$ref" => Ok(()),
        Some(first) if !first.is_ascii_alphabetic() => Err("must start with a letter"),
        Some(_) if chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => Ok(()),
        Some(_) => {
            Err("may only contain letters, digits, '-' and '_' (or a '.' before one sub-attribute)")
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH `path`. With a value filter, `attr.sub_attr` is the sub-attribute after the `]`
/// (`emails[type eq "work"].value`); without one it is an ordinary attribute path.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a PATCH path; malformed input is a 400 `invalidPath` naming the position.
    pub fn parse(text: &str) -> Result<Self> {
        parser::parse_patch_path(text, ScimType::InvalidPath)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.filter {
            None => self.attr.fmt(f),
            Some(filter) => {
                if let Some(urn) = &self.attr.urn {
                    write!(f, "{urn}:")?;
                }
                write!(f, "{}[{filter}]", self.attr.name)?;
                if let Some(sub) = &self.attr.sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_path_splits_urn_at_the_last_colon() {
        let path = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .expect("valid");
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.name, "manager");
        assert_eq!(path.sub_attr.as_deref(), Some("value"));
    }

    #[test]
    fn attr_path_rejects_bad_names() {
        assert!(AttrPath::parse("").is_err());
        assert!(AttrPath::parse("1abc").is_err());
        assert!(AttrPath::parse("name.given.name").is_err());
        assert!(AttrPath::parse("na me").is_err());
        assert!(AttrPath::parse(":name").is_err());
        // Found by fuzzing: a '%' in the URN part would print as text that decodes differently.
        let error = PatchPath::parse("rn%2522:m.giv").unwrap_err();
        assert_eq!(error.scim_type, Some(crate::ScimType::InvalidPath));
        assert!(AttrPath::parse("members.$ref").is_ok());
    }

    #[test]
    fn patch_path_with_filter_and_sub_attribute_round_trips() {
        let text = r#"emails[type eq "work"].value"#;
        let path = PatchPath::parse(text).expect("valid");
        assert_eq!(path.attr.name, "emails");
        assert_eq!(path.attr.sub_attr.as_deref(), Some("value"));
        assert!(path.filter.is_some());
        assert_eq!(path.to_string(), text);
    }

    #[test]
    fn malformed_patch_paths_are_invalid_path_errors() {
        for bad in [
            "",
            "emails[",
            "emails[type eq \"work\"",
            "emails]",
            "a b",
            "emails[type eq]",
        ] {
            let error = PatchPath::parse(bad).expect_err(bad);
            assert_eq!(
                error.scim_type,
                Some(ScimType::InvalidPath),
                "{bad}: {error}"
            );
        }
    }
}
