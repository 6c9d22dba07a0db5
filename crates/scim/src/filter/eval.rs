//! In-memory evaluation of a resolved filter against a resource document: used for PATCH value
//! filters and as the oracle the SQL lowering is tested against.
//!
//! Semantics: a comparison on a multi-valued attribute holds when any value satisfies it; `ne`
//! is the negation of `eq` (so it holds for an absent attribute); `eq null` means absent.

use super::ast::{CompValue, CompareOp};
use super::resolved::{ElementFilter, ResolvedFilter};
use crate::datetime;
use crate::schema::{AttrType, Attribute, Container, Resolved};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Whether `resource` matches `filter`.
pub fn matches(filter: &ResolvedFilter, resource: &Map<String, Value>) -> bool {
    match filter {
        ResolvedFilter::Present(path) => values(resource, path).iter().any(|v| is_present(v)),
        ResolvedFilter::Compare(path, op, value) => {
            compare_any(&values(resource, path), path.target(), *op, value)
        }
        ResolvedFilter::ValuePath(path, inner) => container(resource, path.container)
            .and_then(|c| c.get(path.attribute.name))
            .into_iter()
            .flat_map(elements)
            .any(|element| element_matches(inner, element)),
        ResolvedFilter::Not(inner) => !matches(inner, resource),
        ResolvedFilter::And(operands) => operands.iter().all(|operand| matches(operand, resource)),
        ResolvedFilter::Or(operands) => operands.iter().any(|operand| matches(operand, resource)),
    }
}

/// Whether one element of a complex attribute (for example one email) matches a value filter.
pub fn element_matches(filter: &ElementFilter, element: &Value) -> bool {
    let value = |sub: &Attribute| element.get(sub.name);
    match filter {
        ElementFilter::Present(sub) => value(sub).is_some_and(is_present),
        ElementFilter::Compare(sub, op, expected) => compare_any(
            &value(sub).into_iter().collect::<Vec<_>>(),
            sub,
            *op,
            expected,
        ),
        ElementFilter::Not(inner) => !element_matches(inner, element),
        ElementFilter::And(operands) => operands.iter().all(|o| element_matches(o, element)),
        ElementFilter::Or(operands) => operands.iter().any(|o| element_matches(o, element)),
    }
}

/// The values a path designates, flattened over multi-valued attributes.
fn values<'a>(resource: &'a Map<String, Value>, path: &Resolved) -> Vec<&'a Value> {
    let top = container(resource, path.container).and_then(|c| c.get(path.attribute.name));
    let mut values = Vec::new();
    for item in top.into_iter().flat_map(elements) {
        match path.sub_attribute {
            Some(sub) => values.extend(item.get(sub.name)),
            None => values.push(item),
        }
    }
    values
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
