//! The provisioning activity log (SPEC §2): one event per change of an account, SCIM or admin,
//! and one per failed SCIM call with the exact error body the IdP received.

use crate::tenant::TenantId;
use scim::datetime::Timestamp;
use std::borrow::Cow;
use std::time::Instant;

/// Who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An IdP, by the bearer token it used.
    Token { id: i64, name: String },
    /// An admin: a console user, or the operator at the CLI (by login name).
    Admin(String),
    /// scimd itself (seeding a new tenant's catalog).
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Token { .. } => "token",
            Self::Admin(_) => "admin",
            Self::System => "system",
        }
    }

    /// The token's name or the admin's.
    pub fn name(&self) -> &str {
        match self {
            Self::Token { name, .. } => name,
            Self::Admin(name) => name,
            Self::System => "scimd",
        }
    }
}

/// The client that sent the request, from its `User-Agent` for SCIM calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    EntraId,
    Okta,
    JumpCloud,
    OneLogin,
    /// Another SCIM client.
    Other,
    /// `scimd` commands.
    Cli,
    /// The web console and the admin API.
    Console,
    /// scimd on its own behalf.
    Internal,
}

impl Client {
    /// The IdPs name themselves in `User-Agent` (Okta: `Okta SCIM Client 1.0.0`); Entra's
    /// provisioning service identifies as Microsoft / Azure AD.
    pub fn from_user_agent(user_agent: Option<&str>) -> Self {
        let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
        if agent.contains("okta") {
            Self::Okta
        } else if ["entra", "azure", "microsoft"]
            .iter()
            .any(|name| agent.contains(name))
        {
            Self::EntraId
        } else if agent.contains("jumpcloud") {
            Self::JumpCloud
        } else if agent.contains("onelogin") {
            Self::OneLogin
        } else {
            Self::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EntraId => "Entra ID",
            Self::Okta => "Okta",
            Self::JumpCloud => "JumpCloud",
            Self::OneLogin => "OneLogin",
            Self::Other => "other",
            Self::Cli => "cli",
            Self::Console => "console",
            Self::Internal => "scimd",
        }
    }
}

/// Where a request came from and when it arrived: what every event of the request records.
#[derive(Debug, Clone)]
pub struct Origin {
    pub actor: Actor,
    pub client: Client,
    pub method: String,
    pub path: String,
    pub received: Instant,
}

impl Origin {
    /// An admin action at the command line.
    pub fn cli(admin: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            actor: Actor::Admin(admin.into()),
            client: Client::Cli,
            method: "CLI".into(),
            path: command.into(),
            received: Instant::now(),
        }
    }

    /// An admin's request to the console or the admin API.
    pub fn console(
        admin: impl Into<String>,
        method: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            actor: Actor::Admin(admin.into()),
            client: Client::Console,
            method: method.into(),
            path: path.into(),
            received: Instant::now(),
        }
    }

    /// scimd acting on its own.
    pub fn system(what: impl Into<String>) -> Self {
        Self {
            actor: Actor::System,
            client: Client::Internal,
            method: "SYSTEM".into(),
            path: what.into(),
            received: Instant::now(),
        }
    }

    pub fn latency_millis(&self) -> i64 {
        i64::try_from(self.received.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// The most of any one text an event stores: a failed request may carry a megabyte of
/// userName or error detail, and the log must stay small enough to page and export.
pub const MAX_EVENT_TEXT: usize = 4 * 1024;

/// `text` as an event stores it: whole up to [`MAX_EVENT_TEXT`] bytes, else its beginning (cut
/// at a character boundary) and a mark that says how long it was.
pub fn stored_text(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_EVENT_TEXT {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_EVENT_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… [cut: {} bytes in all]",
        &text[..end],
        text.len()
    ))
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub tenant_id: TenantId,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor: String,
    pub client: String,
    pub method: String,
    pub path: String,
    /// What happened to the account (`create`, `adopt`, `reactivate`, `update`, `preserve`,
    /// `activate`, `delete`, `destroy`), or the request that failed.
    pub operation: String,
    pub target_user_name: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Outcome,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub latency_millis: i64,
    /// The exact body a failed request answered with.
    pub response: Option<String>,
}

impl Event {
    /// An event of the request `origin` made, with no target, detail or body yet.
    pub fn new(
        origin: &Origin,
        tenant_id: TenantId,
        at: Timestamp,
        operation: &str,
        outcome: Outcome,
        status: u16,
    ) -> Self {
        Self {
            tenant_id,
            at,
            actor_kind: origin.actor.kind().into(),
            actor: origin.actor.name().into(),
            client: origin.client.as_str().into(),
            method: origin.method.clone(),
            path: origin.path.clone(),
            operation: operation.into(),
            target_user_name: None,
            target_id: None,
            outcome,
            status,
            scim_type: None,
            detail: None,
            latency_millis: origin.latency_millis(),
            response: None,
        }
    }

    /// A successful change of something other than an account (catalog, tokens, tenants).
    pub fn change(
        origin: &Origin,
        tenant_id: TenantId,
        at: Timestamp,
        operation: &str,
        detail: String,
    ) -> Self {
        Self {
            detail: Some(detail),
            ..Self::new(origin, tenant_id, at, operation, Outcome::Success, 200)
        }
    }

    /// A successful change of an account (its userName and SCIM id), described by `detail`.
    pub fn success(
        origin: &Origin,
        tenant_id: TenantId,
        at: Timestamp,
        operation: &str,
        status: u16,
        target: (&str, Option<&str>),
        detail: String,
    ) -> Self {
        Self {
            target_user_name: Some(target.0.to_owned()),
            target_id: target.1.map(str::to_owned),
            detail: Some(detail),
            ..Self::new(origin, tenant_id, at, operation, Outcome::Success, status)
        }
    }
}

/// Which events an activity query returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub since: Option<Timestamp>,
    /// Events before this time.
    pub until: Option<Timestamp>,
    pub outcome: Option<Outcome>,
    /// Events from this client (`Entra ID`, `Okta`, `cli`, ...).
    pub client: Option<String>,
    pub operation: Option<String>,
    /// Events about this userName (folded comparison).
    pub user_name: Option<String>,
    pub limit: u32,
    /// Events skipped before the first returned (paging, newest first).
    pub offset: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_stored_cut_and_marked() {
        assert_eq!(stored_text("short"), "short");
        let long = "é".repeat(MAX_EVENT_TEXT);
        let stored = stored_text(&long);
        assert!(stored.len() < MAX_EVENT_TEXT + 64, "{}", stored.len());
        assert!(stored.ends_with(&format!("… [cut: {} bytes in all]", long.len())));
    }

    #[test]
    fn clients_are_told_apart_by_user_agent() {
        for (agent, client) in [
            (Some("Okta SCIM Client 1.0.0"), Client::Okta),
            (
                Some("Microsoft Azure AD SCIM Provisioning"),
                Client::EntraId,
            ),
            (Some("JumpCloud-SCIM/2.0"), Client::JumpCloud),
            (Some("OneLogin SCIM"), Client::OneLogin),
            (Some("curl/8.0"), Client::Other),
            (None, Client::Other),
        ] {
            assert_eq!(Client::from_user_agent(agent), client, "{agent:?}");
        }
    }
}
