//! `scimd webhook create | list | enable | disable | delete | rotate-secret | deliveries |
//! redeliver` (SPEC §11).

use super::print;
use crate::AppProvisioner;
use crate::config::{Cli, OutputFormat, TenantArg};
use crate::listing::Listing;
use crate::webhooks::{UrlGuard, secret_text};
use clap::Subcommand;
use scimd_core::feed::ChangeType;
use scimd_core::provisioner::WebhookSpec;
use scimd_core::webhook::{Webhook, WebhookFormat};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create an endpoint and print its signing secret (once) on stdout. It gets the tenant's
    /// events from now on.
    Create {
        /// Where events are POSTed (http or https; public addresses only unless
        /// SCIMD_WEBHOOK_ALLOW_PRIVATE=true).
        #[arg(long)]
        url: String,
        /// A name to manage it by (default: the URL's host).
        #[arg(long)]
        name: Option<String>,
        /// Only these event types, comma-separated (default: all).
        #[arg(long, value_parser = EventTypes::parse)]
        events: Option<EventTypes>,
        /// `json` (Standard Webhooks) or `set` (RFC 9967 Security Event Tokens).
        #[arg(long, value_parser = parse_format, default_value = "json")]
        format: WebhookFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// List endpoints with their state.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Send events again, from where the endpoint stopped (those the feed still keeps).
    Enable {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Stop sending events; enabling it later sends those it missed.
    Disable {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Delete an endpoint and its deliveries.
    Delete {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Print a new signing secret (once) on stdout; the old one stops signing at once.
    RotateSecret {
        name: String,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// The endpoint's latest deliveries: state, tries, last status and answer.
    Deliveries {
        name: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Send an event again (an id from `scimd events --format json` or `deliveries`).
    Redeliver {
        event_id: String,
        /// To this endpoint only (also one that never got it).
        #[arg(long)]
        webhook: Option<String>,
        #[command(flatten)]
        tenant: TenantArg,
    },
}

/// A comma-separated list of event types, as `--events` and `--types` take it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventTypes(pub Vec<ChangeType>);

impl EventTypes {
    pub fn parse(text: &str) -> Result<Self, String> {
        ChangeType::parse_list(text).map(Self)
    }
}

fn parse_format(text: &str) -> Result<WebhookFormat, String> {
    WebhookFormat::named(Some(text)).map_err(|error| error.to_string())
}

/// The URL's host as a name (`hooks.example.com`), when it makes a valid one.
fn name_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|url| {
            url.host_str()
                .map(|host| host.trim_matches(['[', ']']).replace(':', "-"))
        })
        .unwrap_or_default()
}

fn webhooks_listing(webhooks: &[Webhook]) -> Listing {
    let mut listing = Listing::new(vec!["Name", "URL", "Format", "Events", "State", "Reason"]);
    for webhook in webhooks {
        let events = match webhook.event_types.is_empty() {
            true => "all".to_owned(),
            false => webhook
                .event_types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        listing.push(vec![
            webhook.name.clone(),
            webhook.url.clone(),
            webhook.format.as_str().to_owned(),
            events,
            webhook.state.as_str().to_owned(),
            webhook.state_reason.clone().unwrap_or_default(),
        ]);
    }
    listing
}

#[allow(clippy::print_stdout)] // the secret and the listings are the commands' output
pub(super) async fn execute(
    provisioner: &AppProvisioner,
    cli: &Cli,
    command: WebhookCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        WebhookCommand::Create {
            url,
            name,
            events,
            format,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook create").await?;
            let name = name.unwrap_or_else(|| name_of(&url));
            let guard = UrlGuard {
                allow_private: cli.webhook_allow_private,
            };
            let spec = WebhookSpec {
                name: &name,
                url: &url,
                format,
                event_types: &events.unwrap_or_default().0,
            };
            let (webhook, secret) = provisioner.create_webhook(&grant, spec, &guard).await?;
            // The secret alone on stdout, so `SECRET=$(scimd webhook create ...)` works.
            println!("{}", secret_text(&secret));
            eprintln!(
                "created webhook '{}' of tenant '{}': {} events to {}; keep the secret, it is \
                 not shown again",
                webhook.name,
                grant.tenant().slug,
                webhook.format.as_str(),
                webhook.url
            );
        }
        WebhookCommand::List { format, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook list").await?;
            let webhooks = provisioner.list_webhooks(&grant).await?;
            print(&webhooks_listing(&webhooks), format)?;
        }
        WebhookCommand::Enable { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook enable").await?;
            provisioner.set_webhook_enabled(&grant, &name, true).await?;
            eprintln!("webhook '{name}' enabled: it gets the events since it stopped");
        }
        WebhookCommand::Disable { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook disable").await?;
            provisioner
                .set_webhook_enabled(&grant, &name, false)
                .await?;
            eprintln!("webhook '{name}' disabled");
        }
        WebhookCommand::Delete { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook delete").await?;
            provisioner.delete_webhook(&grant, &name).await?;
            eprintln!("webhook '{name}' deleted");
        }
        WebhookCommand::RotateSecret { name, tenant } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook rotate-secret").await?;
            let secret = provisioner.rotate_webhook_secret(&grant, &name).await?;
            println!("{}", secret_text(&secret));
            eprintln!("webhook '{name}': new signing secret; the old one no longer signs");
        }
        WebhookCommand::Deliveries {
            name,
            limit,
            format,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook deliveries").await?;
            let (_, deliveries) = provisioner.webhook_deliveries(&grant, &name, limit).await?;
            let mut listing = Listing::new(vec![
                "Sequence", "Event", "Type", "State", "Attempts", "Status", "Error", "At",
                "Response",
            ]);
            for delivery in deliveries {
                listing.push(vec![
                    delivery.sequence.to_string(),
                    delivery.event_id,
                    delivery.event_type.as_str().to_owned(),
                    delivery.state.as_str().to_owned(),
                    delivery.attempts.to_string(),
                    delivery
                        .last_status
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    delivery.last_error.unwrap_or_default(),
                    delivery.at.to_rfc3339(),
                    delivery.last_response.unwrap_or_default(),
                ]);
            }
            print(&listing, format)?;
        }
        WebhookCommand::Redeliver {
            event_id,
            webhook,
            tenant,
        } => {
            let grant = super::grant(provisioner, &tenant.tenant, "webhook redeliver").await?;
            let count = provisioner
                .redeliver(&grant, &event_id, webhook.as_deref())
                .await?;
            eprintln!("event {event_id} queued again for {count} webhook(s)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
