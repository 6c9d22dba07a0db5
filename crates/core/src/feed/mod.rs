//! The change feed (SPEC §11): one event per account change, written in the change's own
//! transaction with the tenant's next sequence number, read by the Events API in sequence
//! order and pushed to webhooks.
//!
//! An event as consumers see it:
//! `{"id", "type", "sequence", "tenant", "occurred_at", "actor", "data": {"account", "user",
//! "changed"}}`. The store keeps `id`, `type`, `sequence` and the tenant as columns and the
//! rest as the JSON text [`ChangeEvent::body`]; [`StoredChange::render`] joins them.

mod changed;
mod event;

pub use changed::changed_attributes;
pub use event::{AccountChange, PlacementNames};

use crate::activity::Event;
use crate::tenant::TenantId;
use scim::datetime::Timestamp;

/// What happened to an account (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeType {
    /// A new account, created by an IdP or an admin.
    Created,
    /// Attributes changed; the event names which.
    Updated,
    /// The IdP set `active` to false: the account is preserved by the IdP.
    Deactivated,
    /// The IdP made a preserved account active again (PATCH/PUT, or a POST of its email).
    Reactivated,
    /// The IdP deleted the SCIM user: its id is retired and the account preserved.
    Deleted,
    /// An admin preserved the account.
    Preserved,
    /// An admin activated a preserved account.
    Activated,
    /// An admin moved the account to another profile, storage or quota.
    Moved,
    /// An IdP took over an account an admin had created.
    Adopted,
    /// An admin destroyed the account and its data.
    Destroyed,
}

impl ChangeType {
    pub const ALL: [Self; 10] = [
        Self::Created,
        Self::Updated,
        Self::Deactivated,
        Self::Reactivated,
        Self::Deleted,
        Self::Preserved,
        Self::Activated,
        Self::Moved,
        Self::Adopted,
        Self::Destroyed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Updated => "user.updated",
            Self::Deactivated => "user.deactivated",
            Self::Reactivated => "user.reactivated",
            Self::Deleted => "user.deleted",
            Self::Preserved => "user.preserved",
            Self::Activated => "user.activated",
            Self::Moved => "user.moved",
            Self::Adopted => "user.adopted",
            Self::Destroyed => "user.destroyed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// A comma-separated list of types (`user.created,user.deleted`); the unknown one named in
    /// the error.
    /// Each type once, in the order first named: a list repeating one type thousands of times
    /// becomes one condition, not thousands of bound values.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut types = Vec::new();
        for name in text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let kind = Self::parse(name).ok_or_else(|| {
                format!(
                    "'{name}' is not an event type; the types are {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })?;
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        Ok(types)
    }
}

/// A change event as a write records it; the store gives it the tenant's next sequence number
/// and the key of the account it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// A UUIDv7: what a webhook receiver deduplicates on.
    pub id: String,
    pub kind: ChangeType,
    pub tenant_id: TenantId,
    pub occurred_at: Timestamp,
    /// The JSON object of everything else: `occurred_at`, `actor`, `data`.
    pub body: String,
}

/// What one account write records, in its own transaction: the activity log's line and the
/// change feed's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub activity: Event,
    pub change: ChangeEvent,
}

/// A change event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    pub sequence: i64,
    pub id: String,
    pub kind: ChangeType,
    /// The account's key: one account's events are delivered in sequence order.
    pub account_key: i64,
    pub occurred_at: Timestamp,
    pub body: String,
}

impl StoredChange {
    /// The event as consumers get it: `id`, `type`, `sequence` and `tenant` first, then the
    /// stored body's members. Joined as text: the Events API returns thousands a second.
    pub fn render(&self, tenant_slug: &str) -> String {
        let members = self
            .body
            .trim()
            .strip_prefix('{')
            .map(str::trim_start)
            .unwrap_or("}");
        let separator = if members.starts_with('}') { "" } else { "," };
        // The id is a UUID and the type one of ours; the slug is quoted by serde like any text.
        format!(
            r#"{{"id":"{}","type":"{}","sequence":{},"tenant":{}{separator}{members}"#,
            self.id,
            self.kind.as_str(),
            self.sequence,
            serde_json::Value::from(tenant_slug),
        )
    }
}

/// The most text one read returns, in characters, past the first event: events carry whole
/// SCIM resources (up to a request's size each), so `limit` alone does not bound a page.
pub const MAX_PAGE_TEXT: usize = 4_000_000;

/// Which events a read returns: those after `after` (a sequence number; 0 for the oldest kept),
/// of the given types (all when empty), at most `limit`, and no more once their bodies pass
/// [`MAX_PAGE_TEXT`] characters (the event that passes it is the page's last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeQuery {
    pub after: i64,
    pub types: Vec<ChangeType>,
    pub limit: u32,
}

/// One page of events and where the next read starts: the last event's sequence, or the
/// query's `after` when the page is empty (a consumer keeps asking from there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangePage {
    pub events: Vec<StoredChange>,
    pub next_after: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_and_lists_name_the_unknown_one() {
        for kind in ChangeType::ALL {
            assert_eq!(ChangeType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            ChangeType::parse_list("user.created, user.deleted,").unwrap(),
            vec![ChangeType::Created, ChangeType::Deleted]
        );
        let repeated = "user.deleted,user.created,".repeat(2_000);
        assert_eq!(
            ChangeType::parse_list(&repeated).unwrap(),
            vec![ChangeType::Deleted, ChangeType::Created]
        );
        let error = ChangeType::parse_list("user.created,user.exploded").unwrap_err();
        assert!(
            error.starts_with("'user.exploded' is not an event type"),
            "{error}"
        );
    }

    #[test]
    fn a_stored_event_renders_as_one_json_object() {
        let stored = StoredChange {
            sequence: 7,
            id: "0193a0c4-0000-7000-8000-000000000000".into(),
            kind: ChangeType::Updated,
            account_key: 3,
            occurred_at: Timestamp::from_millis(0),
            body: r#"{"occurred_at":"x","data":{"changed":["displayName"]}}"#.into(),
        };
        let event: serde_json::Value = serde_json::from_str(&stored.render("a\"b")).unwrap();
        assert_eq!(event["sequence"], 7);
        assert_eq!(event["type"], "user.updated");
        assert_eq!(event["tenant"], "a\"b");
        assert_eq!(event["data"]["changed"][0], "displayName");
        let empty = StoredChange {
            body: "{}".into(),
            ..stored
        };
        let event: serde_json::Value = serde_json::from_str(&empty.render("t")).unwrap();
        assert_eq!(event.as_object().unwrap().len(), 4);
    }
}
