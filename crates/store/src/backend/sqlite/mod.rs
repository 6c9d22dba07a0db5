//! SQLite: WAL; one writer thread that commits concurrent writes together (group commit), and
//! reader threads, each with its own read-only connection.
//!
//! A request crosses to a database thread once, however many statements it runs: a write's
//! steps run back to back on the writer thread and a read runs whole on a reader thread. (Through
//! sqlx-sqlite, every statement, `BEGIN` and `COMMIT` was its own round trip to a worker thread,
//! and those thread hand-offs were the largest cost of a request.) The writer takes every write
//! waiting when it wakes, runs each in its own savepoint inside one transaction, commits once,
//! and only then answers them: one failing write is rolled back alone, and no write is
//! acknowledged before the commit that makes it durable. Migrations still run through sqlx,
//! once, before the threads start.
//!
//! Lookups (point reads through an index) skip the hand-off altogether and run on the
//! request's own thread; a request's lookups share a read transaction (a GET's token and user;
//! a write's reads before it writes: see [`SqliteBackend::read_scope`]).
//!
//! WAL checkpoints (copying committed pages back into the database file, with its fsyncs) run
//! on a thread of their own, nudged by the writer after each commit. Left to SQLite, the commit
//! that crosses the 1,000-page mark runs the checkpoint itself, and every write queued behind
//! that group waits for it. The WAL only starts over when a write begins with every frame
//! copied, which under steady writing never happens by chance: once the WAL is past
//! [`WAL_RESTART_FRAMES`], the writer checkpoints the few frames left itself, between two
//! groups, and its next write starts the WAL over.
//!
//! # Layout
//! - `lookups`: point reads on the caller's thread, and the snapshot a read scope shares.
//! - `readers`: the reader threads.
//! - `writer`: the writer thread and its group commit.
//! - `checkpoints`: the checkpointer thread.
//! - `codec`: statements on a connection: parameters bound, rows decoded, transaction control.

use super::{BackendError, Column, Row, Step, Written};
use crate::sql::Statement;
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

mod checkpoints;
mod codec;
mod lookups;
mod readers;
#[cfg(test)]
mod tests;
mod writer;

use checkpoints::{Checkpoints, checkpoint_loop};
use codec::run;
use lookups::{Lookups, SHARED_SNAPSHOT, SharedSnapshot, SnapshotSlot, end_shared_snapshot};
use readers::{AbandonOnDrop, ReadJob, read_loop, read_snapshot};
use writer::{WriteJob, write_loop};

/// Reader threads: reads run in parallel with each other and with the writer (WAL).
pub(super) const READERS: usize = 4;
/// Most writes committed together.
const MAX_GROUP: usize = 256;
/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the final checkpoint of a clean stop keeps trying while others use the WAL.
const FINAL_CHECKPOINT_PATIENCE: Duration = Duration::from_secs(2);
/// SQLite virtual-machine steps between two checks of whether a read was abandoned (tens of
/// microseconds of work).
const PROGRESS_STEPS: i32 = 10_000;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;
/// Least time between two checkpoints while writes keep coming: the WAL holds at most this
/// much writing beyond what the last checkpoint copied.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);
/// WAL length (frames of one page) past which the writer makes the WAL start over: 128 MiB
/// with 4 KiB pages. Each start-over holds the writes back for a moment (see
/// [`checkpoint_loop`]); at 32 MiB that happened five times a second under a create load.
const WAL_RESTART_FRAMES: i64 = 32_768;
/// Uncopied frames few enough for the writer to copy itself while writes wait: 2 MiB, about a
/// millisecond of writing and syncing.
const RESTART_LEFTOVER_FRAMES: i64 = 512;
/// Most rounds of fsync and checkpoint run back to back to bring the uncopied frames under
/// [`RESTART_LEFTOVER_FRAMES`] before the writer is asked to start the WAL over.
const CATCH_UP_ROUNDS: usize = 6;
/// A WAL file longer than this is cut back when it starts over. Steady writing leaves it a
/// little over [`WAL_RESTART_FRAMES`] long and writes over it in place: cutting a file of
/// freshly written pages stalled the next commit for 100 ms and more. Only a WAL that grew
/// while something held the start-over back (a reader on an old snapshot) is cut.
const WAL_SIZE_LIMIT: i64 = 2 * WAL_RESTART_FRAMES * 4096;

#[derive(Debug, Clone)]
pub(crate) struct SqliteBackend {
    writes: flume::Sender<WriteJob>,
    reads: flume::Sender<ReadJob>,
    lookups: Arc<Lookups>,
}

impl SqliteBackend {
    /// Opens (creating it and its directory if needed, private to this user) the database file
    /// of `url`, applies the migrations, and starts the database threads. `synchronous=NORMAL` in WAL mode survives a
    /// crash of the process; `full` also survives a power loss, at some cost per commit.
    pub async fn open(url: &str, full_sync: bool) -> Result<Self, BackendError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let file = options.get_filename().to_path_buf();
        // sqlx names an in-memory database `file:sqlx-in-memory-N`; each of our connections
        // would open its own, empty one.
        if file.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory") {
            return Err(BackendError::Sqlite(
                "an in-memory SQLite database is not supported; give a file: sqlite://PATH".into(),
            ));
        }
        super::private_files::prepare(&file)
            .map_err(|error| BackendError::Database(sqlx::Error::Io(error)))?;
        // Through a one-connection pool: migrating on a bare connection makes a future that is
        // not `Send` for every lifetime, which a spawned server task needs.
        let migrating = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        crate::migrations::sqlite()
            .run(&migrating)
            .await
            .map_err(sqlx::Error::from)?;
        migrating.close().await;

        let synchronous: &'static str = if full_sync { "FULL" } else { "NORMAL" };
        let writer = open_connection(&file, false, synchronous)?;
        // Each write runs in a savepoint, and SQLite keeps the pages it will need to roll one
        // back in a sub-journal that spills to a temporary file past 64 KiB: in memory, a group
        // commit no longer writes them to disk.
        writer.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; \
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))?;
        let checkpointer = open_connection(&file, false, synchronous)?;
        let (nudge, nudges) = flume::bounded(1);
        let restart_due = Arc::new(AtomicBool::new(false));
        let checkpoints = Checkpoints {
            nudge,
            restart_due: Arc::clone(&restart_due),
        };
        // Only for fsync, which flushes the file whichever descriptor asks.
        let database = std::fs::File::open(&file)
            .map_err(|error| BackendError::Database(sqlx::Error::Io(error)))?;
        spawn("scimd-sqlite-checkpointer", move || {
            checkpoint_loop(&checkpointer, &database, &nudges, &restart_due);
        })?;
        let (writes, write_jobs) = flume::unbounded();
        spawn("scimd-sqlite-writer", move || {
            write_loop(&writer, &write_jobs, &checkpoints);
        })?;
        let (reads, read_jobs) = flume::unbounded();
        for n in 0..READERS {
            let reader = open_connection(&file, true, synchronous)?;
            let jobs = read_jobs.clone();
            spawn(&format!("scimd-sqlite-reader-{n}"), move || {
                read_loop(&reader, &jobs);
            })?;
        }
        let lookups = Arc::new(Lookups {
            file,
            synchronous,
            idle: Mutex::default(),
        });
        Ok(Self {
            writes,
            reads,
            lookups,
        })
    }

    /// A read on a reader thread.
    pub async fn query(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        let mut rows = self.query_many(&[(statement, columns)]).await?;
        Ok(rows.pop().unwrap_or_default())
    }

    /// Reads on a reader thread, in one snapshot; each statement's rows.
    pub async fn query_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> Result<Vec<Vec<Row>>, BackendError> {
        end_shared_snapshot();
        let (reply, answer) = oneshot::channel();
        let abandoned = AbandonOnDrop(Arc::default());
        let job = ReadJob {
            reads: reads
                .iter()
                .map(|(statement, columns)| ((*statement).clone(), columns.to_vec()))
                .collect(),
            reply,
            abandoned: Arc::clone(&abandoned.0),
        };
        self.reads.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// A read of a few rows through an index, run right here: it takes microseconds, less
    /// than handing it to a reader thread and back.
    pub fn lookup(
        &self,
        statement: &Statement,
        columns: &[Column],
    ) -> Result<Vec<Row>, BackendError> {
        self.with_lookup_connection(|connection| {
            run(connection, statement, Some(columns)).map(|(rows, _)| rows)
        })
    }

    /// Point reads in one snapshot, run right here like [`Self::lookup`].
    pub fn lookup_many(
        &self,
        reads: &[(&Statement, &[Column])],
    ) -> Result<Vec<Vec<Row>>, BackendError> {
        self.with_lookup_connection(|connection| read_snapshot(connection, reads))
    }

    /// Runs `read` on an idle lookup connection, opening one when none is idle; inside a
    /// [`Self::read_scope`], on the scope's connection, in its read transaction.
    fn with_lookup_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, BackendError> {
        if SHARED_SNAPSHOT.try_with(|_| ()).is_ok() {
            return SHARED_SNAPSHOT.with(|shared| self.read_shared(&mut shared.borrow_mut(), read));
        }
        let connection = self.lookups.take()?;
        let result = read(&connection);
        self.lookups.give_back(connection);
        Ok(result?)
    }

    fn read_shared<T>(
        &self,
        slot: &mut SnapshotSlot,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, BackendError> {
        let snapshot = match &mut slot.0 {
            Some(snapshot) => snapshot,
            empty => empty.insert(SharedSnapshot::begin(&self.lookups)?),
        };
        let result = read(&snapshot.connection);
        if result.is_err() {
            // The next read begins a transaction of its own rather than trust this one.
            slot.end();
        }
        Ok(result?)
    }

    /// Runs `work` with its lookups sharing one read transaction: the WAL read lock (two
    /// `fcntl` calls under a process-wide mutex, contended between request threads) is taken
    /// and dropped once, not once per lookup. A write or a read handed to a reader thread ends
    /// the shared transaction first, so that what follows sees the write, and so that no
    /// connection stays in a transaction while the request waits. A scope inside another
    /// joins it rather than begin a second transaction on a second connection.
    pub async fn read_scope<F: Future>(&self, work: F) -> F::Output {
        if SHARED_SNAPSHOT.try_with(|_| ()).is_ok() {
            return work.await;
        }
        SHARED_SNAPSHOT.scope(RefCell::default(), work).await
    }

    pub async fn write(&self, steps: Vec<Step>) -> Result<Written, BackendError> {
        end_shared_snapshot();
        let (reply, answer) = oneshot::channel();
        let job = WriteJob { steps, reply };
        self.writes.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl SqliteBackend {
    /// Copies the whole WAL into the database file and empties it, for a clean stop after the
    /// last request (or at the end of a CLI command): the stopped database is then its one
    /// file, and a copy of that file alone holds every acknowledged write. The checkpointer
    /// thread may be in a checkpoint of its own, which makes this one answer busy at once
    /// (SQLite does not wait for another checkpoint), and another process (a running server,
    /// for a CLI command) may be writing: it is tried again for [`FINAL_CHECKPOINT_PATIENCE`]
    /// at most; failing that, nothing is lost (the WAL is read at the next start).
    pub async fn close(&self) -> Result<(), BackendError> {
        let (file, synchronous) = (self.lookups.file.clone(), self.lookups.synchronous);
        let emptied = tokio::task::spawn_blocking(move || {
            let connection = open_connection(&file, false, synchronous)?;
            connection.busy_timeout(Duration::from_millis(100))?;
            let give_up = std::time::Instant::now() + FINAL_CHECKPOINT_PATIENCE;
            loop {
                let busy: i64 =
                    connection
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
                if busy == 0 {
                    return Ok::<_, BackendError>(true);
                }
                if std::time::Instant::now() >= give_up {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .await
        .map_err(|error| BackendError::Sqlite(format!("the final checkpoint failed: {error}")))??;
        if !emptied {
            tracing::info!("the WAL stays beside the database: another connection is using it");
        }
        Ok(())
    }
}

fn stopped() -> BackendError {
    BackendError::Sqlite("the database threads have stopped".into())
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> Result<(), BackendError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(work)
        .map(drop)
        .map_err(|error| BackendError::Database(sqlx::Error::Io(error)))
}

fn open_connection(
    file: &Path,
    read_only: bool,
    synchronous: &str,
) -> Result<Connection, BackendError> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(PathBuf::from(file), flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous};"
    ))?;
    Ok(connection)
}
