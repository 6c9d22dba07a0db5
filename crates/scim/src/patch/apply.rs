//! One operation applied to the working document.

use super::slots::{
    as_array, container_mut, for_each_element, merge, remove_within, same_element, set_member,
    set_whole, settle_primary,
};
use super::{Located, OpKind, Operation, Target, is_echo_only, locate, seed_from_filter, writable};
use crate::error::{Error, Result};
use crate::filter::eval::{element_matches, is_present};
use crate::normalise::{attribute_value, single_value};
use crate::path::{AttrPath, PatchPath};
use crate::schema::{Container, Mutability, ResourceType, Returned};
use serde_json::{Map, Value};

pub(super) struct Patcher<'a> {
    pub document: &'a mut Map<String, Value>,
    pub resource_type: &'a ResourceType,
    pub notes: &'a mut Vec<String>,
}

impl Patcher<'_> {
    pub(super) fn operation(&mut self, operation: &Operation) -> Result<()> {
        let value = operation.value.as_ref();
        match &operation.target {
            Target::Resource => self.path_less(operation.kind, value),
            Target::Extension(urn) => self.extension(operation.kind, urn, value),
            Target::Path(path) => self.path(operation.kind, path, value),
        }
    }

    /// `{"op":"replace","value":{"active":false,"name.givenName":"x","urn:...:department":"y"}}`:
    /// each key is a path of its own.
    fn path_less(&mut self, kind: OpKind, value: Option<&Value>) -> Result<()> {
        let Some(Value::Object(members)) = value else {
            return Err(Error::invalid_value(
                "without a 'path', 'value' must be an object whose keys are attribute paths",
            ));
        };
        for (key, member) in members {
            if let Some(schema) = self.resource_type.extension(key) {
                self.extension(kind, schema.id, Some(member))?;
                continue;
            }
            match PatchPath::parse(key) {
                Ok(path) => self.path(kind, &path, Some(member))?,
                Err(_) => self
                    .notes
                    .push(format!("ignored unknown attribute '{key}'")),
            }
        }
        Ok(())
    }

    /// A path that is an extension URN: the whole extension object.
    fn extension(&mut self, kind: OpKind, urn: &'static str, value: Option<&Value>) -> Result<()> {
        let members = match (kind, value) {
            (OpKind::Remove, _) => None,
            (OpKind::Add | OpKind::Replace, Some(Value::Object(members)))
                if is_present(&Value::Object(members.clone())) =>
            {
                Some(members)
            }
            (OpKind::Add, _) => return Ok(()),
            (OpKind::Replace, Some(Value::Object(_)) | None) => None,
            (OpKind::Replace, Some(other)) => {
                return Err(Error::invalid_value(format!(
                    "the value for '{urn}' must be an object, not {other}"
                )));
            }
        };
        let Some(members) = members else {
            self.document.remove(urn);
            return Ok(());
        };
        for (name, member) in members {
            let attr = AttrPath {
                urn: Some(urn.to_owned()),
                name: name.clone(),
                sub_attr: None,
            };
            self.path(kind, &PatchPath { attr, filter: None }, Some(member))?;
        }
        Ok(())
    }

    fn path(&mut self, kind: OpKind, path: &PatchPath, value: Option<&Value>) -> Result<()> {
        let Some(located) = locate(path, self.resource_type)? else {
            self.notes
                .push(format!("ignored unknown attribute '{path}'"));
            return Ok(());
        };
        if !self.allowed(kind, &located, value)? {
            return Ok(());
        }
        let present = value.filter(|value| is_present(value));
        match (kind, present) {
            (OpKind::Add, None) => {
                self.notes.push(format!(
                    "ignored 'add' of an empty value to '{}'",
                    located.label
                ));
                Ok(())
            }
            (OpKind::Add, Some(value)) => self.set(&located, value, false),
            (OpKind::Replace, Some(value)) => self.set(&located, value, true),
            // `replace` with an empty value is a removal (Entra's manager removal).
            (OpKind::Replace, None) => self.remove(&located, None),
            (OpKind::Remove, _) => self.remove(&located, value),
        }
    }

    /// Mutability (RFC 7643 §2.2): readOnly targets are refused, except that echoes of `id`,
    /// `meta` and `schemas` are ignored; write-only `password` is dropped. `Ok(false)` skips.
    fn allowed(&mut self, kind: OpKind, located: &Located, value: Option<&Value>) -> Result<bool> {
        let attribute = located.attribute;
        let label = &located.label;
        if is_echo_only(attribute) {
            let echoes_id = attribute.name == "id"
                && value
                    .and_then(Value::as_str)
                    .is_some_and(|id| self.document.get("id").and_then(Value::as_str) == Some(id));
            return match kind {
                OpKind::Remove => Err(Error::mutability(format!(
                    "'{label}' is readOnly and cannot be removed"
                ))),
                OpKind::Add | OpKind::Replace if attribute.name != "id" || echoes_id => {
                    self.notes
                        .push(format!("ignored the echo of readOnly '{label}'"));
                    Ok(false)
                }
                OpKind::Add | OpKind::Replace => Err(Error::mutability(format!(
                    "'{label}' is readOnly: the server assigns it"
                ))),
            };
        }
        let target = located.sub_attribute.unwrap_or(attribute);
        if !writable(attribute) || !writable(target) {
            return Err(Error::mutability(format!("'{label}' is readOnly")));
        }
        if target.returned == Returned::Never || attribute.returned == Returned::Never {
            self.notes.push(format!("dropped '{label}': never stored"));
            return Ok(false);
        }
        if attribute.mutability == Mutability::Immutable
            && self.current(located).is_some_and(is_present)
        {
            return Err(Error::mutability(format!(
                "'{label}' is immutable once set"
            )));
        }
        Ok(true)
    }

    fn current(&self, located: &Located) -> Option<&Value> {
        let container = match located.container {
            Container::Root => Some(&*self.document),
            Container::Extension(urn) => self.document.get(urn).and_then(Value::as_object),
        };
        container.and_then(|c| c.get(located.attribute.name))
    }

    /// `add` (merge, append) or `replace` (overwrite) of a present value.
    fn set(&mut self, located: &Located, value: &Value, replace: bool) -> Result<()> {
        let attribute = located.attribute;
        let label = located.label.clone();
        let notes = &mut *self.notes;
        match (&located.filter, located.sub_attribute) {
            (None, None) => {
                let Some(new) = attribute_value(attribute, value, &label, notes)? else {
                    return Ok(());
                };
                let container = container_mut(self.document, located.container);
                set_whole(container, attribute, new, replace);
            }
            (None, Some(sub)) => {
                let new = single_value(sub, value, &label, notes)?;
                let container = container_mut(self.document, located.container);
                let slot = container.entry(attribute.name).or_insert(Value::Null);
                if attribute.multi_valued {
                    let items = as_array(slot);
                    if items.is_empty() {
                        items.push(Value::Object(Map::new()));
                    }
                    items
                        .iter_mut()
                        .for_each(|item| set_member(item, sub.name, new.clone()));
                    let touched: Vec<usize> = (0..items.len()).collect();
                    settle_primary(items, &touched);
                } else {
                    set_member(slot, sub.name, new);
                }
            }
            (Some(filter), sub) => {
                let new = match sub {
                    Some(sub) => single_value(sub, value, &label, notes)?,
                    None => single_value(attribute, value, &label, notes)?,
                };
                let container = container_mut(self.document, located.container);
                let slot = container.entry(attribute.name).or_insert(Value::Null);
                let mut matched = Vec::new();
                for_each_element(slot, attribute, |index, element| {
                    if element_matches(filter, element) {
                        match sub {
                            Some(sub) => set_member(element, sub.name, new.clone()),
                            None if replace => *element = new.clone().unwrap_or(Value::Null),
                            None => merge(element, new.clone()),
                        }
                        matched.push(index);
                    }
                });
                if matched.is_empty() {
                    // Entra adds `addresses[type eq "work"].locality` before the element exists:
                    // create it from the filter's `eq` terms and the value.
                    let mut seed = Map::new();
                    seed_from_filter(filter, &mut seed);
                    let mut element = Value::Object(seed);
                    match sub {
                        Some(sub) => set_member(&mut element, sub.name, new),
                        None => merge(&mut element, new),
                    }
                    let element = single_value(attribute, &element, &label, notes)?;
                    if let Some(element) = element {
                        if attribute.multi_valued {
                            let items = as_array(slot);
                            items.push(element);
                            matched.push(items.len() - 1);
                        } else {
                            *slot = element;
                        }
                    }
                }
                if let Value::Array(items) = slot {
                    settle_primary(items, &matched);
                }
            }
        }
        self.prune(located);
        Ok(())
    }

    fn remove(&mut self, located: &Located, value: Option<&Value>) -> Result<()> {
        let attribute = located.attribute;
        let label = located.label.clone();
        let whole = located.filter.is_none() && located.sub_attribute.is_none();
        let removes_required = (whole && attribute.required)
            || located
                .sub_attribute
                .is_some_and(|sub| sub.required && located.filter.is_none());
        if removes_required && value.is_none() {
            return Err(Error::mutability(format!(
                "'{label}' is required and cannot be removed"
            )));
        }
        let given = match (whole && attribute.multi_valued, value) {
            (true, Some(value)) => attribute_value(attribute, value, &label, self.notes)?,
            _ => None,
        };
        let container = container_mut(self.document, located.container);
        match (&located.filter, located.sub_attribute) {
            (None, None) => match given {
                // `{"op":"remove","path":"emails","value":[{"value":"x"}]}`: only those values.
                Some(Value::Array(given)) => {
                    if let Some(Value::Array(items)) = container.get_mut(attribute.name) {
                        let value_def = attribute.sub_attribute("value");
                        items
                            .retain(|item| !given.iter().any(|g| same_element(g, item, value_def)));
                    }
                }
                _ => {
                    container.remove(attribute.name);
                }
            },
            (filter, sub) => {
                if let Some(slot) = container.get_mut(attribute.name) {
                    remove_within(slot, filter.as_ref(), sub);
                }
            }
        }
        self.prune(located);
        Ok(())
    }

    /// Drops what a change left empty: elements, the attribute, the extension object.
    fn prune(&mut self, located: &Located) {
        let container = container_mut(self.document, located.container);
        if let Some(slot) = container.get_mut(located.attribute.name) {
            if let Value::Array(items) = slot {
                items.retain(is_present);
            }
            if !is_present(slot) {
                container.remove(located.attribute.name);
            }
        }
        if let Container::Extension(urn) = located.container
            && self.document.get(urn).is_some_and(|ext| !is_present(ext))
        {
            self.document.remove(urn);
        }
    }
}
