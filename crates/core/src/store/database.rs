//! What the database itself offers beyond the aggregates: shared read scopes and a health check.

use super::StoreResult;
use std::future::Future;

/// The database as a whole.
pub trait Database {
    /// Runs `work` with its point reads sharing one read transaction where the database makes
    /// that cheaper than a transaction per read (SQLite), for a request that reads a token and
    /// then a user. A write, or a longer read, inside `work` ends the shared transaction first:
    /// what `work` reads after its own write sees that write. A scope inside another joins it.
    fn read_scope<F>(&self, work: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send,
        F::Output: Send;

    /// Whether the database answers (for `/readyz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;
}
