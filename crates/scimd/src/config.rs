//! The command line's root: the global flags and the list of commands. Each command's own
//! arguments live beside the code that runs it (`cli::users`, `cli::catalog`, ...). Every flag
//! also reads a `SCIMD_*` environment variable.

use crate::cli::TenantCommand;
use crate::cli::admins::AdminCommand;
use crate::cli::catalog::{MappingCommand, ProfileCommand, StorageCommand};
use crate::cli::clients::ClientCommand;
use crate::cli::events::EventsArgs;
use crate::cli::reports::{ActivityArgs, ReportCommand};
use crate::cli::serve::{HealthcheckArgs, ServeArgs};
use crate::cli::tokens::TokenCommand;
use crate::cli::users::UserCommand;
use crate::cli::webhooks::WebhookCommand;
use crate::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./scimd-data/scimd.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// scimd: a SCIM 2.0 user-provisioning service.
///
/// Identity providers (Entra ID, Okta, JumpCloud, any RFC 7644 client) push users in with a
/// base URL and a bearer token. Start with `scimd serve`, then `scimd token create --name entra`.
#[derive(Debug, Parser)]
#[command(name = "scimd", version, propagate_version = true)]
pub struct Cli {
    /// Database: sqlite://PATH (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "SCIMD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// SQLite only: fsync every commit (survives power loss; the default survives a crash).
    #[arg(long, env = "SCIMD_SQLITE_FULL_SYNC", global = true)]
    pub sqlite_full_sync: bool,

    /// Email notifications go through this SMTP server: smtp://HOST:PORT (plain, this
    /// machine only), smtp://USER:PASSWORD@HOST:587?tls=required (STARTTLS) or
    /// smtps://USER:PASSWORD@HOST:465 (TLS). Off when unset.
    #[arg(long, env = "SCIMD_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of notification emails, e.g. "scimd <scimd@example.com>".
    #[arg(long, env = "SCIMD_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// Public origin of the server (e.g. `https://scim.example.com`) when behind a proxy: used
    /// in `Location` headers instead of the request's Host, and in the SCIM resources change
    /// events carry (every command writes those, so every command reads it).
    #[arg(long, env = "SCIMD_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Let webhooks (and the JWKS fetches of trusted assertion issuers) go to loopback, private
    /// and link-local addresses (a receiver on an internal network); refused by default, as a
    /// guard against requests into internal services.
    #[arg(long, env = "SCIMD_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,

    /// Log format.
    #[arg(
        long,
        env = "SCIMD_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info` or `scimd=debug,info`.
    #[arg(long, env = "SCIMD_LOG", default_value = "info", global = true)]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (and /healthz, /readyz, /metrics).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (every command does this first anyway).
    Migrate,
    /// Tenants: one per customer organisation.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Bearer tokens for identity providers.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Profiles: what a new user gets, and how many users each may hold.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Storages: where a new user's data lives.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Mappings: the ordered rules that give a new user a profile and a storage.
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Accounts: manual users, preserve, activate, delete, import.
    #[command(subcommand)]
    User(UserCommand),
    /// Reports: every account's provisioning, or the preserved accounts.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The provisioning activity log, newest first.
    Activity(ActivityArgs),
    /// The change feed: every account change, in order, after a cursor (--follow waits for more).
    Events(EventsArgs),
    /// Webhooks: endpoints the change feed is pushed to, signed, with retries.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// OAuth 2.0 clients: IdPs that authenticate with client credentials (Entra's gallery).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Console and admin-API accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Exit 0 when the server at --url answers /healthz.
    Healthcheck(HealthcheckArgs),
}

/// The tenant an admin command acts on.
#[derive(Debug, Args)]
pub struct TenantArg {
    #[arg(long, env = "SCIMD_TENANT", default_value = "default")]
    pub tenant: String,
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// `90s`, `30m`, `12h`, `7d` (or a bare number of seconds) in milliseconds.
pub fn parse_duration_millis(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(split) => text.split_at(split),
        None => (text, "s"),
    };
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: use a number with s, m, h or d, such as 30m or 7d"
            ));
        }
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    number
        .checked_mul(seconds_per_unit * 1000)
        .ok_or_else(|| format!("{text:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_duration_millis("90s"), Ok(90_000));
        assert_eq!(parse_duration_millis("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_millis("12h"), Ok(43_200_000));
        assert_eq!(parse_duration_millis("7d"), Ok(604_800_000));
        assert_eq!(parse_duration_millis("45"), Ok(45_000));
        assert!(parse_duration_millis("7w").is_err());
        assert!(parse_duration_millis("d").is_err());
        assert!(parse_duration_millis("99999999999999999d").is_err());
    }
}
