//! A User resource as a response shows it (RFC 7643 §3.1): `meta`, the weak ETag, the
//! location, and a stored document spliced into a response as text.

use crate::datetime::Timestamp;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The weak ETag of a user's version, the same in `meta.version` and the `ETag` header.
pub fn weak_etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Where a user lives: `meta.location` and a create's `Location` header.
pub fn user_location(base_url: &str, scim_id: &str) -> String {
    [base_url, "/Users/", scim_id].concat()
}

/// `meta` (RFC 7643 §3.1) as every rendering of a user shows it. Serialised field by field,
/// so a rendered read writes it straight out instead of building a map first.
#[derive(Debug, Clone, Copy)]
pub struct Meta<'a> {
    pub created: Timestamp,
    pub modified: Timestamp,
    pub location: &'a str,
    pub etag: &'a str,
}

impl Meta<'_> {
    pub fn to_value(&self) -> Value {
        // Cannot fail: every field serialises as a string.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Meta<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut meta = serializer.serialize_struct("meta", 5)?;
        meta.serialize_field("resourceType", "User")?;
        meta.serialize_field("created", &self.created.to_rfc3339())?;
        meta.serialize_field("lastModified", &self.modified.to_rfc3339())?;
        meta.serialize_field("location", self.location)?;
        meta.serialize_field("version", self.etag)?;
        meta.end()
    }
}

/// `schemas`, `id`, the document's other members in their order, then `meta`: the layout of
/// every rendering of a user, as values (a projection then picks from it).
pub fn layout(
    mut document: Map<String, Value>,
    scim_id: &str,
    meta: &Meta<'_>,
) -> Map<String, Value> {
    let mut out = Map::with_capacity(document.len() + 2);
    // shift_remove keeps the members' order (remove would move the last one up).
    if let Some(schemas) = document.shift_remove("schemas") {
        out.insert("schemas".into(), schemas);
    }
    out.insert("id".into(), scim_id.into());
    out.extend(document);
    out.insert("meta".into(), meta.to_value());
    out
}

/// [`layout`] as JSON text: the document's members are copied as they are written, never
/// parsed into values.
/// Fails only when `document` is not a JSON object.
pub fn splice(document: &str, scim_id: &str, meta: &Meta<'_>) -> serde_json::Result<Vec<u8>> {
    let members: Members<'_> = serde_json::from_str(document)?;
    let mut out = Vec::with_capacity(document.len() + 64 + 2 * meta.location.len());
    out.push(b'{');
    let schemas = members.0.iter().find(|(key, _)| key.0 == "schemas");
    if let Some((key, value)) = schemas {
        serde_json::to_writer(&mut out, &key.0)?;
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"\"id\":");
    serde_json::to_writer(&mut out, scim_id)?;
    for (key, value) in members.0.iter().filter(|(key, _)| key.0 != "schemas") {
        out.push(b',');
        serde_json::to_writer(&mut out, &key.0)?;
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.extend_from_slice(b",\"meta\":");
    serde_json::to_writer(&mut out, meta)?;
    out.push(b'}');
    Ok(out)
}

/// [`layout`]'s resource written straight from the document's values into `out`, without
/// building the laid-out map (a change event carries the resource as a GET returns it).
pub fn write_laid_out(
    out: &mut Vec<u8>,
    document: &Map<String, Value>,
    scim_id: &str,
    meta: &Meta<'_>,
) -> serde_json::Result<()> {
    out.push(b'{');
    if let Some(schemas) = document.get("schemas") {
        out.extend_from_slice(b"\"schemas\":");
        serde_json::to_writer(&mut *out, schemas)?;
        out.push(b',');
    }
    out.extend_from_slice(b"\"id\":");
    serde_json::to_writer(&mut *out, scim_id)?;
    for (key, value) in document.iter().filter(|(key, _)| *key != "schemas") {
        out.push(b',');
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    out.extend_from_slice(b",\"meta\":");
    serde_json::to_writer(&mut *out, meta)?;
    out.push(b'}');
    Ok(())
}

/// A JSON object's members in document order, values left as text.
struct Members<'a>(Vec<(Key<'a>, &'a RawValue)>);

/// A member's name, borrowed from the document unless it is written with escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(name)))
            }

            fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(name.to_owned())))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(member) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}
