//! JSON request bodies parsed so that every reader sees the same document: a key given twice
//! in one object (SCIM attribute names compare case-insensitively, so `userName` and
//! `USERNAME` are the same key) is refused instead of one reader taking the first and another
//! the last.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// Objects up to this many keys are checked for a repeated key by comparing with each key
/// before; larger ones keep a set, so that a hostile object of many keys costs linear time.
const SCAN_KEYS: usize = 16;

/// Parses `bytes` as JSON; a key repeated in one object is an error naming it.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let Strict(value) = Strict::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut folded: Option<HashSet<String>> = None;
        while let Some(key) = access.next_key::<String>()? {
            let repeated = match &mut folded {
                Some(seen) => !seen.insert(key.to_ascii_lowercase()),
                None => map.keys().any(|seen| seen.eq_ignore_ascii_case(&key)),
            };
            if repeated {
                return Err(de::Error::custom(format!(
                    "the key {key:?} appears more than once in one object (names are \
                     case-insensitive)"
                )));
            }
            if folded.is_none() && map.len() >= SCAN_KEYS {
                let mut seen: HashSet<String> =
                    map.keys().map(|seen| seen.to_ascii_lowercase()).collect();
                seen.insert(key.to_ascii_lowercase());
                folded = Some(seen);
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_parse_as_serde_json_parses_them() {
        let text = r#"{"userName":"a@b.co","n":[1,-2,3.5,true,null,{"x":"y"}],"e":{}}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert!(parse(b"{} trailing").is_err());
        assert!(parse(b"{\"a\":").is_err());
    }

    #[test]
    fn a_key_repeated_in_one_object_is_refused_whatever_its_case() {
        for text in [
            r#"{"userName":"ceo@example.com","userName":"me@example.com"}"#,
            r#"{"userName":"ceo@example.com","USERNAME":"me@example.com"}"#,
            r#"{"name":{"givenName":"a","GivenName":"b"}}"#,
            r#"{"emails":[{"value":"a@b.co","Value":"c@d.co"}]}"#,
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains("appears more than once"), "{text}: {error}");
        }
        let same_name_elsewhere = r#"{"value":"a","sub":{"value":"b"},"list":[{"value":"c"}]}"#;
        assert!(parse(same_name_elsewhere.as_bytes()).is_ok());
    }

    #[test]
    fn large_objects_are_checked_with_a_set() {
        let keys: Vec<String> = (0..1000).map(|n| format!("\"k{n}\":{n}")).collect();
        let unique = format!("{{{}}}", keys.join(","));
        assert!(parse(unique.as_bytes()).is_ok());
        let repeated = format!("{{{},\"K500\":1}}", keys.join(","));
        let error = parse(repeated.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("K500"), "{error}");
    }
}
