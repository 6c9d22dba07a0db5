//! Domain outcomes. The binary renders each as an RFC 7644 error in one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A protocol error the client caused (bad filter, bad PATCH, invalid value, ...).
    #[error(transparent)]
    Scim(#[from] scim::Error),
    /// No such resource (for this tenant).
    #[error("{0}")]
    NotFound(String),
    /// Missing, malformed, unknown, expired or revoked credentials: one outcome, no oracle.
    #[error("authentication required")]
    Unauthorized,
    /// An authenticated admin asked for what its role or tenant does not allow (SPEC §7).
    #[error("{0}")]
    Forbidden(String),
    /// `If-Match` named a version that is not the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A unique value (userName, token name, tenant slug) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// Invalid input to an admin operation (CLI, admin API).
    #[error("{0}")]
    Invalid(String),
    /// Something on the server side failed (no random source, ...); logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database failed; details are logged, never sent to clients.
    #[error("storage failure: {0}")]
    Store(#[source] StoreError),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(detail) => Self::Conflict(detail),
            StoreError::Invalid(error) => Self::Scim(error),
            StoreError::InUse(what) => Self::Conflict(format!("it is still in use ({what})")),
            StoreError::ProfileFull => Self::Invalid("the profile is full".into()),
            other => Self::Store(other),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
