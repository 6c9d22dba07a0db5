//! The commands. Each opens the database (applying pending migrations) and calls the same
//! provisioner as the HTTP API.

pub mod admins;
pub mod catalog;
pub mod clients;
pub mod events;
pub mod reports;
pub mod serve;
pub mod tokens;
pub mod users;
pub mod webhooks;

use crate::config::{Cli, Command, OutputFormat, TenantArg};
use crate::listing::Listing;
use crate::mail::MailConfig;
use crate::{AppProvisioner, open_provisioner};
use clap::Subcommand;
use scimd_core::access::Grant;
use scimd_core::activity::Origin;
use scimd_core::tenant::ProvisioningMethod;
use scimd_core::tenant::TenantSlug;
use scimd_store::{Durability, redact_password};
use serve::HealthcheckArgs;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// What an admin command may do in the tenant named `tenant` (the command line acts as an
/// operator), recorded as `admin_origin(command)`.
async fn grant(
    provisioner: &AppProvisioner,
    tenant: &str,
    command: &str,
) -> scimd_core::Result<Grant> {
    provisioner
        .command_line_grant(tenant, admin_origin(command))
        .await
}

/// Who an admin command is recorded as in the activity log: `SCIMD_ADMIN`, else the login name.
fn admin_origin(command: &str) -> Origin {
    let admin = ["SCIMD_ADMIN", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        })
        .unwrap_or_else(|| "operator".into());
    Origin::cli(admin, format!("scimd {command}"))
}

pub async fn execute(mut cli: Cli) -> anyhow::Result<ExitCode> {
    let durability = Durability {
        sqlite_full_sync: cli.sqlite_full_sync,
    };
    let mail = MailConfig::of(cli.smtp_url.as_deref(), cli.mail_from.as_deref())?;
    let command = match std::mem::replace(&mut cli.command, Command::Migrate) {
        Command::Serve(args) => {
            return serve::serve(cli, durability, mail, args).await;
        }
        Command::Healthcheck(args) => return healthcheck(args).await,
        admin => admin,
    };
    // Every other command works on the database, migrated first, and leaves it whole on disk.
    // With mail configured, what they cause is queued for the server's mail worker to send.
    let provisioner = open_provisioner(&cli.database_url, durability)
        .await?
        .with_mail(mail.is_some())
        .with_scim_base_url(crate::scim_base_url(cli.public_url.as_deref()));
    let outcome = on_the_database(&provisioner, &cli, command).await;
    provisioner.store().close().await?;
    outcome
}

async fn on_the_database(
    provisioner: &crate::AppProvisioner,
    cli: &Cli,
    command: Command,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Migrate => {
            eprintln!(
                "database {} is up to date",
                redact_password(&cli.database_url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(command) => tenant(provisioner, command).await,
        Command::Token(command) => tokens::execute(provisioner, command).await,
        Command::Profile(command) => catalog::profile(provisioner, command).await,
        Command::Storage(command) => catalog::storage(provisioner, command).await,
        Command::Mapping(command) => catalog::mapping(provisioner, command).await,
        Command::User(command) => users::user(provisioner, command).await,
        Command::Report(command) => reports::report(provisioner, command).await,
        Command::Activity(args) => reports::activity(provisioner, args).await,
        Command::Events(args) => events::events(provisioner, args).await,
        Command::Webhook(command) => webhooks::execute(provisioner, cli, command).await,
        Command::Client(command) => clients::execute(provisioner, cli, command).await,
        Command::Admin(command) => admins::execute(provisioner, command).await,
        // Served above, without opening the database here.
        Command::Serve(_) | Command::Healthcheck(_) => Ok(ExitCode::SUCCESS),
    }
}

#[allow(clippy::print_stdout)] // the listing is the command's output
async fn tenant(
    provisioner: &crate::AppProvisioner,
    command: TenantCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        TenantCommand::Create { slug, name } => {
            let grant = grant(provisioner, TenantSlug::DEFAULT, "tenant create").await?;
            let tenant = provisioner
                .create_tenant(&grant, &slug, name.as_deref())
                .await?;
            eprintln!("created tenant '{}' ({})", tenant.slug, tenant.name);
            eprintln!(
                "next: scimd token create --tenant {} --name entra",
                tenant.slug
            );
        }
        TenantCommand::List => {
            println!(
                "{:<24} {:<32} {:<13} CREATED",
                "SLUG", "NAME", "PROVISIONING"
            );
            let grant = grant(provisioner, TenantSlug::DEFAULT, "tenant list").await?;
            for tenant in provisioner.list_tenants(&grant).await? {
                println!(
                    "{:<24} {:<32} {:<13} {}",
                    tenant.slug,
                    tenant.name,
                    tenant.provisioning,
                    tenant.created_at.to_rfc3339()
                );
            }
        }
        TenantCommand::Provisioning { method, tenant } => {
            let grant = grant(provisioner, &tenant.tenant, "tenant provisioning").await?;
            let Some(method) = method else {
                println!("{}", grant.tenant().provisioning);
                return Ok(ExitCode::SUCCESS);
            };
            let method = ProvisioningMethod::parse(&method)?;
            provisioner.set_provisioning(&grant, method).await?;
            match method {
                ProvisioningMethod::Scim => eprintln!(
                    "tenant '{}' is provisioned over SCIM: IdP calls are served again",
                    grant.tenant().slug
                ),
                ProvisioningMethod::Manual => eprintln!(
                    "tenant '{}' is provisioned manually: every SCIM call gets 403 until \
                     `scimd tenant provisioning scim`; users are unchanged",
                    grant.tenant().slug
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// GET /healthz with a plain HTTP/1.1 request, so the check needs no HTTP client library.
async fn healthcheck(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let mut address = args.listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let mut stream = TcpStream::connect(address).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 16];
        let read = stream.read(&mut head).await?;
        Ok::<bool, std::io::Error>(head[..read].starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(Duration::from_secs(5), check).await {
        Ok(Ok(true)) => {
            eprintln!("scimd at {address} is healthy");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Ok(false)) => {
            eprintln!("scimd at {address} answered, but not healthy");
            Ok(ExitCode::FAILURE)
        }
        Ok(Err(error)) => {
            eprintln!("scimd at {address} is not reachable: {error}");
            Ok(ExitCode::FAILURE)
        }
        Err(_) => {
            eprintln!("scimd at {address} did not answer within 5 s");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A listing on stdout, in the format asked for.
fn print(listing: &Listing, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    listing.write(format, &mut out)?;
    out.flush()?;
    Ok(())
}
