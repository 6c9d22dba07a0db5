//! The command line: every flag also reads a `SCIMD_*` environment variable.

use crate::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

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

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile.
    Create {
        name: String,
        /// Most users the profile may hold; 0 is unlimited.
        #[arg(long, env = "SCIMD_PROFILE_MAX_USERS", default_value_t = 0)]
        max_users: u32,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List profiles.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Rename a profile or change its limit of users; a limit below the users it holds
    /// is refused.
    Edit {
        name: String,
        /// The new name.
        #[arg(long)]
        rename: Option<String>,
        /// Most users the profile may hold; 0 is unlimited.
        #[arg(long)]
        max_users: Option<u32>,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete a profile no mapping uses.
    Delete {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Create a storage.
    Create {
        name: String,
        /// The storage's region, e.g. us-east-1.
        #[arg(long, env = "SCIMD_STORAGE_REGION")]
        region: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List storages.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Rename a storage or change its region.
    Edit {
        name: String,
        /// The new name.
        #[arg(long)]
        rename: Option<String>,
        /// The new region.
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Create a mapping, directly above the first any-user mapping (so a catch-all stays
    /// last), or at --priority.
    Create {
        #[arg(long, env = "SCIMD_MAPPING_NAME")]
        name: String,
        /// Match every user.
        #[arg(long, conflicts_with_all = ["attribute", "values"], required_unless_present = "attribute")]
        any_user: bool,
        /// The attribute to match, e.g. department or urn:...:Druva:2.0:User:city.
        #[arg(long, requires = "values")]
        attribute: Option<String>,
        /// Values, comma-separated; semicolon-separated when a value has a comma.
        #[arg(long, requires = "attribute")]
        values: Option<String>,
        #[arg(long, env = "SCIMD_MAPPING_PROFILE")]
        profile: String,
        #[arg(long, env = "SCIMD_MAPPING_STORAGE")]
        storage: String,
        /// Storage quota in bytes.
        #[arg(long)]
        quota: Option<u64>,
        /// Send new users an activation email.
        #[arg(long)]
        activation_email: bool,
        /// Where it goes in the list, 1 being tried first; past the end is the bottom.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        priority: Option<u32>,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List mappings in priority order.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Change a mapping's name or configuration; its criteria cannot change.
    Edit {
        name: String,
        #[arg(long)]
        new_name: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        storage: Option<String>,
        #[arg(long, conflicts_with = "no_quota")]
        quota: Option<u64>,
        /// Remove the quota.
        #[arg(long)]
        no_quota: bool,
        #[arg(long)]
        activation_email: Option<bool>,
        /// Refused: criteria are fixed at creation.
        #[arg(long, hide = true)]
        attribute: Option<String>,
        /// Refused: criteria are fixed at creation.
        #[arg(long, hide = true)]
        values: Option<String>,
        /// Refused: criteria are fixed at creation.
        #[arg(long, hide = true)]
        any_user: bool,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Move a mapping to a priority (1 is tried first); the others keep their order.
    Reorder {
        name: String,
        #[arg(long)]
        priority: u32,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete a mapping; the users it classified keep their profile and storage.
    Delete {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Show which mapping a sample SCIM user (a JSON file, or - for stdin) would get, and why.
    Preview {
        file: std::path::PathBuf,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Every tenant; can create tenants.
    Operator,
    /// One tenant: everything.
    Admin,
    /// One tenant, read only.
    Viewer,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account for the console and the admin API. The password is asked for (or
    /// read from SCIMD_ADMIN_PASSWORD); at least 12 characters.
    Create {
        email: String,
        #[arg(long, value_enum, default_value = "admin")]
        role: RoleArg,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Keys for the admin JSON API (`Authorization: Bearer scimd_k_…`), acting as an admin.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Disable an account: no sign-in, session or key of it works until it is enabled; its
    /// sessions end now.
    Disable { email: String },
    /// Enable a disabled account again.
    Enable { email: String },
    /// Delete an account with its sessions and keys.
    Delete { email: String },
    /// Set a new password (asked for, or read from SCIMD_ADMIN_PASSWORD); lifts a lock after
    /// failed sign-ins and ends every session of the account.
    Password { email: String },
    /// The account's console sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Sign the admin out everywhere.
    Revoke { email: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new key, alone on stdout (shown once); replaces a live key of that name.
    Create {
        /// The admin the key acts as.
        email: String,
        #[arg(long)]
        name: String,
        /// Days the key works (1 to 1095).
        #[arg(long, env = "SCIMD_KEY_EXPIRES_IN_DAYS", default_value_t = scimd_core::admin::DEFAULT_API_KEY_DAYS)]
        expires_in_days: i64,
    },
    /// Keys (never their secrets): admin, name, created, expires, revoked.
    List {
        /// Only this admin's keys.
        email: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    Revoke {
        email: String,
        #[arg(long)]
        name: String,
    },
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    Active,
    Preserved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutcomeArg {
    Success,
    Failure,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a manual account (an IdP creating the same email later adopts it).
    Create {
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        profile: String,
        #[arg(long)]
        storage: String,
        /// Mail the user its activation email (needs --smtp-url and --mail-from).
        #[arg(long)]
        send_activation_email: bool,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List accounts, active and preserved, manual and SCIM-managed.
    List {
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Show one account: state, who preserved or manages it, placement, SCIM id, timestamps.
    Show {
        email: String,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Preserve an account; the IdP cannot reactivate it until an admin activates it.
    Preserve {
        email: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Activate a preserved account, whoever preserved it.
    Activate {
        email: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete an account and its data for good: the only way an account is ever destroyed.
    Delete {
        email: String,
        /// Why; kept in the activity log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Move accounts to another profile (and storage, quota), all or none: the emails
    /// given, or every account of `--from-profile` or `--from-mapping`. SCIM ids and states stay;
    /// the accounts read `moved by admin` afterwards.
    #[command(group(clap::ArgGroup::new("who").required(true).args(["emails", "from_profile", "from_mapping"])))]
    Move {
        emails: Vec<String>,
        /// Every account now in this profile.
        #[arg(long)]
        from_profile: Option<String>,
        /// Every account this mapping placed (and no admin moved since).
        #[arg(long)]
        from_mapping: Option<String>,
        /// The profile they move to.
        #[arg(long)]
        profile: String,
        /// The storage they move to (default: each keeps its own).
        #[arg(long)]
        storage: Option<String>,
        /// Their quota in bytes (default: each keeps its own).
        #[arg(long)]
        quota: Option<u64>,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Create manual accounts from a CSV file with the header `email,name,profile,storage`:
    /// all of them, or none when any line is wrong.
    Import {
        file: std::path::PathBuf,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// User Provisioning Report: user, email, profile, storage, state, mapping, managed by,
    /// created.
    Provisioning {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Preserved Users: who preserved each account and when.
    Preserved {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// Only events this recent, e.g. 30m, 24h, 7d.
    #[arg(long, value_parser = parse_duration_millis)]
    pub since: Option<i64>,
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only events about this email.
    #[arg(long)]
    pub user: Option<String>,
    /// Only events from this client: "Entra ID", Okta, JumpCloud, OneLogin, other, cli, console.
    #[arg(long)]
    pub idp: Option<String>,
    /// Only this operation (create, update, preserve, activate, delete, destroy, ...).
    #[arg(long)]
    pub operation: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub tenant: TenantArg,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Public origin for Location headers (e.g. `https://scim.example.com`) when behind a proxy;
    /// by default the request's Host is used.
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// A host name clients reach this server by (repeat the flag, or separate names with
    /// commas); requests naming any other host in `Host` get 421, which stops web pages that
    /// point a name of theirs at this server (DNS rebinding). `localhost`, IP addresses and the
    /// host of --public-url are always answered; `*` answers any name.
    #[arg(
        long = "allowed-host",
        env = "SCIMD_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Days the activity log keeps an event; older ones are deleted at start and every hour,
    /// a small batch at a time. `0` keeps every event.
    #[arg(
        long,
        env = "SCIMD_ACTIVITY_RETENTION_DAYS",
        default_value_t = scimd_core::provisioner::DEFAULT_ACTIVITY_RETENTION_DAYS
    )]
    pub activity_retention_days: u32,

    /// Largest request body accepted, in bytes (advertised as maxPayloadSize).
    #[arg(long, env = "SCIMD_MAX_PAYLOAD_BYTES", default_value_t = 1024 * 1024)]
    pub max_payload_bytes: u64,

    /// Requests per second each token may make, sustained (bursts of twice that pass); over
    /// it, 429 with Retry-After. 0 turns the limit off.
    #[arg(long, env = "SCIMD_RATE_LIMIT_PER_TOKEN", default_value_t = 1000)]
    pub rate_limit_per_token: u32,

    /// Failed authentications per minute a client address may make before it is refused
    /// (429) until its budget refills. 0 turns the limit off.
    #[arg(long, env = "SCIMD_FAILED_AUTH_PER_MINUTE", default_value_t = 20)]
    pub failed_auth_per_minute: u32,

    /// Seconds a client has to send a request's headers (also how long an idle kept-alive
    /// connection stays open).
    #[arg(long, env = "SCIMD_HEADER_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a request's body (else 408).
    #[arg(long, env = "SCIMD_BODY_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,

    /// Seconds a request may take in all (else 503 and nothing is changed).
    #[arg(long, env = "SCIMD_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,

    /// Most connections open at once, and most from one client address.
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    #[arg(long, env = "SCIMD_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_address: u64,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Short name: a-z, 0-9 and '-'.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long, env = "SCIMD_TENANT_NAME")]
        name: Option<String>,
    },
    /// List tenants.
    List,
    /// Show or set how the tenant's users are provisioned: `scim` (IdPs over SCIM, the
    /// default) or `manual` (every SCIM call refused with 403; admins manage users). Users are
    /// never touched.
    Provisioning {
        /// `scim` or `manual`; without it, the current method is printed.
        method: Option<String>,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (once) on stdout. A live token with the same name is
    /// rotated: revoked now, or after --keep-previous.
    Create {
        /// One name per IdP connection, e.g. entra, okta, jumpcloud.
        #[arg(long, env = "SCIMD_TOKEN_NAME")]
        name: String,
        #[arg(long, env = "SCIMD_TENANT", default_value = "default")]
        tenant: String,
        /// Lifetime in days.
        #[arg(long, env = "SCIMD_TOKEN_EXPIRES_IN_DAYS", default_value_t = 365)]
        expires_in_days: i64,
        /// Keep the rotated token working this long (e.g. 30m, 12h, 7d) so the IdP can be updated.
        #[arg(long, env = "SCIMD_KEEP_PREVIOUS", value_parser = parse_duration_millis)]
        keep_previous: Option<i64>,
    },
    /// List tokens with their status, expiry and last use.
    List {
        #[arg(long, env = "SCIMD_TENANT", default_value = "default")]
        tenant: String,
    },
    /// Revoke the live tokens of a name.
    Revoke {
        name: String,
        #[arg(long, env = "SCIMD_TENANT", default_value = "default")]
        tenant: String,
    },
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The server's address.
    #[arg(long, env = "SCIMD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
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
