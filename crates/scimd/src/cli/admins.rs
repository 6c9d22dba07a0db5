//! `scimd admin create` (SPEC §7).

use crate::AppProvisioner;
use crate::config::{AdminCommand, KeyCommand, RoleArg};
use anyhow::Context;
use scimd_core::admin::Role;
use std::io::IsTerminal;
use std::process::ExitCode;

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
        AdminCommand::Key(KeyCommand::Create { email, name }) => {
            let key = provisioner.create_api_key(&email, &name).await?;
            println!("{}", key.expose());
            eprintln!(
                "this key is shown once: use it as 'Authorization: Bearer <key>' on /admin/api/v1"
            );
        }
        AdminCommand::Key(KeyCommand::Revoke { email, name }) => {
            provisioner.revoke_api_key(&email, &name).await?;
            eprintln!("revoked key '{name}' of '{email}'");
        }
    }
    Ok(ExitCode::SUCCESS)
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
