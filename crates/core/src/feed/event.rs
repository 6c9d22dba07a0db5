//! A change event's content, built by the write that records it.

use super::{ChangeEvent, ChangeType, changed_attributes};
use crate::activity::Origin;
use crate::error::Result;
use crate::user::User;
use crate::user_id::new_time_ordered_id;
use scim::datetime::Timestamp;
use serde_json::{Value, json};

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

impl AccountChange<'_> {
    /// The event, its SCIM resource's `meta.location` under `scim_base_url`.
    pub fn event(&self, scim_base_url: &str) -> Result<ChangeEvent> {
        let after = self.after;
        let placement = after.placement.as_ref();
        let account = json!({
            "email": after.user_name(),
            "state": after.state.name(),
            "preserved_by": after.state.preserved_by().map(|by| by.as_str()),
            "managed_by": after.managed_by.as_str(),
            "profile": self.names.map(|names| names.profile.as_str()),
            "storage": self.names.map(|names| names.storage.as_str()),
            "quota": placement.and_then(|p| p.quota_bytes),
            "scim_id": after.scim_id,
            "upn": after.profile.upn,
            "display_name": after.profile.display_name,
        });
        // The resource as a GET returns it: none once the account is gone or its id retired.
        let user = match (self.kind, &after.scim_id) {
            (ChangeType::Destroyed, _) | (_, None) => Value::Null,
            (_, Some(_)) => Value::Object(after.clone().into_scim(scim_base_url)),
        };
        let changed = self
            .before
            .map(|before| changed_attributes(before, after))
            .unwrap_or_default();
        // The SCIM id the account had before this change, when it lost or changed it (a
        // DELETE retires it; a reactivation or adoption may give a new one).
        let previous_scim_id = self
            .before
            .and_then(|before| before.scim_id.as_deref())
            .filter(|id| after.scim_id.as_deref() != Some(*id));
        let body = json!({
            "occurred_at": self.at.to_rfc3339(),
            "actor": {
                "kind": self.origin.actor.kind(),
                "name": self.origin.actor.name(),
                "client": self.origin.client.as_str(),
            },
            "data": {
                "account": account,
                "user": user,
                "changed": changed,
                "previous_scim_id": previous_scim_id,
            },
        });
        Ok(ChangeEvent {
            id: new_time_ordered_id(self.at)?,
            kind: self.kind,
            tenant_id: after.tenant_id,
            occurred_at: self.at,
            body: body.to_string(),
        })
    }
}
