//! WAL checkpoints on a thread of their own, nudged by the writer after each commit.

use super::{CATCH_UP_ROUNDS, CHECKPOINT_PAUSE, RESTART_LEFTOVER_FRAMES, WAL_RESTART_FRAMES};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How the writer and the checkpointer talk: a nudge after each commit, and a flag raised when
/// the WAL is long enough to start over.
pub(super) struct Checkpoints {
    pub(super) nudge: flume::Sender<()>,
    pub(super) restart_due: Arc<AtomicBool>,
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
pub(super) fn checkpoint_loop(
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
pub(super) fn checkpoint(connection: &Connection) -> Option<i64> {
    let frames = connection
        .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
        .and_then(|mut statement| statement.query_row([], |row| row.get(1)));
    frames
        .inspect_err(|error| {
            tracing::warn!(%error, "a WAL checkpoint failed; the next commit brings another");
        })
        .ok()
}
