//! The store over either backend: its connection and the reads and writes every aggregate's
//! file (`accounts`, `catalog`, `tenants`, ...) runs its SQL through.

use crate::backend::{Backend, BackendError, Column, Row, Step, Written};
use crate::cursor_seal::CursorSeal;
use crate::server_keys::{Sealer, server_key};
use crate::sql::Statement;
use crate::tenant_shares::TenantShares;
use crate::walks::Walks;
use scimd_core::store::{Database, StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use std::sync::Arc;

/// scimd's store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
    shares: Arc<TenantShares>,
    pub(crate) cursors: Arc<CursorSeal>,
    /// Seals webhook signing secrets at rest.
    pub(crate) webhook_secrets: Arc<Sealer>,
    /// Where index pages sorted by userName ended, to continue after them.
    pub(crate) walks: Arc<Walks>,
}

impl SqlStore {
    /// The store over an opened (migrated) backend, with the database's cursor and webhook keys.
    pub(crate) async fn open(backend: Backend) -> StoreResult<Self> {
        let cursors = Arc::new(CursorSeal::of_database(&backend).await?);
        let webhook_secrets = Arc::new(Sealer::new(&server_key(&backend, "webhook").await?));
        let shares = Arc::new(TenantShares::new(backend.long_readers()));
        Ok(Self {
            backend,
            shares,
            cursors,
            webhook_secrets,
            walks: Arc::default(),
        })
    }

    /// Leaves the database complete on disk once the last request is answered: on SQLite the
    /// write-ahead log is copied into the database file and emptied, so that the stopped
    /// database is its one file.
    pub async fn close(&self) -> StoreResult<()> {
        Ok(self.backend.close().await?)
    }
}

impl From<BackendError> for StoreError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Unique(constraint) => StoreError::Conflict(constraint),
            BackendError::InUse(constraint) => StoreError::InUse(constraint),
            BackendError::Database(error) => StoreError::Backend(Box::new(error)),
            BackendError::Sqlite(error) => StoreError::Backend(error.into()),
        }
    }
}

impl SqlStore {
    pub(crate) async fn query(
        &self,
        statement: Statement,
        columns: &[Column],
    ) -> StoreResult<Vec<Row>> {
        Ok(self.backend.query(&statement, columns).await?)
    }

    /// Reads that must agree, such as a count and its page (see [`Backend::query_many`]).
    pub(crate) async fn query_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        Ok(self.backend.query_many(reads).await?)
    }

    /// [`Self::query_many`] for a long read of `tenant` (a list page, a filter), within the
    /// tenant's fair share of the readers.
    pub(crate) async fn query_many_for(
        &self,
        tenant: TenantId,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        let _turn = self.shares.turn(tenant).await?;
        self.query_many(reads).await
    }

    /// Point reads that must agree, run like a lookup (see [`Backend::lookup_many`]).
    pub(crate) async fn lookup_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> StoreResult<Vec<Vec<Row>>> {
        Ok(self.backend.lookup_many(reads).await?)
    }

    /// A read of a few rows through an index (see [`Backend::lookup`]).
    pub(crate) async fn lookup(
        &self,
        statement: Statement,
        columns: &[Column],
    ) -> StoreResult<Vec<Row>> {
        Ok(self.backend.lookup(&statement, columns).await?)
    }

    pub(crate) async fn write(&self, steps: Vec<Step>) -> StoreResult<Written> {
        Ok(self.backend.write(steps).await?)
    }

    /// Runs the steps in one transaction and returns the first row that step `step` gave back
    /// through its `RETURNING` clause.
    pub(crate) async fn write_returning(&self, steps: Vec<Step>, step: usize) -> StoreResult<Row> {
        let Written::Committed(rows) = self.write(steps).await? else {
            return Err(StoreError::Backend("an insert touched no row".into()));
        };
        rows.into_iter()
            .nth(step)
            .and_then(|rows| rows.into_iter().next())
            .ok_or_else(|| StoreError::Backend("a RETURNING clause returned no row".into()))
    }
}

impl Database for SqlStore {
    async fn read_scope<F>(&self, work: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.backend.read_scope(work).await
    }

    async fn ping(&self) -> StoreResult<()> {
        // A bare `1` is a 4-byte integer to PostgreSQL, which does not decode as `Column::Int`
        // (8 bytes): every ping failed there, and /readyz answered 503 to a healthy database.
        self.query(
            Statement::new("SELECT CAST(1 AS BIGINT)", vec![]),
            &[Column::Int],
        )
        .await
        .map(drop)
    }
}
