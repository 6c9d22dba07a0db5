//! A change event's content, built by the write that records it. Written straight to JSON
//! text (no value tree, no copy of the account's document): every SCIM write builds one.

use super::{ChangeEvent, ChangeType, changed_attributes};
use crate::activity::Origin;
use crate::error::{Error, Result};
use crate::user::User;
use crate::user_id::new_time_ordered_id;
use scim::datetime::Timestamp;
use scim::render::{Meta, write_laid_out};
use serde::Serialize;

/// The names of the profile and storage an account is placed in, as events show them (ids mean
/// nothing to the host product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementNames {
    pub profile: String,
    pub storage: String,
}

/// An account write as the feed tells it.
#[derive(Debug, Clone, Copy)]
pub struct AccountChange<'a> {
    pub kind: ChangeType,
    pub origin: &'a Origin,
    pub at: Timestamp,
    /// The account as the write found it; `None` for a new one.
    pub before: Option<&'a User>,
    /// The account as the write leaves it (a destroyed one: as it was last).
    pub after: &'a User,
    /// Where `after` is placed; `None` when it is not.
    pub names: Option<&'a PlacementNames>,
}

/// `data.account`.
#[derive(Serialize)]
struct Account<'a> {
    email: &'a str,
    state: &'static str,
    preserved_by: Option<&'static str>,
    managed_by: &'static str,
    profile: Option<&'a str>,
    storage: Option<&'a str>,
    quota: Option<u64>,
    scim_id: Option<&'a str>,
    upn: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
struct Actor<'a> {
    kind: &'static str,
    name: &'a str,
    client: &'static str,
}

impl AccountChange<'_> {
    /// The event, its SCIM resource's `meta.location` under `scim_base_url`.
    pub fn event(&self, scim_base_url: &str) -> Result<ChangeEvent> {
        let body = self.body(scim_base_url).map_err(|error| {
            Error::Internal(format!("a change event did not serialise: {error}"))
        })?;
        Ok(ChangeEvent {
            id: new_time_ordered_id(self.at)?,
            kind: self.kind,
            tenant_id: self.after.tenant_id,
            occurred_at: self.at,
            body,
        })
    }

    /// `{"occurred_at", "actor", "data": {"account", "user", "changed", "previous_scim_id"}}`.
    fn body(&self, scim_base_url: &str) -> serde_json::Result<String> {
        let after = self.after;
        let mut out = Vec::with_capacity(1024 + after.resource.len() * 48);
        out.extend_from_slice(b"{\"occurred_at\":");
        serde_json::to_writer(&mut out, &self.at.to_rfc3339())?;
        out.extend_from_slice(b",\"actor\":");
        let actor = &self.origin.actor;
        serde_json::to_writer(
            &mut out,
            &Actor {
                kind: actor.kind(),
                name: actor.name(),
                client: self.origin.client.as_str(),
            },
        )?;
        out.extend_from_slice(b",\"data\":{\"account\":");
        serde_json::to_writer(
            &mut out,
            &Account {
                email: after.user_name(),
                state: after.state.name(),
                preserved_by: after.state.preserved_by().map(|by| by.as_str()),
                managed_by: after.managed_by.as_str(),
                profile: self.names.map(|names| names.profile.as_str()),
                storage: self.names.map(|names| names.storage.as_str()),
                quota: after.placement.as_ref().and_then(|p| p.quota_bytes),
                scim_id: after.scim_id.as_deref(),
                upn: &after.profile.upn,
                display_name: &after.profile.display_name,
            },
        )?;
        // The resource as a GET returns it: none once the account is gone or its id retired.
        out.extend_from_slice(b",\"user\":");
        match (self.kind, &after.scim_id) {
            (ChangeType::Destroyed, _) | (_, None) => out.extend_from_slice(b"null"),
            (_, Some(id)) => {
                let (location, etag) = (after.location(scim_base_url), after.etag());
                let meta = Meta {
                    created: after.created_at,
                    modified: after.updated_at,
                    location: &location,
                    etag: &etag,
                };
                write_laid_out(&mut out, &after.resource, id, &meta)?;
            }
        }
        out.extend_from_slice(b",\"changed\":");
        let changed = self
            .before
            .map(|before| changed_attributes(before, after))
            .unwrap_or_default();
        serde_json::to_writer(&mut out, &changed)?;
        // The SCIM id the account had before this change, when it lost or changed it (a
        // DELETE retires it; a reactivation or adoption may give a new one).
        let previous_scim_id = self
            .before
            .and_then(|before| before.scim_id.as_deref())
            .filter(|id| after.scim_id.as_deref() != Some(*id));
        out.extend_from_slice(b",\"previous_scim_id\":");
        serde_json::to_writer(&mut out, &previous_scim_id)?;
        out.extend_from_slice(b"}}");
        // Only serde_json wrote here: the text is UTF-8.
        String::from_utf8(out).map_err(serde::ser::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Origin;
    use crate::lifecycle::{AccountState, ManagedBy};
    use crate::tenant::TenantId;
    use crate::user::{AccountProfile, Placement};
    use serde_json::{Value, json};

    #[test]
    fn the_user_in_an_event_is_the_resource_a_get_returns() {
        let resource = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "pat@example.com", "name": {"givenName": "Pat"}, "active": true,
            "emails": [{"value": "pat@example.com", "primary": true}]});
        let resource = resource.as_object().cloned().unwrap();
        let user = User {
            tenant_id: TenantId(1),
            key: 4,
            scim_id: Some("u-1".into()),
            profile: AccountProfile::of(&resource),
            resource,
            version: 3,
            created_at: Timestamp::from_millis(1_000),
            updated_at: Timestamp::from_millis(2_000),
            state: AccountState::Active,
            preserved_at: None,
            managed_by: ManagedBy::Scim,
            placement: Some(Placement {
                mapping: None,
                moved_by: None,
                profile_id: 1,
                storage_id: 1,
                quota_bytes: Some(7),
            }),
            connection: None,
        };
        let names = PlacementNames {
            profile: "Gold".into(),
            storage: "EU \"west\"".into(),
        };
        let origin = Origin::cli("ann", "test");
        let change = AccountChange {
            kind: ChangeType::Created,
            origin: &origin,
            at: Timestamp::from_millis(2_000),
            before: None,
            after: &user,
            names: Some(&names),
        };
        let event = change.event("https://scim.example.com/scim/v2").unwrap();
        let body: Value = serde_json::from_str(&event.body).unwrap();
        let get = Value::Object(user.clone().into_scim("https://scim.example.com/scim/v2"));
        assert_eq!(body["data"]["user"], get);
        assert_eq!(
            serde_json::to_string(&body["data"]["user"]).unwrap(),
            serde_json::to_string(&get).unwrap(),
            "the same members in the same order"
        );
        assert_eq!(body["data"]["account"]["storage"], "EU \"west\"");
        assert_eq!(body["data"]["account"]["quota"], 7);
        assert_eq!(
            body["actor"],
            json!({"kind": "admin", "name": "ann", "client": "cli"})
        );
        assert_eq!(body["data"]["changed"], json!([]));
        assert_eq!(body["data"]["previous_scim_id"], Value::Null);
    }
}
