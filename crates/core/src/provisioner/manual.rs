//! Manual accounts (R-30's other half): created by admins one at a time or from a file, all or
//! none, until an IdP creates the same email and adopts them.

use super::Provisioner;
use super::feed::Described;
use crate::access::Grant;
use crate::activity::{Event, Origin};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::feed::{ChangeType, Recorded};
use crate::lifecycle::{AccountState, ManagedBy};
use crate::mail::activation;
use crate::store::{Store, StoreError};
use crate::tenant::Tenant;
use crate::user::{AccountProfile, Placement, User, check_user_name_is_email};
use scim::schema::user::CORE_USER_URN;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A manual account to create: what `scimd user create` and each import line give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualUser {
    pub email: String,
    pub name: String,
    pub profile: String,
    pub storage: String,
    /// Mail the user its activation email (R-48; refused while mail is off).
    pub send_activation_email: bool,
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    /// A manual account (managed by admins until an IdP creates the same email and adopts it).
    pub async fn create_manual_user(&self, grant: &Grant, spec: &ManualUser) -> Result<User> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let (mut user, record) = self.manual_user(origin, tenant, spec).await?;
        let mails = match (spec.send_activation_email, self.mail) {
            (false, _) => Vec::new(),
            (true, true) => vec![activation(tenant, &user, spec.profile.trim())],
            (true, false) => {
                return Err(Error::Invalid(
                    "email notifications are off: start scimd with --smtp-url and --mail-from \
                     (SCIMD_SMTP_URL, SCIMD_MAIL_FROM) to send activation emails"
                        .into(),
                ));
            }
        };
        user.key = self
            .store
            .insert_user_mailing(&user, &record, &mails)
            .await
            .map_err(|error| match error {
                StoreError::ProfileFull => {
                    Error::Invalid(format!("profile '{}' is full", spec.profile.trim()))
                }
                other => email_taken(other, &spec.email),
            })?;
        Ok(user)
    }

    /// Checks a manual account and builds it with its records; nothing is written.
    async fn manual_user(
        &self,
        origin: &Origin,
        tenant: &Tenant,
        spec: &ManualUser,
    ) -> Result<(User, Recorded)> {
        let email = spec.email.trim();
        check_user_name_is_email(email)
            .map_err(|_| Error::Invalid(format!("{email:?} is not an email address")))?;
        let name = spec.name.trim();
        if name.is_empty() {
            return Err(Error::Invalid(format!(
                "the account of '{email}' needs a name"
            )));
        }
        scim::text::check_no_control(name, false, "name")
            .map_err(|error| Error::Invalid(error.detail))?;
        let profile_id = self.profile_id(tenant, &spec.profile).await?;
        let storage_id = self.storage_id(tenant, &spec.storage).await?;
        self.check_capacity(tenant.id, profile_id, &spec.profile)
            .await?
            .map_err(Error::Invalid)?;
        let resource: Map<String, Value> = match json!({
            "schemas": [CORE_USER_URN],
            "userName": email,
            "displayName": name,
            "active": true,
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let now = self.now();
        let user = User {
            tenant_id: tenant.id,
            key: 0,
            scim_id: None,
            profile: AccountProfile::of(&resource),
            resource,
            version: 1,
            created_at: now,
            updated_at: now,
            state: AccountState::Active,
            preserved_at: None,
            managed_by: ManagedBy::Manual,
            placement: Some(Placement {
                mapping: None,
                moved_by: None,
                profile_id,
                storage_id,
                quota_bytes: None,
            }),
            connection: None,
        };
        let detail = format!(
            "manual account in profile '{}', storage '{}'",
            spec.profile, spec.storage
        );
        let activity = Event::success(origin, tenant.id, now, "create", 201, (email, None), detail);
        let record = self
            .recorded(Described {
                origin,
                activity,
                kind: ChangeType::Created,
                before: None,
                after: &user,
            })
            .await?;
        Ok((user, record))
    }

    /// Creates every account of a file or none (R-30 for manual users). `progress` is told how
    /// many lines have been checked. Errors name the 1-based line (after the header).
    pub async fn import_manual_users(
        &self,
        grant: &Grant,
        lines: &[(usize, ManualUser)],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<usize> {
        let (origin, tenant) = (grant.origin(), grant.to_change()?);
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut accounts = Vec::with_capacity(lines.len());
        let mut per_profile: HashMap<i64, u64> = HashMap::new();
        for (checked, (line, spec)) in lines.iter().enumerate() {
            let at_line = |error: Error| Error::Invalid(format!("line {line}: {error}"));
            let folded = scim::filter::fold_case(spec.email.trim());
            if let Some(first) = seen.insert(folded, *line) {
                return Err(at_line(Error::Invalid(format!(
                    "'{}' is also on line {first}",
                    spec.email.trim()
                ))));
            }
            if self
                .store
                .user_by_email(tenant.id, &spec.email)
                .await?
                .is_some()
            {
                return Err(at_line(Error::Conflict(format!(
                    "an account with email '{}' already exists",
                    spec.email.trim()
                ))));
            }
            let (user, record) = self
                .manual_user(origin, tenant, spec)
                .await
                .map_err(at_line)?;
            if let Some(placement) = &user.placement {
                *per_profile.entry(placement.profile_id).or_default() += 1;
            }
            accounts.push((user, record));
            progress(checked as u64 + 1);
        }
        for profile in self.list_profiles(grant).await? {
            let adding = per_profile.get(&profile.id).copied().unwrap_or(0);
            if profile.max_users == 0 || adding == 0 {
                continue;
            }
            let used = self
                .store
                .count_profile_users(tenant.id, profile.id)
                .await?;
            if used + adding > u64::from(profile.max_users) {
                return Err(Error::Invalid(format!(
                    "profile '{}' holds {used} of {} users; the file adds {adding}",
                    profile.name, profile.max_users
                )));
            }
        }
        self.store
            .insert_users(&accounts)
            .await
            .map_err(|error| match error {
                StoreError::ProfileFull => Error::Invalid(
                    "a profile filled up while importing; nothing was imported".into(),
                ),
                other => email_taken(other, "one of the file's emails"),
            })?;
        Ok(accounts.len())
    }
}

fn email_taken(error: StoreError, email: &str) -> Error {
    match error {
        StoreError::Conflict(_) => Error::Conflict(format!(
            "an account with email '{}' already exists",
            email.trim()
        )),
        other => other.into(),
    }
}
