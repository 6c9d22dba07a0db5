//! Webhooks on the wire (SPEC §11): where they may go (`guard`), how they are signed
//! (`signature`, `set`), how they are sent (`transport`), and the worker that sends them.

pub(crate) mod guard;
mod set;
mod signature;
mod transport;

pub(crate) use guard::UrlGuard;
pub(crate) use set::{JWKS_PATH, SetSigner};
pub(crate) use signature::secret_text;
pub(crate) use transport::HttpTransport;

use crate::AppProvisioner;
use anyhow::Context;
use scimd_core::clock::SharedClock;
use scimd_core::store::WebhookStore;
use std::sync::Arc;
use std::time::Duration;

/// How often an idle worker looks for due deliveries.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// The server's SET signing key (made on first use, the same for every instance).
pub(crate) async fn set_signer(provisioner: &AppProvisioner) -> anyhow::Result<SetSigner> {
    let fresh = SetSigner::generate_pkcs8().map_err(anyhow::Error::msg)?;
    let kept = provisioner
        .store()
        .signing_key(&fresh)
        .await
        .context("reading the SET signing key")?;
    SetSigner::from_pkcs8(&kept).map_err(anyhow::Error::msg)
}

/// The transport commands and the server send through.
pub(crate) async fn transport(
    provisioner: &AppProvisioner,
    allow_private: bool,
    issuer: String,
    clock: SharedClock,
) -> anyhow::Result<HttpTransport> {
    let signer = Arc::new(set_signer(provisioner).await?);
    HttpTransport::new(allow_private, signer, issuer, clock)
}

/// What the worker sends with: where webhooks may go, the SETs' issuer, the clock.
#[derive(Debug, Clone)]
pub(crate) struct Sending {
    pub allow_private: bool,
    pub issuer: String,
    pub clock: SharedClock,
    pub poll: Duration,
}

/// Delivers due webhooks every `poll` (at once again while there is work) until `stop` turns
/// true; the tries in flight then finish and are settled. The transport is made on the first
/// round (reading the signing key, made on first use): a database busy at start delays
/// deliveries, not the server.
pub(crate) async fn work(
    provisioner: AppProvisioner,
    sending: Sending,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(sending.poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ready: Option<HttpTransport> = None;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let transport = match &ready {
            Some(transport) => transport,
            None => {
                let made = transport(
                    &provisioner,
                    sending.allow_private,
                    sending.issuer.clone(),
                    Arc::clone(&sending.clock),
                )
                .await;
                match made {
                    Ok(made) => ready.insert(made),
                    Err(error) => {
                        tracing::warn!(%error, "webhooks wait: the sender could not be set up");
                        continue;
                    }
                }
            }
        };
        let stopping = || *stop.borrow();
        match provisioner.deliver_webhooks(transport, &stopping).await {
            Ok(round) if round.retried + round.given_up > 0 => tracing::warn!(
                delivered = round.delivered,
                retried = round.retried,
                given_up = round.given_up,
                "some webhook deliveries failed; `scimd webhook deliveries NAME` shows why"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not deliver webhooks"),
        }
    }
}
