//! PostgreSQL: one pool; unique constraints and versions do the race-proofing, so several
//! instances can share the database.

use super::generic::{self, sql_database};
use super::{BackendError, Column, Row, Step, Written};
use crate::sql::Statement;
use sqlx::Postgres;
use sqlx::postgres::{PgPool, PgPoolOptions};

sql_database!(Postgres);

const CONNECTIONS: u32 = 16;

#[derive(Debug, Clone)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects and applies pending migrations (under the advisory lock sqlx takes, so
    /// instances starting together migrate once).
    pub async fn open(url: &str) -> Result<Self, BackendError> {
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect(url)
            .await?;
        crate::migrations::postgres()
            .run(&pool)
            .await
            .map_err(sqlx::Error::from)?;
        Ok(Self { pool })
    }

    pub async fn query(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        generic::query(&self.pool, statement, columns).await
    }

    pub async fn write(&self, steps: &[Step]) -> Result<Written, BackendError> {
        generic::write(&self.pool, "BEGIN", steps).await
    }
}
