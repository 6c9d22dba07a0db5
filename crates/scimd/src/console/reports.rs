//! The User Provisioning Report, Preserved Users and the activity log (SPEC §7), each with a
//! CSV export of the same rows.

use super::Signed;
use super::pages::{Chrome, PageResult, render};
use super::users::encode;
use crate::http::AppState;
use crate::listing::Listing;
use crate::reports::{PRESERVED_REPORT, PROVISIONING_REPORT, accounts_listing, events_listing};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scim::datetime::Timestamp;
use scimd_core::activity::{Event, EventQuery, Outcome};
use scimd_core::provisioner::{AccountFilter, AccountSearch};
use scimd_core::store::StateFilter;
use std::collections::HashMap;

/// Events shown on a page of the log.
const PAGE_EVENTS: u32 = 100;
/// Rows read at a time while a CSV export streams out (the export holds them all).
const EXPORT_CHUNK: u32 = 1_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/reports/provisioning", get(provisioning))
        .route("/admin/reports/provisioning.csv", get(provisioning_csv))
        .route("/admin/reports/preserved", get(preserved))
        .route("/admin/reports/preserved.csv", get(preserved_csv))
        .route("/admin/activity", get(activity))
        .route("/admin/activity.csv", get(activity_csv))
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    chrome: Chrome,
    title: &'static str,
    csv: &'static str,
    listing: Listing,
}

async fn report(state: &AppState, signed: &Signed, preserved: bool) -> scimd_core::Result<Listing> {
    let filter = AccountFilter {
        state: preserved.then_some(StateFilter::Preserved),
        profile: None,
    };
    let accounts = state
        .provisioner
        .list_accounts(&signed.grant, &filter)
        .await?;
    let columns = if preserved {
        PRESERVED_REPORT
    } else {
        PROVISIONING_REPORT
    };
    Ok(accounts_listing(&accounts, columns))
}

async fn provisioning(State(state): State<AppState>, signed: Signed) -> PageResult {
    Ok(render(&ReportPage {
        chrome: Chrome::of(&signed, "reports"),
        title: "User Provisioning Report",
        csv: "/admin/reports/provisioning.csv",
        listing: report(&state, &signed, false).await?,
    }))
}

async fn preserved(State(state): State<AppState>, signed: Signed) -> PageResult {
    Ok(render(&ReportPage {
        chrome: Chrome::of(&signed, "reports"),
        title: "Preserved Users",
        csv: "/admin/reports/preserved.csv",
        listing: report(&state, &signed, true).await?,
    }))
}

/// A CSV download streamed a chunk at a time: `chunk(position)` reads the rows at `position`
/// and says where the next chunk starts (`None` after the last); the first chunk carries the
/// header. The server holds one chunk, not the export.
fn csv_download<P, F, Fut>(file: &str, first: P, chunk: F) -> Response
where
    P: Send + 'static,
    F: Fn(P) -> Fut + Send + 'static,
    Fut: Future<Output = scimd_core::Result<(Listing, Option<P>)>> + Send + 'static,
{
    let chunks = futures_util::stream::unfold(Some((first, true)), move |next| {
        let read = next.map(|(position, header)| (chunk(position), header));
        async move {
            let (read, header) = read?;
            match read.await {
                Ok((listing, following)) => {
                    let mut bytes = Vec::new();
                    let written = listing.write_csv(header, &mut bytes);
                    Some((written.map(|()| bytes), following.map(|next| (next, false))))
                }
                Err(error) => {
                    tracing::error!(%error, "a CSV export stopped part way");
                    Some((Err(std::io::Error::other("the export stopped")), None))
                }
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// The report's accounts as CSV, [`EXPORT_CHUNK`] at a time in key order.
fn report_csv(state: AppState, signed: Signed, preserved: bool, file: &str) -> Response {
    let columns = if preserved {
        PRESERVED_REPORT
    } else {
        PROVISIONING_REPORT
    };
    // The position is the key the chunk starts after (`None` for the first).
    csv_download(file, None, move |after_key: Option<i64>| {
        let (state, grant) = (state.clone(), signed.grant.clone());
        async move {
            let search = AccountSearch {
                state: preserved.then_some(StateFilter::Preserved),
                after_key,
                limit: EXPORT_CHUNK,
                ..AccountSearch::default()
            };
            let (accounts, more) = state.provisioner.search_accounts(&grant, &search).await?;
            Ok((accounts_listing(&accounts, columns), more.map(Some)))
        }
    })
}

async fn provisioning_csv(State(state): State<AppState>, signed: Signed) -> Response {
    report_csv(state, signed, false, "scimd-user-provisioning-report.csv")
}

async fn preserved_csv(State(state): State<AppState>, signed: Signed) -> Response {
    report_csv(state, signed, true, "scimd-preserved-users.csv")
}

/// The activity filters, as the form sends them and shows them again.
#[derive(Debug, Default)]
struct ActivityFilters {
    outcome: String,
    idp: String,
    operation: String,
    user: String,
    since: String,
    until: String,
}

impl ActivityFilters {
    fn from(query: &HashMap<String, String>) -> Self {
        let get = |name: &str| {
            query
                .get(name)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        Self {
            outcome: get("outcome"),
            idp: get("idp"),
            operation: get("operation"),
            user: get("user"),
            since: get("since"),
            until: get("until"),
        }
    }

    fn query(&self, limit: u32, offset: u32) -> EventQuery {
        let some = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        EventQuery {
            since: local_time(&self.since),
            until: local_time(&self.until),
            outcome: Outcome::parse(&self.outcome),
            client: some(&self.idp),
            operation: some(&self.operation),
            user_name: some(&self.user),
            limit,
            offset,
        }
    }

    /// The same filters as a query string, for the CSV link.
    fn encoded(&self) -> String {
        [
            ("outcome", &self.outcome),
            ("idp", &self.idp),
            ("operation", &self.operation),
            ("user", &self.user),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// A `datetime-local` value (`2026-12-02T08:30`), read as UTC.
fn local_time(text: &str) -> Option<Timestamp> {
    match text.len() {
        16 => scim::datetime::parse(&format!("{text}:00Z")),
        19 => scim::datetime::parse(&format!("{text}Z")),
        _ => scim::datetime::parse(text),
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    filters: ActivityFilters,
    query: String,
    events: Vec<Event>,
    /// 1-based; the newest events are on page 1.
    page: u32,
    older: bool,
}

async fn activity(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let filters = ActivityFilters::from(&query);
    let page = query
        .get("page")
        .and_then(|page| page.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let offset = (page - 1).saturating_mul(PAGE_EVENTS);
    // One more than shown tells whether there is an older page.
    let mut events = state
        .provisioner
        .activity(&signed.grant, &filters.query(PAGE_EVENTS + 1, offset))
        .await?;
    let older = events.len() > PAGE_EVENTS as usize;
    events.truncate(PAGE_EVENTS as usize);
    Ok(render(&ActivityPage {
        chrome: Chrome::of(&signed, "activity"),
        query: filters.encoded(),
        filters,
        events,
        page,
        older,
    }))
}

/// The log as CSV, streamed a chunk of events at a time: the server holds one chunk, not the
/// export. Events logged after the export began are left out, so chunks do not shift.
async fn activity_csv(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let filters = ActivityFilters::from(&query);
    let mut first = filters.query(EXPORT_CHUNK, 0);
    let began = Timestamp::from_millis(state.provisioner.now().as_millis() + 1);
    first.until = Some(first.until.map_or(began, |until| until.min(began)));
    csv_download("scimd-activity.csv", first, move |query: EventQuery| {
        let (state, grant) = (state.clone(), signed.grant.clone());
        async move {
            let events = state.provisioner.activity(&grant, &query).await?;
            let following = (events.len() == EXPORT_CHUNK as usize).then(|| EventQuery {
                offset: query.offset + EXPORT_CHUNK,
                ..query
            });
            Ok((events_listing(events), following))
        }
    })
}
