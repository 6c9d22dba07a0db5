//! Reading the change feed as the Events API and `scimd events --follow` do: a page after a
//! cursor, or, when there is none yet, waiting for the next event a while.

use crate::AppProvisioner;
use scimd_core::access::Grant;
use scimd_core::feed::{ChangePage, ChangeQuery};
use std::time::Duration;

/// The longest a read waits for the next event.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30);

/// How often a waiting read asks again. The database is asked, not this process, so events
/// written by another instance (or a command) wake the reader as soon as its own.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The page after `query.after`; when it is empty, asks again until an event comes or `wait`
/// has passed (then the empty page).
pub(crate) async fn read_or_wait(
    provisioner: &AppProvisioner,
    grant: &Grant,
    query: &ChangeQuery,
    wait: Duration,
) -> scimd_core::Result<ChangePage> {
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    loop {
        let page = provisioner.changes(grant, query).await?;
        let now = tokio::time::Instant::now();
        if !page.events.is_empty() || now >= deadline {
            return Ok(page);
        }
        tokio::time::sleep_until(deadline.min(now + POLL_EVERY)).await;
    }
}

/// The page as the Events API answers it: `{"data": [events], "next_cursor": "N"}`. The events
/// are joined as text (each is rendered once, see `StoredChange::render`).
pub(crate) fn page_json(page: &ChangePage, tenant_slug: &str) -> String {
    let mut body = String::with_capacity(
        64 + page
            .events
            .iter()
            .map(|e| e.body.len() + 160)
            .sum::<usize>(),
    );
    body.push_str(r#"{"data":["#);
    for (n, event) in page.events.iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&event.render(tenant_slug));
    }
    body.push_str(&format!(r#"],"next_cursor":"{}"}}"#, page.next_after));
    body
}
