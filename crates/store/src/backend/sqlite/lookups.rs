//! Lookups: point reads on the request's own thread, through read-only connections kept
//! idle between uses, and the read transaction a read scope's lookups share.

use super::codec::{commit_or_roll_back, control};
use super::open_connection;
use crate::backend::BackendError;
use rusqlite::Connection;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

/// Read-only connections for lookups, used on the caller's own thread: one per thread that is
/// in a lookup at that moment, opened the first time more are needed.
#[derive(Debug)]
pub(super) struct Lookups {
    pub(super) file: PathBuf,
    pub(super) synchronous: &'static str,
    pub(super) idle: Mutex<Vec<Connection>>,
}

impl Lookups {
    /// An idle lookup connection, or a new one when none is idle.
    pub(super) fn take(&self) -> Result<Connection, BackendError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => open_connection(&self.file, true, self.synchronous),
        }
    }

    /// Back to the idle ones; a connection still inside a transaction (one whose `COMMIT` and
    /// `ROLLBACK` both failed) is closed instead, or it would pin an old snapshot for good.
    pub(super) fn give_back(&self, connection: Connection) {
        if connection.is_autocommit() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(connection);
        }
    }
}

tokio::task_local! {
    /// The read transaction the lookups of one [`SqliteBackend::read_scope`] share, once the
    /// first of them has begun it.
    pub(super) static SHARED_SNAPSHOT: RefCell<SnapshotSlot>;
}

/// Ends the shared transaction when the scope ends, however it ends (a timeout drops it).
#[derive(Default)]
pub(super) struct SnapshotSlot(pub(super) Option<SharedSnapshot>);

impl SnapshotSlot {
    pub(super) fn end(&mut self) {
        if let Some(snapshot) = self.0.take() {
            snapshot.end();
        }
    }
}

impl Drop for SnapshotSlot {
    fn drop(&mut self) {
        self.end();
    }
}

/// A lookup connection inside a read transaction, kept for the rest of a read scope.
pub(super) struct SharedSnapshot {
    pub(super) connection: Connection,
    pub(super) lookups: Arc<Lookups>,
}

impl SharedSnapshot {
    pub(super) fn begin(lookups: &Arc<Lookups>) -> Result<Self, BackendError> {
        let connection = lookups.take()?;
        // A deferred BEGIN takes no lock yet: the snapshot is the one its first read sees.
        if let Err(error) = control(&connection, "BEGIN") {
            lookups.give_back(connection);
            return Err(error.into());
        }
        Ok(Self {
            connection,
            lookups: Arc::clone(lookups),
        })
    }

    pub(super) fn end(self) {
        let _ = commit_or_roll_back(&self.connection);
        self.lookups.give_back(self.connection);
    }
}

/// Ends the read scope's shared transaction, if there is one (see [`SqliteBackend::read_scope`]).
pub(super) fn end_shared_snapshot() {
    let _ = SHARED_SNAPSHOT.try_with(|slot| slot.borrow_mut().end());
}
