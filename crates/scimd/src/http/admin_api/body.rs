//! Admin-API request bodies: each handler names its body as a type, read from JSON by serde;
//! a body that does not fit is a 400 that names the member and says what it must be.

use super::ApiFailure;
use crate::http::AppState;
use crate::http::extract::read_limited;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, Visitor};
use serde::{Deserialize, de::Error as _};
use std::fmt;

/// A JSON body read as `T`; anything else is a 400 with a JSON error.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiFailure> {
        let limit =
            usize::try_from(state.settings.capabilities.max_payload_size).unwrap_or(usize::MAX);
        let bytes = read_limited(request.into_body(), limit)
            .await
            .map_err(|error| ApiFailure::new(error.status(), error.detail()))?;
        read(&bytes)
            .map(Self)
            .map_err(|refusal| ApiFailure::new(StatusCode::BAD_REQUEST, refusal))
    }
}

/// `bytes` as a `T`, which must come from a JSON object (serde would also fill a struct from an
/// array, by position).
fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let is_object = bytes.trim_ascii_start().first() == Some(&b'{');
    if !is_object && serde_json::from_slice::<IgnoredAny>(bytes).is_ok() {
        return Err("the body must be a JSON object".into());
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json).map_err(|error| refusal(&error))
}

/// What is wrong with a body, in an admin's words: `'max_users' must be a whole number, not
/// the string "3"`, `'profile' is required`, `the body is not JSON: ...`.
fn refusal(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() {
        return format!("the body is not JSON: {inner}");
    }
    // serde_json appends where it stopped; the member's name says more.
    let message = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    let path = error.path().to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return match path.as_str() {
            "." => format!("'{field}' is required"),
            parent => format!("'{parent}.{field}' is required"),
        };
    }
    let wrong = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once(", expected "));
    match (path.as_str(), wrong) {
        (".", Some(_)) => "the body must be a JSON object".to_owned(),
        (member, Some((found, expected))) => {
            format!(
                "'{member}' must be {expected}, not {}",
                found.replace('`', "")
            )
        }
        (".", None) => message.to_owned(),
        (member, None) => format!("'{member}': {message}"),
    }
}

/// A whole number from a JSON body, from `MIN` up to `MAX`; anything else (a fraction, a
/// string, a negative number) is refused as not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Whole<const MIN: u64 = 0, const MAX: u64 = { u64::MAX }>(pub u64);

impl<const MIN: u64, const MAX: u64> Whole<MIN, MAX> {
    /// The number as a `u32`, which `MAX` keeps it within for the counts that are one.
    pub fn small(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Whole<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Expect<const MIN: u64, const MAX: u64>;

        impl<const MIN: u64, const MAX: u64> Visitor<'_> for Expect<MIN, MAX> {
            type Value = u64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")?;
                // A bound at the edge of a machine integer says nothing to an admin.
                let unbounded = MAX >= u64::from(u32::MAX);
                match (MIN, unbounded) {
                    (0, true) => Ok(()),
                    (min, true) => write!(f, " from {min}"),
                    (min, false) => write!(f, " from {min} to {MAX}"),
                }
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<u64, E> {
                if (MIN..=MAX).contains(&number) {
                    Ok(number)
                } else {
                    Err(E::invalid_value(de::Unexpected::Unsigned(number), &self))
                }
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<u64, E> {
                match u64::try_from(number) {
                    Ok(number) => self.visit_u64(number),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(number), &self)),
                }
            }
        }

        deserializer.deserialize_u64(Expect::<MIN, MAX>).map(Self)
    }
}

/// A member that may be left out, set, or set to `null`: `None` when absent, `Some(None)` for
/// `null` (for example a quota cleared).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A list that must hold at least one item.
pub(crate) fn non_empty<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Vec::<T>::deserialize(deserializer)?;
    if items.is_empty() {
        Err(D::Error::invalid_length(0, &"a non-empty list"))
    } else {
        Ok(Some(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read only through Debug: the test is about the refusals
    struct Sample {
        name: String,
        #[serde(default)]
        limit: Option<Whole<0, 100>>,
        #[serde(default)]
        flag: Option<bool>,
    }

    fn refused(body: serde_json::Value) -> String {
        read::<Sample>(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn refusals_name_the_member_and_say_what_it_must_be() {
        assert_eq!(refused(json!({})), "'name' is required");
        assert_eq!(
            refused(json!({"name": "a", "limit": 0.5})),
            "'limit' must be a whole number from 0 to 100, not floating point 0.5"
        );
        assert_eq!(
            refused(json!({"name": "a", "limit": "3"})),
            "'limit' must be a whole number from 0 to 100, not string \"3\""
        );
        assert_eq!(
            refused(json!({"name": "a", "limit": 101})),
            "'limit' must be a whole number from 0 to 100, not integer 101"
        );
        assert_eq!(
            refused(json!({"name": "a", "flag": "yes"})),
            "'flag' must be a boolean, not string \"yes\""
        );
        assert_eq!(refused(json!(["a"])), "the body must be a JSON object");
        assert_eq!(refused(json!("a")), "the body must be a JSON object");
        assert!(
            read::<Sample>(b"{\"name\": ")
                .unwrap_err()
                .starts_with("the body is not JSON: ")
        );
    }
}
