//! What a page says after a change redirected to it: a fixed message chosen by a code in the
//! query string (`?done=mapping-created`). A link can only pick one of these; it cannot make
//! the console display words of its own.

use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    MappingCreated,
    MappingSaved,
    MappingMoved,
    MappingDeleted,
    UserPreserved,
    UserActivated,
    UserMoved,
    UsersMoved,
    WebhookEnabled,
    WebhookDisabled,
    WebhookDeleted,
    WebhookRedelivered,
}

const ALL: [Notice; 12] = [
    Notice::MappingCreated,
    Notice::MappingSaved,
    Notice::MappingMoved,
    Notice::MappingDeleted,
    Notice::UserPreserved,
    Notice::UserActivated,
    Notice::UserMoved,
    Notice::UsersMoved,
    Notice::WebhookEnabled,
    Notice::WebhookDisabled,
    Notice::WebhookDeleted,
    Notice::WebhookRedelivered,
];

impl Notice {
    fn code(self) -> &'static str {
        match self {
            Self::MappingCreated => "mapping-created",
            Self::MappingSaved => "mapping-saved",
            Self::MappingMoved => "mapping-moved",
            Self::MappingDeleted => "mapping-deleted",
            Self::UserPreserved => "user-preserved",
            Self::UserActivated => "user-activated",
            Self::UserMoved => "user-moved",
            Self::UsersMoved => "users-moved",
            Self::WebhookEnabled => "webhook-enabled",
            Self::WebhookDisabled => "webhook-disabled",
            Self::WebhookDeleted => "webhook-deleted",
            Self::WebhookRedelivered => "webhook-redelivered",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::MappingCreated => "Mapping created.",
            Self::MappingSaved => "Mapping saved.",
            Self::MappingMoved => "Mapping moved.",
            Self::MappingDeleted => "Mapping deleted; its users keep their profile and storage.",
            Self::UserPreserved => {
                "Preserved: the IdP cannot reactivate it until an admin activates it."
            }
            Self::UserActivated => "Activated.",
            Self::UserMoved => {
                "Moved: SCIM id and state are kept; its mapping now reads 'moved by admin'."
            }
            Self::UsersMoved => {
                "Moved every user the filter found; the activity log lists each of them."
            }
            Self::WebhookEnabled => {
                "Enabled: it gets the events since it stopped that the feed still keeps."
            }
            Self::WebhookDisabled => "Disabled: it gets no events until enabled again.",
            Self::WebhookDeleted => "Deleted, with its deliveries.",
            Self::WebhookRedelivered => "Queued: the event is sent again within seconds.",
        }
    }

    /// The notice a request's `done` parameter names; none for anything else.
    pub fn of(query: &HashMap<String, String>) -> Option<Self> {
        let code = query.get("done")?;
        ALL.into_iter().find(|notice| notice.code() == code)
    }

    /// Redirects to `path` (which may carry a query already) showing this notice.
    pub fn redirect(self, path: &str) -> Response {
        let separator = if path.contains('?') { '&' } else { '?' };
        Redirect::to(&format!("{path}{separator}done={}", self.code())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_codes_show_a_notice() {
        for notice in ALL {
            let query = HashMap::from([("done".to_owned(), notice.code().to_owned())]);
            assert_eq!(Notice::of(&query), Some(notice));
        }
        let spoof = HashMap::from([(
            "done".to_owned(),
            "Your session expired: call +1 555 0100".to_owned(),
        )]);
        assert_eq!(Notice::of(&spoof), None);
    }
}
