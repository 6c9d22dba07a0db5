//! `scimd user` (SPEC §4, §7): accounts as admins handle them, with the same rules as the SCIM
//! API; every change is recorded with the admin as actor.

use super::print;
use crate::AppProvisioner;
use crate::config::{OutputFormat, TenantArg};
use crate::listing::printable;
use crate::reports::{ACCOUNT_DETAIL, PROVISIONING_REPORT, accounts_listing};
use anyhow::{Context, bail};
use clap::Subcommand;
use scimd_core::access::Grant;
use scimd_core::provisioner::{AccountFilter, AccountView, ManualUser, MoveSelection, MoveTarget};
use scimd_core::store::StateFilter;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    Active,
    Preserved,
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

pub(super) async fn user(
    provisioner: &AppProvisioner,
    command: UserCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Create {
            email,
            name,
            profile,
            storage,
            send_activation_email,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user create").await?;
            let spec = ManualUser {
                email,
                name,
                profile,
                storage,
                send_activation_email,
            };
            let user = provisioner.create_manual_user(&grant, &spec).await?;
            eprintln!(
                "created manual account '{}' in profile '{}', storage '{}'",
                user.user_name(),
                spec.profile,
                spec.storage
            );
        }
        UserCommand::List {
            state,
            profile,
            format,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user list").await?;
            let filter = AccountFilter {
                state: state.map(|state| match state {
                    StateArg::Active => StateFilter::Active,
                    StateArg::Preserved => StateFilter::Preserved,
                }),
                profile: profile.as_deref(),
            };
            let accounts = provisioner.list_accounts(&grant, &filter).await?;
            print(&accounts_listing(&accounts, PROVISIONING_REPORT), format)?;
        }
        UserCommand::Show {
            email,
            format,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user show").await?;
            let view = provisioner.account_view(&grant, &email).await?;
            show(&view, format)?;
        }
        UserCommand::Preserve { email, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user preserve").await?;
            let (user, changed) = provisioner.preserve_user(&grant, &email).await?;
            if changed {
                eprintln!(
                    "preserved '{}'; the IdP cannot reactivate it until an admin runs \
                     `scimd user activate {}`",
                    user.user_name(),
                    user.user_name()
                );
            } else {
                eprintln!("'{}' is already preserved by an admin", user.user_name());
            }
        }
        UserCommand::Activate { email, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user activate").await?;
            let (user, changed) = provisioner.activate_user(&grant, &email).await?;
            if changed {
                eprintln!("activated '{}'", user.user_name());
            } else {
                eprintln!("'{}' is already active", user.user_name());
            }
        }
        UserCommand::Delete {
            email,
            reason,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user delete").await?;
            let user = provisioner.destroy_user(&grant, &email, &reason).await?;
            eprintln!(
                "deleted the account of '{}' and its data for good",
                user.user_name()
            );
        }
        UserCommand::Move {
            emails,
            from_profile,
            from_mapping,
            profile,
            storage,
            quota,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user move").await?;
            let selection = match (&from_profile, &from_mapping) {
                (Some(profile), _) => MoveSelection::Profile(profile),
                (None, Some(mapping)) => MoveSelection::Mapping(mapping),
                (None, None) => MoveSelection::Emails(&emails),
            };
            let target = MoveTarget {
                profile: &profile,
                storage: storage.as_deref(),
                quota_bytes: quota,
            };
            move_users(provisioner, &grant, selection, target).await?;
        }
        UserCommand::Import { file, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "user import").await?;
            import(provisioner, &grant, &file).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The import file: a header naming `email`, `name`, `profile` and `storage` (any order,
/// any case), then one account per line.
fn read_import(path: &std::path::Path) -> anyhow::Result<Vec<(usize, ManualUser)>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: line 1 is not a CSV header", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.eq_ignore_ascii_case(name))
            .with_context(|| {
                format!(
                    "{}: the header needs an '{name}' column (email,name,profile,storage)",
                    path.display()
                )
            })
    };
    let (email, name, profile, storage) = (
        column("email")?,
        column("name")?,
        column("profile")?,
        column("storage")?,
    );
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, csv::Position::line);
            anyhow::anyhow!("{}: line {line}: {error}", path.display())
        })?;
        let line = record
            .position()
            .map_or(0, |position| usize::try_from(position.line()).unwrap_or(0));
        let cell = |index: usize| record.get(index).unwrap_or_default().to_owned();
        lines.push((
            line,
            ManualUser {
                email: cell(email),
                name: cell(name),
                profile: cell(profile),
                storage: cell(storage),
                send_activation_email: false,
            },
        ));
    }
    if lines.is_empty() {
        bail!("{}: no accounts after the header", path.display());
    }
    Ok(lines)
}

async fn import(
    provisioner: &AppProvisioner,
    grant: &Grant,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let lines = read_import(path)?;
    let total = u64::try_from(lines.len()).unwrap_or(u64::MAX);
    let bar = indicatif::ProgressBar::new(total).with_message("checking");
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} accounts")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |checked: u64| bar.set_position(checked);
    let result = provisioner
        .import_manual_users(grant, &lines, &progress)
        .await;
    bar.finish_and_clear();
    let created = result
        .with_context(|| format!("{}: nothing was imported (all or nothing)", path.display()))?;
    eprintln!(
        "imported {created} manual accounts into tenant '{}'",
        grant.tenant().slug
    );
    Ok(())
}

/// A move with a progress bar once it checks more than 1,000 accounts.
async fn move_users(
    provisioner: &AppProvisioner,
    grant: &Grant,
    selection: MoveSelection<'_>,
    target: MoveTarget<'_>,
) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::hidden();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} accounts")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("checking");
    let progress = |checked: u64, total: u64| {
        if total > 1000 && bar.is_hidden() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_length(total);
        bar.set_position(checked);
    };
    let result = provisioner
        .move_users(grant, selection, target, &progress)
        .await;
    bar.finish_and_clear();
    let moved = result.context("nothing was moved (all or none)")?;
    if moved == 0 {
        eprintln!("no accounts to move");
    } else {
        eprintln!(
            "moved {moved} account{} to profile '{}'",
            if moved == 1 { "" } else { "s" },
            target.profile.trim()
        );
    }
    Ok(())
}

fn show(view: &AccountView, format: OutputFormat) -> anyhow::Result<()> {
    let listing = accounts_listing(std::slice::from_ref(view), ACCOUNT_DETAIL);
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Table => {
            for (name, value) in listing.headers.iter().zip(&listing.rows[0]) {
                writeln!(out, "{:<14}{}", format!("{name}:"), printable(value))?;
            }
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &listing.object(&listing.rows[0]))?;
            writeln!(out)?;
        }
        OutputFormat::Csv => listing.write(format, &mut out)?,
    }
    Ok(())
}
