//! The change feed on either backend. An account write ends with its change events' steps
//! ([`change_steps`]); their sequence numbers follow commit order: on SQLite the single writer
//! takes the next number in the write, on PostgreSQL events are numbered just after their write
//! commits ([`SqlStore::number_changes`]).

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{Dialect, SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scimd_core::feed::{
    ChangeEvent, ChangePage, ChangeQuery, ChangeType, MAX_PAGE_TEXT, StoredChange,
};
use scimd_core::store::{FeedStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;

/// The account a change event is about.
pub(crate) enum Subject {
    /// An account already stored, by its key.
    Key(i64),
    /// The account the same transaction inserts, by its folded email.
    Inserted(String),
}

/// The steps that store `change`; they go last in the transaction. SQLite's single writer takes
/// the tenant's last number plus one (the primary key's last entry, a page the insert writes
/// anyway). On PostgreSQL the event is written without a number: concurrent writers taking
/// numbers in the write would hold the tenant's counter through their commits, one at a time.
pub(crate) fn change_steps(dialect: Dialect, change: &ChangeEvent, subject: Subject) -> Vec<Step> {
    let tenant = SqlValue::Int(change.tenant_id.0);
    let (account, subject) = match subject {
        Subject::Key(key) => ("$6", SqlValue::Int(key)),
        Subject::Inserted(email_ci) => (
            "(SELECT pk FROM users WHERE tenant_id = $1 AND user_name_ci = $6)",
            SqlValue::Text(email_ci),
        ),
    };
    let next = match dialect {
        Dialect::Sqlite => {
            "SELECT COALESCE(MAX(sequence), 0) + 1 FROM change_events WHERE tenant_id = $1"
        }
        Dialect::Postgres => "NULL",
    };
    let insert = Step::run(
        format!(
            "INSERT INTO change_events \
             (tenant_id, sequence, id, type, account_key, occurred_at, body) \
             SELECT $1, ({next}), $2, $3, {account}, $4, $5"
        ),
        vec![
            tenant.clone(),
            SqlValue::Text(change.id.clone()),
            SqlValue::Text(change.kind.as_str().into()),
            SqlValue::Int(change.occurred_at.as_millis()),
            SqlValue::Text(change.body.clone()),
            subject,
        ],
    )
    .must_affect();
    vec![insert]
}

/// What a numbering does when another holds the tenant's counter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    Leave,
    Wait,
}

/// Events numbered by one transaction at most; more wait for the next.
const NUMBERED_AT_ONCE: u32 = 10_000;

impl SqlStore {
    /// Writes `steps`, an account change of `tenant` ending with its change events, then has
    /// the events numbered (PostgreSQL) without waiting for it: a numbering is a commit of its
    /// own, and a write waiting for one would pay for two flushes to disk. Nothing can read an
    /// event before it is numbered (every read of the feed numbers what is waiting first), and
    /// a numbering that fails, or never runs because the process ends, is done by the next.
    pub(crate) async fn write_change(
        &self,
        tenant: TenantId,
        steps: Vec<Step>,
    ) -> StoreResult<Written> {
        let written = self.write(steps).await?;
        if matches!(written, Written::Committed(_)) && self.backend.dialect() == Dialect::Postgres {
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(error) = store.number_changes(tenant, Holder::Leave).await {
                    tracing::warn!(%error, "change events were left to be numbered later");
                }
            });
        }
        Ok(written)
    }

    /// Numbers the tenant's committed events that have no number yet, in the order they were
    /// written, after the last number given (PostgreSQL; SQLite numbers in the write). One
    /// transaction numbers all that are waiting, under the tenant's counter row: numbering runs
    /// one at a time per tenant, but writes no longer do. When another numbering holds the row,
    /// a numbering after a write leaves (`Holder::Leave`: that one, or the next, numbers what is
    /// waiting) and one before a read waits for it (`Holder::Wait`), so a read sees every write
    /// that committed before it began.
    pub(crate) async fn number_changes(&self, tenant: TenantId, holder: Holder) -> StoreResult<()> {
        if self.backend.dialect() != Dialect::Postgres {
            return Ok(());
        }
        let key = || vec![SqlValue::Int(tenant.0)];
        let steps = vec![
            Step::run(
                "INSERT INTO change_sequences (tenant_id, last) SELECT $1, 0 \
                 WHERE NOT EXISTS (SELECT 1 FROM change_sequences WHERE tenant_id = $1) \
                 ON CONFLICT (tenant_id) DO NOTHING",
                key(),
            ),
            Step::run(
                match holder {
                    Holder::Leave => {
                        "SELECT last FROM change_sequences WHERE tenant_id = $1 \
                         FOR UPDATE SKIP LOCKED"
                    }
                    Holder::Wait => {
                        "SELECT last FROM change_sequences WHERE tenant_id = $1 FOR UPDATE"
                    }
                },
                key(),
            )
            .returning(&[Column::Int])
            .must_affect(),
            Step::run(
                format!(
                    "UPDATE change_events e SET sequence = n.sequence \
                     FROM (SELECT pk, row_number() OVER (ORDER BY pk) \
                       + (SELECT last FROM change_sequences WHERE tenant_id = $1) AS sequence \
                       FROM change_events WHERE tenant_id = $1 AND sequence IS NULL \
                       ORDER BY pk {}) AS n \
                     WHERE e.pk = n.pk",
                    crate::sql::limit(NUMBERED_AT_ONCE)
                ),
                key(),
            ),
            Step::run(
                "UPDATE change_sequences SET last = COALESCE((SELECT MAX(sequence) \
                 FROM change_events WHERE tenant_id = $1), last) WHERE tenant_id = $1",
                key(),
            ),
        ];
        self.write(steps).await.map(drop)
    }

    /// Numbers what is waiting before the feed is read (PostgreSQL): a write whose numbering
    /// failed or was left to another is in the feed before anything after it is read.
    pub(crate) async fn number_waiting_changes(&self, tenant: TenantId) -> StoreResult<()> {
        if self.backend.dialect() != Dialect::Postgres {
            return Ok(());
        }
        let waiting = Statement::new(
            "SELECT pk FROM change_events WHERE tenant_id = $1 AND sequence IS NULL LIMIT 1",
            vec![SqlValue::Int(tenant.0)],
        );
        if self.lookup(waiting, &[Column::Int]).await?.is_empty() {
            return Ok(());
        }
        self.number_changes(tenant, Holder::Wait).await
    }
}

const CHANGE_TYPES: &[Column] = &[
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Int,
    Column::Text,
];

fn change_from(mut row: Row) -> StoreResult<StoredChange> {
    let kind = ChangeType::parse(&row[2].take_text())
        .ok_or_else(|| StoreError::Backend("a stored change event has an unknown type".into()))?;
    Ok(StoredChange {
        sequence: row[0].int(),
        id: row[1].take_text(),
        kind,
        account_key: row[3].int(),
        occurred_at: Timestamp::from_millis(row[4].int()),
        body: row[5].take_text(),
    })
}

impl FeedStore for SqlStore {
    async fn changes(&self, tenant: TenantId, query: &ChangeQuery) -> StoreResult<ChangePage> {
        self.number_waiting_changes(tenant).await?;
        let mut values = vec![SqlValue::Int(tenant.0), SqlValue::Int(query.after)];
        let mut types = String::new();
        if !query.types.is_empty() {
            let placeholders: Vec<String> = query
                .types
                .iter()
                .map(|kind| {
                    values.push(SqlValue::Text(kind.as_str().into()));
                    format!("${}", values.len())
                })
                .collect();
            types = format!(" AND type IN ({})", placeholders.join(", "));
        }
        // The page's events, then only those that start within the text budget: the running
        // length is taken over the page alone (after its LIMIT), so no other row is read.
        let statement = Statement::new(
            format!(
                "SELECT sequence, id, type, account_key, occurred_at, body FROM \
                 (SELECT *, SUM(LENGTH(body)) OVER (ORDER BY sequence) - LENGTH(body) AS before \
                  FROM (SELECT sequence, id, type, account_key, occurred_at, body \
                   FROM change_events WHERE tenant_id = $1 AND sequence > $2{types} \
                   ORDER BY sequence {}) AS page) AS budgeted \
                 WHERE before < {MAX_PAGE_TEXT} ORDER BY sequence",
                crate::sql::limit(query.limit)
            ),
            values,
        );
        let events = self
            .query(statement, CHANGE_TYPES)
            .await?
            .into_iter()
            .map(change_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_after = events.last().map_or(query.after, |last| last.sequence);
        Ok(ChangePage { events, next_after })
    }

    async fn delete_changes_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<u64> {
        // A read first: the tenant's oldest event, through the primary key. Nothing to delete
        // (the usual case, every hour) costs no write.
        let oldest = Statement::new(
            "SELECT occurred_at FROM change_events WHERE tenant_id = $1 ORDER BY sequence LIMIT 1",
            vec![SqlValue::Int(tenant.0)],
        );
        let due = self.lookup(oldest, &[Column::Int]).await?;
        if due
            .first()
            .is_none_or(|row| row[0].int() >= before.as_millis())
        {
            return Ok(0);
        }
        // Of the oldest `limit` events, those from before `before`; never the tenant's latest,
        // which the next number follows on (SQLite) and which says where the feed is.
        let step = Step::run(
            format!(
                "DELETE FROM change_events WHERE tenant_id = $1 AND occurred_at < $2 \
                 AND sequence IN (SELECT sequence FROM change_events WHERE tenant_id = $1 \
                   AND sequence < (SELECT MAX(sequence) FROM change_events WHERE tenant_id = $1) \
                   ORDER BY sequence {}) \
                 RETURNING sequence",
                crate::sql::limit(limit)
            ),
            vec![SqlValue::Int(tenant.0), SqlValue::Int(before.as_millis())],
        )
        .returning(&[Column::Int]);
        let deleted = match self.write(vec![step]).await? {
            Written::Committed(rows) => rows.first().map_or(0, Vec::len),
            Written::Unmet { .. } => 0,
        };
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}
