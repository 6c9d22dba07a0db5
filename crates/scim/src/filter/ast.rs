//! The filter AST (RFC 7644 §3.4.2.2) and its canonical text form.
//!
//! `Display` prints the fewest parentheses that keep the tree, so `parse(f.to_string()) == f`.

use crate::path::AttrPath;
use serde_json::Number;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Operators are case-insensitive on the wire.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt`, `le`: meaningless for booleans and binaries (RFC 7644 §3.4.2.2).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    /// `co`, `sw`, `ew`: defined on strings (and references) only.
    pub fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `compValue = false / null / true / number / string` (dates are strings compared as dates).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => match serde_json::to_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => Err(fmt::Error),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath compareOp compValue`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath "[" valFilter "]"`: some element of the (multi-valued) attribute matches.
    ValuePath(AttrPath, Box<Filter>),
    /// `not ( filter )`
    Not(Box<Filter>),
    /// Two or more operands joined by `and`.
    And(Vec<Filter>),
    /// Two or more operands joined by `or`.
    Or(Vec<Filter>),
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present(path) => write!(f, "{path} pr"),
            Self::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Self::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            // `and` binds tighter than `or`, and both group left to right, so a nested operand of
            // the same operator must be bracketed to survive a round trip.
            Self::And(operands) => write_joined(f, operands, " and ", |o| {
                matches!(o, Self::And(_) | Self::Or(_))
            }),
            Self::Or(operands) => write_joined(f, operands, " or ", |o| matches!(o, Self::Or(_))),
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    operands: &[Filter],
    separator: &str,
    needs_parens: impl Fn(&Filter) -> bool,
) -> fmt::Result {
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        if needs_parens(operand) {
            write!(f, "({operand})")?;
        } else {
            write!(f, "{operand}")?;
        }
    }
    Ok(())
}
