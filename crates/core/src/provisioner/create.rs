//! what a `POST /Users` does with the email it names: create and classify a new
//! account, adopt a manual one, reactivate a preserved one, or refuse.

use super::Provisioner;
use super::feed::Described;
use super::users::{WRITE_ATTEMPTS, admin_preserved, busy, user_name_of};
use crate::activity::{Event, Origin};
use crate::clock::Clock;
use crate::error::Result;
use crate::feed::{ChangeType, PlacementNames};
use crate::lifecycle::{AccountState, CreateDecision, Existing, ManagedBy, decide_create};
use crate::mail::{Mail, activation};
use crate::mapping::{MatchInput, evaluate, no_match_detail};
use crate::store::{ScimStore, StoreError};
use crate::tenant::TenantId;
use crate::user::{AccountProfile, Connection, Placement, User, check_user_name_is_email};
use crate::user_id::new_user_id;
use scim::normalise::{Normalised, normalise_resource};
use scim::schema::USER;
use serde_json::{Map, Value};

/// Where the mappings placed a new user, said in words, and the profile to name in its
/// activation email when its mapping sends one.
struct Classified {
    placement: Placement,
    names: PlacementNames,
    described: String,
    activation_profile: Option<String>,
}

impl<S: ScimStore, C: Clock> Provisioner<S, C> {
    /// a POST names an email; what happens depends on the account that already holds it
    /// (see [`decide_create`]). Racing creates of one email meet at the store's unique index:
    /// the loser decides again and adopts, reactivates or gets 409, never a second account.
    pub async fn create_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        body: &Value,
    ) -> Result<User> {
        let normalised = normalise_resource(body, &USER)?;
        let user_name = user_name_of(&normalised.resource).to_owned();
        check_user_name_is_email(&user_name)?;
        let requested_active = normalised
            .resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        for _ in 0..WRITE_ATTEMPTS {
            let existing = self.store.user_by_email(tenant, &user_name).await?;
            let facts = existing.as_ref().map(|user| Existing {
                state: user.state,
                managed_by: user.managed_by,
                scim_id_live: user.scim_id.is_some(),
            });
            let written = match (decide_create(facts, requested_active), existing) {
                (CreateDecision::Create { initial }, _) => {
                    self.insert_scim_user(origin, tenant, &normalised, initial)
                        .await?
                }
                (CreateDecision::Adopt { initial }, Some(manual)) => {
                    let detail = "a manual account taken over by the IdP; profile and storage kept";
                    let claim = Claim::new(
                        initial,
                        ("adopt", ChangeType::Adopted),
                        detail,
                        manual.scim_id.is_none(),
                    );
                    self.claim(origin, manual, &normalised.resource, claim)
                        .await?
                }
                (
                    CreateDecision::Reactivate {
                        initial,
                        new_scim_id,
                    },
                    Some(preserved),
                ) => {
                    let detail = if new_scim_id {
                        "a preserved account reactivated under a new SCIM id; profile and storage kept"
                    } else {
                        "a preserved account reactivated; profile and storage kept"
                    };
                    let claim = Claim::new(
                        initial,
                        ("reactivate", ChangeType::Reactivated),
                        detail,
                        new_scim_id,
                    );
                    self.claim(origin, preserved, &normalised.resource, claim)
                        .await?
                }
                (CreateDecision::RefuseAdminPreserved, _) => {
                    return Err(admin_preserved(&user_name));
                }
                (CreateDecision::Conflict, _) => {
                    return Err(scim::Error::uniqueness(format!(
                        "userName '{user_name}' is already provisioned in this tenant; \
                         update that user instead (filter userName eq \"{user_name}\")"
                    ))
                    .into());
                }
                // Adopt and Reactivate are only decided for an existing account.
                (CreateDecision::Adopt { .. } | CreateDecision::Reactivate { .. }, None) => None,
            };
            if let Some(user) = written {
                return Ok(user);
            }
        }
        Err(busy(&user_name))
    }

    /// A new account classified by the mappings; `None` when another create of the same email
    /// won the race.
    async fn insert_scim_user(
        &self,
        origin: &Origin,
        tenant: TenantId,
        normalised: &Normalised,
        initial: AccountState,
    ) -> Result<Option<User>> {
        let Classified {
            placement,
            names,
            described,
            activation_profile,
        } = self.classify(tenant, normalised).await?;
        let mut resource = normalised.resource.clone();
        resource.insert("active".into(), Value::Bool(initial.is_active()));
        let now = self.now();
        let mut user = User {
            tenant_id: tenant,
            key: 0,
            scim_id: Some(new_user_id(now)?),
            profile: AccountProfile::of(&resource),
            resource,
            version: 1,
            created_at: now,
            updated_at: now,
            state: initial,
            preserved_at: (!initial.is_active()).then_some(now),
            managed_by: ManagedBy::Scim,
            placement: Some(placement),
            connection: Connection::of(origin),
        };
        let detail = if initial.is_active() {
            described
        } else {
            format!("{described}; created preserved (active:false)")
        };
        let activity = Event::success(
            origin,
            tenant,
            now,
            "create",
            201,
            (user.user_name(), user.scim_id.as_deref()),
            detail,
        );
        let described = Described {
            origin,
            activity,
            kind: ChangeType::Created,
            before: None,
            after: &user,
        };
        let record = self.recorded_placed(described, Some(&names))?;
        let mails = match activation_profile {
            Some(profile) if self.mail => self.activation_mail(tenant, &user, &profile).await?,
            _ => Vec::new(),
        };
        match self.store.insert_user_mailing(&user, &record, &mails).await {
            Ok(key) => {
                user.key = key;
                Ok(Some(user))
            }
            // Another create took the email, or the profile's last place: decide again.
            Err(StoreError::Conflict(_) | StoreError::ProfileFull) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Hands an existing account to the IdP (adopt, reactivate): the body becomes its SCIM
    /// document; profile and storage stay. `None` when the account changed meanwhile.
    async fn claim(
        &self,
        origin: &Origin,
        current: User,
        resource: &Map<String, Value>,
        claim: Claim,
    ) -> Result<Option<User>> {
        let now = self.now();
        let scim_id = match (&current.scim_id, claim.new_scim_id) {
            (Some(id), false) => Some(id.clone()),
            _ => Some(new_user_id(now)?),
        };
        // A create always states `active`, as a new account's document does.
        let mut resource = resource.clone();
        resource.insert("active".into(), Value::Bool(claim.initial.is_active()));
        let next = User {
            scim_id,
            managed_by: ManagedBy::Scim,
            connection: Connection::of(origin),
            ..current.changed(resource, claim.initial, now)
        };
        let activity = Event::success(
            origin,
            current.tenant_id,
            now,
            claim.operation,
            201,
            (next.user_name(), next.scim_id.as_deref()),
            claim.detail.to_owned(),
        );
        let record = self
            .recorded(Described {
                origin,
                activity,
                kind: claim.kind,
                before: Some(&current),
                after: &next,
            })
            .await?;
        match self.store.update_user(&current, &next, &record).await {
            Ok(()) => Ok(Some(next)),
            Err(StoreError::VersionMismatch | StoreError::Conflict(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// The first matching mapping decides profile, storage and quota; none matching, or a full
    /// profile, refuses the create with a 400 that says why. Also says where the user went.
    async fn classify(&self, tenant: TenantId, normalised: &Normalised) -> Result<Classified> {
        let mappings = self.store.list_mappings(tenant).await?;
        let input = MatchInput {
            resource: &normalised.resource,
            custom: &normalised.custom,
        };
        let (matched, explanations) = evaluate(
            mappings
                .iter()
                .map(|m| (m.name.as_str(), m.priority, &m.criteria)),
            input,
        );
        let Some(mapping) = matched.and_then(|name| mappings.into_iter().find(|m| m.name == name))
        else {
            return Err(scim::Error::invalid_value(no_match_detail(&explanations)).into());
        };
        self.check_capacity(tenant, mapping.profile_id, &mapping.profile)
            .await?
            .map_err(|full| {
                scim::Error::invalid_value(format!(
                    "{full}; mapping '{}' placed this user there. An admin of this service can \
                     raise the limit (`scimd profile edit '{}' --max-users N`, or Profiles in \
                     the console) or change the mapping",
                    mapping.name, mapping.profile
                ))
            })?;
        let described = format!(
            "mapping '{}' placed the user in profile '{}', storage '{}'",
            mapping.name, mapping.profile, mapping.storage
        );
        let activation_profile = mapping
            .send_activation_email
            .then(|| mapping.profile.clone());
        let placement = Placement {
            mapping: Some(mapping.name),
            moved_by: None,
            profile_id: mapping.profile_id,
            storage_id: mapping.storage_id,
            quota_bytes: mapping.quota_bytes,
        };
        let names = PlacementNames {
            profile: mapping.profile,
            storage: mapping.storage,
        };
        Ok(Classified {
            placement,
            names,
            described,
            activation_profile,
        })
    }

    /// The activation email to a new account of `tenant`, placed in `profile`.
    pub(super) async fn activation_mail(
        &self,
        tenant: TenantId,
        user: &User,
        profile: &str,
    ) -> Result<Vec<Mail>> {
        let tenant = self.store.tenant_by_id(tenant).await?;
        Ok(tenant
            .map(|tenant| activation(&tenant, user, profile))
            .into_iter()
            .collect())
    }

    /// `Err` with a sentence when the profile holds its `max_users` already (0 = unlimited).
    pub(super) async fn check_capacity(
        &self,
        tenant: TenantId,
        profile_id: i64,
        profile_name: &str,
    ) -> Result<std::result::Result<(), String>> {
        let limit = self
            .store
            .list_profiles(tenant)
            .await?
            .iter()
            .find(|p| p.id == profile_id)
            .map_or(0, |p| p.max_users);
        let used = if limit > 0 {
            self.store.count_profile_users(tenant, profile_id).await?
        } else {
            0
        };
        Ok(if limit > 0 && used >= u64::from(limit) {
            Err(format!("profile '{profile_name}' is full ({limit} users)"))
        } else {
            Ok(())
        })
    }
}

/// How an existing account is handed to the IdP by a create.
struct Claim {
    initial: AccountState,
    operation: &'static str,
    kind: ChangeType,
    detail: &'static str,
    new_scim_id: bool,
}

impl Claim {
    fn new(
        initial: AccountState,
        (operation, kind): (&'static str, ChangeType),
        detail: &'static str,
        new_scim_id: bool,
    ) -> Self {
        Self {
            initial,
            operation,
            kind,
            detail,
            new_scim_id,
        }
    }
}
