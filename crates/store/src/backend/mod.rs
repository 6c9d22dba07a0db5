//! The narrow seam between the shared store logic and each database: run a read, or run a list
//! of write steps in one transaction. Rows come back decoded into [`Cell`]s by declared column
//! types, so nothing above this module names a sqlx type.

mod postgres;
mod private_files;
mod sqlite;

pub(crate) use postgres::PostgresBackend;
pub(crate) use sqlite::SqliteBackend;

use crate::sql::{Dialect, SqlValue, Statement};

/// How to decode one selected column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Int,
    OptInt,
    Text,
    OptText,
    Bool,
    Bytes,
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Cell {
    pub fn int(&self) -> i64 {
        match self {
            Self::Int(value) => *value,
            Self::OptInt(value) => value.unwrap_or_default(),
            Self::Text(_) | Self::OptText(_) | Self::Bool(_) | Self::Bytes(_) => 0,
        }
    }

    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            Self::OptInt(value) => *value,
            Self::Text(_) | Self::OptText(_) | Self::Bool(_) | Self::Bytes(_) => None,
        }
    }

    pub fn take_text(&mut self) -> String {
        match self {
            Self::Text(value) => std::mem::take(value),
            Self::OptText(value) => value.take().unwrap_or_default(),
            Self::Int(_) | Self::OptInt(_) | Self::Bool(_) | Self::Bytes(_) => String::new(),
        }
    }

    pub fn opt_text(&mut self) -> Option<String> {
        match self {
            Self::OptText(value) => value.take(),
            Self::Text(value) => Some(std::mem::take(value)),
            Self::Int(_) | Self::OptInt(_) | Self::Bool(_) | Self::Bytes(_) => None,
        }
    }

    pub fn flag(&self) -> bool {
        match self {
            Self::Bool(value) => *value,
            Self::Int(value) => *value != 0,
            Self::OptInt(_) | Self::Text(_) | Self::OptText(_) | Self::Bytes(_) => false,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(value) => value,
            Self::Int(_) | Self::OptInt(_) | Self::Text(_) | Self::OptText(_) | Self::Bool(_) => {
                &[]
            }
        }
    }
}

pub(crate) type Row = Vec<Cell>;

/// One statement of a write transaction.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub statement: Statement,
    /// Rows to return (`RETURNING ...`), decoded by these types.
    pub returning: Option<Vec<Column>>,
    /// The transaction is rolled back unless this step touches at least one row.
    pub must_affect: bool,
}

impl Step {
    pub fn run(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        Self {
            statement: Statement::new(sql, params),
            returning: None,
            must_affect: false,
        }
    }

    pub fn returning(mut self, columns: &[Column]) -> Self {
        self.returning = Some(columns.to_vec());
        self
    }

    pub fn must_affect(mut self) -> Self {
        self.must_affect = true;
        self
    }
}

/// What a write transaction did.
#[derive(Debug)]
pub(crate) enum Written {
    /// Committed; the rows each step returned (empty when it returned none).
    Committed(Vec<Vec<Row>>),
    /// Rolled back: the step at this index must touch a row and touched none.
    Unmet { step: usize },
}

/// Database failures, with unique-constraint violations told apart.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackendError {
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("still referenced: {0}")]
    InUse(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("SQLite: {0}")]
    Sqlite(String),
}

impl BackendError {
    pub fn classify(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                Self::Unique(database.constraint().unwrap_or_default().to_owned())
            }
            sqlx::Error::Database(database) if database.is_foreign_key_violation() => {
                Self::InUse(database.constraint().unwrap_or_default().to_owned())
            }
            _ => Self::Database(error),
        }
    }
}

/// The database behind a store.
///
/// PostgreSQL's futures (sqlx's) are boxed: they are kilobytes, and unboxed they would size
/// every future above the store, for SQLite too, and each of those is copied as it moves
/// through the HTTP layers (a quarter of a read's instructions were `memcpy`).
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqliteBackend),
    Postgres(PostgresBackend),
}

impl Backend {
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(_) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }

    /// How many long reads run at once: SQLite's reader threads, PostgreSQL's connections.
    pub fn long_readers(&self) -> usize {
        match self {
            Self::Sqlite(_) => sqlite::READERS,
            Self::Postgres(_) => postgres::CONNECTIONS as usize,
        }
    }

    /// Leaves the database complete on disk after the last request (see
    /// [`SqliteBackend::close`]).
    pub async fn close(&self) -> Result<(), BackendError> {
        match self {
            Self::Sqlite(backend) => backend.close().await,
            Self::Postgres(backend) => {
                backend.close().await;
                Ok(())
            }
        }
    }

    pub async fn query(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        match self {
            Self::Sqlite(backend) => backend.query(statement, columns).await,
            Self::Postgres(backend) => Box::pin(backend.query(statement, columns)).await,
        }
    }

    /// Reads that must agree (a count and its page): one snapshot where the database gives it
    /// cheaply (SQLite), one after the other otherwise.
    pub async fn query_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> Result<Vec<Vec<Row>>, BackendError> {
        match self {
            Self::Sqlite(backend) => backend.query_many(reads).await,
            Self::Postgres(backend) => backend.query_each(reads).await,
        }
    }

    /// Point reads that must agree (the count and page of a `userName eq` filter): like
    /// [`Self::query_many`], but on SQLite on the calling thread, like [`Self::lookup`].
    pub async fn lookup_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> Result<Vec<Vec<Row>>, BackendError> {
        match self {
            Self::Sqlite(backend) => backend.lookup_many(reads),
            Self::Postgres(backend) => backend.query_each(reads).await,
        }
    }

    /// A read of a few rows through an index (a token, a session, a user by id, a tenant's
    /// mappings): on SQLite it runs on the calling thread, cheaper than a hand-off for a
    /// microseconds-long read.
    pub async fn lookup(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        match self {
            Self::Sqlite(backend) => backend.lookup(statement, columns),
            Self::Postgres(backend) => Box::pin(backend.query(statement, columns)).await,
        }
    }

    /// Runs `work` with its lookups in one read transaction where that saves work (SQLite:
    /// see [`SqliteBackend::read_scope`]). On PostgreSQL each read stays a statement of its
    /// own: a shared transaction would hold a pooled connection for the whole request.
    pub async fn read_scope<F: Future>(&self, work: F) -> F::Output {
        match self {
            Self::Sqlite(backend) => backend.read_scope(work).await,
            Self::Postgres(_) => work.await,
        }
    }

    pub async fn write(&self, steps: Vec<Step>) -> Result<Written, BackendError> {
        match self {
            Self::Sqlite(backend) => backend.write(steps).await,
            Self::Postgres(backend) => Box::pin(backend.write(&steps)).await,
        }
    }
}
