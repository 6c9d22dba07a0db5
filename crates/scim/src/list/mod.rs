//! ListResponse (RFC 7644 §3.4.2), index paging (§3.4.2.4) and cursor paging (RFC 9865); what a
//! list or search asks for is in [`SearchRequest`] and [`ListQuery`].

mod search;

use crate::error::{Error, Result, ScimType};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

pub use search::{ListQuery, SearchRequest, sort_by};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Page sizes the server allows; advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    pub default_page_size: u32,
    pub max_page_size: u32,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            default_page_size: 100,
            max_page_size: 1000,
        }
    }
}

/// Which page a query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// 1-based `startIndex` and `count`; `count == 0` asks for `totalResults` only.
    Index { start_index: u64, count: u32 },
    /// RFC 9865: no cursor for the first page, then the `nextCursor` of the previous one.
    Cursor { cursor: Option<Cursor>, count: u32 },
}

impl Page {
    /// Reads `startIndex`, `count` and `cursor` as they arrive in a query string (or a
    /// `/.search` body, numbers turned to text). Out-of-range values are brought into range as
    /// RFC 7644 §3.4.2.4 says (`startIndex` < 1 is 1, `count` < 0 is 0, above the maximum is the
    /// maximum); text that is not an integer is a 400.
    pub fn from_params(
        start_index: Option<&str>,
        count: Option<&str>,
        cursor: Option<&str>,
        limits: PageLimits,
    ) -> Result<Self> {
        match (start_index, cursor) {
            (Some(_), Some(_)) => Err(Error::invalid_value(
                "'startIndex' and 'cursor' select different kinds of paging; send one of them",
            )),
            (_, Some(cursor)) => {
                let count = match count {
                    None => limits.default_page_size,
                    Some(text) => match integer(text) {
                        Some(n) if n >= 0 => clamp(n, limits),
                        _ => {
                            return Err(Error::new(
                                ScimType::InvalidCount,
                                format!(
                                    "'count' must be an integer from 0 to {}, not {text:?}",
                                    limits.max_page_size
                                ),
                            ));
                        }
                    },
                };
                let cursor = (!cursor.is_empty())
                    .then(|| Cursor::parse(cursor))
                    .transpose()?;
                Ok(Self::Cursor { cursor, count })
            }
            (start_index, None) => {
                let start_index = match start_index {
                    None => 1,
                    Some(text) => integer(text)
                        .ok_or_else(|| {
                            Error::invalid_value(format!(
                                "'startIndex' must be an integer, not {text:?}"
                            ))
                        })?
                        .max(1),
                };
                let count = match count {
                    None => limits.default_page_size,
                    Some(text) => clamp(
                        integer(text).ok_or_else(|| {
                            Error::invalid_value(format!(
                                "'count' must be an integer, not {text:?}"
                            ))
                        })?,
                        limits,
                    ),
                };
                Ok(Self::Index {
                    start_index: start_index.unsigned_abs(),
                    count,
                })
            }
        }
    }

    pub fn count(&self) -> u32 {
        match self {
            Self::Index { count, .. } | Self::Cursor { count, .. } => *count,
        }
    }
}

/// Integers as clients send them; anything past i64 is not a sensible page parameter.
fn integer(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok()
}

fn clamp(count: i64, limits: PageLimits) -> u32 {
    u32::try_from(count.clamp(0, i64::from(limits.max_page_size))).unwrap_or(limits.max_page_size)
}

/// An opaque RFC 9865 cursor: a position in a stable order, encoded with unreserved characters
/// only (RFC 3986 §2.3) so it needs no escaping in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor holding `bytes` (a server's sealed position), written in hex.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// The bytes the cursor holds; anything this server did not produce is 400 `invalidCursor`.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        (0..self.0.len())
            .step_by(2)
            .map(|i| {
                self.0
                    .get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<_>>()
            .ok_or_else(Self::not_ours)
    }

    /// The error for a cursor this server did not issue (or issued for another query).
    pub fn not_ours() -> Error {
        Error::new(
            ScimType::InvalidCursor,
            "the cursor is not one this server issued for this query; start again with an \
             empty cursor",
        )
    }

    pub fn parse(text: &str) -> Result<Self> {
        let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
        if text.len() > 4096 || !text.chars().all(unreserved) {
            return Err(Error::new(
                ScimType::InvalidCursor,
                "a cursor contains only unreserved URL characters (RFC 9865)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    pub fn parse(text: Option<&str>) -> Result<Self> {
        match text.map(str::trim) {
            None | Some("") => Ok(Self::Ascending),
            Some(text) if text.eq_ignore_ascii_case("ascending") => Ok(Self::Ascending),
            Some(text) if text.eq_ignore_ascii_case("descending") => Ok(Self::Descending),
            Some(text) => Err(Error::invalid_value(format!(
                "'sortOrder' is \"ascending\" or \"descending\", not {text:?}"
            ))),
        }
    }
}

/// One page of results. `R` is how a resource is held: a `Value`, or text already rendered
/// (`Box<RawValue>`), which is printed as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse<R = Value> {
    pub total_results: u64,
    pub resources: Vec<R>,
    /// Echoed for index paging; absent for cursor paging.
    pub start_index: Option<u64>,
    pub next_cursor: Option<Cursor>,
    pub previous_cursor: Option<Cursor>,
}

impl<R> Default for ListResponse<R> {
    fn default() -> Self {
        Self {
            total_results: 0,
            resources: Vec::new(),
            start_index: None,
            next_cursor: None,
            previous_cursor: None,
        }
    }
}

/// The wire form. `Resources` is present even when empty: Entra reads it unconditionally.
impl<R: Serialize> Serialize for ListResponse<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_map(None)?;
        body.serialize_entry("schemas", &[LIST_RESPONSE_SCHEMA])?;
        body.serialize_entry("totalResults", &self.total_results)?;
        body.serialize_entry("itemsPerPage", &self.resources.len())?;
        if let Some(start_index) = self.start_index {
            body.serialize_entry("startIndex", &start_index)?;
        }
        if let Some(cursor) = &self.next_cursor {
            body.serialize_entry("nextCursor", cursor.as_str())?;
        }
        if let Some(cursor) = &self.previous_cursor {
            body.serialize_entry("previousCursor", cursor.as_str())?;
        }
        body.serialize_entry("Resources", &self.resources)?;
        body.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(start: Option<&str>, count: Option<&str>, cursor: Option<&str>) -> Result<Page> {
        Page::from_params(start, count, cursor, PageLimits::default())
    }

    #[test]
    fn index_paging_follows_rfc7644_3_4_2_4() {
        assert_eq!(
            page(None, None, None),
            Ok(Page::Index {
                start_index: 1,
                count: 100
            })
        );
        assert_eq!(
            page(Some("0"), Some("-5"), None),
            Ok(Page::Index {
                start_index: 1,
                count: 0
            })
        );
        assert_eq!(
            page(Some("-7"), Some("0"), None),
            Ok(Page::Index {
                start_index: 1,
                count: 0
            })
        );
        assert_eq!(
            page(Some("101"), Some("999999999"), None),
            Ok(Page::Index {
                start_index: 101,
                count: 1000
            })
        );
    }

    #[test]
    fn non_integer_paging_parameters_are_invalid_value() {
        for (start, count) in [
            (Some("one"), None),
            (None, Some("ten")),
            (None, Some("99999999999999999999999")),
        ] {
            let error = page(start, count, None).expect_err("invalid");
            assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
        }
    }

    #[test]
    fn cursor_paging_follows_rfc9865() {
        assert_eq!(
            page(None, Some("10"), Some("")),
            Ok(Page::Cursor {
                cursor: None,
                count: 10
            })
        );
        let cursor = Cursor::from_bytes(b"position");
        let next = page(None, None, Some(cursor.as_str())).expect("valid");
        assert_eq!(
            next,
            Page::Cursor {
                cursor: Some(cursor.clone()),
                count: 100
            }
        );
        assert_eq!(cursor.bytes(), Ok(b"position".to_vec()));
        assert_eq!(
            page(None, Some("-1"), Some("")).expect_err("bad").scim_type,
            Some(ScimType::InvalidCount)
        );
        assert_eq!(
            page(None, None, Some("a b")).expect_err("bad").scim_type,
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            Cursor::parse("zz")
                .and_then(|c| c.bytes())
                .expect_err("bad")
                .scim_type,
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            page(Some("1"), None, Some("")).expect_err("bad").scim_type,
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn list_response_always_carries_resources_and_paging_fields() {
        let empty: ListResponse = ListResponse {
            start_index: Some(1),
            ..ListResponse::default()
        };
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
        );
        let cursor = ListResponse {
            total_results: 3,
            resources: vec![json!({"id": "a"})],
            next_cursor: Some(Cursor::from_bytes(b"a")),
            ..ListResponse::default()
        };
        let body = serde_json::to_value(&cursor).unwrap();
        assert!(body.get("startIndex").is_none());
        assert_eq!(body["nextCursor"], Cursor::from_bytes(b"a").as_str());
    }

    #[test]
    fn sort_order_is_case_insensitive_and_checked() {
        assert_eq!(
            SortOrder::parse(Some("DESCENDING")),
            Ok(SortOrder::Descending)
        );
        assert_eq!(SortOrder::parse(None), Ok(SortOrder::Ascending));
        let error = SortOrder::parse(Some("sideways")).unwrap_err();
        assert_eq!(error.scim_type, Some(crate::ScimType::InvalidValue));
    }
}
