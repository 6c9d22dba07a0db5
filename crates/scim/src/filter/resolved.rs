//! A filter checked against a resource type ([`Filter::resolve`](super::Filter::resolve)): every
//! name is a definition from the schema registry, every value is of its attribute's type, and
//! a value filter holds only sub-attributes of its attribute. Whoever executes one (the
//! in-memory evaluator, the SQL lowering) looks no name up again and cannot meet an unknown one.

use super::ast::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::schema::{Attribute, Resolved};
use std::fmt;

#[derive(Debug, Clone)]
pub enum ResolvedFilter {
    /// `attrPath pr`
    Present(Resolved),
    /// `attrPath compareOp compValue`; a complex attribute compared as a whole has been
    /// resolved to its `value` sub-attribute.
    Compare(Resolved, CompareOp, CompValue),
    /// `attr[...]`: some element of `attr` (or its single complex value) passes the inner test.
    ValuePath(Resolved, Box<ElementFilter>),
    Not(Box<ResolvedFilter>),
    And(Vec<ResolvedFilter>),
    Or(Vec<ResolvedFilter>),
}

/// The inside of `attr[...]`: tests on the sub-attributes of one element. Value filters do not
/// nest, so there is no `ValuePath` here.
#[derive(Debug, Clone)]
pub enum ElementFilter {
    Present(&'static Attribute),
    Compare(&'static Attribute, CompareOp, CompValue),
    Not(Box<ElementFilter>),
    And(Vec<ElementFilter>),
    Or(Vec<ElementFilter>),
}

impl ResolvedFilter {
    /// The filter as syntax again, with canonical names (extension attributes URN-qualified).
    pub fn to_filter(&self) -> Filter {
        match self {
            Self::Present(path) => Filter::Present(path.canonical_path()),
            Self::Compare(path, op, value) => {
                Filter::Compare(path.canonical_path(), *op, value.clone())
            }
            Self::ValuePath(path, inner) => {
                Filter::ValuePath(path.canonical_path(), Box::new(inner.to_filter()))
            }
            Self::Not(inner) => Filter::Not(Box::new(inner.to_filter())),
            Self::And(operands) => Filter::And(operands.iter().map(Self::to_filter).collect()),
            Self::Or(operands) => Filter::Or(operands.iter().map(Self::to_filter).collect()),
        }
    }
}

impl ElementFilter {
    pub fn to_filter(&self) -> Filter {
        match self {
            Self::Present(sub) => Filter::Present(AttrPath::new(sub.name)),
            Self::Compare(sub, op, value) => {
                Filter::Compare(AttrPath::new(sub.name), *op, value.clone())
            }
            Self::Not(inner) => Filter::Not(Box::new(inner.to_filter())),
            Self::And(operands) => Filter::And(operands.iter().map(Self::to_filter).collect()),
            Self::Or(operands) => Filter::Or(operands.iter().map(Self::to_filter).collect()),
        }
    }
}

impl fmt::Display for ResolvedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_filter().fmt(f)
    }
}

impl fmt::Display for ElementFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_filter().fmt(f)
    }
}
