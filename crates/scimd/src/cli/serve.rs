//! `scimd serve`: the flags as clap parsed them, made into the server's configuration.

use crate::config::{Cli, DEFAULT_LISTEN};
use crate::http::RequestLimits;
use crate::mail::MailConfig;
use crate::server::ConnectionLimits;
use crate::{ServeConfig, run};
use anyhow::Context;
use clap::Args;
use scim::discovery::Capabilities;
use scim::list::PageLimits;
use scimd_store::Durability;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

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

    /// Days the change feed keeps an event (the Events API and webhook redelivery read them);
    /// older ones are deleted at start and every hour. `0` keeps every event.
    #[arg(
        long,
        env = "SCIMD_EVENT_RETENTION_DAYS",
        default_value_t = scimd_core::provisioner::DEFAULT_EVENT_RETENTION_DAYS
    )]
    pub event_retention_days: u32,

    /// Minutes the access tokens of OAuth clients work (60-360), from `POST /oauth/token`.
    #[arg(
        long,
        env = "SCIMD_ACCESS_TOKEN_MINUTES",
        default_value_t = scimd_core::oauth::DEFAULT_ACCESS_TOKEN_MINUTES,
        value_parser = clap::value_parser!(u32).range(
            i64::from(*scimd_core::oauth::ACCESS_TOKEN_MINUTES.start())
                ..=i64::from(*scimd_core::oauth::ACCESS_TOKEN_MINUTES.end())
        )
    )]
    pub access_token_minutes: u32,

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

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The server's address.
    #[arg(long, env = "SCIMD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

pub(super) async fn serve(
    cli: Cli,
    durability: Durability,
    mail: Option<MailConfig>,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let config = ServeConfig {
        mail,
        ..serve_config(&cli, durability, args)
    };
    run(config, listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn serve_config(cli: &Cli, durability: Durability, args: ServeArgs) -> ServeConfig {
    ServeConfig {
        durability,
        public_url: cli.public_url.clone(),
        webhook_allow_private: cli.webhook_allow_private,
        allowed_hosts: args.allowed_hosts,
        activity_retention_days: args.activity_retention_days,
        event_retention_days: args.event_retention_days,
        access_token_minutes: args.access_token_minutes,
        capabilities: Capabilities {
            max_payload_size: args.max_payload_bytes,
            page_limits: PageLimits::default(),
        },
        limits: RequestLimits {
            body_timeout: Duration::from_secs(args.body_timeout_secs),
            request_timeout: Duration::from_secs(args.request_timeout_secs),
            requests_per_token: NonZeroU32::new(args.rate_limit_per_token),
            failed_auth_per_address: NonZeroU32::new(args.failed_auth_per_minute),
            ..RequestLimits::default()
        },
        connections: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout_secs),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            max_connections_per_address: usize::try_from(args.max_connections_per_address)
                .unwrap_or(usize::MAX),
            ..ConnectionLimits::default()
        },
        ..ServeConfig::new(&cli.database_url)
    }
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cli, Command};
    use clap::{CommandFactory, Parser};
    use std::ffi::OsStr;

    /// These tests read what clap makes of no flags: a `SCIMD_` variable set around them
    /// would change that.
    fn assert_no_scimd_environment() {
        let set: Vec<String> = std::env::vars()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("SCIMD_"))
            .filter(|name| !name.starts_with("SCIMD_TEST_") && name != "SCIMD_BLESS")
            .collect();
        assert!(set.is_empty(), "unset {set:?} to run these tests");
    }

    fn serve_config_of(args: &[&str]) -> ServeConfig {
        let mut cli = Cli::try_parse_from(args).unwrap();
        let Command::Serve(serve) = std::mem::replace(&mut cli.command, Command::Migrate) else {
            panic!("not serve: {args:?}");
        };
        let durability = Durability {
            sqlite_full_sync: cli.sqlite_full_sync,
        };
        serve_config(&cli, durability, serve)
    }

    /// The README's defaults, written out, as `scimd serve` with no flags gets them through
    /// clap (not the structs' own defaults).
    #[test]
    fn serve_without_flags_has_the_documented_defaults() {
        assert_no_scimd_environment();
        let config = serve_config_of(&["scimd", "serve"]);
        assert_eq!(config.database_url, "sqlite://./scimd-data/scimd.db");
        assert!(!config.durability.sqlite_full_sync);
        assert_eq!(config.public_url, None);
        assert!(config.allowed_hosts.is_empty());
        assert_eq!(config.activity_retention_days, 90);
        assert_eq!(config.capabilities.max_payload_size, 1_048_576);
        assert_eq!(config.limits.requests_per_token, NonZeroU32::new(1000));
        assert_eq!(config.limits.failed_auth_per_address, NonZeroU32::new(20));
        assert_eq!(config.limits.body_timeout, Duration::from_secs(20));
        assert_eq!(config.limits.request_timeout, Duration::from_secs(30));
        assert_eq!(config.connections.header_timeout, Duration::from_secs(20));
        assert_eq!(config.connections.max_connections, 4096);
        assert_eq!(config.connections.max_connections_per_address, 512);
        let listen = Cli::try_parse_from(["scimd", "serve"]).unwrap();
        let Command::Serve(serve) = listen.command else {
            panic!("not serve");
        };
        assert_eq!(serve.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn every_serve_flag_reaches_the_configuration() {
        assert_no_scimd_environment();
        let config = serve_config_of(&[
            "scimd",
            "--database-url",
            "sqlite:///tmp/x.db",
            "--sqlite-full-sync",
            "serve",
            "--public-url",
            "https://scim.example.com",
            "--allowed-host",
            "a.example,b.example",
            "--activity-retention-days",
            "7",
            "--max-payload-bytes",
            "2048",
            "--rate-limit-per-token",
            "0",
            "--failed-auth-per-minute",
            "3",
            "--header-timeout-secs",
            "4",
            "--body-timeout-secs",
            "5",
            "--request-timeout-secs",
            "6",
            "--max-connections",
            "8",
            "--max-connections-per-address",
            "2",
        ]);
        assert_eq!(config.database_url, "sqlite:///tmp/x.db");
        assert!(config.durability.sqlite_full_sync);
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://scim.example.com")
        );
        assert_eq!(config.allowed_hosts, ["a.example", "b.example"]);
        assert_eq!(config.activity_retention_days, 7);
        assert_eq!(config.capabilities.max_payload_size, 2048);
        assert_eq!(config.limits.requests_per_token, None, "0 is off");
        assert_eq!(config.limits.failed_auth_per_address, NonZeroU32::new(3));
        assert_eq!(config.connections.header_timeout, Duration::from_secs(4));
        assert_eq!(config.limits.body_timeout, Duration::from_secs(5));
        assert_eq!(config.limits.request_timeout, Duration::from_secs(6));
        assert_eq!(config.connections.max_connections, 8);
        assert_eq!(config.connections.max_connections_per_address, 2);
    }

    /// Each row of the README's configuration table (flag, variable, default) against the
    /// command line clap builds: the flag exists where the row says, reads that variable, and
    /// has that default.
    #[test]
    fn the_readme_configuration_table_is_what_clap_parses() {
        let readme = include_str!("../../../../README.md");
        let table = readme
            .split("| flag | variable | default | meaning |")
            .nth(1)
            .expect("the README has the configuration table");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                line.split(" | ")
                    .map(|cell| cell.trim_matches('|').trim())
                    .collect()
            })
            .collect();
        assert!(rows.len() >= 19, "{} rows", rows.len());
        let root = Cli::command();
        for row in rows {
            let [flag, variable, default, ..] = row[..] else {
                panic!("{row:?}");
            };
            let words: Vec<&str> = flag.trim_matches('`').split(' ').collect();
            let (long, path) = words.split_last().unwrap();
            let long = long.strip_prefix("--").unwrap();
            let mut command = &root;
            for word in path {
                command = command
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("{flag}: no command {word}"));
            }
            let arguments = arguments_named(command, long);
            assert!(!arguments.is_empty(), "{flag}: no such flag");
            for argument in arguments {
                assert_eq!(
                    argument.get_env(),
                    Some(OsStr::new(variable.trim_matches('`'))),
                    "{flag}"
                );
                let defaults: Vec<&OsStr> = argument
                    .get_default_values()
                    .iter()
                    .map(|value| value.as_os_str())
                    .collect();
                match default {
                    "off" => assert!(
                        matches!(argument.get_action(), clap::ArgAction::SetTrue),
                        "{flag}: a switch"
                    ),
                    "none" => assert!(defaults.is_empty(), "{flag}: {defaults:?}"),
                    literal
                        if literal.matches('`').count() == 2
                            && literal.starts_with('`')
                            && literal.ends_with('`') =>
                    {
                        assert_eq!(defaults, [literal.trim_matches('`')], "{flag}");
                    }
                    // Described in words (what the server does without the flag).
                    _ => assert!(defaults.is_empty(), "{flag}: {defaults:?}"),
                }
            }
        }
    }

    /// The flag `long` of `command`, or (for a flag shared by many subcommands, like
    /// `--tenant`) of every subcommand that has it.
    fn arguments_named<'a>(command: &'a clap::Command, long: &str) -> Vec<&'a clap::Arg> {
        let own = command
            .get_arguments()
            .filter(|argument| argument.get_long() == Some(long));
        let nested = command
            .get_subcommands()
            .flat_map(|subcommand| arguments_named(subcommand, long));
        own.chain(nested).collect()
    }
}
