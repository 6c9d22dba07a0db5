//! Every admin API route, in one place: `openapi.json` must list exactly these (a test checks).

use super::accounts::*;
use super::catalog::*;
use super::clients::*;
use super::events::events;
use super::webhooks::*;
use crate::http::AppState;
use axum::Router;
use axum::routing::{delete, get, patch, post, put};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/openapi.json", get(openapi))
        .route("/admin/api/v1/dashboard", get(dashboard))
        .route(
            "/admin/api/v1/tenants",
            get(list_tenants).post(create_tenant),
        )
        .route(
            "/admin/api/v1/provisioning",
            get(provisioning).put(set_provisioning),
        )
        .route("/admin/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/admin/api/v1/tokens/{name}", delete(revoke_token))
        .route(
            "/admin/api/v1/clients",
            get(list_clients).post(create_client),
        )
        .route("/admin/api/v1/clients/{name}", delete(revoke_client))
        .route(
            "/admin/api/v1/clients/{name}/secrets",
            post(add_client_secret),
        )
        .route(
            "/admin/api/v1/clients/{name}/secrets/{secret_id}",
            delete(revoke_client_secret),
        )
        .route(
            "/admin/api/v1/clients/{name}/trust",
            put(trust_client).delete(distrust_client),
        )
        .route(
            "/admin/api/v1/profiles",
            get(list_profiles).post(create_profile),
        )
        .route(
            "/admin/api/v1/profiles/{name}",
            patch(edit_profile).delete(delete_profile),
        )
        .route(
            "/admin/api/v1/storages",
            get(list_storages).post(create_storage),
        )
        .route("/admin/api/v1/storages/{name}", patch(edit_storage))
        .route(
            "/admin/api/v1/mappings",
            get(list_mappings).post(create_mapping),
        )
        .route("/admin/api/v1/mappings/preview", post(preview_mapping))
        .route(
            "/admin/api/v1/mappings/{name}",
            patch(edit_mapping).delete(delete_mapping),
        )
        .route("/admin/api/v1/mappings/{name}/priority", put(move_mapping))
        .route("/admin/api/v1/users", get(list_users).post(create_user))
        .route("/admin/api/v1/users/move", post(move_users))
        .route(
            "/admin/api/v1/users/{email}",
            get(show_user).delete(delete_user),
        )
        .route("/admin/api/v1/users/{email}/preserve", post(preserve_user))
        .route("/admin/api/v1/users/{email}/activate", post(activate_user))
        .route("/admin/api/v1/reports/{report}", get(report))
        .route("/admin/api/v1/activity", get(activity))
        .route("/admin/api/v1/events", get(events))
        .route("/admin/api/v1/events/{event_id}/redeliver", post(redeliver))
        .route(
            "/admin/api/v1/webhooks",
            get(list_webhooks).post(create_webhook),
        )
        .route("/admin/api/v1/webhooks/{name}", delete(delete_webhook))
        .route("/admin/api/v1/webhooks/{name}/enable", post(enable_webhook))
        .route(
            "/admin/api/v1/webhooks/{name}/disable",
            post(disable_webhook),
        )
        .route(
            "/admin/api/v1/webhooks/{name}/rotate-secret",
            post(rotate_webhook_secret),
        )
        .route(
            "/admin/api/v1/webhooks/{name}/deliveries",
            get(webhook_deliveries),
        )
}
