//! `scimd token create | list | revoke` (SPEC §6).

use crate::AppProvisioner;
use crate::config::parse_duration_millis;
use clap::Subcommand;
use scim::datetime::Timestamp;
use std::process::ExitCode;

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

#[allow(clippy::print_stdout)] // the secret and the listing are the commands' output
pub(super) async fn execute(
    provisioner: &AppProvisioner,
    command: TokenCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create {
            name,
            tenant,
            expires_in_days,
            keep_previous,
        } => {
            let grant = super::grant(provisioner, &tenant, "token create").await?;
            let (token, secret) = provisioner
                .create_token(&grant, &name, Some(expires_in_days), keep_previous)
                .await?;
            // The secret alone on stdout, so `TOKEN=$(scimd token create ...)` works.
            println!("{}", secret.expose());
            eprintln!(
                "created token '{}' for tenant '{}', valid until {}",
                token.name,
                grant.tenant().slug,
                token.expires_at.to_rfc3339()
            );
            eprintln!(
                "this secret is shown once: paste it into your IdP as the bearer token (Secret Token)"
            );
            if let Some(keep) = keep_previous.filter(|keep| *keep > 0) {
                let until = Timestamp::from_millis(token.created_at.as_millis() + keep);
                eprintln!(
                    "the previous '{}' token keeps working until {}",
                    token.name,
                    until.to_rfc3339()
                );
            }
        }
        TokenCommand::List { tenant } => {
            let grant = super::grant(provisioner, &tenant, "token list").await?;
            let now = provisioner.now();
            println!(
                "{:<20} {:<9} {:<25} {:<25} LAST USED",
                "NAME", "STATUS", "CREATED", "EXPIRES"
            );
            for token in provisioner.list_tokens(&grant).await? {
                println!(
                    "{:<20} {:<9} {:<25} {:<25} {}",
                    token.name.as_str(),
                    token.status(now).as_str(),
                    token.created_at.to_rfc3339(),
                    token.expires_at.to_rfc3339(),
                    token
                        .last_used_at
                        .map_or_else(|| "never".to_owned(), Timestamp::to_rfc3339),
                );
            }
        }
        TokenCommand::Revoke { name, tenant } => {
            let grant = super::grant(provisioner, &tenant, "token revoke").await?;
            provisioner.revoke_token(&grant, &name).await?;
            eprintln!("revoked token '{name}' of tenant '{}'", grant.tenant().slug);
        }
    }
    Ok(ExitCode::SUCCESS)
}
