//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with `returned` semantics:
//! `always` survives any selection, `never` is never shown, `request` only when named.

use crate::path::AttrPath;
use crate::schema::{Attribute, Container, Resolved, ResourceType, Returned};
use serde_json::{Map, Value};

/// What a request asked to see.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Selection,
    excluded: Selection,
}

#[derive(Debug, Clone, Default)]
struct Selection {
    paths: Vec<Resolved>,
    /// Whole extensions named by their URN.
    extensions: Vec<&'static str>,
}

impl Selection {
    fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.extensions.is_empty()
    }

    /// Names that resolve nowhere are ignored: a client asking for an attribute this server does
    /// not have simply does not get it.
    fn parse<'a>(names: impl IntoIterator<Item = &'a str>, resource_type: &ResourceType) -> Self {
        let mut selection = Self::default();
        for name in names
            .into_iter()
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            if let Some(extension) = resource_type.extension(name) {
                selection.extensions.push(extension.id);
            } else if let Some(resolved) = AttrPath::parse(name)
                .ok()
                .and_then(|path| resource_type.resolve(&path))
            {
                selection.paths.push(resolved);
            }
        }
        selection
    }

    fn names_whole(&self, container: Container, attribute: &Attribute) -> bool {
        let extension_named =
            matches!(container, Container::Extension(urn) if self.extensions.contains(&urn));
        extension_named
            || self.paths.iter().any(|p| {
                p.container == container
                    && p.attribute.name == attribute.name
                    && p.sub_attribute.is_none()
            })
    }

    fn named_subs(&self, container: Container, attribute: &Attribute) -> Vec<&'static str> {
        self.paths
            .iter()
            .filter(|p| p.container == container && p.attribute.name == attribute.name)
            .filter_map(|p| p.sub_attribute.map(|sub| sub.name))
            .collect()
    }
}

impl Projection {
    /// From the comma-separated query parameters.
    pub fn from_query(
        attributes: Option<&str>,
        excluded: Option<&str>,
        resource_type: &ResourceType,
    ) -> Self {
        Self {
            attributes: Selection::parse(attributes.unwrap_or("").split(','), resource_type),
            excluded: Selection::parse(excluded.unwrap_or("").split(','), resource_type),
        }
    }

    /// From the arrays of a `/.search` request body.
    pub fn from_lists(
        attributes: &[String],
        excluded: &[String],
        resource_type: &ResourceType,
    ) -> Self {
        Self {
            attributes: Selection::parse(attributes.iter().map(String::as_str), resource_type),
            excluded: Selection::parse(excluded.iter().map(String::as_str), resource_type),
        }
    }

    /// Neither `attributes` nor `excludedAttributes` named anything this server has: every
    /// attribute shows as its `returned` says.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Applies the projection to a full resource (with `id` and `meta`). When both lists are
    /// given, `attributes` decides and `excludedAttributes` is not consulted.
    pub fn apply(
        &self,
        resource: Map<String, Value>,
        resource_type: &ResourceType,
    ) -> Map<String, Value> {
        // Values are moved, not cloned: the resource is the caller's copy to give away.
        let mut out = Map::with_capacity(resource.len());
        for (key, value) in resource {
            if key == "schemas" {
                out.insert(key, value);
            } else if let Some(schema) = resource_type.extension(&key) {
                let members = match value {
                    Value::Object(members) => {
                        self.members(members, Container::Extension(schema.id), |name| {
                            schema.attribute(name)
                        })
                    }
                    _ => Map::new(),
                };
                if !members.is_empty() {
                    out.insert(key, Value::Object(members));
                }
            } else if let Some(attribute) = resource_type
                .resolve(&AttrPath::new(&key))
                .map(|resolved| resolved.attribute)
                && let Some(kept) = self.attribute(Container::Root, attribute, value)
            {
                out.insert(key, kept);
            }
        }
        // Keep `schemas` truthful: an extension that was projected away is not listed.
        let projected_away = |urn: &Value| {
            urn.as_str()
                .is_some_and(|urn| resource_type.extension(urn).is_some() && !out.contains_key(urn))
        };
        if let Some(Value::Array(urns)) = out.get("schemas")
            && urns.iter().any(projected_away)
        {
            let kept: Vec<Value> = urns
                .iter()
                .filter(|urn| !projected_away(urn))
                .cloned()
                .collect();
            out.insert("schemas".into(), Value::Array(kept));
        }
        out
    }

    fn members(
        &self,
        members: Map<String, Value>,
        container: Container,
        lookup: impl Fn(&str) -> Option<&'static Attribute>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, value) in members {
            let Some(attribute) = lookup(&name) else {
                continue;
            };
            if let Some(value) = self.attribute(container, attribute, value) {
                out.insert(name, value);
            }
        }
        out
    }

    fn attribute(
        &self,
        container: Container,
        attribute: &'static Attribute,
        value: Value,
    ) -> Option<Value> {
        match attribute.returned {
            Returned::Never => return None,
            Returned::Always => return Some(value),
            Returned::Default | Returned::Request => {}
        }
        if !self.attributes.is_empty() {
            if self.attributes.names_whole(container, attribute) {
                return Some(value);
            }
            let subs = self.attributes.named_subs(container, attribute);
            if subs.is_empty() {
                return None;
            }
            return restrict(attribute, value, |sub| {
                subs.contains(&sub.name) || sub.returned == Returned::Always
            });
        }
        if attribute.returned == Returned::Request
            || self.excluded.names_whole(container, attribute)
        {
            return None;
        }
        let excluded = self.excluded.named_subs(container, attribute);
        restrict(attribute, value, |sub| {
            sub.returned == Returned::Always
                || (sub.returned == Returned::Default && !excluded.contains(&sub.name))
        })
    }
}

/// Keeps only the chosen sub-attributes of a complex value (of each element when multi-valued);
/// `None` when nothing is left. Simple values pass through.
fn restrict(
    attribute: &'static Attribute,
    value: Value,
    keep: impl Fn(&Attribute) -> bool,
) -> Option<Value> {
    if !attribute.is_complex() {
        return Some(value);
    }
    let element = |element: Value| -> Option<Value> {
        let Value::Object(mut members) = element else {
            return None;
        };
        members.retain(|name, _| attribute.sub_attribute(name).is_some_and(&keep));
        (!members.is_empty()).then_some(Value::Object(members))
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(element).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => element(other),
    }
}
