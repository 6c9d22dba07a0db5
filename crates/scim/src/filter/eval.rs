//! In-memory evaluation of a resolved filter against a resource document: used for PATCH value
//! filters and as the oracle the SQL lowering is tested against.
//!
//! Semantics: a comparison on a multi-valued attribute holds when any value satisfies it; `ne`
//! is the negation of `eq` (so it holds for an absent attribute); `eq null` means absent.

use super::ast::{CompValue, CompareOp, Filter};
use crate::datetime;
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Container, ResourceType};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Whether `resource` matches `filter` (which should come from [`super::Filter::parse_for`];
/// an attribute the registry does not know simply matches nothing).
pub fn matches(
    filter: &Filter,
    resource: &Map<String, Value>,
    resource_type: &ResourceType,
) -> bool {
    Scope::Resource(resource, resource_type).test(filter)
}

/// Whether one element of a complex attribute (for example one email) matches a value filter
/// whose names are sub-attributes of `parent`.
pub fn element_matches(filter: &Filter, element: &Value, parent: &'static Attribute) -> bool {
    Scope::Element(element, parent).test(filter)
}

#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a Map<String, Value>, &'a ResourceType),
    Element(&'a Value, &'static Attribute),
}

impl<'a> Scope<'a> {
    fn test(self, filter: &Filter) -> bool {
        match filter {
            Filter::Present(path) => self
                .values(path)
                .is_some_and(|(values, _)| values.iter().any(|v| is_present(v))),
            Filter::Compare(path, op, value) => match self.values(path) {
                Some((values, attribute)) => compare_any(&values, attribute, *op, value),
                None => false,
            },
            Filter::ValuePath(path, inner) => self.value_path(path, inner),
            Filter::Not(inner) => !self.test(inner),
            Filter::And(operands) => operands.iter().all(|operand| self.test(operand)),
            Filter::Or(operands) => operands.iter().any(|operand| self.test(operand)),
        }
    }

    /// The values a path designates, flattened over multi-valued attributes, with the definition
    /// they are compared by. `None` when the path is unknown.
    fn values(self, path: &AttrPath) -> Option<(Vec<&'a Value>, &'static Attribute)> {
        match self {
            Scope::Element(element, parent) => {
                let sub = parent.sub_attribute(&path.name)?;
                Some((element.get(sub.name).into_iter().collect(), sub))
            }
            Scope::Resource(resource, resource_type) => {
                let resolved = resource_type.resolve(path)?;
                let top = container(resource, resolved.container)
                    .and_then(|c| c.get(resolved.attribute.name));
                let mut values = Vec::new();
                for item in top.into_iter().flat_map(elements) {
                    match resolved.sub_attribute {
                        Some(sub) => values.extend(item.get(sub.name)),
                        None => values.push(item),
                    }
                }
                Some((values, resolved.target()))
            }
        }
    }

    fn value_path(self, path: &AttrPath, inner: &Filter) -> bool {
        let Scope::Resource(resource, resource_type) = self else {
            return false;
        };
        let Some(resolved) = resource_type.resolve(path) else {
            return false;
        };
        container(resource, resolved.container)
            .and_then(|c| c.get(resolved.attribute.name))
            .into_iter()
            .flat_map(elements)
            .any(|element| element_matches(inner, element, resolved.attribute))
    }
}

/// The object holding an attribute: the resource itself or its extension object.
pub(crate) fn container(
    resource: &Map<String, Value>,
    container: Container,
) -> Option<&Map<String, Value>> {
    match container {
        Container::Root => Some(resource),
        Container::Extension(urn) => resource.get(urn).and_then(Value::as_object),
    }
}

/// A multi-valued attribute's elements, or a single value as one element.
fn elements(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        other => Box::new(std::iter::once(other)),
    }
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex value with a non-empty node.
pub(crate) fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_any(
    values: &[&Value],
    attribute: &Attribute,
    op: CompareOp,
    expected: &CompValue,
) -> bool {
    match (op, expected) {
        (CompareOp::Eq, CompValue::Null) => !values.iter().any(|v| is_present(v)),
        (CompareOp::Ne, CompValue::Null) => values.iter().any(|v| is_present(v)),
        (CompareOp::Ne, _) => !values
            .iter()
            .any(|v| compare(v, attribute, CompareOp::Eq, expected)),
        _ => values.iter().any(|v| compare(v, attribute, op, expected)),
    }
}

/// Compares one stored value with a filter literal by the attribute's type.
fn compare(actual: &Value, attribute: &Attribute, op: CompareOp, expected: &CompValue) -> bool {
    match (attribute.ty, actual, expected) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Number(b)) => {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a
                    .partial_cmp(&b)
                    .is_some_and(|order| ordering_holds(op, order)),
                _ => false,
            }
        }
        (AttrType::DateTime, Value::String(a), CompValue::String(b)) => {
            match (datetime::parse(a), datetime::parse(b)) {
                (Some(a), Some(b)) => ordering_holds(op, a.cmp(&b)),
                _ => false,
            }
        }
        (
            AttrType::String | AttrType::Reference | AttrType::Binary,
            Value::String(a),
            CompValue::String(b),
        ) => {
            if attribute.case_exact {
                compare_text(a, b, op)
            } else {
                compare_text(&fold_case(a), &fold_case(b), op)
            }
        }
        _ => false,
    }
}

fn compare_text(actual: &str, expected: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        CompareOp::Eq
        | CompareOp::Ne
        | CompareOp::Gt
        | CompareOp::Ge
        | CompareOp::Lt
        | CompareOp::Le => ordering_holds(op, actual.cmp(expected)),
    }
}

fn ordering_holds(op: CompareOp, order: Ordering) -> bool {
    match op {
        CompareOp::Eq => order == Ordering::Equal,
        CompareOp::Ne => order != Ordering::Equal,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::Ge => order != Ordering::Less,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::Le => order != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// The case folding used for every caseExact=false comparison, in memory and in the database's
/// shadow columns alike, so both agree on non-ASCII text.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}
