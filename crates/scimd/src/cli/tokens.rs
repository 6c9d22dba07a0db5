//! `scimd token create | list | revoke` (SPEC §6).

use crate::AppProvisioner;
use crate::config::TokenCommand;
use scim::datetime::Timestamp;
use std::process::ExitCode;

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
            let tenant = provisioner.tenant(&tenant).await?;
            let (token, secret) = provisioner
                .create_token(
                    &super::admin_origin("token create"),
                    &tenant,
                    &name,
                    Some(expires_in_days),
                    keep_previous,
                )
                .await?;
            // The secret alone on stdout, so `TOKEN=$(scimd token create ...)` works.
            println!("{}", secret.expose());
            eprintln!(
                "created token '{}' for tenant '{}', valid until {}",
                token.name,
                tenant.slug,
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
            let tenant = provisioner.tenant(&tenant).await?;
            let now = provisioner.now();
            println!(
                "{:<20} {:<9} {:<25} {:<25} LAST USED",
                "NAME", "STATUS", "CREATED", "EXPIRES"
            );
            for token in provisioner.list_tokens(&tenant).await? {
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
            let tenant = provisioner.tenant(&tenant).await?;
            provisioner
                .revoke_token(&super::admin_origin("token revoke"), &tenant, &name)
                .await?;
            eprintln!("revoked token '{name}' of tenant '{}'", tenant.slug);
        }
    }
    Ok(ExitCode::SUCCESS)
}
