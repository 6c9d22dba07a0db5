//! A provisioned user as stored, and its SCIM representation.

use crate::account;
use crate::activity::{Actor, Client, Origin};
use crate::error::Result;
use crate::lifecycle::{AccountState, ManagedBy};
use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use scim::render::{Meta, layout, splice, user_location, weak_etag};
use serde_json::{Map, Value};

/// A product account and the SCIM user it shows as: the normalised SCIM document (no `id`, no
/// `meta`) plus what the server owns. The account outlives its SCIM id (SPEC §4).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub tenant_id: TenantId,
    /// The account's key in the store, stable for its whole life; 0 before it is stored.
    pub key: i64,
    /// The live SCIM id: server-assigned, opaque, never reused. `None` for a manual account and
    /// after a DELETE retired it (the old id answers 404 for ever).
    pub scim_id: Option<String>,
    pub resource: Map<String, Value>,
    /// Bumped on every change; the weak ETag is `W/"<version>"`.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub state: AccountState,
    /// When the account was last preserved; `None` while active.
    pub preserved_at: Option<Timestamp>,
    pub managed_by: ManagedBy,
    /// What the product shows: the derived display name with R-41's replacements, and the UPN.
    pub profile: AccountProfile,
    /// Where mappings (or the admin, for a manual account) placed the account at creation, or
    /// where an admin moved it since (R-45).
    pub placement: Option<Placement>,
    /// The IdP connection that created, adopted or reactivated the account over SCIM.
    pub connection: Option<Connection>,
}

/// An IdP connection as reports name it: the token's name and the IdP its requests named
/// (`User-Agent`), so an admin with `entra` and `okta` tokens sees which one manages a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub token: String,
    pub idp: String,
}

impl Connection {
    /// The connection of a SCIM request; `None` for admins and scimd itself.
    pub fn of(origin: &Origin) -> Option<Self> {
        match &origin.actor {
            Actor::Token { name, .. } => Some(Self {
                token: name.clone(),
                idp: origin.client.as_str().to_owned(),
            }),
            Actor::Admin(_) | Actor::System => None,
        }
    }
}

/// The names the product account uses (R-32, R-41, R-43), derived from the SCIM document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    pub display_name: String,
    pub upn: String,
}

impl AccountProfile {
    pub fn of(resource: &Map<String, Value>) -> Self {
        let display_name = account::account_name(&account::display_name(resource));
        let upn = account::upn(resource, &display_name);
        Self { display_name, upn }
    }
}

/// The classification an account got at creation; later attribute changes never alter it (R-28).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The mapping's name, kept after the mapping itself is deleted (R-25); `None` for a manual
    /// account placed by an admin.
    pub mapping: Option<String>,
    /// The admin who moved the account here (R-45); mappings no longer speak for it.
    pub moved_by: Option<String>,
    pub profile_id: i64,
    pub storage_id: i64,
    pub quota_bytes: Option<u64>,
}

impl User {
    /// Who manages the account, as reports show it: `manual`, or `scim via entra (Entra ID)`
    /// naming the connection (plain `scim` for accounts created before connections were kept).
    pub fn manager(&self) -> String {
        match (self.managed_by, &self.connection) {
            // An IdP that did not name itself adds nothing to the token's name.
            (ManagedBy::Scim, Some(connection)) if connection.idp == Client::Other.as_str() => {
                format!("scim via {}", connection.token)
            }
            (ManagedBy::Scim, Some(connection)) => {
                format!("scim via {} ({})", connection.token, connection.idp)
            }
            (managed_by, _) => managed_by.as_str().to_owned(),
        }
    }

    pub fn user_name(&self) -> &str {
        self.resource
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.resource.get("externalId").and_then(Value::as_str)
    }

    pub fn display_name(&self) -> Option<&str> {
        self.resource.get("displayName").and_then(Value::as_str)
    }

    /// The next version of this account: `resource`, the names derived from it, `state`, and
    /// when the account became preserved. The document's `active` is made to match the state,
    /// unless the IdP removed it and the state stays (RFC 7644 §3.5.2.2: a removed attribute
    /// is unassigned, and scimd returns what the IdP sent, R-33).
    pub fn changed(
        &self,
        mut resource: Map<String, Value>,
        state: AccountState,
        now: Timestamp,
    ) -> User {
        if resource.contains_key("active") || state != self.state {
            resource.insert("active".into(), Value::Bool(state.is_active()));
        }
        let preserved_at = match (self.state.is_active(), state.is_active()) {
            (_, true) => None,
            (false, false) if self.state == state => self.preserved_at,
            (_, false) => Some(now),
        };
        User {
            tenant_id: self.tenant_id,
            key: self.key,
            scim_id: self.scim_id.clone(),
            profile: AccountProfile::of(&resource),
            resource,
            version: self.version + 1,
            created_at: self.created_at,
            updated_at: now,
            state,
            preserved_at,
            managed_by: self.managed_by,
            placement: self.placement.clone(),
            connection: self.connection.clone(),
        }
    }

    /// The document's `active`, which every write keeps equal to the account's state.
    pub fn active(&self) -> bool {
        self.state == AccountState::Active
    }

    /// Every `emails[].value`, for the indexed email lookup.
    pub fn email_values(&self) -> Vec<&str> {
        self.resource
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|email| email.get("value").and_then(Value::as_str))
            .collect()
    }

    pub fn etag(&self) -> String {
        weak_etag(self.version)
    }

    /// The SCIM id, or "" for an account SCIM cannot see; SCIM operations only ever hand out
    /// accounts found by their live id.
    pub fn id(&self) -> &str {
        self.scim_id.as_deref().unwrap_or_default()
    }

    pub fn location(&self, base_url: &str) -> String {
        user_location(base_url, self.id())
    }

    /// The full SCIM resource: `schemas`, `id`, the attributes, then `meta`. Consumes the
    /// user: the document's values move into the resource instead of being copied.
    pub fn into_scim(self, base_url: &str) -> Map<String, Value> {
        let meta = Meta {
            created: self.created_at,
            modified: self.updated_at,
            location: &self.location(base_url),
            etag: &self.etag(),
        };
        let id = self.scim_id.unwrap_or_default();
        layout(self.resource, &id, &meta)
    }
}

/// A SCIM-visible account as a read returns it: its SCIM document as stored, with what `meta`
/// shows. With the default projection the document stays text and is spliced into the response
/// ([`Self::render`]) instead of being parsed into values, rearranged and printed again (most
/// of the cost of a GET and of a list page); any other projection picks from
/// [`Self::resource`].
///
/// Only for documents written by scimd: every stored document was normalised
/// ([`scim::normalise`]), so it holds no attribute the default projection removes (nothing
/// `returned: never` or `request`, no unknown or empty member), and [`Self::render`] gives
/// exactly the bytes of [`User::into_scim`] under the default projection.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub key: i64,
    pub scim_id: String,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The document as stored: a JSON object, no `id`, no `meta`.
    pub document: String,
}

impl StoredUser {
    /// A user just written (its document normalised), to render the same way.
    pub fn of(user: &User) -> serde_json::Result<Self> {
        Ok(Self {
            key: user.key,
            scim_id: user.id().to_owned(),
            version: user.version,
            created_at: user.created_at,
            updated_at: user.updated_at,
            document: serde_json::to_string(&user.resource)?,
        })
    }

    pub fn etag(&self) -> String {
        weak_etag(self.version)
    }

    /// `schemas`, `id`, the stored members in their order, then `meta`: the layout of
    /// [`User::into_scim`], as JSON text. Fails only when the stored text is not a JSON object.
    pub fn render(&self, base_url: &str) -> serde_json::Result<Vec<u8>> {
        let (location, etag) = (user_location(base_url, &self.scim_id), self.etag());
        splice(&self.document, &self.scim_id, &self.meta(&location, &etag))
    }

    /// The resource as values, laid out as [`Self::render`] prints it, for a projection to pick
    /// from. Fails only when the stored text is not a JSON object.
    pub fn resource(&self, base_url: &str) -> serde_json::Result<Map<String, Value>> {
        let document = serde_json::from_str(&self.document)?;
        let (location, etag) = (user_location(base_url, &self.scim_id), self.etag());
        Ok(layout(
            document,
            &self.scim_id,
            &self.meta(&location, &etag),
        ))
    }

    fn meta<'a>(&self, location: &'a str, etag: &'a str) -> Meta<'a> {
        Meta {
            created: self.created_at,
            modified: self.updated_at,
            location,
            etag,
        }
    }
}

/// SPEC R-32: the userName is the account's email address. A deliberately plain check (one
/// `@`, something on each side, a dot in the domain, no spaces): the IdP owns the address.
pub fn check_user_name_is_email(user_name: &str) -> Result<(), scim::Error> {
    let valid = match user_name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !user_name.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        return Err(scim::Error::invalid_value(format!(
            "'userName' must be an email address, and {user_name:?} is not one"
        )));
    }
    // Two userNames that look alike must be alike: a hidden character would let one account
    // pass for another in every list and log.
    scim::text::check_no_control(user_name, false, "userName")?;
    scim::text::check_no_invisible(user_name, "userName")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies IdPs send (the replayed fixtures) and hand-made ones with what JSON text can
    /// vary in: escapes, non-ASCII, numbers, nesting, extensions, values IdPs send oddly.
    fn bodies() -> Vec<Value> {
        fn collect(value: &Value, into: &mut Vec<Value>) {
            match value {
                Value::Object(members) => {
                    if members.contains_key("userName") {
                        into.push(value.clone());
                    }
                    members.values().for_each(|member| collect(member, into));
                }
                Value::Array(items) => items.iter().for_each(|item| collect(item, into)),
                _ => {}
            }
        }
        let mut bodies = vec![
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": "Ünïcode.\"quoted\"\\back@example.com",
                "name": {"givenName": "Zoë\u{1F600}", "familyName": "Line\nBreak\ttab"},
                "emails": [{"value": "a@example.com", "type": "work", "primary": "True"},
                           {"value": "b@example.com", "primary": false}],
                "password": "never stored",
                "id": "ignored", "meta": {"created": "ignored"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "department": "R&D </script>", "employeeNumber": "0042",
                    "manager": {"value": "m-1"}
                },
                "title": "", "active": "False", "displayName": null,
                "x-custom": 1.5e3, "costCenter": -0.0
            }),
            serde_json::json!({"userName": "minimal@example.com"}),
            serde_json::json!({
                "userName": "phones@example.com",
                "phoneNumbers": [{"value": "+1 555", "type": "mobile"}],
                "addresses": [{"streetAddress": "1 Main St", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}
            }),
        ];
        for idp in ["entra", "okta", "jumpcloud"] {
            let path = format!(
                "{}/../../tests/fixtures/idp/{idp}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("fixture");
            collect(
                &serde_json::from_str(&text).expect("fixture JSON"),
                &mut bodies,
            );
        }
        bodies
    }

    #[test]
    fn stored_users_render_as_the_default_projection_and_read_as_the_full_resource() {
        let base = "https://scim.example.com/scim/v2";
        let mut checked = 0;
        for body in bodies() {
            let Ok(normalised) = scim::normalise::normalise_resource(&body, &scim::schema::USER)
            else {
                continue;
            };
            let resource = normalised.resource;
            let user = User {
                tenant_id: TenantId(1),
                key: 9,
                scim_id: Some("2819c223-7f76-453a-919d-413861904646".into()),
                profile: AccountProfile::of(&resource),
                resource,
                version: 7,
                created_at: Timestamp::from_millis(1_700_000_000_123),
                updated_at: Timestamp::from_millis(1_700_000_100_456),
                state: AccountState::Active,
                preserved_at: None,
                managed_by: ManagedBy::Scim,
                placement: None,
                connection: None,
            };
            let stored = StoredUser::of(&user).unwrap();
            let full = user.into_scim(base);
            assert_eq!(stored.resource(base).unwrap(), full);
            let projected =
                scim::projection::Projection::default().apply(full, &scim::schema::USER);
            let expected = serde_json::to_string(&Value::Object(projected)).unwrap();
            assert_eq!(stored.render(base).unwrap(), expected.as_bytes());
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} bodies normalised");
    }

    #[test]
    fn member_names_written_with_escapes_render_unescaped() {
        let stored = StoredUser {
            key: 1,
            scim_id: "x".into(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            document: r#"{"user\u004eame":"a@b.co","schemas":["s"]}"#.into(),
        };
        let rendered: Value = serde_json::from_slice(&stored.render("http://h").unwrap()).unwrap();
        let names: Vec<&str> = rendered
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["schemas", "id", "userName", "meta"]);
    }

    #[test]
    fn a_stored_document_that_is_not_an_object_fails_to_render() {
        for document in ["", "[1]", "{\"a\":", "\"text\""] {
            let stored = StoredUser {
                key: 1,
                scim_id: "x".into(),
                version: 1,
                created_at: Timestamp::from_millis(0),
                updated_at: Timestamp::from_millis(0),
                document: document.into(),
            };
            assert!(stored.render("http://h").is_err(), "{document}");
        }
    }

    #[test]
    fn user_name_must_be_an_email_r32() {
        for good in [
            "a@b.co",
            "Test_User_00aa@testuser.com",
            "first.last+tag@sub.example.org",
        ] {
            assert!(check_user_name_is_email(good).is_ok(), "{good}");
        }
        for bad in [
            "", "bjensen", "a@b", "@b.co", "a@.co", "a@b.co.", "a b@c.co", "a@b@c.co",
        ] {
            let error = check_user_name_is_email(bad).expect_err(bad);
            assert_eq!(error.scim_type, Some(scim::ScimType::InvalidValue));
        }
    }
}
