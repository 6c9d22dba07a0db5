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

use super::{BackendError, Cell, Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use rusqlite::{Connection, OpenFlags, ffi};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

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

/// Read-only connections for lookups, used on the caller's own thread: one per thread that is
/// in a lookup at that moment, opened the first time more are needed.
#[derive(Debug)]
struct Lookups {
    file: PathBuf,
    synchronous: &'static str,
    idle: Mutex<Vec<Connection>>,
}

impl Lookups {
    /// An idle lookup connection, or a new one when none is idle.
    fn take(&self) -> Result<Connection, BackendError> {
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
    fn give_back(&self, connection: Connection) {
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
    static SHARED_SNAPSHOT: RefCell<SnapshotSlot>;
}

/// Ends the shared transaction when the scope ends, however it ends (a timeout drops it).
#[derive(Default)]
struct SnapshotSlot(Option<SharedSnapshot>);

impl SnapshotSlot {
    fn end(&mut self) {
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
struct SharedSnapshot {
    connection: Connection,
    lookups: Arc<Lookups>,
}

impl SharedSnapshot {
    fn begin(lookups: &Arc<Lookups>) -> Result<Self, BackendError> {
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

    fn end(self) {
        let _ = commit_or_roll_back(&self.connection);
        self.lookups.give_back(self.connection);
    }
}

struct WriteJob {
    steps: Vec<Step>,
    reply: oneshot::Sender<Result<Written, BackendError>>,
}

/// Statements read in one transaction, so that they see one snapshot.
struct ReadJob {
    reads: Vec<(Statement, Vec<Column>)>,
    reply: oneshot::Sender<Result<Vec<Vec<Row>>, BackendError>>,
    /// Raised when the asker is gone (its request was abandoned or timed out): the reader
    /// skips the job, or interrupts it mid-statement, rather than finish work nobody reads.
    abandoned: Arc<AtomicBool>,
}

/// Raises a [`ReadJob`]'s `abandoned` flag when the read's future is dropped, answered or not
/// (once answered, nobody looks at the flag).
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
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

/// Ends the read scope's shared transaction, if there is one (see [`SqliteBackend::read_scope`]).
fn end_shared_snapshot() {
    let _ = SHARED_SNAPSHOT.try_with(|slot| slot.borrow_mut().end());
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

fn read_loop(connection: &Connection, jobs: &flume::Receiver<ReadJob>) {
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

fn read_snapshot(
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

/// How the writer and the checkpointer talk: a nudge after each commit, and a flag raised when
/// the WAL is long enough to start over.
struct Checkpoints {
    nudge: flume::Sender<()>,
    restart_due: Arc<AtomicBool>,
}

fn write_loop(
    connection: &Connection,
    jobs: &flume::Receiver<WriteJob>,
    checkpoints: &Checkpoints,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        group.extend(jobs.try_iter().take(MAX_GROUP - 1));
        let outcomes = commit_together(connection, &group);
        for (job, outcome) in group.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
        if checkpoints.restart_due.swap(false, Ordering::Relaxed) {
            // No write can come in between: this copies the frames the checkpointer has not,
            // and the next write, finding all of them copied, starts the WAL over. A reader
            // still on an older snapshot can hold it back; the flag comes up again then.
            checkpoint(connection);
        }
        // Full means a nudge is already waiting.
        let _ = checkpoints.nudge.try_send(());
    }
}

/// Copies the WAL back into the database file after commits, at most once per
/// [`CHECKPOINT_PAUSE`], and tells the writer when the WAL should start over. PASSIVE never
/// waits for the writer or the readers: what it cannot copy now, the next round does.
///
/// The writer starts the WAL over with a checkpoint of the frames still uncopied, while the
/// writes queued behind it wait, and so this thread makes that checkpoint small first. SQLite
/// fsyncs the database file only in a checkpoint that copies the WAL to its end, which under
/// steady writing only the writer's does, and that fsync flushed every page the rounds here
/// had copied since the last start-over: 250 ms with a million users. So before asking, this
/// thread catches up in rounds of its own fsync of the database file and a checkpoint of what
/// came in meanwhile, until a round copies few frames: each round is shorter than the one
/// before, and the writer is left a few frames to copy and a few pages to sync.
fn checkpoint_loop(
    connection: &Connection,
    database: &std::fs::File,
    nudges: &flume::Receiver<()>,
    restart_due: &AtomicBool,
) {
    while nudges.recv().is_ok() {
        if let Some(mut frames) = checkpoint(connection)
            && frames >= WAL_RESTART_FRAMES
        {
            for _ in 0..CATCH_UP_ROUNDS {
                if let Err(error) = database.sync_data() {
                    // The writer's checkpoint syncs it then, only later.
                    tracing::warn!(%error, "syncing the database file failed");
                }
                // A checkpoint copies the frames there were when it began: the number it
                // finds now is how many came in since the last one.
                let Some(now) = checkpoint(connection) else {
                    break;
                };
                let came_in = now - frames;
                frames = now;
                if came_in <= RESTART_LEFTOVER_FRAMES {
                    break;
                }
            }
            restart_due.store(true, Ordering::Relaxed);
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

/// A PASSIVE checkpoint; the frames the WAL holds, or `None` when it failed (logged: the next
/// commit brings another).
fn checkpoint(connection: &Connection) -> Option<i64> {
    let frames = connection
        .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
        .and_then(|mut statement| statement.query_row([], |row| row.get(1)));
    frames
        .inspect_err(|error| {
            tracing::warn!(%error, "a WAL checkpoint failed; the next commit brings another");
        })
        .ok()
}

/// Runs each job in its own savepoint inside one transaction and commits once. A job whose
/// step fails or must affect a row and does not is rolled back to its savepoint alone.
fn commit_together(
    connection: &Connection,
    group: &[WriteJob],
) -> Vec<Result<Written, BackendError>> {
    let mut outcomes: Vec<Result<Written, BackendError>> = Vec::with_capacity(group.len());
    if let Err(error) = control(connection, "BEGIN IMMEDIATE") {
        let error = BackendError::from(error);
        return group.iter().map(|_| Err(error.shared())).collect();
    }
    for job in group {
        let outcome = control(connection, "SAVEPOINT job")
            .map_err(BackendError::from)
            .and_then(|()| run_steps(connection, &job.steps));
        if connection.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk): the jobs
            // before this one are undone too, and the rest start a new transaction.
            let error = match &outcome {
                Err(error) => error.shared(),
                Ok(_) => BackendError::Sqlite("the transaction was rolled back".into()),
            };
            for earlier in &mut outcomes {
                if earlier.is_ok() {
                    *earlier = Err(error.shared());
                }
            }
            outcomes.push(Err(error));
            if let Err(error) = control(connection, "BEGIN IMMEDIATE") {
                let error = BackendError::from(error);
                outcomes.resize_with(group.len(), || Err(error.shared()));
                return outcomes;
            }
            continue;
        }
        let kept = matches!(outcome, Ok(Written::Committed(_)));
        let undone = if kept {
            Ok(())
        } else {
            control(connection, "ROLLBACK TO job")
        };
        match undone.and_then(|()| control(connection, "RELEASE job")) {
            Ok(()) => outcomes.push(outcome),
            Err(error) => outcomes.push(Err(error.into())),
        }
    }
    if let Err(error) = commit_or_roll_back(connection) {
        let error = BackendError::from(error);
        return group.iter().map(|_| Err(error.shared())).collect();
    }
    outcomes
}

/// Commits, or rolls back when the commit fails, so that the connection is out of its
/// transaction either way (unless the rollback fails too); the commit's error, if any.
fn commit_or_roll_back(connection: &Connection) -> rusqlite::Result<()> {
    control(connection, "COMMIT").inspect_err(|_| {
        let _ = control(connection, "ROLLBACK");
    })
}

/// Transaction control (`BEGIN`, `COMMIT`, savepoints) through the statement cache: parsing
/// them again for every group and every job cost more than running them.
fn control(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.raw_execute().map(drop)
}

/// One job's steps, in order; `Unmet` as soon as a step that must affect a row does not.
fn run_steps(connection: &Connection, steps: &[Step]) -> Result<Written, BackendError> {
    let mut returned = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let (rows, affected) = run(connection, &step.statement, step.returning.as_deref())?;
        if step.must_affect && affected == 0 {
            return Ok(Written::Unmet { step: index });
        }
        returned.push(rows);
    }
    Ok(Written::Committed(returned))
}

/// Runs one statement: its decoded rows when `columns` is given, and the rows it touched.
fn run(
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
fn bind(
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

fn decode(row: &rusqlite::Row<'_>, columns: &[Column]) -> rusqlite::Result<Row> {
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
    fn shared(&self) -> Self {
        match self {
            Self::Unique(what) => Self::Unique(what.clone()),
            Self::InUse(what) => Self::InUse(what.clone()),
            other => Self::Sqlite(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn backend() -> (tempfile::TempDir, SqliteBackend) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let backend = SqliteBackend::open(&url, false).await.unwrap();
        (dir, backend)
    }

    fn tenant(slug: &str) -> Step {
        Step::run(
            "INSERT INTO tenants (slug, name, created_at) VALUES ($1, $1, $2)",
            vec![SqlValue::Text(slug.into()), SqlValue::Int(0)],
        )
    }

    /// An abandoned read (its request timed out or its client left) stops: four reads that
    /// would each run for hours, all dropped, leave every reader thread free for the next.
    #[tokio::test]
    async fn abandoned_reads_are_interrupted_and_free_their_reader() {
        let (_dir, backend) = backend().await;
        let endless = Statement::new(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE x < 1000000000000) SELECT count(*) FROM c",
            vec![],
        );
        for _ in 0..READERS * 2 {
            let read = backend.query(&endless, &[Column::Int]);
            let outcome = tokio::time::timeout(Duration::from_millis(50), read).await;
            assert!(outcome.is_err(), "still running when abandoned");
        }
        // Generous: an interrupted reader answers in milliseconds; one left running, never.
        let next = tokio::time::timeout(Duration::from_secs(60), slugs(&backend)).await;
        assert!(next.is_ok(), "a reader was still busy with abandoned work");
    }

    async fn slugs(backend: &SqliteBackend) -> Vec<String> {
        backend
            .query(
                &Statement::new("SELECT slug FROM tenants ORDER BY slug", vec![]),
                &[Column::Text],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|mut row| row[0].take_text())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_committed_together_fail_alone() {
        let (_dir, backend) = backend().await;
        // Many at once, so the writer groups them; every other one collides with its twin.
        let writes = (0..64).map(|n| {
            let backend = backend.clone();
            tokio::spawn(async move { backend.write(vec![tenant(&format!("t{}", n / 2))]).await })
        });
        let mut committed = 0;
        let mut refused = 0;
        for write in writes {
            match write.await.unwrap() {
                Ok(Written::Committed(_)) => committed += 1,
                Err(BackendError::Unique(_)) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((committed, refused), (32, 32));
        assert_eq!(slugs(&backend).await.len(), 32);
    }

    #[tokio::test]
    async fn an_unmet_step_rolls_back_its_job_only() {
        let (_dir, backend) = backend().await;
        let unmet =
            Step::run("UPDATE tenants SET name = 'x' WHERE slug = 'none'", vec![]).must_affect();
        let outcome = backend
            .write(vec![tenant("kept-not"), unmet])
            .await
            .unwrap();
        assert!(matches!(outcome, Written::Unmet { step: 1 }));
        backend.write(vec![tenant("kept")]).await.unwrap();
        assert!(!slugs(&backend).await.contains(&"kept-not".to_owned()));
        assert!(slugs(&backend).await.contains(&"kept".to_owned()));
    }

    #[tokio::test]
    async fn numbered_parameters_bind_by_number() {
        let (_dir, backend) = backend().await;
        let rows = backend
            .query(
                &Statement::new(
                    "SELECT $2 || $1 || $2",
                    vec![SqlValue::Text("a".into()), SqlValue::Text("b".into())],
                ),
                &[Column::Text],
            )
            .await
            .unwrap();
        assert_eq!(rows, vec![vec![Cell::Text("bab".into())]]);
    }

    /// `--sqlite-full-sync` reaches SQLite: FULL (2) instead of NORMAL (1). Every connection,
    /// the writer's included, is opened with the one setting `open` chose.
    #[tokio::test]
    async fn full_sync_makes_every_connection_synchronous_full() {
        for (full_sync, expected) in [(false, 1), (true, 2)] {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            let backend = SqliteBackend::open(&url, full_sync).await.unwrap();
            let rows = backend
                .query(
                    &Statement::new("PRAGMA synchronous", vec![]),
                    &[Column::Int],
                )
                .await
                .unwrap();
            assert_eq!(
                rows,
                vec![vec![Cell::Int(expected)]],
                "full_sync {full_sync}"
            );
        }
    }

    #[tokio::test]
    async fn in_memory_databases_are_refused_with_a_reason() {
        let error = SqliteBackend::open("sqlite::memory:", false)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("sqlite://PATH"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_checkpointer_copies_commits_into_the_database_file() {
        let (dir, backend) = backend().await;
        let file = dir.path().join("t.db");
        let before = std::fs::metadata(&file).unwrap().len();
        // Enough rows for new pages; the writer itself no longer checkpoints, so only the
        // checkpointer can make the database file grow while the backend is open.
        for round in 0..20 {
            let steps = (0..50)
                .map(|n| tenant(&format!("{round}-{n}-{}", "x".repeat(200))))
                .collect();
            backend.write(steps).await.unwrap();
        }
        // The checkpointer runs when it is next scheduled: each write nudges it again, and the
        // count of writes only keeps a broken checkpointer from hanging the suite.
        let mut nudges = 0;
        while std::fs::metadata(&file).unwrap().len() <= before {
            assert!(nudges < 10_000, "no checkpoint after {nudges} more commits");
            backend
                .write(vec![tenant(&format!("nudge-{nudges}"))])
                .await
                .unwrap();
            nudges += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(slugs(&backend).await.len(), 1000 + nudges);
    }

    /// See [`crate::sql::limit`]: a bound LIMIT made SQLite compile the page query again on
    /// every run.
    #[tokio::test]
    async fn planned_user_queries_are_compiled_once() {
        use crate::sql::Dialect;
        use crate::sql::users::{USER_COLUMNS, plan_query};
        use scim::list::Page;
        use scimd_core::store::UserQuery;

        let (dir, _backend) = backend().await;
        let connection = open_connection(&dir.path().join("t.db"), true, "NORMAL").unwrap();
        let filter = scim::Filter::parse_for(r#"userName eq "a@b.co""#, &scim::schema::USER);
        for page in [
            None,
            Some(Page::Cursor {
                cursor: None,
                count: 10,
            }),
            Some(Page::Index {
                start_index: 3,
                count: 10,
            }),
        ] {
            let query = UserQuery {
                filter: Some(filter.clone().unwrap()),
                page,
                ..UserQuery::default()
            };
            let planned = plan_query(
                Dialect::Sqlite,
                &crate::cursor_seal::CursorSeal::new(&[0; 32]),
                scimd_core::tenant::TenantId(1),
                &query,
                USER_COLUMNS,
            )
            .unwrap();
            for statement in planned.count.into_iter().chain(planned.rows) {
                for _ in 0..3 {
                    run(&connection, &statement, Some(&[])).unwrap();
                }
                let compiled_again = connection
                    .prepare_cached(&statement.sql)
                    .unwrap()
                    .get_status(rusqlite::StatementStatus::RePrepare);
                assert_eq!(compiled_again, 0, "{}", statement.sql);
            }
        }
    }

    /// The times the WAL started over, from its header (the checkpoint sequence number).
    fn wal_restarts(wal: &Path) -> u32 {
        let header = std::fs::read(wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    }

    /// Steady writing never leaves the WAL fully copied when a write begins; without the
    /// writer's own checkpoint past [`WAL_RESTART_FRAMES`], the WAL grew by every write (2.8 GB
    /// in a 20-second benchmark). Counted, not timed: big writes until the WAL is past the
    /// mark, then small ones, paced like a busy server's, until it starts over. How many that
    /// takes depends on when the checkpointer thread is scheduled, so their number only keeps
    /// a WAL that never starts over from hanging the suite; the small rows keep the file
    /// within its bound meanwhile. Twice, so the start-over is not a one-off.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_wal_starts_over_under_steady_writing() {
        let (dir, backend) = backend().await;
        let wal = dir.path().join("t.db-wal");
        let row = "x".repeat(3000);
        let mark = u64::try_from(WAL_RESTART_FRAMES * 4096).unwrap();
        backend.write(vec![tenant("first")]).await.unwrap();
        for start_over in 0..2 {
            let restarts_before = wal_restarts(&wal);
            // Every byte of a row is written to the WAL at least once.
            let mut written = 0;
            while written < mark {
                let steps = (0..100)
                    .map(|n| tenant(&format!("{start_over}-{written}-{n}-{row}")))
                    .collect();
                backend.write(steps).await.unwrap();
                written += 100 * u64::try_from(row.len()).unwrap();
            }
            let mut small = 0;
            while wal_restarts(&wal) == restarts_before {
                assert!(small < 20_000, "no start-over after {small} more writes");
                let steps = vec![tenant(&format!("{start_over}-small-{small}"))];
                backend.write(steps).await.unwrap();
                small += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let size = std::fs::metadata(&wal).unwrap().len();
            let bound = u64::try_from(2 * WAL_SIZE_LIMIT).unwrap();
            assert!(size < bound, "WAL of {size} bytes");
        }
    }
}
