//! POST/PUT bodies (and PATCH results) checked against the schema and brought to one canonical
//! form. IdP quirks are absorbed here, each one recorded as a note for the debug log:
//! `null` means absent, booleans may arrive as `"True"`, a single-valued complex attribute may
//! arrive as a bare string or a one-element array, readOnly input and `password` are ignored,
//! unknown schema URNs are ignored, and unknown keys become custom attributes (SPEC R-44) that
//! classify a new user and are then discarded.

use crate::datetime;
use crate::error::{Error, Result};
use crate::filter::eval::is_present;
use crate::path::AttrPath;
use crate::schema::{
    AttrType, Attribute, Container, Mutability, ResourceType, Returned, Schema, user,
};
use crate::text;
use serde_json::{Map, Value};

/// Values one multi-valued attribute may hold. IdPs send a handful (Entra and Okta: a few
/// emails, phone numbers, addresses); the bound keeps every operation on a user, a PATCH value
/// filter or a filter over `emails` in the database, proportional to a small number.
pub const MAX_VALUES: usize = 100;

/// A checked resource document and what was set aside on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalised {
    /// Canonical names and key order; `schemas` computed; no `id`, `meta` or `password`.
    pub resource: Map<String, Value>,
    /// Attributes no schema stores, kept only to evaluate mappings at creation.
    pub custom: CustomAttributes,
    /// What was ignored or rewritten, for the debug log.
    pub notes: Vec<String>,
}

/// Custom attributes by origin, in the lookup order of SPEC R-26.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomAttributes {
    /// Keys under the inSync extension other than `userPrincipalName`.
    pub insync: Map<String, Value>,
    /// Top-level keys no schema defines (Okta's `countryCode`, ...).
    pub top_level: Map<String, Value>,
}

/// Checks and canonicalises a resource body.
pub fn normalise_resource(body: &Value, resource_type: &ResourceType) -> Result<Normalised> {
    let Value::Object(input) = body else {
        return Err(Error::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut out = Normalised::default();
    let mut root = Map::new();
    let mut extensions: Vec<(&'static Schema, Map<String, Value>)> = resource_type
        .extensions
        .iter()
        .map(|schema| (*schema, Map::new()))
        .collect();

    for (key, value) in input {
        if value.is_null() {
            continue;
        }
        if let Some(index) = extensions
            .iter()
            .position(|(schema, _)| schema.id.eq_ignore_ascii_case(key))
        {
            let Value::Object(members) = value else {
                return Err(Error::invalid_value(format!(
                    "'{key}' must be a JSON object of extension attributes"
                )));
            };
            let (schema, target) = &mut extensions[index];
            for (name, member) in members {
                let label = format!("{}:{name}", schema.id);
                let declared = schema.attribute(name);
                match declared {
                    // An open schema's custom attributes, declared or not, are never stored: they
                    // only classify a new user.
                    Some(attribute) if !(schema.open && attribute.returned == Returned::Never) => {
                        put(target, attribute, member, &label, &mut out.notes)?;
                    }
                    _ if schema.open => {
                        if !member.is_null() {
                            let name = declared.map_or(name.as_str(), |a| a.name);
                            out.custom.insync.insert(name.to_owned(), member.clone());
                        }
                    }
                    _ => out
                        .notes
                        .push(format!("ignored unknown attribute '{label}'")),
                }
            }
            continue;
        }
        if key.eq_ignore_ascii_case("schemas") {
            note_unknown_schemas(value, resource_type, &mut out.notes);
            continue;
        }
        match root_attribute(resource_type, key) {
            Some((Container::Root, attribute)) => {
                put(&mut root, attribute, value, key, &mut out.notes)?
            }
            Some((Container::Extension(urn), attribute)) => {
                if let Some((_, target)) =
                    extensions.iter_mut().find(|(schema, _)| schema.id == urn)
                {
                    put(target, attribute, value, key, &mut out.notes)?;
                }
            }
            None if key.contains(':') => out
                .notes
                .push(format!("ignored unknown schema or attribute '{key}'")),
            None => {
                out.custom.top_level.insert(key.clone(), value.clone());
            }
        }
    }

    for attribute in resource_type.core.attributes.iter().filter(|a| a.required) {
        if !root.get(attribute.name).is_some_and(is_present) {
            return Err(Error::invalid_value(format!(
                "'{}' is required",
                attribute.name
            )));
        }
    }
    out.resource = assemble(resource_type, root, extensions);
    Ok(out)
}

/// A top-level key: a common or core attribute by name, or a URN-qualified attribute path.
fn root_attribute(
    resource_type: &ResourceType,
    key: &str,
) -> Option<(Container, &'static Attribute)> {
    if key.contains(':') {
        let resolved = resource_type.resolve(&AttrPath::parse(key).ok()?)?;
        return resolved
            .sub_attribute
            .is_none()
            .then_some((resolved.container, resolved.attribute));
    }
    let path = AttrPath::new(key);
    resource_type
        .resolve(&path)
        .filter(|resolved| resolved.container == Container::Root)
        .map(|resolved| (Container::Root, resolved.attribute))
}

fn note_unknown_schemas(value: &Value, resource_type: &ResourceType, notes: &mut Vec<String>) {
    for urn in value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !resource_type
            .schema_ids()
            .any(|known| known.eq_ignore_ascii_case(urn))
        {
            notes.push(format!("ignored unknown schema '{urn}'"));
        }
    }
}

/// Canonical key order: schemas, common attributes, core attributes, then extensions, each in
/// schema order.
fn assemble(
    resource_type: &ResourceType,
    mut root: Map<String, Value>,
    extensions: Vec<(&'static Schema, Map<String, Value>)>,
) -> Map<String, Value> {
    let mut schemas = vec![Value::from(resource_type.core.id)];
    let mut resource = Map::new();
    resource.insert("schemas".into(), Value::Null);
    for attribute in user::COMMON.iter().chain(resource_type.core.attributes) {
        if let Some(value) = root.remove(attribute.name) {
            resource.insert(attribute.name.into(), value);
        }
    }
    for (schema, mut members) in extensions {
        if members.is_empty() {
            continue;
        }
        let mut ordered = Map::new();
        for attribute in schema.attributes {
            if let Some(value) = members.remove(attribute.name) {
                ordered.insert(attribute.name.into(), value);
            }
        }
        schemas.push(schema.id.into());
        resource.insert(schema.id.into(), Value::Object(ordered));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    resource
}

/// Stores one attribute's value under its canonical name, unless the client may not set it.
fn put(
    target: &mut Map<String, Value>,
    attribute: &'static Attribute,
    value: &Value,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<()> {
    if attribute.mutability == Mutability::ReadOnly {
        notes.push(format!("ignored readOnly attribute '{label}'"));
        return Ok(());
    }
    if attribute.returned == Returned::Never {
        notes.push(format!("dropped '{label}': never stored"));
        return Ok(());
    }
    match attribute_value(attribute, value, label, notes)? {
        Some(value) => target.insert(attribute.name.into(), value),
        None => target.remove(attribute.name),
    };
    Ok(())
}

/// Checks a whole attribute value (all of a multi-valued attribute). `None` means unassigned:
/// null, an empty array, or a complex value with no present sub-attribute.
pub fn attribute_value(
    attribute: &'static Attribute,
    value: &Value,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Value>> {
    if !attribute.multi_valued {
        return match value {
            Value::Array(items) if items.len() <= 1 => match items.first() {
                Some(item) => {
                    notes.push(format!(
                        "unwrapped the one-element array sent for single-valued '{label}'"
                    ));
                    single_value(attribute, item, label, notes)
                }
                None => Ok(None),
            },
            Value::Array(_) => Err(Error::invalid_value(format!(
                "'{label}' is single-valued but an array was sent"
            ))),
            other => single_value(attribute, other, label, notes),
        };
    }
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => {
            notes.push(format!(
                "wrapped the single value sent for multi-valued '{label}'"
            ));
            vec![single]
        }
    };
    check_value_count(label, items.len())?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        if let Some(item) = single_value(attribute, item, &format!("{label}[{index}]"), notes)? {
            out.push(item);
        }
    }
    keep_one_primary(&mut out, label, notes);
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Refuses more than [`MAX_VALUES`] values for one attribute.
pub fn check_value_count(label: &str, count: usize) -> Result<()> {
    if count > MAX_VALUES {
        return Err(Error::invalid_value(format!(
            "'{label}' holds {count} values; the limit is {MAX_VALUES}"
        )));
    }
    Ok(())
}

/// RFC 7643 §2.4: "primary" is true for at most one value. The first one sent wins.
fn keep_one_primary(items: &mut [Value], label: &str, notes: &mut Vec<String>) {
    let mut seen = false;
    for item in items.iter_mut() {
        if let Some(primary) = item.get_mut("primary").filter(|p| **p == Value::Bool(true)) {
            if seen {
                *primary = Value::Bool(false);
                notes.push(format!(
                    "'{label}' had more than one primary value; kept the first"
                ));
            }
            seen = true;
        }
    }
}

/// Checks one value (one element of a multi-valued attribute) against its type.
pub fn single_value(
    attribute: &'static Attribute,
    value: &Value,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Value>> {
    let wrong = |expected: &str| {
        Err(Error::invalid_value(format!(
            "'{label}' must be {expected}, not {}",
            describe(value)
        )))
    };
    match (attribute.ty, value) {
        (_, Value::Null) => Ok(None),
        (AttrType::Complex, Value::Object(members)) => {
            complex_value(attribute, members, label, notes)
        }
        // Entra sends `manager` as a bare id: it is the value sub-attribute.
        (AttrType::Complex, Value::String(text)) if attribute.sub_attribute("value").is_some() => {
            notes.push(format!("read the string sent for '{label}' as its 'value'"));
            let mut members = Map::new();
            members.insert("value".into(), Value::String(text.clone()));
            complex_value(attribute, &members, label, notes)
        }
        (AttrType::Complex, _) => wrong("a JSON object"),
        (AttrType::Boolean, Value::Bool(_)) => Ok(Some(value.clone())),
        (AttrType::Boolean, Value::String(text)) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(Value::Bool(true))),
            "false" => Ok(Some(Value::Bool(false))),
            _ => wrong("a boolean"),
        },
        (AttrType::Boolean, _) => wrong("a boolean"),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            Ok(Some(value.clone()))
        }
        (AttrType::Integer, _) => wrong("an integer"),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(value.clone())),
        (AttrType::Decimal, _) => wrong("a number"),
        (AttrType::DateTime, Value::String(text)) if datetime::parse(text).is_some() => {
            Ok(Some(value.clone()))
        }
        (AttrType::DateTime, _) => wrong("an xsd:dateTime string such as \"2011-05-13T04:42:34Z\""),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(text)) => {
            text::check_no_control(text, attribute.line_breaks, label)?;
            Ok(Some(value.clone()))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => wrong("a string"),
    }
}

fn complex_value(
    attribute: &'static Attribute,
    members: &Map<String, Value>,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Value>> {
    let mut checked = Map::new();
    for sub in attribute.sub_attributes {
        // Case-insensitive names: take the last key that spells this sub-attribute.
        let Some((key, value)) = members
            .iter()
            .rfind(|(key, _)| key.eq_ignore_ascii_case(sub.name))
        else {
            continue;
        };
        let sub_label = format!("{label}.{}", sub.name);
        if sub.mutability == Mutability::ReadOnly {
            notes.push(format!("ignored readOnly sub-attribute '{sub_label}'"));
            continue;
        }
        if key != sub.name {
            notes.push(format!("renamed '{label}.{key}' to '{sub_label}'"));
        }
        if let Some(value) = single_value(sub, value, &sub_label, notes)? {
            checked.insert(sub.name.into(), value);
        }
    }
    for key in members
        .keys()
        .filter(|key| attribute.sub_attribute(key).is_none())
    {
        notes.push(format!("ignored unknown sub-attribute '{label}.{key}'"));
    }
    Ok(checked
        .values()
        .any(is_present)
        .then_some(Value::Object(checked)))
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".into(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
