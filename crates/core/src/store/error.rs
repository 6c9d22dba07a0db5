//! Storage failures, as the domain needs to tell them apart.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (userName, token name, tenant slug).
    #[error("{0}")]
    Conflict(String),
    /// The row is still referenced (a profile or storage a mapping uses).
    #[error("still in use ({0})")]
    InUse(String),
    /// The query cannot run as asked (a filter the database cannot express, a foreign cursor).
    #[error(transparent)]
    Invalid(scim::Error),
    /// The account's profile already holds its `max_users` (checked under a lock, so racing
    /// creates cannot overfill it).
    #[error("the profile is full")]
    ProfileFull,
    /// The row changed since it was read (optimistic concurrency).
    #[error("the record changed concurrently")]
    VersionMismatch,
    /// The database itself failed.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;
