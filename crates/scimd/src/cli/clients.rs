//! `scimd client create | list | add-secret | revoke-secret | revoke | trust` (SPEC §12):
//! OAuth 2.0 clients for IdPs that authenticate with client credentials.

use super::print;
use crate::AppProvisioner;
use crate::config::{Cli, OutputFormat, TenantArg};
use crate::listing::Listing;
use clap::Subcommand;
use scim::datetime::Timestamp;
use scimd_core::oauth::{IssuedSecret, MAX_JWKS_BYTES, OAuthClient, TrustKeys};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client and its first secret, and print what the IdP needs (the secret once).
    Create {
        /// One name per IdP connection, e.g. entra.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        secret: SecretArgs,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List clients and their secrets: status, expiry, last use.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Add a second live secret (for a rotation) and print it once. A client has at most two.
    AddSecret {
        name: String,
        #[command(flatten)]
        secret: SecretArgs,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Revoke one secret (an id from `client list`); its access tokens stop working at once.
    RevokeSecret {
        name: String,
        secret_id: i64,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Revoke a client with its secrets and access tokens, at once.
    Revoke {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Accept signed assertions (RFC 7523, workload identity federation) of an issuer about a
    /// subject, checked with the issuer's JWKS; `--remove` stops accepting them.
    Trust {
        name: String,
        #[arg(long, required_unless_present = "remove")]
        issuer: Option<String>,
        #[arg(long, required_unless_present = "remove")]
        subject: Option<String>,
        #[arg(long, required_unless_present = "remove")]
        audience: Option<String>,
        /// The issuer's keys as a JWKS document (kept with the client).
        #[arg(long, conflicts_with = "jwks_url", required_unless_present_any = ["jwks_url", "remove"])]
        jwks_file: Option<PathBuf>,
        /// Where the issuer publishes its JWKS (fetched, cached for five minutes).
        #[arg(long)]
        jwks_url: Option<String>,
        #[arg(long, conflicts_with_all = ["issuer", "subject", "audience", "jwks_file", "jwks_url"])]
        remove: bool,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

/// A new secret's lifetime, and how it is printed.
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    /// The secret's lifetime, 365 to 1095 days.
    #[arg(long, default_value_t = scimd_core::oauth::DEFAULT_SECRET_DAYS)]
    secret_expires_in_days: i64,
    /// `text` (one value per line) or `json` (one object, nothing else on stdout).
    #[arg(long, value_enum, default_value = "text")]
    format: SecretFormat,
}

/// How a new secret is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretFormat {
    Text,
    Json,
}

fn clients_listing(clients: &[OAuthClient], now: Timestamp) -> Listing {
    let mut listing = Listing::new(vec![
        "Name",
        "Client ID",
        "Status",
        "Secret",
        "Secret status",
        "Expires",
        "Last used",
        "Trusts",
    ]);
    let never = || "never".to_owned();
    for client in clients {
        let trusts = client.trust.as_ref().map_or_else(String::new, |trust| {
            format!("{} / {}", trust.issuer, trust.subject)
        });
        let rows = client.secrets.iter().map(Some).chain(
            // A client shows even when none of its secrets is left to list.
            client.secrets.is_empty().then_some(None),
        );
        for secret in rows {
            listing.push(vec![
                client.name.clone(),
                client.client_id.clone(),
                client.status().to_owned(),
                secret.map_or_else(String::new, |secret| secret.id.to_string()),
                secret.map_or_else(String::new, |secret| secret.status(now).as_str().to_owned()),
                secret.map_or_else(String::new, |secret| secret.expires_at.to_rfc3339()),
                secret
                    .and_then(|secret| secret.last_used_at)
                    .map_or_else(never, Timestamp::to_rfc3339),
                trusts.clone(),
            ]);
        }
    }
    listing
}

/// What an IdP is given: the four values Entra asks for, and when the secret expires.
fn print_credentials(cli: &Cli, issued: &IssuedSecret, format: SecretFormat) -> anyhow::Result<()> {
    let (client_id, secret) = (&issued.client.client_id, &issued.secret);
    let expires_at = issued.info.expires_at;
    let token_endpoint = crate::token_endpoint(cli.public_url.as_deref());
    let scim_base_url = crate::scim_base_url(cli.public_url.as_deref());
    let mut out = std::io::stdout().lock();
    match format {
        SecretFormat::Json => {
            let object = serde_json::json!({
                "client_id": client_id,
                "client_secret": secret.expose(),
                "token_endpoint": token_endpoint,
                "scim_base_url": scim_base_url,
                "secret_expires_at": expires_at.to_rfc3339(),
            });
            writeln!(out, "{object}")?;
        }
        SecretFormat::Text => {
            writeln!(out, "client_id:         {client_id}")?;
            writeln!(out, "client_secret:     {}", secret.expose())?;
            writeln!(out, "token_endpoint:    {token_endpoint}")?;
            writeln!(out, "scim_base_url:     {scim_base_url}")?;
            writeln!(out, "secret_expires_at: {}", expires_at.to_rfc3339())?;
        }
    }
    out.flush()?;
    Ok(())
}

pub(super) async fn execute(
    provisioner: &AppProvisioner,
    cli: &Cli,
    command: ClientCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Create {
            name,
            secret:
                SecretArgs {
                    secret_expires_in_days,
                    format,
                },
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client create").await?;
            let issued = provisioner
                .create_client(&grant, &name, Some(secret_expires_in_days))
                .await?;
            print_credentials(cli, &issued, format)?;
            eprintln!(
                "created OAuth client '{}' of tenant '{}'; the secret is shown once. In Entra: \
                 Authentication Method \"OAuth2 Client Credentials Grant\" with these values",
                issued.client.name,
                grant.tenant().slug
            );
        }
        ClientCommand::List { format, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client list").await?;
            let clients = provisioner.list_clients(&grant).await?;
            print(&clients_listing(&clients, provisioner.now()), format)?;
        }
        ClientCommand::AddSecret {
            name,
            secret:
                SecretArgs {
                    secret_expires_in_days,
                    format,
                },
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client add-secret").await?;
            let issued = provisioner
                .add_client_secret(&grant, &name, Some(secret_expires_in_days))
                .await?;
            print_credentials(cli, &issued, format)?;
            eprintln!(
                "added secret {} to client '{name}'; switch the IdP to it, then revoke the old \
                 one: scimd client revoke-secret {name} OLD_SECRET_ID",
                issued.info.id
            );
        }
        ClientCommand::RevokeSecret {
            name,
            secret_id,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client revoke-secret").await?;
            provisioner
                .revoke_client_secret(&grant, &name, secret_id)
                .await?;
            eprintln!("revoked secret {secret_id} of client '{name}' and its access tokens");
        }
        ClientCommand::Revoke { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client revoke").await?;
            provisioner.revoke_client(&grant, &name).await?;
            eprintln!("revoked client '{name}', its secrets and its access tokens");
        }
        ClientCommand::Trust {
            name,
            issuer,
            subject,
            audience,
            jwks_file,
            jwks_url,
            remove,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "client trust").await?;
            if remove {
                provisioner.trust_client(&grant, &name, None).await?;
                eprintln!("client '{name}' no longer accepts assertions");
                return Ok(ExitCode::SUCCESS);
            }
            let keys = match (jwks_file, jwks_url) {
                (Some(path), _) => TrustKeys::Jwks(read_jwks(&path)?),
                (None, Some(url)) => TrustKeys::JwksUrl(url),
                (None, None) => anyhow::bail!("--jwks-file or --jwks-url is needed"),
            };
            let trust = crate::oauth::checked_trust(
                issuer.as_deref().unwrap_or_default(),
                subject.as_deref().unwrap_or_default(),
                audience.as_deref().unwrap_or_default(),
                keys,
                cli.webhook_allow_private,
            )
            .await?;
            provisioner.trust_client(&grant, &name, Some(trust)).await?;
            eprintln!("client '{name}' accepts assertions of that issuer and subject now");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_jwks(path: &std::path::Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?
        .len();
    if size > MAX_JWKS_BYTES as u64 {
        anyhow::bail!("{} is over {MAX_JWKS_BYTES} bytes", path.display());
    }
    std::fs::read_to_string(path)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))
}
