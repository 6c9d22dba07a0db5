//! SCIM filters (RFC 7644 §3.4.2.2): parse to a typed AST, resolve it against the schema into
//! the form that is executed ([`ResolvedFilter`]), print it back, and evaluate it in memory.

pub mod ast;
mod cost;
pub mod eval;
mod lexer;
pub(crate) mod parser;
mod resolve;
mod resolved;

pub use ast::{CompValue, CompareOp, Filter};
pub use cost::MAX_COST;
pub use eval::fold_case;
pub use parser::{MAX_DEPTH, MAX_LENGTH};
pub use resolved::{ElementFilter, ResolvedFilter};

use crate::error::Result;
use crate::schema::ResourceType;
use serde_json::{Map, Value};

impl Filter {
    /// Parses filter syntax. Errors are 400 `invalidFilter` with the character position.
    pub fn parse(text: &str) -> Result<Self> {
        parser::parse_filter(text)
    }

    /// Parses and resolves against a resource type: the form to execute.
    pub fn parse_for(text: &str, resource_type: &ResourceType) -> Result<ResolvedFilter> {
        Self::parse(text)?.resolve(resource_type)
    }

    /// Checks names, operators and value types against the schema, and refuses a filter that
    /// costs more than [`MAX_COST`] per user.
    pub fn resolve(self, resource_type: &ResourceType) -> Result<ResolvedFilter> {
        let resolved = resolve::resolve(self, resource_type)?;
        cost::check(&resolved)?;
        Ok(resolved)
    }
}

impl ResolvedFilter {
    /// Evaluates the filter against a resource document.
    pub fn matches(&self, resource: &Map<String, Value>) -> bool {
        eval::matches(self, resource)
    }
}
