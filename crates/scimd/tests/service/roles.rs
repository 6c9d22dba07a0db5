//! SPEC §7 roles, enforced by the provisioner itself: every admin operation, under every
//! role, in its own tenant and in another, on SQLite and PostgreSQL. The console and the admin
//! API only authenticate and hand over the grant core made; what a role may not do is refused
//! here with 403 and changes nothing, whichever face forgot to check.

use crate::common::{admin_origin, database_or_temp, database_urls};
use scimd::{AppProvisioner, open_provisioner};
use scimd_core::access::Grant;
use scimd_core::activity::{EventQuery, Origin};
use scimd_core::admin::{AdminAccount, Role};
use scimd_core::error::{Error, Result};
use scimd_core::feed::ChangeQuery;
use scimd_core::mapping::Criteria;
use scimd_core::oauth::{Trust, TrustKeys};
use scimd_core::provisioner::WebhookSpec;
use scimd_core::provisioner::{
    AccountFilter, AccountSearch, ManualUser, MappingEdit, MappingSpec, MoveSelection, MoveTarget,
};
use scimd_core::tenant::ProvisioningMethod;
use scimd_core::webhook::{DestinationPolicy, WebhookFormat};
use serde_json::json;

const PASSWORD: &str = "a long enough passphrase";

/// What an operation needs from a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Look,
    Change,
    ManageTenants,
}

/// Every admin operation the provisioner offers the console, the admin API and the CLI, in an
/// order where each one that is allowed finds what it works on.
#[derive(Debug, Clone, Copy)]
enum Op {
    ListProfiles,
    ListStorages,
    ListMappings,
    ListTokens,
    ListAccounts,
    SearchAccounts,
    Account,
    AccountView,
    Activity,
    PreviewMapping,
    ShadowedMappings,
    Dashboard,
    MailCounts,
    CreateProfile,
    EditProfile,
    CreateStorage,
    EditStorage,
    CreateMapping,
    EditMapping,
    ReorderMapping,
    DeleteMapping,
    CreateToken,
    RevokeToken,
    SetProvisioning,
    CreateManualUser,
    PreserveUser,
    ActivateUser,
    MoveUsers,
    DestroyUser,
    ImportManualUsers,
    DeleteProfile,
    ListTenants,
    CreateTenant,
    Changes,
    ListWebhooks,
    CreateWebhook,
    WebhookDeliveries,
    DisableWebhook,
    EnableWebhook,
    RotateWebhookSecret,
    Redeliver,
    DeleteWebhook,
    ListClients,
    CreateClient,
    AddClientSecret,
    RevokeClientSecret,
    TrustClient,
    RevokeClient,
}

const EVERY_OP: [Op; 48] = [
    Op::ListProfiles,
    Op::ListStorages,
    Op::ListMappings,
    Op::ListTokens,
    Op::ListAccounts,
    Op::SearchAccounts,
    Op::Account,
    Op::AccountView,
    Op::Activity,
    Op::PreviewMapping,
    Op::ShadowedMappings,
    Op::Dashboard,
    Op::MailCounts,
    Op::CreateProfile,
    Op::EditProfile,
    Op::CreateStorage,
    Op::EditStorage,
    Op::CreateMapping,
    Op::EditMapping,
    Op::ReorderMapping,
    Op::DeleteMapping,
    Op::CreateToken,
    Op::RevokeToken,
    Op::SetProvisioning,
    Op::CreateManualUser,
    Op::PreserveUser,
    Op::ActivateUser,
    Op::MoveUsers,
    Op::DestroyUser,
    Op::ImportManualUsers,
    Op::DeleteProfile,
    Op::ListTenants,
    Op::CreateTenant,
    Op::Changes,
    Op::ListWebhooks,
    Op::CreateWebhook,
    Op::WebhookDeliveries,
    Op::DisableWebhook,
    Op::EnableWebhook,
    Op::RotateWebhookSecret,
    Op::Redeliver,
    Op::DeleteWebhook,
    Op::ListClients,
    Op::CreateClient,
    Op::AddClientSecret,
    Op::RevokeClientSecret,
    Op::TrustClient,
    Op::RevokeClient,
];

impl Op {
    fn needs(self) -> Needs {
        use Op::*;
        match self {
            ListProfiles | ListStorages | ListMappings | ListTokens | ListAccounts
            | SearchAccounts | Account | AccountView | Activity | PreviewMapping
            | ShadowedMappings | Dashboard | MailCounts | Changes | ListWebhooks
            | WebhookDeliveries | ListClients => Needs::Look,
            ListTenants | CreateTenant => Needs::ManageTenants,
            _ => Needs::Change,
        }
    }

    /// Runs the operation under `grant`; `n` keeps the names of one pass apart from another's.
    async fn run(self, admin: &AppProvisioner, grant: &Grant, n: &str) -> Result<()> {
        let profile = format!("P-{n}");
        let storage = format!("S-{n}");
        let mapping = format!("M-{n}");
        let token = format!("t-{n}");
        let email = format!("u-{n}@example.com");
        let webhook = format!("w-{n}");
        let client = format!("c-{n}");
        let manual = |email: &str| ManualUser {
            email: email.to_owned(),
            name: "Role Test".into(),
            profile: "Default".into(),
            storage: "Default".into(),
            send_activation_email: false,
        };
        match self {
            Op::ListProfiles => admin.list_profiles(grant).await.map(drop),
            Op::ListStorages => admin.list_storages(grant).await.map(drop),
            Op::ListMappings => admin.list_mappings(grant).await.map(drop),
            Op::ListTokens => admin.list_tokens(grant).await.map(drop),
            Op::ListAccounts => admin
                .list_accounts(grant, &AccountFilter::default())
                .await
                .map(drop),
            Op::SearchAccounts => {
                let search = AccountSearch {
                    limit: 10,
                    ..AccountSearch::default()
                };
                admin.search_accounts(grant, &search).await.map(drop)
            }
            Op::Account => admin.account(grant, "seed@example.com").await.map(drop),
            Op::AccountView => admin
                .account_view(grant, "seed@example.com")
                .await
                .map(drop),
            Op::Activity => {
                let query = EventQuery {
                    limit: 10,
                    ..EventQuery::default()
                };
                admin.activity(grant, &query).await.map(drop)
            }
            Op::PreviewMapping => admin
                .preview_mapping(grant, &json!({"userName": "who@example.com"}))
                .await
                .map(drop),
            Op::ShadowedMappings => admin.shadowed_mappings(grant).await.map(drop),
            Op::Dashboard => admin.dashboard(grant).await.map(drop),
            Op::MailCounts => admin.mail_counts(grant).await.map(drop),
            Op::CreateProfile => admin.create_profile(grant, &profile, 0).await.map(drop),
            Op::EditProfile => admin.edit_profile(grant, &profile, None, Some(5)).await,
            Op::CreateStorage => admin.create_storage(grant, &storage, "eu").await.map(drop),
            Op::EditStorage => admin.edit_storage(grant, &storage, None, Some("us")).await,
            Op::CreateMapping => {
                let spec = MappingSpec {
                    name: &mapping,
                    criteria: Criteria::attribute("department", n).unwrap(),
                    profile: &profile,
                    storage: &storage,
                    quota_bytes: None,
                    send_activation_email: false,
                    priority: None,
                };
                admin.create_mapping(grant, spec).await.map(drop)
            }
            Op::EditMapping => {
                let edit = MappingEdit {
                    quota_bytes: Some(Some(1 << 30)),
                    ..MappingEdit::default()
                };
                admin.edit_mapping(grant, &mapping, edit).await
            }
            Op::ReorderMapping => admin.reorder_mapping(grant, &mapping, 1).await,
            Op::DeleteMapping => admin.delete_mapping(grant, &mapping).await,
            Op::CreateToken => admin
                .create_token(grant, &token, None, None)
                .await
                .map(drop),
            Op::RevokeToken => admin.revoke_token(grant, &token).await,
            Op::SetProvisioning => {
                admin
                    .set_provisioning(grant, ProvisioningMethod::Scim)
                    .await
            }
            Op::CreateManualUser => admin
                .create_manual_user(grant, &manual(&email))
                .await
                .map(drop),
            Op::PreserveUser => admin.preserve_user(grant, &email).await.map(drop),
            Op::ActivateUser => admin.activate_user(grant, &email).await.map(drop),
            Op::MoveUsers => {
                let emails = [email.clone()];
                let target = MoveTarget {
                    profile: &profile,
                    storage: Some(&storage),
                    quota_bytes: None,
                };
                admin
                    .move_users(grant, MoveSelection::Emails(&emails), target, &|_, _| {})
                    .await
                    .map(drop)
            }
            Op::DestroyUser => admin
                .destroy_user(grant, &email, "role test")
                .await
                .map(drop),
            Op::ImportManualUsers => {
                let lines = [(2, manual(&format!("i-{n}@example.com")))];
                admin
                    .import_manual_users(grant, &lines, &|_| {})
                    .await
                    .map(drop)
            }
            Op::DeleteProfile => admin.delete_profile(grant, &profile).await,
            Op::ListTenants => admin.list_tenants(grant).await.map(drop),
            Op::CreateTenant => admin
                .create_tenant(grant, &format!("t-{n}"), None)
                .await
                .map(drop),
            Op::Changes => {
                let query = ChangeQuery {
                    after: 0,
                    types: Vec::new(),
                    limit: 10,
                };
                admin.changes(grant, &query).await.map(drop)
            }
            Op::ListWebhooks => admin.list_webhooks(grant).await.map(drop),
            Op::CreateWebhook => {
                let spec = WebhookSpec {
                    name: &webhook,
                    url: "https://93.184.216.34/hooks",
                    format: WebhookFormat::Json,
                    event_types: &[],
                };
                admin.create_webhook(grant, spec, &AnyUrl).await.map(drop)
            }
            Op::WebhookDeliveries => admin.webhook_deliveries(grant, "seed", 10).await.map(drop),
            Op::DisableWebhook => admin.set_webhook_enabled(grant, &webhook, false).await,
            Op::EnableWebhook => admin.set_webhook_enabled(grant, &webhook, true).await,
            Op::RotateWebhookSecret => admin.rotate_webhook_secret(grant, &webhook).await.map(drop),
            Op::Redeliver => {
                // The tenant's first event (its seed account's creation), read as the CLI reads.
                let tenant = grant.tenant().slug.to_string();
                let reader = admin.command_line_grant(&tenant, admin_origin()).await?;
                let query = ChangeQuery {
                    after: 0,
                    types: Vec::new(),
                    limit: 1,
                };
                let first = admin.changes(&reader, &query).await?.events.remove(0);
                admin
                    .redeliver(grant, &first.id, Some(&webhook))
                    .await
                    .map(drop)
            }
            Op::DeleteWebhook => admin.delete_webhook(grant, &webhook).await,
            Op::ListClients => admin.list_clients(grant).await.map(drop),
            Op::CreateClient => admin.create_client(grant, &client, None).await.map(drop),
            Op::AddClientSecret => admin
                .add_client_secret(grant, &client, None)
                .await
                .map(drop),
            Op::RevokeClientSecret => {
                // The client's first secret, read as the CLI reads.
                let tenant = grant.tenant().slug.to_string();
                let reader = admin.command_line_grant(&tenant, admin_origin()).await?;
                let clients = admin.list_clients(&reader).await?;
                let first = clients
                    .iter()
                    .find(|listed| listed.name == client)
                    .map_or(0, |listed| listed.secrets[0].id);
                admin.revoke_client_secret(grant, &client, first).await
            }
            Op::TrustClient => {
                let trust = Trust {
                    issuer: "https://login.example.com/t/v2.0".into(),
                    subject: "app".into(),
                    audience: "api://scimd".into(),
                    keys: TrustKeys::Jwks(r#"{"keys": []}"#.into()),
                };
                admin.trust_client(grant, &client, Some(trust)).await
            }
            Op::RevokeClient => admin.revoke_client(grant, &client).await,
        }
    }
}

/// Everything an admin operation could change, in every tenant and the tenant list, read as
/// the command line reads it.
async fn everything(admin: &AppProvisioner) -> String {
    let root = admin
        .command_line_grant("default", admin_origin())
        .await
        .unwrap();
    let mut seen = vec![format!("{:?}", admin.list_tenants(&root).await.unwrap())];
    for slug in ["default", "a", "b"] {
        seen.push(tenant_state(admin, slug).await);
    }
    seen.join("\n")
}

/// What the admin operations could change in one tenant.
async fn tenant_state(admin: &AppProvisioner, slug: &str) -> String {
    let grant = admin
        .command_line_grant(slug, admin_origin())
        .await
        .unwrap();
    let query = EventQuery {
        limit: 10_000,
        ..EventQuery::default()
    };
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{:?}",
        admin.list_profiles(&grant).await.unwrap(),
        admin.list_storages(&grant).await.unwrap(),
        admin.list_mappings(&grant).await.unwrap(),
        admin.list_tokens(&grant).await.unwrap(),
        admin
            .list_accounts(&grant, &AccountFilter::default())
            .await
            .unwrap(),
        admin.activity(&grant, &query).await.unwrap().len(),
        admin.list_webhooks(&grant).await.unwrap(),
    )
}

/// Webhooks may go anywhere here: the roles are under test, not the destination.
struct AnyUrl;

impl DestinationPolicy for AnyUrl {
    async fn vet(&self, _url: &str) -> std::result::Result<(), String> {
        Ok(())
    }
}

fn console(account: &AdminAccount) -> Origin {
    Origin::cli(account.email.clone(), "roles test")
}

#[tokio::test]
async fn every_admin_operation_is_allowed_or_refused_by_role_and_tenant_in_core() {
    for (backend, url) in database_urls().await {
        let dir = tempfile::tempdir().unwrap();
        let admin = open_provisioner(&database_or_temp(&dir, url), Default::default())
            .await
            .unwrap();
        let root = admin
            .command_line_grant("default", admin_origin())
            .await
            .unwrap();
        for slug in ["a", "b"] {
            admin.create_tenant(&root, slug, None).await.unwrap();
        }
        for slug in ["default", "a", "b"] {
            let grant = admin
                .command_line_grant(slug, admin_origin())
                .await
                .unwrap();
            let seed = ManualUser {
                email: "seed@example.com".into(),
                name: "Seed".into(),
                profile: "Default".into(),
                storage: "Default".into(),
                send_activation_email: false,
            };
            admin.create_manual_user(&grant, &seed).await.unwrap();
            let hook = WebhookSpec {
                name: "seed",
                url: "https://93.184.216.34/seed",
                format: WebhookFormat::Json,
                event_types: &[],
            };
            admin.create_webhook(&grant, hook, &AnyUrl).await.unwrap();
        }
        let account = |email: &'static str, tenant: Option<&'static str>, role| {
            let admin = admin.clone();
            async move {
                admin
                    .create_admin(&admin_origin(), email, tenant, role, PASSWORD)
                    .await
                    .unwrap()
            }
        };
        let operator = account("operator@example.com", None, Role::Operator).await;
        let tenant_admin = account("admin@example.com", Some("a"), Role::Admin).await;
        let viewer = account("viewer@example.com", Some("a"), Role::Viewer).await;

        // Who, naming which tenant, and the tenant granted: a tenant's admins act in their own
        // whatever they name.
        let cases: [(&AdminAccount, Option<&str>, &str); 9] = [
            (&operator, Some("a"), "a"),
            (&operator, Some("b"), "b"),
            (&operator, None, "default"),
            (&tenant_admin, Some("a"), "a"),
            (&tenant_admin, None, "a"),
            (&tenant_admin, Some("b"), "a"),
            (&viewer, Some("a"), "a"),
            (&viewer, None, "a"),
            (&viewer, Some("b"), "a"),
        ];
        for (pass, (account, named, granted)) in cases.into_iter().enumerate() {
            let who = format!("{backend}: {} naming {named:?}", account.email);
            let grant = admin.grant(account, named, console(account)).await.unwrap();
            assert_eq!(grant.tenant().slug.as_str(), granted, "{who}");
            let n = format!("{pass}");
            let other_tenant = tenant_state(&admin, "b").await;
            for op in EVERY_OP {
                let allowed = match op.needs() {
                    Needs::Look => true,
                    Needs::Change => account.role.can_change(),
                    Needs::ManageTenants => account.role.can_manage_tenants(),
                };
                let before = everything(&admin).await;
                let outcome = op.run(&admin, &grant, &n).await;
                match (allowed, outcome) {
                    (true, Ok(())) => {}
                    (false, Err(Error::Forbidden(_))) => {
                        assert_eq!(
                            everything(&admin).await,
                            before,
                            "{who}: refused {op:?} changed something"
                        );
                    }
                    (allowed, outcome) => {
                        panic!("{who}: {op:?} (allowed: {allowed}) gave {outcome:?}")
                    }
                }
            }
            if !account.role.can_manage_tenants() {
                assert_eq!(
                    tenant_state(&admin, "b").await,
                    other_tenant,
                    "{who}: tenant b was changed by an admin of tenant a"
                );
            }
        }
        admin.store().close().await.unwrap();
    }
}
