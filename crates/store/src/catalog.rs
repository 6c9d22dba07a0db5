//! Profiles, storages and mappings on either backend.

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::catalog::{
    Mapping, MappingChange, NewMapping, Profile, ProfileChange, Storage, StorageChange,
};
use scimd_core::feed::PlacementNames;
use scimd_core::mapping::Criteria;
use scimd_core::store::{CatalogStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;

const PROFILE_COLUMNS: &str = "id, tenant_id, name, max_users, created_at";
const PROFILE_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Int,
    Column::Int,
];
const STORAGE_COLUMNS: &str = "id, tenant_id, name, region, created_at";
const STORAGE_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
];
const MAPPING_SELECT: &str = "SELECT m.id, m.tenant_id, m.name, m.priority, m.attribute, m.attribute_values, \
     p.name, s.name, m.quota_bytes, m.send_activation_email, m.created_at, m.updated_at, \
     m.profile_id, m.storage_id \
     FROM mappings m JOIN profiles p ON p.id = m.profile_id JOIN storages s ON s.id = m.storage_id";
const MAPPING_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Int,
    Column::OptText,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::OptInt,
    Column::Bool,
    Column::Int,
    Column::Int,
    Column::Int,
    Column::Int,
];

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn profile_from(mut row: Row) -> Profile {
    Profile {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name: row[2].take_text(),
        max_users: count(row[3].int()),
        created_at: Timestamp::from_millis(row[4].int()),
    }
}

fn storage_from(mut row: Row) -> Storage {
    Storage {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name: row[2].take_text(),
        region: row[3].take_text(),
        created_at: Timestamp::from_millis(row[4].int()),
    }
}

fn mapping_from(mut row: Row) -> StoreResult<Mapping> {
    let criteria = match row[4].opt_text() {
        None => Criteria::AllowAnyUser,
        Some(name) => {
            let values: Vec<String> = serde_json::from_str(&row[5].take_text())
                .map_err(|error| StoreError::Backend(Box::new(error)))?;
            Criteria::Attribute { name, values }
        }
    };
    Ok(Mapping {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name: row[2].take_text(),
        priority: count(row[3].int()),
        criteria,
        profile: row[6].take_text(),
        profile_id: row[12].int(),
        storage: row[7].take_text(),
        storage_id: row[13].int(),
        quota_bytes: row[8].opt_int().and_then(|quota| u64::try_from(quota).ok()),
        send_activation_email: row[9].flag(),
        created_at: Timestamp::from_millis(row[10].int()),
        updated_at: Timestamp::from_millis(row[11].int()),
    })
}

fn committed(written: Written) -> bool {
    matches!(written, Written::Committed(_))
}

/// `UPDATE table SET ... WHERE tenant_id = $1 AND name_ci = $2 [AND condition]`, with the
/// assignments of `changes` (a column and its value each); the condition may name the values
/// by number.
fn rename_or_set(
    table: &str,
    tenant: TenantId,
    name: &str,
    new_name: Option<&String>,
    changes: Vec<(&str, SqlValue)>,
    condition: impl FnOnce(&[SqlValue]) -> Option<String>,
) -> Step {
    let mut values = vec![SqlValue::Int(tenant.0), SqlValue::Text(fold_case(name))];
    let mut assignments = Vec::new();
    let renamed = new_name.map(|new_name| {
        [
            ("name", SqlValue::Text(new_name.clone())),
            ("name_ci", SqlValue::Text(fold_case(new_name))),
        ]
    });
    for (column, value) in renamed.into_iter().flatten().chain(changes) {
        values.push(value);
        assignments.push(format!("{column} = ${}", values.len()));
    }
    if assignments.is_empty() {
        // Nothing to set: the write still says whether the row is there (and meets the
        // condition).
        assignments.push("tenant_id = tenant_id".to_owned());
    }
    let mut sql = format!(
        "UPDATE {table} SET {} WHERE tenant_id = $1 AND name_ci = $2",
        assignments.join(", ")
    );
    if let Some(condition) = condition(&values) {
        sql.push_str(" AND ");
        sql.push_str(&condition);
    }
    Step::run(sql, values).must_affect()
}

/// Two passes, so the unique priority index never sees two mappings in one place: first to a
/// negative parking value, then to the final one.
fn priority_steps(tenant: TenantId, moves: &[(i64, u32, u32)]) -> Vec<Step> {
    let park = moves.iter().map(|(id, old, new)| {
        Step::run(
            "UPDATE mappings SET priority = $4 WHERE tenant_id = $1 AND id = $2 AND priority = $3",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Int(*id),
                SqlValue::Int(i64::from(*old)),
                SqlValue::Int(-i64::from(*new)),
            ],
        )
        .must_affect()
    });
    let place = moves.iter().map(|(id, _, new)| {
        Step::run(
            "UPDATE mappings SET priority = $3 WHERE tenant_id = $1 AND id = $2",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Int(*id),
                SqlValue::Int(i64::from(*new)),
            ],
        )
    });
    park.chain(place).collect()
}

impl CatalogStore for SqlStore {
    async fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        max_users: u32,
        now: Timestamp,
    ) -> StoreResult<Profile> {
        let step = Step::run(
            format!("INSERT INTO profiles (tenant_id, name, name_ci, max_users, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {PROFILE_COLUMNS}"),
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(name.into()),
                SqlValue::Text(fold_case(name)),
                SqlValue::Int(i64::from(max_users)),
                SqlValue::Int(now.as_millis()),
            ],
        )
        .returning(PROFILE_TYPES);
        Ok(profile_from(self.write_returning(vec![step], 0).await?))
    }

    async fn list_profiles(&self, tenant: TenantId) -> StoreResult<Vec<Profile>> {
        let statement = Statement::new(
            format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE tenant_id = $1 ORDER BY name_ci"),
            vec![SqlValue::Int(tenant.0)],
        );
        // Every create checks its profile's capacity: a short indexed read, done inline (through a
        // reader thread it cost a thread hop and a wake-up per create).
        Ok(self
            .lookup(statement, PROFILE_TYPES)
            .await?
            .into_iter()
            .map(profile_from)
            .collect())
    }

    async fn delete_profile(&self, tenant: TenantId, name: &str) -> StoreResult<bool> {
        let step = Step::run(
            "DELETE FROM profiles WHERE tenant_id = $1 AND name_ci = $2",
            vec![SqlValue::Int(tenant.0), SqlValue::Text(fold_case(name))],
        )
        .must_affect();
        Ok(committed(self.write(vec![step]).await?))
    }

    async fn create_storage(
        &self,
        tenant: TenantId,
        name: &str,
        region: &str,
        now: Timestamp,
    ) -> StoreResult<Storage> {
        let step = Step::run(
            format!("INSERT INTO storages (tenant_id, name, name_ci, region, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {STORAGE_COLUMNS}"),
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Text(name.into()),
                SqlValue::Text(fold_case(name)),
                SqlValue::Text(region.into()),
                SqlValue::Int(now.as_millis()),
            ],
        )
        .returning(STORAGE_TYPES);
        Ok(storage_from(self.write_returning(vec![step], 0).await?))
    }

    async fn list_storages(&self, tenant: TenantId) -> StoreResult<Vec<Storage>> {
        let statement = Statement::new(
            format!("SELECT {STORAGE_COLUMNS} FROM storages WHERE tenant_id = $1 ORDER BY name_ci"),
            vec![SqlValue::Int(tenant.0)],
        );
        Ok(self
            .query(statement, STORAGE_TYPES)
            .await?
            .into_iter()
            .map(storage_from)
            .collect())
    }

    async fn update_profile(
        &self,
        tenant: TenantId,
        name: &str,
        change: &ProfileChange,
    ) -> StoreResult<bool> {
        let limit = change
            .max_users
            .map(|max_users| ("max_users", SqlValue::Int(i64::from(max_users))));
        // A profile counts its users only while it has a limit (`Dialect::join_profile`): a
        // new limit is checked against a count taken now, after the row is locked, which waits
        // for the creates into it in flight (they share-lock it) and makes later ones wait.
        let by_name = || vec![SqlValue::Int(tenant.0), SqlValue::Text(fold_case(name))];
        let mut steps = Vec::new();
        if change.max_users.is_some() {
            steps.push(
                Step::run(
                    self.backend
                        .dialect()
                        .locking("SELECT id FROM profiles WHERE tenant_id = $1 AND name_ci = $2"),
                    by_name(),
                )
                .returning(&[Column::Int]),
            );
            steps.push(Step::run(
                "UPDATE profiles SET user_count = (SELECT COUNT(*) FROM users u \
                 WHERE u.tenant_id = profiles.tenant_id AND u.profile_id = profiles.id) \
                 WHERE tenant_id = $1 AND name_ci = $2",
                by_name(),
            ));
        }
        let step = rename_or_set(
            "profiles",
            tenant,
            name,
            change.new_name.as_ref(),
            limit.into_iter().collect(),
            |values| {
                change.max_users.map(|_| {
                    let at = values.len();
                    format!("(${at} = 0 OR user_count <= ${at})")
                })
            },
        );
        steps.push(step);
        Ok(committed(self.write(steps).await?))
    }

    async fn update_storage(
        &self,
        tenant: TenantId,
        name: &str,
        change: &StorageChange,
    ) -> StoreResult<bool> {
        let region = change
            .region
            .as_ref()
            .map(|region| ("region", SqlValue::Text(region.clone())));
        let step = rename_or_set(
            "storages",
            tenant,
            name,
            change.new_name.as_ref(),
            region.into_iter().collect(),
            |_| None,
        );
        Ok(committed(self.write(vec![step]).await?))
    }

    async fn create_mapping(&self, mapping: &NewMapping) -> StoreResult<Mapping> {
        let (attribute, values) = match &mapping.criteria {
            Criteria::AllowAnyUser => (None, Vec::new()),
            Criteria::Attribute { name, values } => (Some(name.clone()), values.clone()),
        };
        let values =
            serde_json::to_string(&values).map_err(|error| StoreError::Backend(Box::new(error)))?;
        // Room at `priority`: the mappings from there down move one place down, in two steps
        // (through negative priorities) because the unique priority index is checked row by row.
        let tenant = SqlValue::Int(mapping.tenant_id.0);
        let priority = SqlValue::Int(i64::from(mapping.priority));
        let make_room = [
            "UPDATE mappings SET priority = -(priority + 1) WHERE tenant_id = $1 AND priority >= $2",
            "UPDATE mappings SET priority = -priority WHERE tenant_id = $1 AND priority < 0",
        ]
        .map(|sql| Step::run(sql, vec![tenant.clone(), priority.clone()]));
        // Past the last, it is the last: priorities stay 1..n whatever changed since the caller
        // read them. The unique priority and name indexes refuse a racing twin.
        let insert = Step::run(
            "INSERT INTO mappings (tenant_id, name, name_ci, priority, attribute, attribute_values, profile_id, \
             storage_id, quota_bytes, send_activation_email, created_at, updated_at) \
             SELECT $1, $2, $3, CASE WHEN $11 <= COALESCE(MAX(priority), 0) THEN $11 \
             ELSE COALESCE(MAX(priority), 0) + 1 END, $4, $5, $6, $7, $8, $9, $10, $10 \
             FROM mappings WHERE tenant_id = $1 RETURNING id",
            vec![
                tenant,
                SqlValue::Text(mapping.name.clone()),
                SqlValue::Text(fold_case(&mapping.name)),
                SqlValue::OptText(attribute),
                SqlValue::Text(values),
                SqlValue::Int(mapping.profile_id),
                SqlValue::Int(mapping.storage_id),
                SqlValue::OptInt(mapping.quota_bytes.map(|quota| i64::try_from(quota).unwrap_or(i64::MAX))),
                SqlValue::Bool(mapping.send_activation_email),
                SqlValue::Int(mapping.now.as_millis()),
                priority,
            ],
        )
        .returning(&[Column::Int]);
        let steps: Vec<Step> = make_room.into_iter().chain([insert]).collect();
        let id = self.write_returning(steps, 2).await?[0].int();
        self.list_mappings(mapping.tenant_id)
            .await?
            .into_iter()
            .find(|created| created.id == id)
            .ok_or_else(|| StoreError::Backend("the new mapping is not readable".into()))
    }

    async fn list_mappings(&self, tenant: TenantId) -> StoreResult<Vec<Mapping>> {
        let statement = Statement::new(
            format!("{MAPPING_SELECT} WHERE m.tenant_id = $1 ORDER BY m.priority"),
            vec![SqlValue::Int(tenant.0)],
        );
        // Every create classifies by the mappings: a short indexed read, done inline.
        self.lookup(statement, MAPPING_TYPES)
            .await?
            .into_iter()
            .map(mapping_from)
            .collect()
    }

    async fn update_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        change: &MappingChange,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let quota = change.quota_bytes.map(|quota| {
            let quota = quota.map(|q| i64::try_from(q).unwrap_or(i64::MAX));
            ("quota_bytes", SqlValue::OptInt(quota))
        });
        let changes = [
            Some(("updated_at", SqlValue::Int(now.as_millis()))),
            change
                .profile_id
                .map(|id| ("profile_id", SqlValue::Int(id))),
            change
                .storage_id
                .map(|id| ("storage_id", SqlValue::Int(id))),
            quota,
            change
                .send_activation_email
                .map(|flag| ("send_activation_email", SqlValue::Bool(flag))),
        ];
        let step = rename_or_set(
            "mappings",
            tenant,
            name,
            change.new_name.as_ref(),
            changes.into_iter().flatten().collect(),
            |_| None,
        );
        Ok(committed(self.write(vec![step]).await?))
    }

    async fn set_mapping_priorities(
        &self,
        tenant: TenantId,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<()> {
        match self.write(priority_steps(tenant, moves)).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn delete_mapping(
        &self,
        tenant: TenantId,
        name: &str,
        moves: &[(i64, u32, u32)],
    ) -> StoreResult<bool> {
        let mut steps = vec![
            Step::run(
                "DELETE FROM mappings WHERE tenant_id = $1 AND name_ci = $2",
                vec![SqlValue::Int(tenant.0), SqlValue::Text(fold_case(name))],
            )
            .must_affect(),
        ];
        steps.extend(priority_steps(tenant, moves));
        Ok(committed(self.write(steps).await?))
    }

    async fn count_profile_users(&self, tenant: TenantId, profile_id: i64) -> StoreResult<u64> {
        // Counted as users come and go only while the profile has a limit; counted here when not.
        let statement = Statement::new(
            "SELECT CASE WHEN max_users > 0 THEN user_count ELSE (SELECT COUNT(*) FROM users u \
             WHERE u.tenant_id = $1 AND u.profile_id = $2) END FROM profiles \
             WHERE tenant_id = $1 AND id = $2",
            vec![SqlValue::Int(tenant.0), SqlValue::Int(profile_id)],
        );
        let rows = self.lookup(statement, &[Column::Int]).await?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .map_or(0, |cell| u64::try_from(cell.int()).unwrap_or(0)))
    }

    async fn placement_names(
        &self,
        tenant: TenantId,
        profile_id: i64,
        storage_id: i64,
    ) -> StoreResult<Option<PlacementNames>> {
        let statement = Statement::new(
            "SELECT p.name, s.name FROM profiles p, storages s \
             WHERE p.tenant_id = $1 AND p.id = $2 AND s.tenant_id = $1 AND s.id = $3",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Int(profile_id),
                SqlValue::Int(storage_id),
            ],
        );
        let mut rows = self
            .lookup(statement, &[Column::Text, Column::Text])
            .await?;
        Ok(rows.pop().map(|mut row| PlacementNames {
            profile: row[0].take_text(),
            storage: row[1].take_text(),
        }))
    }
}
