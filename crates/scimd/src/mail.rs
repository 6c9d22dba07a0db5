//! Email notifications over SMTP: the `--smtp-url` / `--mail-from` settings, the
//! [`Mailer`] that sends through lettre, and the server's mail worker.

use crate::AppProvisioner;
use anyhow::{Context, bail};
use axum::http::Uri;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use scimd_core::mail::{MailError, Mailer, QueuedMail};
use std::time::Duration;

/// How long one SMTP exchange may take before the try counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where mail goes and whom it is from; `scimd` has none unless both are set.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: String,
    pub from: String,
    /// How often the worker looks for due mail (reminders and digests: every minute).
    pub poll: Duration,
}

impl MailConfig {
    /// Both settings or neither: one alone is a mistake worth stopping for.
    pub fn of(smtp_url: Option<&str>, from: Option<&str>) -> anyhow::Result<Option<Self>> {
        let config = match (smtp_url, from) {
            (None, None) => return Ok(None),
            (Some(smtp_url), Some(from)) => Self {
                smtp_url: smtp_url.to_owned(),
                from: from.to_owned(),
                poll: Duration::from_secs(5),
            },
            (Some(_), None) => bail!("--smtp-url needs --mail-from (SCIMD_MAIL_FROM): the sender"),
            (None, Some(_)) => {
                bail!("--mail-from needs --smtp-url (SCIMD_SMTP_URL): where to send")
            }
        };
        SmtpMailer::new(&config)?;
        Ok(Some(config))
    }
}

/// Sends through one SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `smtp://host:port` is plain SMTP, for a relay on this machine only;
    /// `smtp://host:587?tls=required` uses STARTTLS, `smtps://host:465` TLS from the start;
    /// `user:password@` in front of the host logs in.
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let shown = scimd_store::redact_password(&config.smtp_url);
        let uri: Uri = config
            .smtp_url
            .parse()
            .with_context(|| format!("--smtp-url {shown} is not a URL"))?;
        let host = uri.host().unwrap_or_default();
        let tls = uri
            .query()
            .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("tls=")));
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if uri.scheme_str() == Some("smtp") && !tls && !loopback {
            bail!(
                "--smtp-url {shown}: plain SMTP would send mail (and any password) in clear; \
                 use smtp://{host}:587?tls=required (STARTTLS) or smtps://{host}:465 (TLS)"
            );
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .with_context(|| {
                format!("--smtp-url {shown}: use smtp://, smtp://...?tls=required or smtps://")
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = config.from.parse().with_context(|| {
            format!(
                "--mail-from {:?} is not an address (e.g. \"scimd <scimd@example.com>\")",
                config.from
            )
        })?;
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, queued: &QueuedMail) -> Result<(), MailError> {
        let mail = &queued.mail;
        let permanent = |detail: String| MailError {
            temporary: false,
            detail,
        };
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| permanent(format!("{:?} is not an email address", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|error| permanent(error.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|error| MailError {
                // Refused for good (5xx): no use trying again. Anything else (4xx, the server
                // unreachable, a timeout) may pass later.
                temporary: !error.is_permanent(),
                detail: error.to_string(),
            })
    }
}

/// Reminders and digests are looked for this often; mail is sent every `config.poll`.
const QUEUE_EVERY: Duration = Duration::from_secs(60);

/// The server's mail worker: queues the reminders and digests that are due, and sends what is
/// queued, until `stop` turns true (between rounds, so that a stop does not cut a send short
/// and send it again after the restart). Failures are logged and tried again next round.
pub(crate) async fn work(
    provisioner: AppProvisioner,
    mailer: SmtpMailer,
    config: MailConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut poll = tokio::time::interval(config.poll);
    let mut last_queued: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = poll.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if last_queued.is_none_or(|at| at.elapsed() >= QUEUE_EVERY) {
            last_queued = Some(tokio::time::Instant::now());
            if let Err(error) = provisioner.queue_expiry_reminders().await {
                tracing::warn!(%error, "could not queue token expiry reminders");
            }
            if let Err(error) = provisioner.queue_failure_digests().await {
                tracing::warn!(%error, "could not queue failure digests");
            }
        }
        match provisioner.deliver_mail(&mailer).await {
            Ok(round) if round.retried + round.given_up > 0 => tracing::warn!(
                sent = round.sent,
                retried = round.retried,
                given_up = round.given_up,
                "some mail could not be sent"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not send queued mail"),
        }
    }
}
