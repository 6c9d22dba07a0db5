//! PostgreSQL: one pool; unique constraints and versions do the race-proofing, so several
//! instances can share the database.

use super::{BackendError, Cell, Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Executor as _, Postgres, Row as _};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub(super) const CONNECTIONS: u32 = 16;
/// Rows a block's user counts are spread over (the migration's trigger allows 1 to 64).
const COUNT_SLOTS: u32 = 64;
/// No statement runs longer than a request may (the server's default request deadline): the
/// server stops a query whose request was abandoned, rather than finish it for nobody.
const STATEMENT_TIMEOUT: &str = "30s";

#[derive(Debug, Clone)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects and applies pending migrations (under the advisory lock sqlx takes, so
    /// instances starting together migrate once).
    pub async fn open(url: &str) -> Result<Self, BackendError> {
        let options =
            PgConnectOptions::from_str(url)?.options([("statement_timeout", STATEMENT_TIMEOUT)]);
        // Each connection counts users on a slot of its own (migration "user counts"), so that
        // creates side by side never wait on one count row; instances start at their process
        // id, so two instances' connections rarely meet on a slot either.
        let next_slot = Arc::new(AtomicU32::new(std::process::id()));
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .after_connect(move |connection, _| {
                let slot = next_slot.fetch_add(1, Ordering::Relaxed) % COUNT_SLOTS + 1;
                Box::pin(async move {
                    let set = format!("SET scimd.count_slot = {slot}");
                    connection.execute(AssertSqlSafe(set)).await.map(|_| ())
                })
            })
            .connect_with(options)
            .await?;
        crate::migrations::postgres()
            .run(&pool)
            .await
            .map_err(sqlx::Error::from)?;
        Ok(Self { pool })
    }

    /// Ends the pool's connections, for a clean stop.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn query(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        let rows = prepared(statement)
            .fetch_all(&self.pool)
            .await
            .map_err(BackendError::classify)?;
        Ok(decoded(&rows, columns)?)
    }

    /// Reads one after the other (boxed: see [`super::Backend`]).
    pub async fn query_each(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> Result<Vec<Vec<Row>>, BackendError> {
        let mut results = Vec::with_capacity(reads.len());
        for (statement, columns) in reads {
            results.push(Box::pin(self.query(statement, columns)).await?);
        }
        Ok(results)
    }

    /// The steps in one transaction; rolled back at the first `must_affect` step that touches
    /// no row.
    pub async fn write(&self, steps: &[Step]) -> Result<Written, BackendError> {
        let mut transaction = self.pool.begin().await?;
        let mut returned = Vec::with_capacity(steps.len());
        for (index, step) in steps.iter().enumerate() {
            let query = prepared(&step.statement);
            let (rows, affected) = match &step.returning {
                Some(columns) => {
                    let rows = query
                        .fetch_all(&mut *transaction)
                        .await
                        .map_err(BackendError::classify)?;
                    let count = rows.len() as u64;
                    (decoded(&rows, columns)?, count)
                }
                None => {
                    let result = query
                        .execute(&mut *transaction)
                        .await
                        .map_err(BackendError::classify)?;
                    (Vec::new(), result.rows_affected())
                }
            };
            if step.must_affect && affected == 0 {
                transaction.rollback().await?;
                return Ok(Written::Unmet { step: index });
            }
            returned.push(rows);
        }
        transaction.commit().await?;
        Ok(Written::Committed(returned))
    }
}

fn prepared(statement: &Statement) -> Query<'_, Postgres, PgArguments> {
    let query = sqlx::query::<Postgres>(AssertSqlSafe(statement.sql.clone()));
    statement
        .params
        .0
        .iter()
        .fold(query, |query, value| match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::OptText(text) => query.bind(text.clone()),
            SqlValue::Int(int) => query.bind(*int),
            SqlValue::OptInt(int) => query.bind(*int),
            SqlValue::Real(real) => query.bind(*real),
            SqlValue::Bool(boolean) => query.bind(*boolean),
            SqlValue::Bytes(bytes) => query.bind(bytes.clone()),
        })
}

fn decoded(rows: &[PgRow], columns: &[Column]) -> Result<Vec<Row>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(index, column)| {
                    Ok(match column {
                        Column::Int => Cell::Int(row.try_get(index)?),
                        Column::OptInt => Cell::OptInt(row.try_get(index)?),
                        Column::Text => Cell::Text(row.try_get(index)?),
                        Column::OptText => Cell::OptText(row.try_get(index)?),
                        Column::Bool => Cell::Bool(row.try_get(index)?),
                        Column::Bytes => Cell::Bytes(row.try_get(index)?),
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_connection_stops_a_statement_after_the_request_deadline() {
        let Some(admin_url) = crate::test_support::postgres_admin_url() else {
            return;
        };
        let url = crate::test_support::fresh_postgres_database(&admin_url)
            .await
            .unwrap();
        let backend = PostgresBackend::open(&url).await.unwrap();
        let rows = backend
            .query(
                &Statement::new("SELECT current_setting('statement_timeout')", vec![]),
                &[Column::Text],
            )
            .await
            .unwrap();
        assert_eq!(rows[0][0], Cell::Text(STATEMENT_TIMEOUT.into()));
    }
}
