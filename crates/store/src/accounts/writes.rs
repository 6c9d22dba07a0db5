//! Account writes: insert, update, move, destroy; each with its activity event and its change
//! event, in one transaction, the change events last.

use crate::activity::event_step;
use crate::backend::{Column, Step, Written};
use crate::feed::{Subject, change_steps};
use crate::mail::mail_step;
use crate::sql::SqlValue;
use crate::sql::users::{UserColumns, emails_ci};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scimd_core::feed::Recorded;
use scimd_core::mail::Mail;
use scimd_core::store::{AccountMove, AccountWrites, StoreError, StoreResult};
use scimd_core::user::User;

/// The values both the insert and the update bind, as `$1` to `$18`. The serialised
/// documents move into them (they are the bulk of a write); the rest of `columns` stays.
fn user_values(user: &User, columns: &mut UserColumns) -> Vec<SqlValue> {
    vec![
        SqlValue::Int(user.tenant_id.0),
        SqlValue::OptText(user.scim_id.clone()),
        SqlValue::Text(std::mem::take(&mut columns.user_name)),
        SqlValue::Text(columns.user_name_ci.clone()),
        SqlValue::OptText(columns.external_id.take()),
        SqlValue::Bool(user.state.is_active()),
        SqlValue::Text(std::mem::take(&mut columns.resource)),
        SqlValue::Text(std::mem::take(&mut columns.resource_ci)),
        SqlValue::Int(user.version),
        SqlValue::Int(user.updated_at.as_millis()),
        SqlValue::Text(user.state.name().into()),
        SqlValue::OptText(user.state.preserved_by().map(|by| by.as_str().into())),
        SqlValue::OptInt(user.preserved_at.map(Timestamp::as_millis)),
        SqlValue::Text(user.managed_by.as_str().into()),
        SqlValue::Text(user.profile.display_name.clone()),
        SqlValue::Text(user.profile.upn.clone()),
        SqlValue::OptText(user.connection.as_ref().map(|c| c.token.clone())),
        SqlValue::OptText(user.connection.as_ref().map(|c| c.idp.clone())),
    ]
}

/// The account's email rows, as steps after the account's own: `key` selects it.
fn email_steps(key: (&str, Vec<SqlValue>), columns: &UserColumns) -> Vec<Step> {
    let (selector, key_values) = key;
    let placeholder = key_values.len() + 1;
    let mut steps = vec![Step::run(
        format!("DELETE FROM user_emails WHERE user_pk = (SELECT pk FROM users WHERE {selector})"),
        key_values.clone(),
    )];
    steps.extend(columns.emails_ci.iter().map(|email| {
        let mut values = key_values.clone();
        values.push(SqlValue::Text(email.clone()));
        Step::run(
            format!(
                "INSERT INTO user_emails (user_pk, tenant_id, value_ci) \
                 SELECT pk, tenant_id, ${placeholder} FROM users WHERE {selector}"
            ),
            values,
        )
    }));
    steps
}

/// The insert of one account (its first step returns the new key), its emails and its
/// activity event; and, to go last in the transaction, its change event's steps.
fn insert_steps(
    store: &SqlStore,
    user: &User,
    record: &Recorded,
) -> StoreResult<(Vec<Step>, Vec<Step>)> {
    let mut columns = UserColumns::of(user)?;
    let placement = user.placement.as_ref();
    let search = store.backend.dialect().search_document("$8");
    let mut values = user_values(user, &mut columns);
    values.extend([
        SqlValue::Int(user.created_at.as_millis()),
        SqlValue::OptText(placement.and_then(|p| p.mapping.clone())),
        SqlValue::OptInt(placement.map(|p| p.profile_id)),
        SqlValue::OptInt(placement.map(|p| p.storage_id)),
        quota_value(placement.and_then(|p| p.quota_bytes)),
        SqlValue::OptText(placement.and_then(|p| p.moved_by.clone())),
    ]);
    let insert = Step::run(
        format!(
            "INSERT INTO users (tenant_id, scim_id, user_name, user_name_ci, external_id, active, \
             resource, resource_ci, version, updated_at, state, preserved_by, preserved_at, \
             managed_by, display_name, upn, idp_token, idp_client, created_at, mapping_name, \
             profile_id, storage_id, quota_bytes, moved_by) \
             SELECT $1, $2, $3, $4, $5, $6, $7, {search}, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24 \
             RETURNING pk"
        ),
        values,
    )
    .returning(&[Column::Int])
    .must_affect();
    let by_email = (
        "tenant_id = $1 AND user_name_ci = $2",
        vec![
            SqlValue::Int(user.tenant_id.0),
            SqlValue::Text(columns.user_name_ci.clone()),
        ],
    );
    let mut steps = vec![insert];
    // A new account has no email rows to clear.
    steps.extend(email_steps(by_email, &columns).into_iter().skip(1));
    steps.push(event_step(&record.activity));
    // The account takes its place in its profile last (see `Dialect::join_profile`): two
    // creates racing for a limited profile's last place are serialised there, and the second
    // finds it full and rolls back; creates into a profile without a limit do not wait.
    if let Some(placement) = placement {
        steps.push(
            Step::run(
                store.backend.dialect().join_profile(),
                vec![SqlValue::Int(placement.profile_id)],
            )
            .returning(&[Column::Int])
            .must_affect(),
        );
    }
    let change = change_steps(
        store.backend.dialect(),
        &record.change,
        Subject::Inserted(columns.user_name_ci),
    );
    Ok((steps, change))
}

/// A placement's quota as stored (a quota past `i64::MAX` bytes is stored as that).
fn quota_value(quota_bytes: Option<u64>) -> SqlValue {
    SqlValue::OptInt(quota_bytes.map(|q| i64::try_from(q).unwrap_or(i64::MAX)))
}

impl AccountWrites for SqlStore {
    async fn insert_user(&self, user: &User, record: &Recorded) -> StoreResult<i64> {
        self.insert_user_mailing(user, record, &[]).await
    }

    async fn insert_user_mailing(
        &self,
        user: &User,
        record: &Recorded,
        mails: &[Mail],
    ) -> StoreResult<i64> {
        let (mut steps, change) = insert_steps(self, user, record)?;
        steps.extend(mails.iter().map(|mail| mail_step(mail, user.created_at)));
        steps.extend(change);
        // Once more when refused: a limit set on the profile meanwhile (PostgreSQL) made the
        // place's check see neither the old nor the new limit; the retry sees the new one.
        let mut written = self.write_change(user.tenant_id, steps.clone()).await?;
        if matches!(written, Written::Unmet { .. }) {
            written = self.write_change(user.tenant_id, steps).await?;
        }
        match written {
            Written::Committed(rows) => rows
                .first()
                .and_then(|rows| rows.first())
                .map(|row| row[0].int())
                .ok_or_else(|| StoreError::Backend("the insert returned no key".into())),
            Written::Unmet { .. } => Err(StoreError::ProfileFull),
        }
    }

    async fn insert_users(&self, accounts: &[(User, Recorded)]) -> StoreResult<()> {
        let (mut steps, mut changes) = (Vec::new(), Vec::new());
        for (user, record) in accounts {
            let (account, change) = insert_steps(self, user, record)?;
            steps.extend(account);
            changes.extend(change);
        }
        steps.extend(changes);
        let Some((first, _)) = accounts.first() else {
            return Ok(());
        };
        match self.write_change(first.tenant_id, steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::ProfileFull),
        }
    }

    async fn update_user(&self, current: &User, user: &User, record: &Recorded) -> StoreResult<()> {
        let expected_version = current.version;
        let mut columns = UserColumns::of(user)?;
        let search = self.backend.dialect().search_document("$8");
        let mut values = user_values(user, &mut columns);
        values.extend([SqlValue::Int(user.key), SqlValue::Int(expected_version)]);
        // SQLite rewrites the entry of every index whose column the SET names, changed or not: a
        // dirty page, a WAL frame and a checkpoint copy per index per write. So the indexed
        // columns (the ids and the userName) are named only when they change; most updates
        // leave all three.
        let mut indexed = String::new();
        if current.scim_id != user.scim_id {
            indexed.push_str("scim_id = $2, ");
        }
        if current.user_name() != user.user_name() {
            indexed.push_str("user_name = $3, user_name_ci = $4, ");
        }
        if current.external_id() != user.external_id() {
            indexed.push_str("external_id = $5, ");
        }
        let update = Step::run(
            format!(
                "UPDATE users SET {indexed}active = $6, resource = $7, resource_ci = {search}, \
                 version = $9, updated_at = $10, state = $11, preserved_by = $12, \
                 preserved_at = $13, managed_by = $14, display_name = $15, upn = $16, \
                 idp_token = $17, idp_client = $18 \
                 WHERE tenant_id = $1 AND pk = $19 AND version = $20"
            ),
            values,
        )
        .must_affect();
        let mut steps = vec![update];
        // The email rows are those of `current` (the version check makes sure of it): rewritten
        // only when the addresses changed, since most updates leave them and rewriting them
        // dirtied a table and two index pages per write.
        if emails_ci(current) != columns.emails_ci {
            let by_key = ("pk = $1", vec![SqlValue::Int(user.key)]);
            steps.extend(email_steps(by_key, &columns));
        }
        steps.push(event_step(&record.activity));
        steps.extend(change_steps(
            self.backend.dialect(),
            &record.change,
            Subject::Key(user.key),
        ));
        match self.write_change(user.tenant_id, steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn move_users(&self, to_profile: i64, moves: &[AccountMove]) -> StoreResult<()> {
        let arriving = moves.iter().filter(|m| m.arrives()).count();
        // The room check locks the profile row, as a create's insert does: a create and a move, or
        // two moves, racing for its last places are serialised and the second finds it full.
        let room = Step::run(
            self.backend.dialect().locking(
                "SELECT id FROM profiles WHERE id = $1 AND (max_users = 0 OR user_count + $2 <= max_users)",
            ),
            vec![
                SqlValue::Int(to_profile),
                SqlValue::Int(i64::try_from(arriving).unwrap_or(i64::MAX)),
            ],
        )
        .returning(&[Column::Int])
        .must_affect();
        let (mut steps, mut changes) = (vec![room], Vec::new());
        for AccountMove {
            current,
            to,
            record,
        } in moves
        {
            let mut values = vec![
                SqlValue::Int(to.profile_id),
                SqlValue::Int(to.storage_id),
                quota_value(to.quota_bytes),
                SqlValue::OptText(to.moved_by.clone()),
                SqlValue::Int(current.tenant_id.0),
                SqlValue::Int(current.key),
            ];
            // Only from where the admin saw the account: a move that raced it changes nothing.
            let was = match &current.placement {
                Some(placement) => {
                    values.extend([
                        SqlValue::Int(placement.profile_id),
                        SqlValue::Int(placement.storage_id),
                        quota_value(placement.quota_bytes),
                    ]);
                    "profile_id = $7 AND storage_id = $8 AND COALESCE(quota_bytes, -1) = COALESCE($9, -1)"
                }
                None => "profile_id IS NULL",
            };
            steps.push(
                Step::run(
                    format!(
                        "UPDATE users SET profile_id = $1, storage_id = $2, quota_bytes = $3, \
                         moved_by = $4 WHERE tenant_id = $5 AND pk = $6 AND {was}"
                    ),
                    values,
                )
                .must_affect(),
            );
            steps.push(event_step(&record.activity));
            changes.extend(change_steps(
                self.backend.dialect(),
                &record.change,
                Subject::Key(current.key),
            ));
        }
        steps.extend(changes);
        let Some(tenant) = moves.first().map(|m| m.current.tenant_id) else {
            return Ok(());
        };
        match self.write_change(tenant, steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { step: 0 } => Err(StoreError::ProfileFull),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn destroy_user(&self, user: &User, record: &Recorded) -> StoreResult<()> {
        let emails = Step::run(
            "DELETE FROM user_emails WHERE user_pk = $1",
            vec![SqlValue::Int(user.key)],
        );
        let destroy = Step::run(
            "DELETE FROM users WHERE tenant_id = $1 AND pk = $2 AND version = $3",
            vec![
                SqlValue::Int(user.tenant_id.0),
                SqlValue::Int(user.key),
                SqlValue::Int(user.version),
            ],
        )
        .must_affect();
        let mut steps = vec![emails, destroy, event_step(&record.activity)];
        steps.extend(change_steps(
            self.backend.dialect(),
            &record.change,
            Subject::Key(user.key),
        ));
        match self.write_change(user.tenant_id, steps).await? {
            Written::Committed(_) => Ok(()),
            Written::Unmet { .. } => Err(StoreError::VersionMismatch),
        }
    }

    async fn tidy_user_counts(&self) -> StoreResult<()> {
        crate::sql::counted::tidy(self).await
    }
}
