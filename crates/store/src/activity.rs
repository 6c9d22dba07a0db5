//! The activity log on either backend. Events about an account are written by the account's
//! own transaction ([`event_step`]); failures are recorded on their own.

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::activity::{Event, EventQuery, Outcome, stored_text};
use scimd_core::store::{ActivityStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;

const EVENT_COLUMNS: &str = "at, actor_kind, actor, client, method, path, operation, \
     target_user_name, target_id, outcome, status, scim_type, detail, latency_ms, response";
const EVENT_TYPES: &[Column] = &[
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::OptText,
    Column::OptText,
    Column::Text,
    Column::Int,
    Column::OptText,
    Column::OptText,
    Column::Int,
    Column::OptText,
];

/// The insert of one event, as a step of any write transaction.
pub(crate) fn event_step(event: &Event) -> Step {
    Step::run(
        format!(
            "INSERT INTO activity (tenant_id, target_user_name_ci, {EVENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ),
        vec![
            SqlValue::Int(event.tenant_id.0),
            SqlValue::OptText(
                event
                    .target_user_name
                    .as_deref()
                    .map(|name| fold_case(&stored_text(name))),
            ),
            SqlValue::Int(event.at.as_millis()),
            SqlValue::Text(event.actor_kind.clone()),
            text(&event.actor),
            text(&event.client),
            text(&event.method),
            text(&event.path),
            text(&event.operation),
            opt_text(event.target_user_name.as_deref()),
            opt_text(event.target_id.as_deref()),
            SqlValue::Text(event.outcome.as_str().into()),
            SqlValue::Int(i64::from(event.status)),
            opt_text(event.scim_type.as_deref()),
            opt_text(event.detail.as_deref()),
            SqlValue::Int(event.latency_millis),
            opt_text(event.response.as_deref()),
        ],
    )
}

/// A text as the log keeps it: at most [`scimd_core::activity::MAX_EVENT_TEXT`] bytes.
fn text(value: &str) -> SqlValue {
    SqlValue::Text(stored_text(value).into_owned())
}

fn opt_text(value: Option<&str>) -> SqlValue {
    SqlValue::OptText(value.map(|value| stored_text(value).into_owned()))
}

fn event_from(tenant: TenantId, mut row: Row) -> StoreResult<Event> {
    let outcome = Outcome::parse(&row[9].take_text())
        .ok_or_else(|| StoreError::Backend("a stored event has an invalid outcome".into()))?;
    Ok(Event {
        tenant_id: tenant,
        at: Timestamp::from_millis(row[0].int()),
        actor_kind: row[1].take_text(),
        actor: row[2].take_text(),
        client: row[3].take_text(),
        method: row[4].take_text(),
        path: row[5].take_text(),
        operation: row[6].take_text(),
        target_user_name: row[7].opt_text(),
        target_id: row[8].opt_text(),
        outcome,
        status: u16::try_from(row[10].int()).unwrap_or_default(),
        scim_type: row[11].opt_text(),
        detail: row[12].opt_text(),
        latency_millis: row[13].int(),
        response: row[14].opt_text(),
    })
}

/// The `WHERE` clause and its values for `query` (everything but the limit).
fn event_condition(tenant: TenantId, query: &EventQuery) -> (String, Vec<SqlValue>) {
    let mut sql = "tenant_id = $1".to_owned();
    let mut values = vec![SqlValue::Int(tenant.0)];
    if let Some(since) = query.since {
        values.push(SqlValue::Int(since.as_millis()));
        sql.push_str(&format!(" AND at >= ${}", values.len()));
    }
    if let Some(until) = query.until {
        values.push(SqlValue::Int(until.as_millis()));
        sql.push_str(&format!(" AND at < ${}", values.len()));
    }
    if let Some(outcome) = query.outcome {
        values.push(SqlValue::Text(outcome.as_str().into()));
        sql.push_str(&format!(" AND outcome = ${}", values.len()));
    }
    if let Some(client) = &query.client {
        values.push(SqlValue::Text(client.clone()));
        sql.push_str(&format!(" AND client = ${}", values.len()));
    }
    if let Some(operation) = &query.operation {
        values.push(SqlValue::Text(operation.clone()));
        sql.push_str(&format!(" AND operation = ${}", values.len()));
    }
    if let Some(user_name) = &query.user_name {
        values.push(SqlValue::Text(fold_case(user_name)));
        sql.push_str(&format!(" AND target_user_name_ci = ${}", values.len()));
    }
    (sql, values)
}

impl ActivityStore for SqlStore {
    async fn count_events(&self, tenant: TenantId, query: &EventQuery) -> StoreResult<u64> {
        let (condition, values) = event_condition(tenant, query);
        let statement = Statement::new(
            format!("SELECT COUNT(*) FROM activity WHERE {condition}"),
            values,
        );
        let rows = self.query(statement, &[Column::Int]).await?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .map_or(0, |cell| u64::try_from(cell.int()).unwrap_or(0)))
    }

    async fn record_event(&self, event: &Event) -> StoreResult<()> {
        self.write(vec![event_step(event)]).await.map(drop)
    }

    async fn delete_events_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<u64> {
        // A read first: a tenant with nothing to delete (the usual case, every hour) costs no
        // write transaction.
        let any = Statement::new(
            "SELECT id FROM activity WHERE tenant_id = $1 AND at < $2 LIMIT 1",
            vec![SqlValue::Int(tenant.0), SqlValue::Int(before.as_millis())],
        );
        if self.lookup(any, &[Column::Int]).await?.is_empty() {
            return Ok(0);
        }
        // The oldest first, through the (tenant_id, at) index; a batch at a time keeps each
        // transaction short, so writes queued behind it barely wait.
        let step = Step::run(
            "DELETE FROM activity WHERE id IN \
             (SELECT id FROM activity WHERE tenant_id = $1 AND at < $2 ORDER BY at LIMIT $3) \
             RETURNING id",
            vec![
                SqlValue::Int(tenant.0),
                SqlValue::Int(before.as_millis()),
                SqlValue::Int(i64::from(limit)),
            ],
        )
        .returning(&[Column::Int]);
        let deleted = match self.write(vec![step]).await? {
            Written::Committed(rows) => rows.first().map_or(0, Vec::len),
            Written::Unmet { .. } => 0,
        };
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> StoreResult<Vec<Event>> {
        let (condition, values) = event_condition(tenant, query);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM activity WHERE {condition} ORDER BY at DESC, id DESC {} \
             OFFSET {}",
            crate::sql::limit(query.limit),
            query.offset
        );
        self.query(Statement::new(sql, values), EVENT_TYPES)
            .await?
            .into_iter()
            .map(|row| event_from(tenant, row))
            .collect()
    }
}
