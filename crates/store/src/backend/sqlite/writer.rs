//! The writer thread: the writes waiting when it wakes are committed together, each in its
//! own savepoint, and answered after the commit.

use super::MAX_GROUP;
use super::checkpoints::{Checkpoints, checkpoint};
use super::codec::{commit_or_roll_back, control, run};
use crate::backend::{BackendError, Step, Written};
use rusqlite::Connection;
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;

pub(super) struct WriteJob {
    pub(super) steps: Vec<Step>,
    pub(super) reply: oneshot::Sender<Result<Written, BackendError>>,
}

pub(super) fn write_loop(
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

/// Runs each job in its own savepoint inside one transaction and commits once. A job whose
/// step fails or must affect a row and does not is rolled back to its savepoint alone.
pub(super) fn commit_together(
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

/// One job's steps, in order; `Unmet` as soon as a step that must affect a row does not.
pub(super) fn run_steps(connection: &Connection, steps: &[Step]) -> Result<Written, BackendError> {
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
