//! What a list or search asks for (RFC 7644 §3.4.2, §3.4.3): its parameters as sent, from a
//! query string or a SearchRequest body, and the same checked against a resource type.

use super::{Page, PageLimits, SortOrder};
use crate::error::{Error, Result};
use crate::filter::{Filter, ResolvedFilter};
use crate::path::AttrPath;
use crate::projection::Projection;
use crate::schema::{Resolved, ResourceType};
use serde_json::Value;

/// A list or a search (RFC 7644 §3.4.2, §3.4.3) as the client asked for it: the parameters of
/// a `GET` query string, or the members of a `POST /.search` body (numbers as text).
/// [`Self::query`] checks them against a resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub cursor: Option<String>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

/// A list or search checked against a resource type: what to run. The default is every
/// resource, in creation order, the first page of the default size.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<ResolvedFilter>,
    /// `None` keeps creation order.
    pub sort_by: Option<Resolved>,
    pub sort_order: SortOrder,
    pub page: Page,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: None,
            sort_by: None,
            sort_order: SortOrder::default(),
            page: Page::Index {
                start_index: 1,
                count: PageLimits::default().default_page_size,
            },
        }
    }
}

impl SearchRequest {
    /// From a query string, `get` looking a parameter up by name (case-insensitively).
    pub fn from_query<'q>(get: impl Fn(&str) -> Option<&'q str>) -> Self {
        let text = |name: &str| get(name).map(str::to_owned);
        let names = |name: &str| {
            get(name)
                .map(|names| names.split(',').map(str::to_owned).collect())
                .unwrap_or_default()
        };
        Self {
            filter: text("filter"),
            sort_by: text("sortBy"),
            sort_order: text("sortOrder"),
            start_index: text("startIndex"),
            count: text("count"),
            cursor: text("cursor"),
            attributes: names("attributes"),
            excluded_attributes: names("excludedAttributes"),
        }
    }

    /// From a SearchRequest body: a JSON object whose members are named case-insensitively;
    /// parameters are strings (numbers are taken as their text), attribute lists are arrays
    /// of names or one comma-separated string.
    pub fn from_body(body: &Value) -> Result<Self> {
        let Value::Object(body) = body else {
            return Err(Error::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let member = |name: &str| {
            body.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        let text = |name: &str| -> Result<Option<String>> {
            match member(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(Value::Number(number)) => Ok(Some(number.to_string())),
                Some(other) => Err(Error::invalid_value(format!(
                    "'{name}' must be a string or number, not {other}"
                ))),
            }
        };
        let names = |name: &str| -> Result<Vec<String>> {
            match member(name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(text)) => Ok(text.split(',').map(str::to_owned).collect()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_owned).ok_or_else(|| {
                            Error::invalid_value(format!("'{name}' must list attribute names"))
                        })
                    })
                    .collect(),
                Some(other) => Err(Error::invalid_value(format!(
                    "'{name}' must be an array of names, not {other}"
                ))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            cursor: text("cursor")?,
            attributes: names("attributes")?,
            excluded_attributes: names("excludedAttributes")?,
        })
    }

    /// Which attributes each resource shows.
    pub fn projection(&self, resource_type: &ResourceType) -> Projection {
        Projection::from_lists(&self.attributes, &self.excluded_attributes, resource_type)
    }

    /// The filter and `sortBy` resolved, `sortOrder` read, the page brought into `limits`; the
    /// first of them that is wrong is the error.
    pub fn query(&self, resource_type: &ResourceType, limits: PageLimits) -> Result<ListQuery> {
        let filter = self
            .filter
            .as_deref()
            .map(|text| Filter::parse_for(text, resource_type))
            .transpose()?;
        let sort_by = self
            .sort_by
            .as_deref()
            .map(|text| sort_by(text, resource_type))
            .transpose()?;
        Ok(ListQuery {
            filter,
            sort_by,
            sort_order: SortOrder::parse(self.sort_order.as_deref())?,
            page: Page::from_params(
                self.start_index.as_deref(),
                self.count.as_deref(),
                self.cursor.as_deref(),
                limits,
            )?,
        })
    }
}

/// `sortBy` (RFC 7644 §3.4.2.3) resolved against the resource type: a single-valued simple
/// attribute, or a multi-valued one with a `value` (sorted by its first value).
pub fn sort_by(text: &str, resource_type: &ResourceType) -> Result<Resolved> {
    let unknown = || {
        Error::invalid_value(format!(
            "'sortBy' names no attribute of {}: {text:?}",
            resource_type.name
        ))
    };
    let path = AttrPath::parse(text.trim()).map_err(|_| unknown())?;
    let resolved = resource_type.resolve(&path).ok_or_else(unknown)?;
    if resolved.target().is_complex()
        || resolved.is_multi_valued() && resolved.target().sub_attribute("value").is_none()
    {
        return Err(Error::invalid_value(format!(
            "'sortBy' needs a simple attribute; {text:?} is not one"
        )));
    }
    Ok(resolved)
}
