//! `scimd profile | storage | mapping` (SPEC §5, §7).

use crate::AppProvisioner;
use crate::config::TenantArg;
use anyhow::{Context, bail};
use clap::Subcommand;
use scimd_core::access::Grant;
use scimd_core::catalog::{shadowed, shadower_of};
use scimd_core::mapping::{Criteria, format_values};
use scimd_core::provisioner::{MappingEdit, MappingSpec};
use std::io::Read;
use std::process::ExitCode;

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

#[allow(clippy::print_stdout)] // listings are the commands' output
pub(super) async fn profile(
    provisioner: &AppProvisioner,
    command: ProfileCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        ProfileCommand::Create {
            name,
            max_users,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "profile create").await?;
            let profile = provisioner.create_profile(&grant, &name, max_users).await?;
            eprintln!(
                "created profile '{}' in tenant '{}'",
                profile.name,
                grant.tenant().slug
            );
        }
        ProfileCommand::List { tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "profile list").await?;
            println!("{:<32} MAX USERS", "NAME");
            for profile in provisioner.list_profiles(&grant).await? {
                let limit = if profile.max_users == 0 {
                    "unlimited".to_owned()
                } else {
                    profile.max_users.to_string()
                };
                println!("{:<32} {limit}", profile.name);
            }
        }
        ProfileCommand::Edit {
            name,
            rename,
            max_users,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "profile edit").await?;
            provisioner
                .edit_profile(&grant, &name, rename.as_deref(), max_users)
                .await?;
            eprintln!("updated profile '{}'", rename.as_deref().unwrap_or(&name));
        }
        ProfileCommand::Delete { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "profile delete").await?;
            provisioner.delete_profile(&grant, &name).await?;
            eprintln!("deleted profile '{name}'");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)] // listings are the commands' output
pub(super) async fn storage(
    provisioner: &AppProvisioner,
    command: StorageCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        StorageCommand::Create {
            name,
            region,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "storage create").await?;
            let storage = provisioner.create_storage(&grant, &name, &region).await?;
            eprintln!(
                "created storage '{}' ({}) in tenant '{}'",
                storage.name,
                storage.region,
                grant.tenant().slug
            );
        }
        StorageCommand::List { tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "storage list").await?;
            println!("{:<32} REGION", "NAME");
            for storage in provisioner.list_storages(&grant).await? {
                println!("{:<32} {}", storage.name, storage.region);
            }
        }
        StorageCommand::Edit {
            name,
            rename,
            region,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "storage edit").await?;
            provisioner
                .edit_storage(&grant, &name, rename.as_deref(), region.as_deref())
                .await?;
            eprintln!("updated storage '{}'", rename.as_deref().unwrap_or(&name));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)] // listings and previews are the commands' output
pub(super) async fn mapping(
    provisioner: &AppProvisioner,
    command: MappingCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        MappingCommand::Create {
            name,
            any_user,
            attribute,
            values,
            profile,
            storage,
            quota,
            activation_email,
            priority,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "mapping create").await?;
            let criteria = match (any_user, attribute, values) {
                (true, None, None) => Criteria::AllowAnyUser,
                (false, Some(attribute), Some(values)) => Criteria::attribute(&attribute, &values)?,
                _ => bail!("give either --any-user, or --attribute with --values"),
            };
            let spec = MappingSpec {
                name: &name,
                criteria,
                profile: &profile,
                storage: &storage,
                quota_bytes: quota,
                send_activation_email: activation_email,
                priority,
            };
            let mapping = provisioner.create_mapping(&grant, spec).await?;
            eprintln!(
                "created mapping '{}' at priority {} ({})",
                mapping.name, mapping.priority, mapping.criteria
            );
            warn_of_shadowed(provisioner, &grant).await?;
        }
        MappingCommand::List { tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "mapping list").await?;
            println!(
                "{:<9} {:<24} {:<40} {:<16} {:<16} {:<14} NOTE",
                "PRIORITY", "NAME", "CRITERIA", "PROFILE", "STORAGE", "QUOTA"
            );
            let mappings = provisioner.list_mappings(&grant).await?;
            let shadowed = shadowed(&mappings);
            for mapping in &mappings {
                let criteria = match &mapping.criteria {
                    Criteria::AllowAnyUser => "AllowAnyUser".to_owned(),
                    Criteria::Attribute { name, values } => {
                        format!("{name} = {}", format_values(values))
                    }
                };
                let quota = mapping
                    .quota_bytes
                    .map_or_else(|| "-".to_owned(), |quota| quota.to_string());
                let note = shadower_of(&shadowed, &mapping.name)
                    .map_or_else(String::new, |by| format!("shadowed by '{by}'"));
                println!(
                    "{:<9} {:<24} {:<40} {:<16} {:<16} {quota:<14} {note}",
                    mapping.priority, mapping.name, criteria, mapping.profile, mapping.storage
                );
            }
        }
        MappingCommand::Edit {
            name,
            new_name,
            profile,
            storage,
            quota,
            no_quota,
            activation_email,
            attribute,
            values,
            any_user,
            tenant,
        } => {
            if attribute.is_some() || values.is_some() || any_user {
                bail!(
                    "a mapping's criteria cannot change after creation (R-24): create a new mapping with the \
                     criteria you want, reorder it, then delete '{name}'"
                );
            }
            let grant = super::grant(provisioner, &tenant.tenant, "mapping edit").await?;
            let edit = MappingEdit {
                new_name: new_name.as_deref(),
                profile: profile.as_deref(),
                storage: storage.as_deref(),
                quota_bytes: if no_quota {
                    Some(None)
                } else {
                    quota.map(Some)
                },
                send_activation_email: activation_email,
            };
            provisioner.edit_mapping(&grant, &name, edit).await?;
            eprintln!("updated mapping '{}'", new_name.as_deref().unwrap_or(&name));
        }
        MappingCommand::Reorder {
            name,
            priority,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "mapping reorder").await?;
            provisioner.reorder_mapping(&grant, &name, priority).await?;
            eprintln!("moved mapping '{name}' to priority {}", priority.max(1));
            warn_of_shadowed(provisioner, &grant).await?;
        }
        MappingCommand::Delete { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "mapping delete").await?;
            provisioner.delete_mapping(&grant, &name).await?;
            eprintln!(
                "deleted mapping '{name}'; the users it classified keep their profile and storage"
            );
        }
        MappingCommand::Preview { file, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "mapping preview").await?;
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the sample user from stdin")?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
            }
            let body: serde_json::Value =
                serde_json::from_str(&text).context("the sample user is not valid JSON")?;
            let preview = provisioner.preview_mapping(&grant, &body).await?;
            for explanation in &preview.explanations {
                println!("{explanation}");
            }
            for shadowed in &preview.shadowed {
                println!("never tried: {shadowed}");
            }
            match preview.matched {
                Some(name) => println!("=> the user would be created by mapping '{name}'"),
                None => {
                    println!("=> {}", scimd_core::mapping::NO_MAPPING_MATCHED);
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// a warning on stderr for each mapping of the tenant that can never match, naming the
/// mapping that shadows it, and how to fix it.
async fn warn_of_shadowed(provisioner: &AppProvisioner, grant: &Grant) -> anyhow::Result<()> {
    for shadowed in provisioner.shadowed_mappings(grant).await? {
        eprintln!(
            "warning: {shadowed}; move it above with `scimd mapping reorder '{}' --priority N`",
            shadowed.mapping
        );
    }
    Ok(())
}
