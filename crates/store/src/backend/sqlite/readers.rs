//! The reader threads: a read runs whole on one of them, in one snapshot, and stops early
//! when the request that asked for it is gone.

use super::PROGRESS_STEPS;
use super::codec::{commit_or_roll_back, control, run};
use crate::backend::{BackendError, Column, Row};
use crate::sql::Statement;
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::oneshot;

/// Statements read in one transaction, so that they see one snapshot.
pub(super) struct ReadJob {
    pub(super) reads: Vec<(Statement, Vec<Column>)>,
    pub(super) reply: oneshot::Sender<Result<Vec<Vec<Row>>, BackendError>>,
    /// Raised when the asker is gone (its request was abandoned or timed out): the reader
    /// skips the job, or interrupts it mid-statement, rather than finish work nobody reads.
    pub(super) abandoned: Arc<AtomicBool>,
}

/// Raises a [`ReadJob`]'s `abandoned` flag when the read's future is dropped, answered or not
/// (once answered, nobody looks at the flag).
pub(super) struct AbandonOnDrop(pub(super) Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

pub(super) fn read_loop(connection: &Connection, jobs: &flume::Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        if job.abandoned.load(Ordering::Relaxed) {
            continue;
        }
        let reads: Vec<(&Statement, &[Column])> = job
            .reads
            .iter()
            .map(|(statement, columns)| (statement, columns.as_slice()))
            .collect();
        let abandoned = Arc::clone(&job.abandoned);
        let watched = connection.progress_handler(
            PROGRESS_STEPS,
            Some(move || abandoned.load(Ordering::Relaxed)),
        );
        let rows = watched
            .and_then(|()| read_snapshot(connection, &reads))
            .map_err(BackendError::from);
        let _ = connection.progress_handler(0, None::<fn() -> bool>);
        // The asker may have gone (its request timed out); nothing to tell then.
        let _ = job.reply.send(rows);
    }
}

pub(super) fn read_snapshot(
    connection: &Connection,
    reads: &[(&Statement, &[Column])],
) -> rusqlite::Result<Vec<Vec<Row>>> {
    let read_all = || {
        reads
            .iter()
            .map(|(statement, columns)| {
                run(connection, statement, Some(columns)).map(|(rows, _)| rows)
            })
            .collect()
    };
    // One statement is a snapshot of its own; so are statements inside a read scope's
    // transaction.
    if reads.len() == 1 || !connection.is_autocommit() {
        return read_all();
    }
    control(connection, "BEGIN")?;
    let rows = read_all();
    // A read transaction left open would pin this connection to an old snapshot for good.
    commit_or_roll_back(connection)?;
    rows
}
