//! Checks a parsed filter against the schema registry and rewrites it with canonical names:
//! unknown attributes, operators that do not apply to a type and values of the wrong type are
//! 400 `invalidFilter` here, so evaluators and SQL lowering only see sound filters.

use super::ast::{CompValue, CompareOp, Filter};
use super::resolved::{ElementFilter, ResolvedFilter};
use crate::datetime;
use crate::error::{Error, Result};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, Mutability, Resolved, ResourceType, Returned};

pub(crate) fn resolve(filter: Filter, resource_type: &ResourceType) -> Result<ResolvedFilter> {
    Resolver { resource_type }.filter(filter)
}

struct Resolver<'a> {
    resource_type: &'a ResourceType,
}

impl Resolver<'_> {
    fn filter(&self, filter: Filter) -> Result<ResolvedFilter> {
        Ok(match filter {
            Filter::Present(path) => ResolvedFilter::Present(self.attribute(&path, Use::Presence)?),
            Filter::Compare(path, op, value) => {
                let resolved = self.attribute(&path, Use::Comparison)?;
                let value = check_comparison(&path, resolved.target(), op, value)?;
                ResolvedFilter::Compare(resolved, op, value)
            }
            Filter::ValuePath(path, inner) => self.value_path(&path, *inner)?,
            Filter::Not(inner) => ResolvedFilter::Not(Box::new(self.filter(*inner)?)),
            Filter::And(operands) => ResolvedFilter::And(self.all(operands)?),
            Filter::Or(operands) => ResolvedFilter::Or(self.all(operands)?),
        })
    }

    fn all(&self, operands: Vec<Filter>) -> Result<Vec<ResolvedFilter>> {
        operands
            .into_iter()
            .map(|operand| self.filter(operand))
            .collect()
    }

    fn value_path(&self, path: &AttrPath, inner: Filter) -> Result<ResolvedFilter> {
        let resolved = self.lookup(path)?;
        if !resolved.attribute.is_complex() {
            return Err(Error::invalid_filter(format!(
                "'{path}' is not a complex attribute, so it cannot take a '[...]' value filter"
            )));
        }
        check_filterable(path, resolved.attribute)?;
        let inner = element(resolved.attribute, inner)?;
        Ok(ResolvedFilter::ValuePath(resolved, Box::new(inner)))
    }

    /// Resolves a compared or tested path to its canonical form and the definition compared.
    /// `pr` applies to a complex attribute as a whole ("a non-empty node"); in a comparison a
    /// complex attribute without a sub-attribute stands for its `value` (RFC 7644's
    /// `emails co "example.com"`, and Entra's reference check `manager eq "<id>"`).
    fn attribute(&self, path: &AttrPath, usage: Use) -> Result<Resolved> {
        let mut resolved = self.lookup(path)?;
        if resolved.sub_attribute.is_none()
            && resolved.attribute.is_complex()
            && usage == Use::Comparison
        {
            match resolved.attribute.sub_attribute("value") {
                Some(value) => resolved.sub_attribute = Some(value),
                None => {
                    return Err(Error::invalid_filter(format!(
                        "'{path}' is a complex attribute; filter on one of its sub-attributes"
                    )));
                }
            }
        }
        check_filterable(path, resolved.attribute)?;
        check_filterable(path, resolved.target())?;
        Ok(resolved)
    }

    fn lookup(&self, path: &AttrPath) -> Result<Resolved> {
        self.resource_type.resolve(path).ok_or_else(|| {
            Error::invalid_filter(format!(
                "'{path}' is not an attribute of {}",
                self.resource_type.name
            ))
        })
    }
}

/// The inside of `parent[...]`: names are `parent`'s sub-attributes, and value filters do not
/// nest.
fn element(parent: &'static Attribute, filter: Filter) -> Result<ElementFilter> {
    let all = |operands: Vec<Filter>| -> Result<Vec<ElementFilter>> {
        operands
            .into_iter()
            .map(|operand| element(parent, operand))
            .collect()
    };
    let sub = |path: &AttrPath| -> Result<&'static Attribute> {
        let sub = match (&path.urn, &path.sub_attr) {
            (None, None) => parent.sub_attribute(&path.name),
            _ => None,
        };
        let Some(sub) = sub else {
            return Err(Error::invalid_filter(format!(
                "'{path}' is not a sub-attribute of '{}'",
                parent.name
            )));
        };
        check_filterable(path, sub)?;
        Ok(sub)
    };
    Ok(match filter {
        Filter::Present(path) => ElementFilter::Present(sub(&path)?),
        Filter::Compare(path, op, value) => {
            let sub = sub(&path)?;
            let value = check_comparison(&path, sub, op, value)?;
            ElementFilter::Compare(sub, op, value)
        }
        Filter::ValuePath(path, _) => {
            return Err(Error::invalid_filter(format!(
                "value filters cannot be nested: '{path}[...]' appears inside another '[...]'"
            )));
        }
        Filter::Not(inner) => ElementFilter::Not(Box::new(element(parent, *inner)?)),
        Filter::And(operands) => ElementFilter::And(all(operands)?),
        Filter::Or(operands) => ElementFilter::Or(all(operands)?),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Presence,
    Comparison,
}

/// Write-only and never-returned attributes (password, the inSync custom keys) cannot be
/// filtered on: a filter would reveal what a read cannot.
fn check_filterable(path: &AttrPath, attribute: &Attribute) -> Result<()> {
    if attribute.mutability == Mutability::WriteOnly || attribute.returned == Returned::Never {
        return Err(Error::invalid_filter(format!(
            "'{path}' is write-only and cannot be filtered on"
        )));
    }
    Ok(())
}

/// Checks that the operator applies to the attribute's type and brings the value to that type
/// where IdPs are known to send strings (`primary eq "True"`).
fn check_comparison(
    path: &AttrPath,
    attribute: &Attribute,
    op: CompareOp,
    value: CompValue,
) -> Result<CompValue> {
    let type_name = attribute.ty.as_str();
    let shown = format!("{path} {op} {value}");
    let refuse = |why: String| Err(Error::invalid_filter(format!("'{shown}': {why}")));
    if value == CompValue::Null {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(value),
            _ => refuse(format!(
                "only 'eq' and 'ne' compare with null; use '{path} pr'"
            )),
        };
    }
    if op.is_substring() && !matches!(attribute.ty, AttrType::String | AttrType::Reference) {
        return refuse(format!(
            "'{op}' applies to strings, and '{path}' is a {type_name}"
        ));
    }
    if op.is_ordering() && matches!(attribute.ty, AttrType::Boolean | AttrType::Binary) {
        return refuse(format!("'{op}' cannot order a {type_name}"));
    }
    match (attribute.ty, &value) {
        (AttrType::Boolean, CompValue::Bool(_)) => Ok(value),
        (AttrType::Boolean, CompValue::String(text)) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(CompValue::Bool(true)),
            "false" => Ok(CompValue::Bool(false)),
            _ => refuse(format!("'{path}' is a boolean")),
        },
        (AttrType::Integer, CompValue::Number(number)) if number.is_i64() || number.is_u64() => {
            Ok(value)
        }
        (AttrType::Decimal, CompValue::Number(_)) => Ok(value),
        (AttrType::DateTime, CompValue::String(text)) if datetime::parse(text).is_some() => {
            Ok(value)
        }
        (AttrType::DateTime, _) => refuse(format!(
            "'{path}' is a dateTime; compare it with a string such as \"2011-05-13T04:42:34Z\""
        )),
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(_)) => {
            Ok(value)
        }
        // An unquoted number or boolean compared with a string attribute is taken as its text.
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::Number(n)) => {
            Ok(CompValue::String(n.to_string()))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::Bool(b)) => {
            Ok(CompValue::String(b.to_string()))
        }
        (AttrType::Boolean | AttrType::Integer | AttrType::Decimal | AttrType::Complex, _)
        | (_, CompValue::Null) => refuse(format!(
            "'{path}' is a {type_name} and cannot be compared with {value}"
        )),
    }
}
