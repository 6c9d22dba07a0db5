//! `scimd admin`: accounts for the console and the admin API over their life (SPEC §7), and
//! their API keys.

use crate::AppProvisioner;
use crate::config::{OutputFormat, TenantArg};
use crate::listing::Listing;
use anyhow::Context;
use clap::Subcommand;
use scim::datetime::Timestamp;
use scimd_core::admin::ApiKeyInfo;
use scimd_core::admin::Role;
use std::io::IsTerminal;
use std::process::ExitCode;

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

#[allow(clippy::print_stdout)] // the key is the command's output
pub(super) async fn execute(
    provisioner: &AppProvisioner,
    command: AdminCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Create {
            email,
            role,
            tenant,
        } => {
            let role = match role {
                RoleArg::Operator => Role::Operator,
                RoleArg::Admin => Role::Admin,
                RoleArg::Viewer => Role::Viewer,
            };
            let password = password()?;
            let origin = super::admin_origin("admin create");
            let admin = provisioner
                .create_admin(&origin, &email, Some(&tenant.tenant), role, &password)
                .await?;
            match admin.tenant_id {
                Some(_) => eprintln!(
                    "created {} '{}' for tenant '{}'; sign in at /admin",
                    role.as_str(),
                    admin.email,
                    tenant.tenant
                ),
                None => eprintln!(
                    "created operator '{}' (all tenants); sign in at /admin",
                    admin.email
                ),
            }
        }
        AdminCommand::Key(KeyCommand::Create {
            email,
            name,
            expires_in_days,
        }) => {
            let key = provisioner
                .create_api_key(&email, &name, expires_in_days)
                .await?;
            println!("{}", key.expose());
            eprintln!(
                "this key is shown once: use it as 'Authorization: Bearer <key>' on /admin/api/v1"
            );
        }
        AdminCommand::Key(KeyCommand::Revoke { email, name }) => {
            provisioner.revoke_api_key(&email, &name).await?;
            eprintln!("revoked key '{name}' of '{email}'");
        }
        AdminCommand::Key(KeyCommand::List { email, format }) => {
            let keys = provisioner.api_keys(email.as_deref()).await?;
            keys_listing(&keys).write(format, &mut std::io::stdout().lock())?;
        }
        AdminCommand::Disable { email } => {
            provisioner.disable_admin(&email).await?;
            eprintln!("disabled '{email}': its sessions ended, its keys refused until enabled");
        }
        AdminCommand::Enable { email } => {
            provisioner.enable_admin(&email).await?;
            eprintln!("enabled '{email}'");
        }
        AdminCommand::Delete { email } => {
            provisioner.delete_admin(&email).await?;
            eprintln!("deleted '{email}' with its sessions and keys");
        }
        AdminCommand::Password { email } => {
            provisioner
                .change_admin_password(&email, &password()?)
                .await?;
            eprintln!("set a new password for '{email}'; its sessions ended");
        }
        AdminCommand::Sessions(SessionsCommand::Revoke { email }) => {
            let ended = provisioner.end_admin_sessions(&email).await?;
            eprintln!("ended {ended} session(s) of '{email}'");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn keys_listing(keys: &[ApiKeyInfo]) -> Listing {
    let time = |at: Option<Timestamp>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
    let mut listing = Listing::new(vec!["Admin", "Name", "Created", "Expires", "Revoked"]);
    for key in keys {
        listing.push(vec![
            key.admin_email.clone(),
            key.name.clone(),
            key.created_at.to_rfc3339(),
            time(key.expires_at),
            time(key.revoked_at),
        ]);
    }
    listing
}

/// `SCIMD_ADMIN_PASSWORD`, else asked twice on the terminal without echo. Without a terminal
/// on stdin (a script, a pipe) nothing is asked: the variable is required.
fn password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("SCIMD_ADMIN_PASSWORD") {
        return Ok(password);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "no terminal to ask for a password: set SCIMD_ADMIN_PASSWORD"
    );
    let first = rpassword::prompt_password("password: ").context("cannot read a password")?;
    let second = rpassword::prompt_password("again: ").context("cannot read a password")?;
    anyhow::ensure!(first == second, "the two passwords differ");
    Ok(first)
}
