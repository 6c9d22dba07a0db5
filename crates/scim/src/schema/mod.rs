//! The schema registry: attribute characteristics (RFC 7643 §2, §7) for the User resource type,
//! case-insensitive name resolution, and the JSON forms served under `/Schemas`.

pub mod attribute;
pub mod user;

pub use attribute::{AttrType, Attribute, Mutability, Returned, Uniqueness};

use crate::path::AttrPath;
use serde_json::{Value, json};

/// One schema (core or extension) and its attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
    /// An open schema accepts keys it does not define (the inSync extension's custom attributes).
    pub open: bool,
}

impl Schema {
    /// Finds an attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §7 Schema resource.
    pub fn to_json(&self, base_url: &str) -> Value {
        let attributes: Vec<Value> = self.attributes.iter().map(Attribute::to_json).collect();
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }
}

/// A resource type: its core schema and the extensions it accepts.
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub core: &'static Schema,
    pub extensions: &'static [&'static Schema],
}

/// The only resource type scimd manages (groups are not, SPEC §3).
pub static USER: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    core: &user::CORE_USER,
    extensions: &[&user::ENTERPRISE_USER, &user::INSYNC_USER],
};

/// Where an attribute's value lives in a resource document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A common or core attribute: a top-level key.
    Root,
    /// An extension attribute: a key of the object under the extension's URN.
    Extension(&'static str),
}

/// An attribute path resolved against the registry, with canonical names.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub container: Container,
    pub attribute: &'static Attribute,
    pub sub_attribute: Option<&'static Attribute>,
}

impl Resolved {
    /// The definition of what the path designates: the sub-attribute when there is one.
    pub fn target(&self) -> &'static Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }

    /// The path spelled with canonical names (extension attributes URN-qualified).
    pub fn canonical_path(&self) -> AttrPath {
        AttrPath {
            urn: match self.container {
                Container::Root => None,
                Container::Extension(urn) => Some(urn.to_owned()),
            },
            name: self.attribute.name.to_owned(),
            sub_attr: self.sub_attribute.map(|sub| sub.name.to_owned()),
        }
    }

    /// Whether the value is the multi-valued attribute itself (not one of its sub-attributes).
    pub fn is_multi_valued(&self) -> bool {
        self.sub_attribute.is_none() && self.attribute.multi_valued
    }
}

impl ResourceType {
    /// The extension with this URN (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions
            .iter()
            .copied()
            .find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema URN the resource type knows, core first.
    pub fn schema_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.core.id).chain(self.extensions.iter().map(|schema| schema.id))
    }

    /// Resolves a path case-insensitively. Unqualified names are looked up among the common
    /// attributes, then the core schema, then the extensions in order, so that IdPs may send
    /// `manager` for the enterprise extension's attribute (Entra does). Returns `None` for an
    /// attribute no schema defines, including the open extension's custom keys.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved> {
        let (container, attribute) = match path.urn.as_deref() {
            Some(urn) if urn.eq_ignore_ascii_case(self.core.id) => {
                (Container::Root, self.root_attribute(&path.name)?)
            }
            Some(urn) => {
                let schema = self.extension(urn)?;
                (
                    Container::Extension(schema.id),
                    schema.attribute(&path.name)?,
                )
            }
            None => self
                .root_attribute(&path.name)
                .map(|a| (Container::Root, a))
                .or_else(|| {
                    self.extensions.iter().find_map(|schema| {
                        schema
                            .attribute(&path.name)
                            .map(|a| (Container::Extension(schema.id), a))
                    })
                })?,
        };
        let sub_attribute = match path.sub_attr.as_deref() {
            None => None,
            Some(sub) => Some(attribute.sub_attribute(sub)?),
        };
        Some(Resolved {
            container,
            attribute,
            sub_attribute,
        })
    }

    fn root_attribute(&self, name: &str) -> Option<&'static Attribute> {
        user::COMMON
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
            .or_else(|| self.core.attribute(name))
    }

    /// The RFC 7643 §6 ResourceType resource.
    pub fn to_json(&self, base_url: &str) -> Value {
        let extensions: Vec<Value> = self
            .extensions
            .iter()
            .map(|schema| json!({ "schema": schema.id, "required": false }))
            .collect();
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "schemaExtensions": extensions,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttrPath {
        AttrPath::parse(text).expect("valid path")
    }

    #[test]
    fn names_resolve_case_insensitively_to_canonical_spelling() {
        let resolved = USER.resolve(&path("NAME.GIVENname")).expect("known");
        assert_eq!(resolved.canonical_path().to_string(), "name.givenName");
        assert_eq!(resolved.container, Container::Root);
    }

    #[test]
    fn unqualified_manager_resolves_to_the_enterprise_extension() {
        let resolved = USER.resolve(&path("manager")).expect("known");
        assert_eq!(
            resolved.container,
            Container::Extension(user::ENTERPRISE_USER_URN)
        );
    }

    #[test]
    fn urn_qualified_names_resolve_only_in_their_own_schema() {
        let enterprise = format!("{}:department", user::ENTERPRISE_USER_URN);
        let insync = format!("{}:department", user::INSYNC_USER_URN.to_lowercase());
        let core = format!("{}:department", user::CORE_USER_URN);
        assert_eq!(
            USER.resolve(&path(&enterprise)).expect("known").container,
            Container::Extension(user::ENTERPRISE_USER_URN)
        );
        assert_eq!(
            USER.resolve(&path(&insync)).expect("known").container,
            Container::Extension(user::INSYNC_USER_URN)
        );
        assert!(USER.resolve(&path(&core)).is_none());
    }

    #[test]
    fn common_attributes_resolve_with_or_without_the_core_urn() {
        assert!(USER.resolve(&path("id")).is_some());
        assert!(USER.resolve(&path("meta.lastModified")).is_some());
        assert!(
            USER.resolve(&path(&format!("{}:externalId", user::CORE_USER_URN)))
                .is_some()
        );
    }

    #[test]
    fn unknown_attributes_and_sub_attributes_do_not_resolve() {
        assert!(USER.resolve(&path("shoeSize")).is_none());
        assert!(USER.resolve(&path("name.nickname")).is_none());
        assert!(
            USER.resolve(&path("urn:example:ext:1.0:User:foo"))
                .is_none()
        );
    }
}
