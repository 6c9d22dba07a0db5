//! Edits of JSON values in place: the slots PATCH operations read and write.

use crate::filter::ElementFilter;
use crate::filter::eval::{element_matches, fold_case};
use crate::schema::{Attribute, Container};
use serde_json::{Map, Value};

/// The object holding an attribute; an absent extension object is created for writes.
pub(super) fn container_mut(
    document: &mut Map<String, Value>,
    container: Container,
) -> &mut Map<String, Value> {
    match container {
        Container::Root => document,
        Container::Extension(urn) => {
            let slot = document.entry(urn).or_insert(Value::Null);
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(members) => members,
                _ => unreachable!("the slot was made an object just above"),
            }
        }
    }
}

/// The slot as an array: absent becomes empty, a stray single value becomes one element.
pub(super) fn as_array(slot: &mut Value) -> &mut Vec<Value> {
    if !slot.is_array() {
        *slot = match std::mem::take(slot) {
            Value::Null => Value::Array(Vec::new()),
            single => Value::Array(vec![single]),
        };
    }
    match slot {
        Value::Array(items) => items,
        _ => unreachable!("the slot was made an array just above"),
    }
}

pub(super) fn set_whole(
    container: &mut Map<String, Value>,
    attribute: &Attribute,
    new: Value,
    replace: bool,
) {
    let slot = container.entry(attribute.name).or_insert(Value::Null);
    match new {
        Value::Array(new_items) if !replace => {
            let items = as_array(slot);
            let mut touched = Vec::new();
            for item in new_items {
                match items.iter().position(|existing| *existing == item) {
                    Some(index) => touched.push(index),
                    None => {
                        items.push(item);
                        touched.push(items.len() - 1);
                    }
                }
            }
            settle_primary(items, &touched);
        }
        // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not sent are left unchanged.
        Value::Object(_) if !attribute.multi_valued => merge(slot, Some(new)),
        other => *slot = other,
    }
}

pub(super) fn set_member(element: &mut Value, name: &str, value: Option<Value>) {
    if !element.is_object() {
        *element = Value::Object(Map::new());
    }
    if let Value::Object(members) = element {
        match value {
            Some(value) => {
                members.insert(name.to_owned(), value);
            }
            None => {
                members.remove(name);
            }
        }
    }
}

pub(super) fn merge(element: &mut Value, new: Option<Value>) {
    match (element, new) {
        (Value::Object(members), Some(Value::Object(new))) => members.extend(new),
        (slot, Some(new)) => *slot = new,
        (_, None) => {}
    }
}

/// Calls `f` on each element of a multi-valued attribute, or on a single complex value.
pub(super) fn for_each_element(
    slot: &mut Value,
    attribute: &Attribute,
    mut f: impl FnMut(usize, &mut Value),
) {
    match slot {
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .for_each(|(index, item)| f(index, item)),
        Value::Null => {}
        single if !attribute.multi_valued => f(0, single),
        _ => {}
    }
}

pub(super) fn remove_within(
    slot: &mut Value,
    filter: Option<&ElementFilter>,
    sub: Option<&'static Attribute>,
) {
    let matches = |element: &Value| filter.is_none_or(|filter| element_matches(filter, element));
    match (slot, sub) {
        (Value::Array(items), None) => items.retain(|item| !matches(item)),
        (Value::Array(items), Some(sub)) => items
            .iter_mut()
            .filter(|item| matches(item))
            .for_each(|item| set_member(item, sub.name, None)),
        (single, None) => {
            if matches(single) {
                *single = Value::Null;
            }
        }
        (single, Some(sub)) => {
            if matches(single) {
                set_member(single, sub.name, None);
            }
        }
    }
}

/// Two elements are the same when their `value` sub-attributes are equal (by the sub-attribute's
/// caseExact), or, without one, when they are equal JSON.
pub(super) fn same_element(
    given: &Value,
    item: &Value,
    value_def: Option<&'static Attribute>,
) -> bool {
    match (
        given.get("value").and_then(Value::as_str),
        item.get("value").and_then(Value::as_str),
        value_def,
    ) {
        (Some(a), Some(b), Some(def)) if !def.case_exact => fold_case(a) == fold_case(b),
        (Some(a), Some(b), _) => a == b,
        _ => given == item,
    }
}

/// RFC 7643 §2.4: at most one `primary: true`. The value an operation just set wins.
pub(super) fn settle_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |item: &Value| item.get("primary") == Some(&Value::Bool(true));
    let Some(&winner) = touched
        .iter()
        .rev()
        .find(|&&index| items.get(index).is_some_and(is_primary))
    else {
        return;
    };
    for (index, item) in items.iter_mut().enumerate() {
        if index != winner && is_primary(item) {
            set_member(item, "primary", Some(Value::Bool(false)));
        }
    }
}
