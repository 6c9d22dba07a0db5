//! Statements run on a rusqlite connection: `$N` parameters bound, rows decoded, errors
//! classified.

use crate::backend::{BackendError, Cell, Column, Row};
use crate::sql::{SqlValue, Statement};
use rusqlite::{Connection, ffi};

/// Runs one statement: its decoded rows when `columns` is given, and the rows it touched.
pub(super) fn run(
    connection: &Connection,
    statement: &Statement,
    columns: Option<&[Column]>,
) -> rusqlite::Result<(Vec<Row>, u64)> {
    let mut prepared = connection.prepare_cached(&statement.sql)?;
    bind(&mut prepared, &statement.params.0)?;
    let Some(columns) = columns else {
        let affected = prepared.raw_execute()?;
        return Ok((Vec::new(), affected as u64));
    };
    let mut rows = prepared.raw_query();
    let mut decoded = Vec::new();
    while let Some(row) = rows.next()? {
        decoded.push(decode(row, columns)?);
    }
    let count = decoded.len() as u64;
    Ok((decoded, count))
}

/// Binds `$N` parameters to the N-th value, wherever and however often they appear.
pub(super) fn bind(
    statement: &mut rusqlite::CachedStatement<'_>,
    values: &[SqlValue],
) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let position = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .unwrap_or(index);
        let value = position
            .checked_sub(1)
            .and_then(|at| values.get(at))
            .ok_or(rusqlite::Error::InvalidParameterCount(
                position,
                values.len(),
            ))?;
        match value {
            SqlValue::Text(text) => statement.raw_bind_parameter(index, text)?,
            SqlValue::OptText(text) => statement.raw_bind_parameter(index, text)?,
            SqlValue::Int(int) => statement.raw_bind_parameter(index, int)?,
            SqlValue::OptInt(int) => statement.raw_bind_parameter(index, int)?,
            SqlValue::Real(real) => statement.raw_bind_parameter(index, real)?,
            SqlValue::Bool(flag) => statement.raw_bind_parameter(index, flag)?,
            SqlValue::Bytes(bytes) => statement.raw_bind_parameter(index, bytes)?,
        }
    }
    Ok(())
}

pub(super) fn decode(row: &rusqlite::Row<'_>, columns: &[Column]) -> rusqlite::Result<Row> {
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            Ok(match column {
                Column::Int => Cell::Int(row.get(index)?),
                Column::OptInt => Cell::OptInt(row.get(index)?),
                Column::Text => Cell::Text(row.get(index)?),
                Column::OptText => Cell::OptText(row.get(index)?),
                Column::Bool => Cell::Bool(row.get(index)?),
                Column::Bytes => Cell::Bytes(row.get(index)?),
            })
        })
        .collect()
}

impl From<rusqlite::Error> for BackendError {
    fn from(error: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(failure, message) = &error {
            let message = message.clone().unwrap_or_default();
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return Self::Unique(message);
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return Self::InUse(message),
                _ => {}
            }
        }
        Self::Sqlite(error.to_string())
    }
}

impl BackendError {
    /// The same failure for each job of a group that failed together.
    pub(super) fn shared(&self) -> Self {
        match self {
            Self::Unique(what) => Self::Unique(what.clone()),
            Self::InUse(what) => Self::InUse(what.clone()),
            other => Self::Sqlite(other.to_string()),
        }
    }
}

/// Commits, or rolls back when the commit fails, so that the connection is out of its
/// transaction either way (unless the rollback fails too); the commit's error, if any.
pub(super) fn commit_or_roll_back(connection: &Connection) -> rusqlite::Result<()> {
    control(connection, "COMMIT").inspect_err(|_| {
        let _ = control(connection, "ROLLBACK");
    })
}

/// Transaction control (`BEGIN`, `COMMIT`, savepoints) through the statement cache: parsing
/// them again for every group and every job cost more than running them.
pub(super) fn control(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.raw_execute().map(drop)
}
