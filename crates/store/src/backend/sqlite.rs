//! SQLite: WAL, one writer connection and a read-only reader pool.

use super::generic::{self, sql_database};
use super::{BackendError, Column, Row, Step, Written};
use crate::sql::Statement;
use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

sql_database!(Sqlite);

const READERS: u32 = 4;

#[derive(Debug, Clone)]
pub(crate) struct SqliteBackend {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteBackend {
    /// Opens (creating it and its directory if needed) the database file of `url`.
    /// `synchronous=NORMAL` in WAL mode survives a crash of the process; `full` also survives a
    /// power loss, at some cost per commit.
    pub async fn open(url: &str, full_sync: bool) -> Result<Self, BackendError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let file = options.get_filename().to_path_buf();
        let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
        if let Some(parent) = file
            .parent()
            .filter(|p| !in_memory && !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|error| BackendError::Database(sqlx::Error::Io(error)))?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        crate::migrations::sqlite()
            .run(&writer)
            .await
            .map_err(sqlx::Error::from)?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self { writer, reader })
    }

    pub async fn query(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        generic::query(&self.reader, statement, columns).await
    }

    pub async fn write(&self, steps: &[Step]) -> Result<Written, BackendError> {
        generic::write(&self.writer, "BEGIN IMMEDIATE", steps).await
    }
}
