//! What the reports and listings show, as columns, shared by the CLI and the console (SPEC §7):
//! the User Provisioning Report, Preserved Users, one account, the activity log.

use crate::listing::Listing;
use scim::datetime::Timestamp;
use scimd_core::activity::Event;
use scimd_core::provisioner::AccountView;

fn time(at: Option<Timestamp>) -> String {
    at.map(Timestamp::to_rfc3339).unwrap_or_default()
}

/// A column of account listings: its header and how a cell is read off an account.
pub(crate) type Column = (&'static str, fn(&AccountView) -> String);

const USER: Column = ("User", |v| v.user.profile.display_name.clone());
const EMAIL: Column = ("Email", |v| v.user.user_name().to_owned());
const UPN: Column = ("UPN", |v| v.user.profile.upn.clone());
const PROFILE: Column = ("Profile", |v| v.profile.clone().unwrap_or_default());
const STORAGE: Column = ("Storage", |v| v.storage.clone().unwrap_or_default());
const STATE: Column = ("State", |v| v.user.state.name().to_owned());
const PRESERVED_BY: Column = ("Preserved by", |v| {
    let by = v.user.state.preserved_by();
    by.map(|by| by.as_str().to_owned()).unwrap_or_default()
});
const PRESERVED_AT: Column = ("Preserved at", |v| time(v.user.preserved_at));
const MAPPING: Column = ("Mapping", |v| v.mapping.clone());
const QUOTA: Column = ("Quota bytes", |v| {
    let placement = v.user.placement.as_ref();
    let quota = placement.and_then(|p| p.quota_bytes);
    quota.map(|quota| quota.to_string()).unwrap_or_default()
});
const MANAGED_BY: Column = ("Managed by", |v| v.user.manager());
const SCIM_ID: Column = ("SCIM id", |v| v.user.scim_id.clone().unwrap_or_default());
const CREATED: Column = ("Created", |v| time(Some(v.user.created_at)));
const UPDATED: Column = ("Updated", |v| time(Some(v.user.updated_at)));

/// SPEC §7 User Provisioning Report.
pub(crate) const PROVISIONING_REPORT: &[Column] = &[
    USER, EMAIL, PROFILE, STORAGE, STATE, MAPPING, MANAGED_BY, CREATED,
];
pub(crate) const PRESERVED_REPORT: &[Column] = &[
    USER,
    EMAIL,
    PROFILE,
    STORAGE,
    PRESERVED_BY,
    PRESERVED_AT,
    MANAGED_BY,
];
/// `user show`: every field an admin asks about.
pub(crate) const ACCOUNT_DETAIL: &[Column] = &[
    EMAIL,
    ("Name", USER.1),
    UPN,
    STATE,
    PRESERVED_BY,
    PRESERVED_AT,
    MANAGED_BY,
    PROFILE,
    STORAGE,
    MAPPING,
    QUOTA,
    SCIM_ID,
    CREATED,
    UPDATED,
];

pub(crate) fn accounts_listing(accounts: &[AccountView], columns: &[Column]) -> Listing {
    let mut listing = Listing::new(columns.iter().map(|(header, _)| *header).collect());
    for view in accounts {
        listing.push(columns.iter().map(|(_, cell)| cell(view)).collect());
    }
    listing
}

/// The activity log as rows: every field, the exact response body last.
pub(crate) fn events_listing(events: Vec<Event>) -> Listing {
    let mut listing = Listing::new(vec![
        "Time",
        "Actor",
        "Client",
        "Operation",
        "User",
        "SCIM id",
        "Outcome",
        "Status",
        "scimType",
        "Detail",
        "Latency ms",
        "Method",
        "Path",
        "Response",
    ]);
    for event in events {
        listing.push(vec![
            event.at.to_rfc3339(),
            format!("{} {}", event.actor_kind, event.actor),
            event.client,
            event.operation,
            event.target_user_name.unwrap_or_default(),
            event.target_id.unwrap_or_default(),
            event.outcome.as_str().to_owned(),
            event.status.to_string(),
            event.scim_type.unwrap_or_default(),
            event.detail.unwrap_or_default(),
            event.latency_millis.to_string(),
            event.method,
            event.path,
            event.response.unwrap_or_default(),
        ]);
    }
    listing
}
