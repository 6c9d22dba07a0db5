//! `scimd events`: the change feed (SPEC §11) after a cursor, one event per line; with
//! `--follow`, waits for new events until interrupted.

use super::webhooks::EventTypes;
use crate::AppProvisioner;
use crate::config::TenantArg;
use crate::feed::{MAX_WAIT, read_or_wait};
use clap::Args;
use scimd_core::feed::{ChangeQuery, StoredChange};
use scimd_core::provisioner::MAX_EVENTS_PER_READ;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Start after this cursor (the `next cursor` an earlier run printed); from the oldest
    /// event kept by default.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// Keep waiting for new events (stop with Ctrl-C).
    #[arg(long)]
    pub follow: bool,
    /// Only these event types, comma-separated (user.created,user.deleted,...).
    #[arg(long, value_parser = EventTypes::parse)]
    pub types: Option<EventTypes>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: EventFormat,
    #[command(flatten)]
    pub tenant: TenantArg,
}

/// `json`: each event as the Events API returns it, one per line; `table`: a line per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventFormat {
    Table,
    Json,
}

pub(super) async fn events(
    provisioner: &AppProvisioner,
    args: EventsArgs,
) -> anyhow::Result<ExitCode> {
    let grant = super::grant(provisioner, &args.tenant.tenant, "events").await?;
    let slug = grant.tenant().slug.as_str().to_owned();
    let mut query = ChangeQuery {
        after: args.after,
        types: args.types.unwrap_or_default().0,
        limit: MAX_EVENTS_PER_READ,
    };
    let wait = if args.follow {
        MAX_WAIT
    } else {
        Duration::ZERO
    };
    let mut out = std::io::stdout().lock();
    if args.format == EventFormat::Table {
        writeln!(
            out,
            "{:>8}  {:<24}  {:<16}  {:<32}  {:<20}  CHANGED",
            "SEQUENCE", "OCCURRED", "TYPE", "EMAIL", "ACTOR"
        )?;
    }
    loop {
        let page = read_or_wait(provisioner, &grant, &query, wait).await?;
        for event in &page.events {
            let line = match args.format {
                EventFormat::Json => event.render(&slug),
                EventFormat::Table => table_line(event),
            };
            // A closed pipe (`scimd events | head`) ends the command quietly.
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return Ok(ExitCode::SUCCESS);
            }
        }
        query.after = page.next_after;
        if page.events.is_empty() && !args.follow {
            break;
        }
    }
    eprintln!(
        "next cursor: {} (resume with --after {})",
        query.after, query.after
    );
    Ok(ExitCode::SUCCESS)
}

fn table_line(event: &StoredChange) -> String {
    let body: Value = serde_json::from_str(&event.body).unwrap_or_default();
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let changed: Vec<String> = body["data"]["changed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    format!(
        "{:>8}  {:<24}  {:<16}  {:<32}  {:<20}  {}",
        event.sequence,
        event.occurred_at.to_rfc3339(),
        event.kind.as_str(),
        text(&body["data"]["account"]["email"]),
        text(&body["actor"]["name"]),
        changed.join(",")
    )
}
