//! `GET /admin/api/v1/events`: the change feed after a cursor (SPEC §11), in sequence order,
//! optionally waiting for the next event (`wait`, up to 30 s).

use super::{ApiFailure, ApiResult, Caller};
use crate::feed::{MAX_WAIT, page_json, read_or_wait};
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use scimd_core::feed::{ChangeQuery, ChangeType};
use scimd_core::provisioner::MAX_EVENTS_PER_READ;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Events a read returns unless it asks for another number.
const DEFAULT_LIMIT: u32 = 100;

/// Reads waiting for events at once; past that a read answers at once (an empty page, which a
/// consumer asks again after), so waiting readers cannot take the server's memory or tasks.
pub(crate) const MAX_WAITING_READS: usize = 64;

/// The margin a waiting read leaves before the request deadline, to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

pub(super) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let (query, wait) = read_params(&params)
        .map_err(|message| ApiFailure::new(StatusCode::BAD_REQUEST, message))?;
    let deadline = state.settings.limits.request_timeout;
    let (permit, wait) = waiting(&state.feed_waiters, wait, deadline);
    let page = read_or_wait(&state.provisioner, &caller.grant, &query, wait).await?;
    drop(permit);
    let body = page_json(&page, caller.tenant().slug.as_str());
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// How long a read may wait: what it asked, within the request's deadline, and only while
/// one of the waiting places is free (the permit holds it); no wait otherwise.
fn waiting(
    places: &Semaphore,
    asked: Duration,
    deadline: Duration,
) -> (Option<SemaphorePermit<'_>>, Duration) {
    let wait = asked.min(deadline.saturating_sub(DEADLINE_MARGIN));
    if wait.is_zero() {
        return (None, Duration::ZERO);
    }
    match places.try_acquire() {
        Ok(permit) => (Some(permit), wait),
        Err(_) => (None, Duration::ZERO),
    }
}

/// The query and the wait a request asks for, or what is wrong with it.
fn read_params(params: &HashMap<String, String>) -> Result<(ChangeQuery, Duration), String> {
    let given = |name: &str| params.get(name).map(|value| value.trim());
    let after = match given("after") {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|after| *after >= 0)
            .ok_or_else(|| format!("'after' must be a cursor this API returned, not {cursor:?}"))?,
    };
    let limit = match given("limit") {
        None | Some("") => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=MAX_EVENTS_PER_READ).contains(limit))
            .ok_or_else(|| {
                format!(
                    "'limit' must be a whole number from 1 to {MAX_EVENTS_PER_READ}, not {limit:?}"
                )
            })?,
    };
    let types = match given("types") {
        None => Vec::new(),
        Some(types) => ChangeType::parse_list(types)?,
    };
    let wait = match given("wait") {
        None | Some("") => Duration::ZERO,
        Some(seconds) => seconds
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= MAX_WAIT.as_secs())
            .map(Duration::from_secs)
            .ok_or_else(|| {
                format!(
                    "'wait' must be a whole number of seconds from 0 to {}, not {seconds:?}",
                    MAX_WAIT.as_secs()
                )
            })?,
    };
    Ok((
        ChangeQuery {
            after,
            types,
            limit,
        },
        wait,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_wait_only_while_a_waiting_place_is_free_and_within_the_deadline() {
        let places = Semaphore::new(2);
        let thirty = Duration::from_secs(30);
        let (first, wait) = waiting(&places, thirty, thirty);
        assert!(first.is_some());
        assert_eq!(
            wait,
            Duration::from_secs(28),
            "two seconds before the deadline"
        );
        let (second, _) = waiting(&places, Duration::from_secs(5), thirty);
        assert!(second.is_some());
        let (third, wait) = waiting(&places, thirty, thirty);
        assert!(third.is_none(), "every place taken");
        assert_eq!(wait, Duration::ZERO, "so it answers at once");
        drop(first);
        let (again, wait) = waiting(&places, thirty, thirty);
        assert!(
            again.is_some() && wait > Duration::ZERO,
            "a freed place is taken again"
        );
        let (none, wait) = waiting(&places, Duration::ZERO, thirty);
        assert!(
            none.is_none() && wait.is_zero(),
            "a read that does not wait takes no place"
        );
        assert_eq!(places.available_permits(), 0);
    }

    #[test]
    fn reads_default_and_refuse_what_they_cannot_mean() {
        let (query, wait) = read_params(&params(&[])).unwrap();
        assert_eq!((query.after, query.limit, wait), (0, 100, Duration::ZERO));
        assert!(query.types.is_empty());
        let (query, wait) = read_params(&params(&[
            ("after", "41"),
            ("limit", "1000"),
            ("types", "user.created,user.deleted"),
            ("wait", "30"),
        ]))
        .unwrap();
        assert_eq!((query.after, query.limit), (41, 1000));
        assert_eq!(query.types, [ChangeType::Created, ChangeType::Deleted]);
        assert_eq!(wait, Duration::from_secs(30));
        for (name, value, says) in [
            ("after", "-1", "'after' must be a cursor"),
            ("after", "abc", "'after' must be a cursor"),
            ("after", "99999999999999999999", "'after' must be a cursor"),
            (
                "limit",
                "0",
                "'limit' must be a whole number from 1 to 1000",
            ),
            ("limit", "1001", "'limit'"),
            (
                "types",
                "user.exploded",
                "'user.exploded' is not an event type",
            ),
            (
                "wait",
                "31",
                "'wait' must be a whole number of seconds from 0 to 30",
            ),
            ("wait", "1.5", "'wait'"),
        ] {
            let error = read_params(&params(&[(name, value)])).unwrap_err();
            assert!(error.starts_with(says), "{name}={value}: {error}");
        }
    }
}
