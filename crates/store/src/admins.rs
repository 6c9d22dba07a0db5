//! Admin accounts and their sessions on either backend.

use crate::backend::{Column, Row, Step};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::admin::{AdminAccount, AdminSession, ApiKeyInfo, NewAdmin, Role};
use scimd_core::secret::SecretHash;
use scimd_core::store::{AdminStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;

const ADMIN_COLUMNS: &str = "id, tenant_id, email, role, failed_sign_ins, locked_until, \
                             created_at, password_hash, disabled_at";
const ADMIN_TYPES: &[Column] = &[
    Column::Int,
    Column::OptInt,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::OptInt,
    Column::Int,
    Column::Text,
    Column::OptInt,
];
const SESSION_COLUMNS: &str = "id_hash, admin_id, csrf_token, created_at, last_seen_at";
const SESSION_TYPES: &[Column] = &[
    Column::Bytes,
    Column::Int,
    Column::Text,
    Column::Int,
    Column::Int,
];

fn admin_from(mut row: Row) -> StoreResult<(AdminAccount, String)> {
    let role = Role::parse(&row[3].take_text())
        .ok_or_else(|| StoreError::Backend("a stored admin has an invalid role".into()))?;
    let admin = AdminAccount {
        id: row[0].int(),
        tenant_id: row[1].opt_int().map(TenantId),
        email: row[2].take_text(),
        role,
        failed_sign_ins: u32::try_from(row[4].int()).unwrap_or(u32::MAX),
        locked_until: row[5].opt_int().map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(row[6].int()),
        disabled_at: row[8].opt_int().map(Timestamp::from_millis),
    };
    Ok((admin, row[7].take_text()))
}

fn session_from(row: Row) -> StoreResult<AdminSession> {
    let hash: [u8; 32] = row[0]
        .bytes()
        .try_into()
        .map_err(|_| StoreError::Backend("a stored session hash is not 32 bytes".into()))?;
    let mut row = row;
    Ok(AdminSession {
        hash: SecretHash(hash),
        admin_id: row[1].int(),
        csrf_token: row[2].take_text(),
        created_at: Timestamp::from_millis(row[3].int()),
        last_seen_at: Timestamp::from_millis(row[4].int()),
    })
}

async fn one_admin(
    store: &SqlStore,
    condition: &str,
    value: SqlValue,
) -> StoreResult<Option<(AdminAccount, String)>> {
    let statement = Statement::new(
        format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE {condition}"),
        vec![value],
    );
    store
        .query(statement, ADMIN_TYPES)
        .await?
        .into_iter()
        .next()
        .map(admin_from)
        .transpose()
}

fn end_sessions_step(admin_id: i64) -> Step {
    Step::run(
        "DELETE FROM admin_sessions WHERE admin_id = $1",
        vec![SqlValue::Int(admin_id)],
    )
}

/// Revokes the admin's live API keys of that name at `now`.
fn revoke_key_step(admin_id: i64, name: &str, now: Timestamp) -> Step {
    Step::run(
        "UPDATE admin_api_keys SET revoked_at = $3 \
         WHERE admin_id = $1 AND name = $2 AND revoked_at IS NULL",
        vec![
            SqlValue::Int(admin_id),
            SqlValue::Text(name.to_owned()),
            SqlValue::Int(now.as_millis()),
        ],
    )
}

impl AdminStore for SqlStore {
    async fn create_admin(&self, admin: &NewAdmin) -> StoreResult<AdminAccount> {
        let step = Step::run(
            format!(
                "INSERT INTO admins (tenant_id, email, email_ci, password_hash, role, failed_sign_ins, \
                 created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING {ADMIN_COLUMNS}"
            ),
            vec![
                SqlValue::OptInt(admin.tenant_id.map(|tenant| tenant.0)),
                SqlValue::Text(admin.email.clone()),
                SqlValue::Text(fold_case(&admin.email)),
                SqlValue::Text(admin.password_hash.clone()),
                SqlValue::Text(admin.role.as_str().into()),
                SqlValue::Int(admin.created_at.as_millis()),
            ],
        )
        .returning(ADMIN_TYPES);
        Ok(admin_from(self.write_returning(vec![step], 0).await?)?.0)
    }

    async fn admin_by_email(&self, email: &str) -> StoreResult<Option<(AdminAccount, String)>> {
        one_admin(
            self,
            "email_ci = $1",
            SqlValue::Text(fold_case(email.trim())),
        )
        .await
    }

    async fn admin_by_id(&self, id: i64) -> StoreResult<Option<AdminAccount>> {
        Ok(one_admin(self, "id = $1", SqlValue::Int(id))
            .await?
            .map(|(admin, _)| admin))
    }

    async fn record_failed_sign_in(
        &self,
        admin_id: i64,
        lock_after: u32,
        lock_until: Timestamp,
    ) -> StoreResult<()> {
        // Relative to the row as it is when the statement runs, not as the caller read it: a
        // failure checked concurrently with others is counted, and a lock they set is kept.
        let step = Step::run(
            "UPDATE admins SET \
               locked_until = CASE WHEN failed_sign_ins + 1 >= $2 THEN $3 ELSE locked_until END, \
               failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= $2 THEN 0 \
                                      ELSE failed_sign_ins + 1 END \
             WHERE id = $1",
            vec![
                SqlValue::Int(admin_id),
                SqlValue::Int(i64::from(lock_after)),
                SqlValue::Int(lock_until.as_millis()),
            ],
        );
        self.write(vec![step]).await.map(drop)
    }

    async fn clear_sign_in_failures(&self, admin_id: i64, now: Timestamp) -> StoreResult<bool> {
        let step = Step::run(
            "UPDATE admins SET failed_sign_ins = 0, locked_until = NULL \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
            vec![SqlValue::Int(admin_id), SqlValue::Int(now.as_millis())],
        )
        .must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            crate::backend::Written::Committed(_)
        ))
    }

    async fn create_session(&self, session: &AdminSession) -> StoreResult<()> {
        let step = Step::run(
            format!("INSERT INTO admin_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            vec![
                SqlValue::Bytes(session.hash.0.to_vec()),
                SqlValue::Int(session.admin_id),
                SqlValue::Text(session.csrf_token.clone()),
                SqlValue::Int(session.created_at.as_millis()),
                SqlValue::Int(session.last_seen_at.as_millis()),
            ],
        );
        self.write(vec![step]).await.map(drop)
    }

    async fn session_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<AdminSession>> {
        let statement = Statement::new(
            format!("SELECT {SESSION_COLUMNS} FROM admin_sessions WHERE id_hash = $1"),
            vec![SqlValue::Bytes(hash.0.to_vec())],
        );
        self.lookup(statement, SESSION_TYPES)
            .await?
            .into_iter()
            .next()
            .map(session_from)
            .transpose()
    }

    async fn touch_session(&self, hash: &SecretHash, now: Timestamp) -> StoreResult<()> {
        let step = Step::run(
            "UPDATE admin_sessions SET last_seen_at = $2 WHERE id_hash = $1",
            vec![
                SqlValue::Bytes(hash.0.to_vec()),
                SqlValue::Int(now.as_millis()),
            ],
        );
        self.write(vec![step]).await.map(drop)
    }

    async fn delete_session(&self, hash: &SecretHash) -> StoreResult<()> {
        let step = Step::run(
            "DELETE FROM admin_sessions WHERE id_hash = $1",
            vec![SqlValue::Bytes(hash.0.to_vec())],
        );
        self.write(vec![step]).await.map(drop)
    }

    async fn create_api_key(
        &self,
        admin_id: i64,
        name: &str,
        hash: &SecretHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let retire = revoke_key_step(admin_id, name, now);
        let insert = Step::run(
            "INSERT INTO admin_api_keys (admin_id, name, key_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            vec![
                SqlValue::Int(admin_id),
                SqlValue::Text(name.to_owned()),
                SqlValue::Bytes(hash.0.to_vec()),
                SqlValue::Int(now.as_millis()),
                SqlValue::Int(expires_at.as_millis()),
            ],
        );
        self.write(vec![retire, insert]).await.map(drop)
    }

    async fn admin_by_api_key(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> StoreResult<Option<AdminAccount>> {
        let columns = ADMIN_COLUMNS
            .split(", ")
            .map(|column| format!("a.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = Statement::new(
            format!(
                "SELECT {columns} FROM admin_api_keys k JOIN admins a ON a.id = k.admin_id \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL \
                   AND (k.expires_at IS NULL OR k.expires_at > $2)"
            ),
            vec![
                SqlValue::Bytes(hash.0.to_vec()),
                SqlValue::Int(now.as_millis()),
            ],
        );
        self.query(statement, ADMIN_TYPES)
            .await?
            .into_iter()
            .next()
            .map(|row| admin_from(row).map(|(admin, _)| admin))
            .transpose()
    }

    /// The keys of one admin, or of every admin, newest first.
    async fn list_api_keys(&self, admin_id: Option<i64>) -> StoreResult<Vec<ApiKeyInfo>> {
        let (condition, values) = match admin_id {
            Some(id) => ("WHERE k.admin_id = $1", vec![SqlValue::Int(id)]),
            None => ("", Vec::new()),
        };
        let statement = Statement::new(
            format!(
                "SELECT a.email, k.name, k.created_at, k.expires_at, k.revoked_at \
                 FROM admin_api_keys k JOIN admins a ON a.id = k.admin_id {condition} \
                 ORDER BY k.created_at DESC, k.id DESC"
            ),
            values,
        );
        let types = [
            Column::Text,
            Column::Text,
            Column::Int,
            Column::OptInt,
            Column::OptInt,
        ];
        Ok(self
            .query(statement, &types)
            .await?
            .into_iter()
            .map(|mut row| ApiKeyInfo {
                admin_email: row[0].take_text(),
                name: row[1].take_text(),
                created_at: Timestamp::from_millis(row[2].int()),
                expires_at: row[3].opt_int().map(Timestamp::from_millis),
                revoked_at: row[4].opt_int().map(Timestamp::from_millis),
            })
            .collect())
    }

    /// Disables (`Some(at)`) or enables (`None`) the account; a disabled account's sessions end.
    async fn set_admin_disabled(
        &self,
        admin_id: i64,
        disabled_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let mut steps = vec![Step::run(
            "UPDATE admins SET disabled_at = $2 WHERE id = $1",
            vec![
                SqlValue::Int(admin_id),
                SqlValue::OptInt(disabled_at.map(Timestamp::as_millis)),
            ],
        )];
        if disabled_at.is_some() {
            steps.push(end_sessions_step(admin_id));
        }
        self.write(steps).await.map(drop)
    }

    /// A new password hash; the failure count and any lock are cleared, and every session ends.
    async fn set_admin_password(&self, admin_id: i64, password_hash: &str) -> StoreResult<()> {
        let update = Step::run(
            "UPDATE admins SET password_hash = $2, failed_sign_ins = 0, locked_until = NULL \
             WHERE id = $1",
            vec![
                SqlValue::Int(admin_id),
                SqlValue::Text(password_hash.to_owned()),
            ],
        );
        self.write(vec![update, end_sessions_step(admin_id)])
            .await
            .map(drop)
    }

    /// Ends every session of the admin; how many there were.
    async fn delete_admin_sessions(&self, admin_id: i64) -> StoreResult<u64> {
        let step = Step::run(
            "DELETE FROM admin_sessions WHERE admin_id = $1 RETURNING admin_id",
            vec![SqlValue::Int(admin_id)],
        )
        .returning(&[Column::Int]);
        let ended = match self.write(vec![step]).await? {
            crate::backend::Written::Committed(rows) => rows.first().map_or(0, Vec::len),
            crate::backend::Written::Unmet { .. } => 0,
        };
        Ok(u64::try_from(ended).unwrap_or(u64::MAX))
    }

    /// Deletes the account, its sessions and its keys.
    async fn delete_admin(&self, admin_id: i64) -> StoreResult<()> {
        let steps = vec![
            end_sessions_step(admin_id),
            Step::run(
                "DELETE FROM admin_api_keys WHERE admin_id = $1",
                vec![SqlValue::Int(admin_id)],
            ),
            Step::run(
                "DELETE FROM admins WHERE id = $1",
                vec![SqlValue::Int(admin_id)],
            )
            .must_affect(),
        ];
        self.write(steps).await.map(drop)
    }

    async fn revoke_api_key(&self, admin_id: i64, name: &str, now: Timestamp) -> StoreResult<bool> {
        let step = revoke_key_step(admin_id, name, now).must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            crate::backend::Written::Committed(_)
        ))
    }
}
