//! PATCH (RFC 7644 §3.5.2): operations applied in order to a working copy, all or nothing.
//!
//! Tolerated IdP shapes (idp/README.md §1.2, §2, §5): `op` in any case (`Replace`), booleans as
//! strings (`"False"`), path-less values whose keys are dotted or URN-qualified paths, `manager`
//! as a bare id, an object or a one-element array, `remove` with a value list, `add`/`replace`
//! on a filtered path that matches nothing (the element is created), and `replace` with an empty
//! value meaning `remove`.

mod apply;
mod slots;

use crate::error::{Error, Result};
use crate::filter::{CompValue, CompareOp, ElementFilter, Filter, ResolvedFilter};
use crate::normalise::{Normalised, check_value_count, normalise_resource};
use crate::path::{AttrPath, PatchPath};
use crate::schema::{Attribute, Container, Mutability, ResourceType};
use serde_json::{Map, Value};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations one request may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// What an operation's `path` designates.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// No path: the value is a map of attribute paths to values.
    Resource,
    /// The path is an extension's URN: the value is a map of its attributes.
    Extension(&'static str),
    Path(PatchPath),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub target: Target,
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<Operation>,
}

impl PatchRequest {
    /// Parses a PatchOp body; every malformation is a 400 naming the operation at fault.
    pub fn parse(body: &Value, resource_type: &ResourceType) -> Result<Self> {
        let Value::Object(body) = body else {
            return Err(Error::invalid_syntax(
                "a PATCH body must be a JSON object with 'Operations'",
            ));
        };
        let operations = body
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("Operations"))
            .map(|(_, value)| value);
        let Some(Value::Array(operations)) = operations else {
            return Err(Error::invalid_syntax(
                "a PATCH body needs an 'Operations' array",
            ));
        };
        if operations.is_empty() {
            return Err(Error::invalid_syntax(
                "'Operations' is empty: nothing to do",
            ));
        }
        if operations.len() > MAX_OPERATIONS {
            return Err(Error::invalid_value(format!(
                "{} operations in one PATCH; the limit is {MAX_OPERATIONS}",
                operations.len()
            )));
        }
        let operations = operations
            .iter()
            .enumerate()
            .map(|(index, op)| {
                parse_operation(op, resource_type).map_err(|e| at_operation(index, e))
            })
            .collect::<Result<_>>()?;
        Ok(Self { operations })
    }
}

fn at_operation(index: usize, error: Error) -> Error {
    Error {
        detail: format!("operation {}: {}", index + 1, error.detail),
        ..error
    }
}

fn member<'a>(op: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    op.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn parse_operation(op: &Value, resource_type: &ResourceType) -> Result<Operation> {
    let Value::Object(op) = op else {
        return Err(Error::invalid_syntax(
            "each operation must be a JSON object",
        ));
    };
    let kind = match member(op, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => {
            return Err(Error::invalid_syntax(format!(
                "'op' must be \"add\", \"replace\" or \"remove\", not {}",
                member(op, "op").map_or_else(|| "missing".to_owned(), Value::to_string)
            )));
        }
    };
    let target = match member(op, "path") {
        None | Some(Value::Null) => Target::Resource,
        Some(Value::String(path)) if path.trim().is_empty() => Target::Resource,
        Some(Value::String(path)) => match resource_type.extension(path.trim()) {
            Some(schema) => Target::Extension(schema.id),
            None => Target::Path(PatchPath::parse(path.trim())?),
        },
        Some(other) => {
            return Err(Error::invalid_path(format!(
                "'path' must be a string, not {other}"
            )));
        }
    };
    let value = member(op, "value")
        .filter(|value| !value.is_null())
        .cloned();
    match (kind, &target, &value) {
        (OpKind::Remove, Target::Resource, _) => Err(Error::no_target(
            "'remove' needs a 'path' naming what to remove",
        )),
        (OpKind::Add, _, None) => Err(Error::invalid_value("'add' needs a 'value'")),
        _ => Ok(Operation {
            kind,
            target,
            value,
        }),
    }
}

/// The outcome of a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    /// The new resource document, normalised like a PUT body.
    pub resource: Map<String, Value>,
    /// Whether anything changed (an unchanged resource keeps its version).
    pub changed: bool,
    /// What was ignored or rewritten, for the debug log.
    pub notes: Vec<String>,
}

/// Applies a PATCH to a resource document (as stored: `id` and `meta`, when present, are read to
/// recognise echoes and are not part of the result). Either every operation applies, or the
/// error of the first that cannot is returned and nothing changes.
pub fn apply(
    resource: &Map<String, Value>,
    request: &PatchRequest,
    resource_type: &ResourceType,
) -> Result<Patched> {
    let mut document = resource.clone();
    let mut notes = Vec::new();
    for (index, operation) in request.operations.iter().enumerate() {
        let mut patcher = apply::Patcher {
            document: &mut document,
            resource_type,
            notes: &mut notes,
        };
        patcher
            .operation(operation)
            .and_then(|()| check_value_counts(&document))
            .map_err(|e| at_operation(index, e))?;
    }
    let Normalised {
        resource: patched,
        notes: more_notes,
        ..
    } = normalise_resource(
        &Value::Object(without_server_attributes(document)),
        resource_type,
    )?;
    notes.extend(more_notes);
    // The stored document is normalised already, so plain equality (of everything but the
    // server's attributes, compared in place rather than on a copy) tells whether anything
    // changed.
    let given = resource.iter().filter(|(key, _)| !is_server_attribute(key));
    let changed = given.clone().count() != patched.len()
        || given
            .into_iter()
            .any(|(key, value)| patched.get(key) != Some(value));
    Ok(Patched {
        resource: patched,
        changed,
        notes,
    })
}

/// Each operation leaves every multi-valued attribute within
/// [`MAX_VALUES`](crate::normalise::MAX_VALUES): operations that
/// each add values cannot grow one past it on the way to the end (where every later operation
/// would then compare against all of them).
fn check_value_counts(document: &Map<String, Value>) -> Result<()> {
    for (key, value) in document {
        match value {
            Value::Array(items) => check_value_count(key, items.len())?,
            // An extension's attributes.
            Value::Object(members) if key.contains(':') => {
                for (name, member) in members {
                    if let Value::Array(items) = member {
                        check_value_count(&format!("{key}:{name}"), items.len())?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `id` and `meta` belong to the server, not to the document a PATCH produces.
fn without_server_attributes(mut document: Map<String, Value>) -> Map<String, Value> {
    document.retain(|key, _| !is_server_attribute(key));
    document
}

fn is_server_attribute(key: &str) -> bool {
    key == "id" || key == "meta"
}

/// The attribute a path designates, resolved; `None` for attributes no schema defines.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub container: Container,
    pub attribute: &'static Attribute,
    pub sub_attribute: Option<&'static Attribute>,
    /// The value filter, resolved relative to `attribute`.
    pub filter: Option<ElementFilter>,
    pub label: String,
}

pub(crate) fn locate(path: &PatchPath, resource_type: &ResourceType) -> Result<Option<Located>> {
    let top = AttrPath {
        sub_attr: None,
        ..path.attr.clone()
    };
    let Some(resolved) = resource_type.resolve(&top) else {
        return Ok(None);
    };
    let sub_attribute = match path.attr.sub_attr.as_deref() {
        None => None,
        Some(sub) => match resolved.attribute.sub_attribute(sub) {
            Some(sub) => Some(sub),
            None => return Ok(None),
        },
    };
    let filter = match &path.filter {
        None => None,
        Some(filter) => {
            if !resolved.attribute.is_complex() {
                return Err(Error::invalid_path(format!(
                    "'{path}': '{}' is not complex, so it takes no value filter",
                    resolved.attribute.name
                )));
            }
            match Filter::ValuePath(top, Box::new(filter.clone())).resolve(resource_type) {
                Ok(ResolvedFilter::ValuePath(_, inner)) => Some(*inner),
                Ok(_) => None,
                Err(error) => {
                    return Err(Error::invalid_path(format!("'{path}': {}", error.detail)));
                }
            }
        }
    };
    Ok(Some(Located {
        container: resolved.container,
        attribute: resolved.attribute,
        sub_attribute,
        filter,
        label: path.to_string(),
    }))
}

/// The sub-attribute values a filter pins with `eq` (`type eq "work"`), used to build the
/// element an `add` or `replace` creates when nothing matches.
pub(crate) fn seed_from_filter(filter: &ElementFilter, seed: &mut Map<String, Value>) {
    match filter {
        ElementFilter::Compare(sub, CompareOp::Eq, value) => {
            let json = match value {
                CompValue::String(text) => Value::String(text.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return,
            };
            seed.insert(sub.name.to_owned(), json);
        }
        ElementFilter::And(operands) => operands
            .iter()
            .for_each(|operand| seed_from_filter(operand, seed)),
        ElementFilter::Compare(..)
        | ElementFilter::Present(_)
        | ElementFilter::Not(_)
        | ElementFilter::Or(_) => {}
    }
}

/// Attributes a client may echo back unchanged: accepted and ignored.
pub(crate) fn is_echo_only(attribute: &Attribute) -> bool {
    matches!(attribute.name, "id" | "meta" | "schemas")
}

pub(crate) fn writable(attribute: &Attribute) -> bool {
    attribute.mutability != Mutability::ReadOnly
}
