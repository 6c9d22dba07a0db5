//! The console's pages: each a template and a handler that reads through the provisioner.

use super::Signed;
use super::auth::Refused;
use crate::http::AppState;
use crate::http::response::admin_status;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use scimd_core::mail::MailCounts;
use scimd_core::provisioner::Dashboard;
use scimd_core::webhook::{Webhook, WebhookState};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

/// A rendered page, or a plain 500 (logged) when a template cannot render.
pub(super) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the server log has the details",
            )
                .into_response()
        }
    }
}

/// Why a console request failed, answered as one plain-text page: 403 with the reason for a
/// refusal, the status of a use case's error, or a logged 500 for a server fault.
#[derive(Debug)]
pub(super) enum PageError {
    Refused(Refused),
    Failed(scimd_core::Error),
}

/// A console handler's answer.
pub(super) type PageResult = Result<Response, PageError>;

impl From<scimd_core::Error> for PageError {
    fn from(error: scimd_core::Error) -> Self {
        Self::Failed(error)
    }
}

impl From<Refused> for PageError {
    fn from(refused: Refused) -> Self {
        Self::Refused(refused)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(refused) => refused.into_response(),
            Self::Failed(error) => failure(error),
        }
    }
}

fn failure(error: scimd_core::Error) -> Response {
    if let scimd_core::Error::Forbidden(reason) = &error {
        return super::auth::forbidden(reason);
    }
    match admin_status(&error) {
        Some(status) => (status, error.to_string()).into_response(),
        None => {
            tracing::error!(%error, "a console request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the server log has the details",
            )
                .into_response()
        }
    }
}

/// The tenant's profile and storage names, for the forms that pick one (mappings, moves).
pub(super) async fn catalog_names(
    state: &AppState,
    signed: &Signed,
) -> scimd_core::Result<(Vec<String>, Vec<String>)> {
    let profiles = state.provisioner.list_profiles(&signed.grant).await?;
    let storages = state.provisioner.list_storages(&signed.grant).await?;
    Ok((
        profiles.into_iter().map(|p| p.name).collect(),
        storages.into_iter().map(|s| s.name).collect(),
    ))
}

/// What every page's frame shows: who is signed in, where, and the CSRF token for its forms.
pub(super) struct Chrome {
    pub operator: bool,
    pub email: String,
    pub role: &'static str,
    pub tenant: String,
    pub csrf: String,
    pub section: &'static str,
}

impl Chrome {
    pub fn of(signed: &Signed, section: &'static str) -> Self {
        Self {
            operator: signed.admin.role.can_manage_tenants(),
            email: signed.admin.email.clone(),
            role: signed.admin.role.as_str(),
            tenant: signed.tenant().slug.to_string(),
            csrf: signed.session.csrf_token.clone(),
            section,
        }
    }

    /// The navigation: link, label, key.
    pub fn sections(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut sections = vec![
            ("/admin", "Dashboard", "dashboard"),
            ("/admin/provisioning", "Provisioning", "provisioning"),
            ("/admin/mappings", "Mappings", "mappings"),
            ("/admin/catalog", "Profiles and storages", "catalog"),
            ("/admin/users", "Users", "users"),
            ("/admin/reports/provisioning", "Reports", "reports"),
            ("/admin/activity", "Activity", "activity"),
            ("/admin/webhooks", "Webhooks", "webhooks"),
        ];
        if self.operator {
            sections.push(("/admin/tenants", "Tenants", "tenants"));
        }
        sections
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    figures: Dashboard,
    /// The tenant's mail, when email notifications are on.
    mail: Option<MailCounts>,
    /// Webhook endpoints that get no events (failing, or disabled), with why.
    stopped_webhooks: Vec<Webhook>,
}

async fn dashboard(State(state): State<AppState>, signed: Signed) -> PageResult {
    let provisioner = &state.provisioner;
    let figures = provisioner.dashboard(&signed.grant).await?;
    let mail = match provisioner.mail_enabled() {
        false => None,
        true => Some(provisioner.mail_counts(&signed.grant).await?),
    };
    let stopped_webhooks = provisioner
        .list_webhooks(&signed.grant)
        .await?
        .into_iter()
        .filter(|webhook| webhook.state != WebhookState::Enabled)
        .collect();
    Ok(render(&DashboardPage {
        chrome: Chrome::of(&signed, "dashboard"),
        figures,
        mail,
        stopped_webhooks,
    }))
}
