//! The case-folded search copy of a resource: every string of a caseExact=false attribute
//! folded with [`fold_case`], caseExact strings untouched. Databases compare against this copy,
//! so case-insensitive matching is decided here, in Rust, the same way on every backend.

use crate::filter::fold_case;
use crate::schema::{AttrType, Attribute, ResourceType, user};
use serde_json::{Map, Value};

pub fn case_folded(
    resource: &Map<String, Value>,
    resource_type: &ResourceType,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in resource {
        let folded = if let Some(schema) = resource_type.extension(key) {
            match value {
                Value::Object(members) => {
                    Value::Object(fold_members(members, |name| schema.attribute(name)))
                }
                other => other.clone(),
            }
        } else {
            let lookup = |name: &str| {
                user::COMMON
                    .iter()
                    .find(|a| a.name == name)
                    .or_else(|| resource_type.core.attribute(name))
            };
            match lookup(key) {
                Some(attribute) => fold_value(attribute, value),
                None => value.clone(),
            }
        };
        out.insert(key.clone(), folded);
    }
    out
}

fn fold_members(
    members: &Map<String, Value>,
    lookup: impl Fn(&str) -> Option<&'static Attribute>,
) -> Map<String, Value> {
    members
        .iter()
        .map(|(name, value)| {
            let folded = lookup(name)
                .map_or_else(|| value.clone(), |attribute| fold_value(attribute, value));
            (name.clone(), folded)
        })
        .collect()
}

fn fold_value(attribute: &'static Attribute, value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fold_value(attribute, item))
                .collect(),
        ),
        Value::Object(members) if attribute.ty == AttrType::Complex => {
            Value::Object(fold_members(members, |name| attribute.sub_attribute(name)))
        }
        Value::String(text) if !attribute.case_exact && attribute.ty == AttrType::String => {
            Value::String(fold_case(text))
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER;
    use serde_json::json;

    #[test]
    fn folds_only_case_insensitive_strings() {
        let resource = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": "AbC",
            "userName": "Ünïcode@Example.COM",
            "emails": [{"value": "A@B.C", "type": "Work", "primary": true}],
            "profileUrl": "https://X/Y",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "M1"}}
        });
        let folded = case_folded(resource.as_object().expect("object"), &USER);
        assert_eq!(folded["externalId"], "AbC");
        assert_eq!(folded["userName"], "ünïcode@example.com");
        assert_eq!(
            folded["emails"],
            json!([{"value": "a@b.c", "type": "work", "primary": true}])
        );
        assert_eq!(folded["profileUrl"], "https://X/Y");
        assert_eq!(
            folded["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "r&d"
        );
        assert_eq!(
            folded["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
            "m1"
        );
    }
}
