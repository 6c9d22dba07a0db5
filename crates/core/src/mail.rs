//! Email notifications (SPEC R-48): what each mail says, the port that sends one, and how a
//! failed send is retried. Mails are queued in the database in the transaction of their cause
//! and sent by the server's mail worker (`Provisioner::deliver_mail`).

use crate::activity::Event;
use crate::oauth::ClientSecretInfo;
use crate::tenant::{Tenant, TenantId};
use crate::token::Token;
use crate::user::User;
use scim::datetime::Timestamp;
use std::fmt::Write as _;
use std::future::Future;

/// Why a mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// To a new user of a mapping with "send activation email" (or a manual user on request).
    Activation,
    /// To the tenant's admins, 30, 7 and 1 days before a token expires.
    ExpiryReminder,
    /// To the tenant's admins: the failed provisioning calls of the last hour.
    FailureDigest,
    /// To the tenant's admins: a webhook endpoint stopped getting events.
    WebhookFailing,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::ExpiryReminder => "expiry-reminder",
            Self::FailureDigest => "failure-digest",
            Self::WebhookFailing => "webhook-failing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Activation,
            Self::ExpiryReminder,
            Self::FailureDigest,
            Self::WebhookFailing,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// One mail to one recipient, as written: plain text and HTML (every value escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub tenant_id: TenantId,
    pub kind: MailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A queued mail as the worker takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    /// Tries so far, this one included.
    pub attempts: u32,
    pub mail: Mail,
}

/// How many mails are waiting, were sent, or were given up on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

/// Why a send failed: `temporary` failures (the server unreachable, a 4xx reply) are retried;
/// permanent ones (a 5xx reply: no such mailbox, refused sender) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    pub temporary: bool,
    pub detail: String,
}

/// How a mail the worker took ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome<'a> {
    Sent(Timestamp),
    /// Failed; tried again from `at`.
    Retry {
        at: Timestamp,
        error: &'a str,
    },
    /// Failed for good (a permanent error, or too many tries).
    GivenUp {
        at: Timestamp,
        error: &'a str,
    },
}

/// Sends one mail (SMTP in the server; anything in tests).
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &QueuedMail) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// How long a worker holds a mail it took before another may try it: longer than any send
/// takes, so a mail is sent twice only when a worker died mid-send.
pub const LEASE_MILLIS: i64 = 10 * 60 * 1000;

/// The wait before the next try after `attempts` failed ones: 1 min, 5 min, 30 min, 2 h, then
/// every 6 h; `None` after 16 tries (about three days), when the mail is given up.
pub fn retry_after_millis(attempts: u32) -> Option<i64> {
    const MINUTE: i64 = 60_000;
    match attempts {
        0 | 1 => Some(MINUTE),
        2 => Some(5 * MINUTE),
        3 => Some(30 * MINUTE),
        4 => Some(120 * MINUTE),
        5..=15 => Some(360 * MINUTE),
        _ => None,
    }
}

/// Expiry reminders go out this many days before (R-48), each once.
pub const REMINDER_DAYS: [u32; 3] = [30, 7, 1];

const DAY_MILLIS: i64 = 86_400_000;

/// The reminder a token is due at `now`: the smallest of [`REMINDER_DAYS`] that its time left
/// fits in; `None` when it has more than 30 days left, or none.
pub fn reminder_due(expires_at: Timestamp, now: Timestamp) -> Option<u32> {
    let left = expires_at.as_millis() - now.as_millis();
    if left <= 0 {
        return None;
    }
    REMINDER_DAYS
        .into_iter()
        .rev()
        .find(|days| left <= i64::from(*days) * DAY_MILLIS)
}

/// The activation email to a new user.
pub fn activation(tenant: &Tenant, user: &User, profile: &str) -> Mail {
    let name = &user.profile.display_name;
    let email = user.user_name();
    let text = format!(
        "Hello {name},\n\n\
         an account was created for you ({email}) by {tenant} in profile '{profile}'.\n\
         Sign in with {email} to start using it.\n\n\
         You receive this mail because your organisation's directory provisions your account.\n",
        tenant = tenant.name,
    );
    let html = format!(
        "<p>Hello {name},</p>\
         <p>an account was created for you (<b>{email}</b>) by {tenant} in profile \
         &#39;{profile}&#39;.<br>Sign in with {email} to start using it.</p>\
         <p><small>You receive this mail because your organisation&#39;s directory provisions \
         your account.</small></p>",
        name = escape_html(name),
        email = escape_html(email),
        tenant = escape_html(&tenant.name),
        profile = escape_html(profile),
    );
    Mail {
        tenant_id: tenant.id,
        kind: MailKind::Activation,
        to: email.to_owned(),
        subject: format!("Your account at {} is ready", tenant.name),
        text,
        html,
    }
}

/// A reminder that a token expires in `days` days.
pub fn token_expiry(tenant: &Tenant, token: &Token, days: u32, to: &str) -> Mail {
    let when = token.expires_at.to_rfc3339();
    let name = token.name.as_str();
    let within = if days == 1 {
        "a day".to_owned()
    } else {
        format!("{days} days")
    };
    let text = format!(
        "The SCIM token '{name}' of tenant '{slug}' expires within {within}, at {when}.\n\
         When it expires, the identity provider that uses it can no longer provision users.\n\n\
         Rotate it: scimd token create --tenant {slug} --name {name} --keep-previous 24h\n\
         (or Provisioning in the console), then paste the new secret into the identity \
         provider.\n",
        slug = tenant.slug,
    );
    let html = format!(
        "<p>The SCIM token <b>{name}</b> of tenant <b>{slug}</b> expires within {within}, at \
         {when}.<br>When it expires, the identity provider that uses it can no longer \
         provision users.</p>\
         <p>Rotate it: <code>scimd token create --tenant {slug} --name {name} --keep-previous \
         24h</code> (or Provisioning in the console), then paste the new secret into the \
         identity provider.</p>",
        name = escape_html(name),
        slug = escape_html(tenant.slug.as_str()),
    );
    Mail {
        tenant_id: tenant.id,
        kind: MailKind::ExpiryReminder,
        to: to.to_owned(),
        subject: format!(
            "SCIM token '{name}' of {} expires within {within}",
            tenant.name
        ),
        text,
        html,
    }
}

/// A secret of OAuth client `client` expires within `days`.
pub fn client_secret_expiry(
    tenant: &Tenant,
    client: &str,
    secret: &ClientSecretInfo,
    days: u32,
    to: &str,
) -> Mail {
    let when = secret.expires_at.to_rfc3339();
    let id = secret.id;
    let within = if days == 1 {
        "a day".to_owned()
    } else {
        format!("{days} days")
    };
    let text = format!(
        "Secret {id} of the OAuth client '{client}' of tenant '{slug}' expires within {within}, \
         at {when}.\nWhen it expires, an identity provider that still uses it can no longer \
         provision users.\n\n\
         Rotate it: scimd client add-secret --tenant {slug} {client} (or Provisioning in the \
         console), paste the new secret into the identity provider, then revoke this one: \
         scimd client revoke-secret --tenant {slug} {client} {id}\n",
        slug = tenant.slug,
    );
    let html = format!(
        "<p>Secret {id} of the OAuth client <b>{client}</b> of tenant <b>{slug}</b> expires \
         within {within}, at {when}.<br>When it expires, an identity provider that still uses \
         it can no longer provision users.</p>\
         <p>Rotate it: <code>scimd client add-secret --tenant {slug} {client}</code> (or \
         Provisioning in the console), paste the new secret into the identity provider, then \
         revoke this one: <code>scimd client revoke-secret --tenant {slug} {client} {id}</code>\
         </p>",
        client = escape_html(client),
        slug = escape_html(tenant.slug.as_str()),
    );
    Mail {
        tenant_id: tenant.id,
        kind: MailKind::ExpiryReminder,
        to: to.to_owned(),
        subject: format!(
            "OAuth client '{client}' of {}: a secret expires within {within}",
            tenant.name
        ),
        text,
        html,
    }
}

/// A webhook endpoint of `tenant` gets no more events until an admin enables it again.
pub fn webhook_failing(tenant: &Tenant, webhook: &str, reason: &str, to: &str) -> Mail {
    let text = format!(
        "The webhook '{webhook}' of tenant '{slug}' gets no more events: {reason}.\n\n         See its deliveries: scimd webhook deliveries {webhook} --tenant {slug}\n         When the receiver works again: scimd webhook enable {webhook} --tenant {slug}\n         (or Webhooks in the console). It then gets every event since it stopped that the          change feed still keeps.\n",
        slug = tenant.slug,
    );
    let html = format!(
        "<p>The webhook <b>{webhook}</b> of tenant <b>{slug}</b> gets no more events:          {reason}.</p><p>See its deliveries: <code>scimd webhook deliveries {webhook} --tenant          {slug}</code><br>When the receiver works again: <code>scimd webhook enable {webhook}          --tenant {slug}</code> (or Webhooks in the console). It then gets every event since          it stopped that the change feed still keeps.</p>",
        webhook = escape_html(webhook),
        slug = escape_html(tenant.slug.as_str()),
        reason = escape_html(reason),
    );
    Mail {
        tenant_id: tenant.id,
        kind: MailKind::WebhookFailing,
        to: to.to_owned(),
        subject: format!("Webhook '{webhook}' of {} is failing", tenant.name),
        text,
        html,
    }
}

/// The failed provisioning calls of a tenant since the last digest: `failures` (the newest,
/// at most a page) of `total`.
pub fn failure_digest(tenant: &Tenant, failures: &[Event], total: u64, to: &str) -> Mail {
    let mut text = format!(
        "{total} provisioning call{s} to tenant '{slug}' failed in the last hour. Each identity \
         provider got the error shown; `scimd activity --outcome failure` has the details.\n\n",
        s = if total == 1 { "" } else { "s" },
        slug = tenant.slug,
    );
    let mut html = format!(
        "<p>{total} provisioning call{s} to tenant <b>{slug}</b> failed in the last hour. Each \
         identity provider got the error shown; <code>scimd activity --outcome failure</code> \
         has the details.</p><table><tr><th>Time</th><th>From</th><th>Call</th><th>User</th>\
         <th>Status</th><th>Error</th></tr>",
        s = if total == 1 { "" } else { "s" },
        slug = escape_html(tenant.slug.as_str()),
    );
    for event in failures {
        let user = event.target_user_name.as_deref().unwrap_or("-");
        let error = event.detail.as_deref().unwrap_or_default();
        let _ = writeln!(
            text,
            "{} {} ({}) {} {} {}: {} {}",
            event.at.to_rfc3339(),
            event.actor,
            event.client,
            event.method,
            event.path,
            user,
            event.status,
            error
        );
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{} ({})</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            event.at.to_rfc3339(),
            escape_html(&event.actor),
            escape_html(&event.client),
            escape_html(&event.method),
            escape_html(&event.path),
            escape_html(user),
            event.status,
            escape_html(error)
        );
    }
    html.push_str("</table>");
    let shown = failures.len() as u64;
    if total > shown {
        let _ = writeln!(text, "... and {} more", total - shown);
        let _ = write!(html, "<p>... and {} more</p>", total - shown);
    }
    Mail {
        tenant_id: tenant.id,
        kind: MailKind::FailureDigest,
        to: to.to_owned(),
        subject: format!(
            "{total} failed provisioning call{} for {}",
            if total == 1 { "" } else { "s" },
            tenant.name
        ),
        text,
        html,
    }
}

/// Text as HTML content or a quoted attribute value.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_are_due_at_30_7_and_1_days() {
        let now = Timestamp::from_millis(1_000 * DAY_MILLIS);
        let left =
            |millis: i64| reminder_due(Timestamp::from_millis(now.as_millis() + millis), now);
        assert_eq!(left(31 * DAY_MILLIS), None);
        assert_eq!(left(30 * DAY_MILLIS), Some(30));
        assert_eq!(left(8 * DAY_MILLIS), Some(30));
        assert_eq!(left(7 * DAY_MILLIS), Some(7));
        assert_eq!(left(DAY_MILLIS + 1), Some(7));
        assert_eq!(left(DAY_MILLIS), Some(1));
        assert_eq!(left(1), Some(1));
        assert_eq!(left(0), None);
    }

    #[test]
    fn retries_back_off_then_give_up_after_about_three_days() {
        let waits: Vec<i64> = (1..).map_while(retry_after_millis).collect();
        assert!(waits.windows(2).all(|pair| pair[0] <= pair[1]), "{waits:?}");
        let total_hours = waits.iter().sum::<i64>() / 3_600_000;
        assert!((60..=80).contains(&total_hours), "{total_hours}");
    }

    #[test]
    fn html_escapes_every_value() {
        assert_eq!(
            escape_html(r#"<b onclick="x">'&'</b>"#),
            "&lt;b onclick=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
    }
}
