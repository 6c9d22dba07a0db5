//! Binding, decoding and the write-transaction loop over a sqlx pool. Since the SQLite backend
//! moved to its own threads (`sqlite.rs`), PostgreSQL is the only user.

use super::{BackendError, Cell, Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Database, Executor, IntoArguments, Pool};

/// The three things that differ by database type: binding our values, decoding our column
/// types, and reading the affected-row count. Implemented by [`sql_database!`].
pub(crate) trait SqlDatabase: Database {
    fn bind<'q>(
        query: Query<'q, Self, Self::Arguments>,
        value: &SqlValue,
    ) -> Query<'q, Self, Self::Arguments>;
    fn decode(row: &Self::Row, index: usize, column: Column) -> Result<Cell, sqlx::Error>;
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// Implements [`SqlDatabase`] for a concrete sqlx database: the code is the same for both, only
/// the types differ.
macro_rules! sql_database {
    ($database:ty) => {
        impl $crate::backend::generic::SqlDatabase for $database {
            fn bind<'q>(
                query: sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments>,
                value: &$crate::sql::SqlValue,
            ) -> sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments> {
                use $crate::sql::SqlValue;
                match value {
                    SqlValue::Text(text) => query.bind(text.clone()),
                    SqlValue::OptText(text) => query.bind(text.clone()),
                    SqlValue::Int(int) => query.bind(*int),
                    SqlValue::OptInt(int) => query.bind(*int),
                    SqlValue::Real(real) => query.bind(*real),
                    SqlValue::Bool(boolean) => query.bind(*boolean),
                    SqlValue::Bytes(bytes) => query.bind(bytes.clone()),
                }
            }

            fn decode(
                row: &<Self as sqlx::Database>::Row,
                index: usize,
                column: $crate::backend::Column,
            ) -> Result<$crate::backend::Cell, sqlx::Error> {
                use sqlx::Row as _;
                use $crate::backend::{Cell, Column};
                Ok(match column {
                    Column::Int => Cell::Int(row.try_get(index)?),
                    Column::OptInt => Cell::OptInt(row.try_get(index)?),
                    Column::Text => Cell::Text(row.try_get(index)?),
                    Column::OptText => Cell::OptText(row.try_get(index)?),
                    Column::Bool => Cell::Bool(row.try_get(index)?),
                    Column::Bytes => Cell::Bytes(row.try_get(index)?),
                })
            }

            fn rows_affected(result: &<Self as sqlx::Database>::QueryResult) -> u64 {
                result.rows_affected()
            }
        }
    };
}
pub(crate) use sql_database;

fn prepared<DB: SqlDatabase>(statement: &Statement) -> Query<'_, DB, DB::Arguments>
where
    DB::Arguments: IntoArguments<DB>,
{
    let query = sqlx::query::<DB>(AssertSqlSafe(statement.sql.clone()));
    statement.params.0.iter().fold(query, DB::bind)
}

fn decoded<DB: SqlDatabase>(rows: &[DB::Row], columns: &[Column]) -> Result<Vec<Row>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(index, column)| DB::decode(row, index, *column))
                .collect()
        })
        .collect()
}

/// A read on a pool.
pub(crate) async fn query<DB: SqlDatabase>(
    pool: &Pool<DB>,
    statement: &Statement,
    columns: &[Column],
) -> Result<Vec<Row>, BackendError>
where
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut connection = pool.acquire().await?;
    let rows = prepared::<DB>(statement)
        .fetch_all(&mut *connection)
        .await
        .map_err(BackendError::classify)?;
    Ok(decoded::<DB>(&rows, columns)?)
}

/// The steps in one transaction, opened with `begin`.
pub(crate) async fn write<DB: SqlDatabase>(
    pool: &Pool<DB>,
    begin: &'static str,
    steps: &[Step],
) -> Result<Written, BackendError>
where
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut transaction = pool.begin_with(begin).await?;
    let mut returned = Vec::with_capacity(steps.len());
    for step in steps {
        let query = prepared::<DB>(&step.statement);
        let (rows, affected) = match &step.returning {
            Some(columns) => {
                let rows = query
                    .fetch_all(&mut *transaction)
                    .await
                    .map_err(BackendError::classify)?;
                let count = rows.len() as u64;
                (decoded::<DB>(&rows, columns)?, count)
            }
            None => {
                let result = query
                    .execute(&mut *transaction)
                    .await
                    .map_err(BackendError::classify)?;
                (Vec::new(), DB::rows_affected(&result))
            }
        };
        if step.must_affect && affected == 0 {
            transaction.rollback().await?;
            return Ok(Written::Unmet);
        }
        returned.push(rows);
    }
    transaction.commit().await?;
    Ok(Written::Committed(returned))
}
