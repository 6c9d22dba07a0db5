//! # scimd-store: the `Store` on SQLite and PostgreSQL
//!
//! [`connect`] picks the backend from the URL scheme (`sqlite:` or `postgres:`), applies
//! pending migrations, and returns a [`SqlStore`]. Each aggregate's store trait is
//! implemented once, in its own module, over SQL that both backends run; the backends differ
//! only in how they connect and run statements (`backend`), and in a few SQL spellings
//! (`sql::Dialect`).
//!
//! # Layout
//! - [`sql_store`]: the store over a backend, and the read and write helpers every module uses.
//! - `tenants`, `tokens`, `accounts` (reads and writes), `catalog`, `activity`, `admins`, `mail`:
//!   one aggregate's store traits each.
//! - `sql`: shared statements, the filter-to-SQL lowering, the dialect differences.
//! - `backend`: SQLite (WAL, one writer, read-only readers) and PostgreSQL pools.
//! - `cursor_seal`: list cursors sealed with the database's key.
//! - `tenant_shares`: each tenant's fair share of the long reads.
//! - `migrations`: per-backend SQL, append-only, embedded in the binary.
//! - [`test_support`]: the PostgreSQL server tests use, and how they say they skipped it.

mod accounts;
mod activity;
mod admins;
mod backend;
mod catalog;
mod clients;
#[cfg(test)]
mod counted_pages;
mod cursor_seal;
mod deliveries;
mod feed;
mod mail;
mod migrations;
#[cfg(test)]
mod name_jumps;
#[cfg(test)]
mod query_plans;
mod server_keys;
mod sql;
pub mod sql_store;
mod tenant_shares;
mod tenants;
pub mod test_support;
mod tokens;
mod walks;
mod webhooks;

pub use sql_store::SqlStore;

use backend::{Backend, PostgresBackend, SqliteBackend};

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedScheme(String),
    #[error("cannot open the database at {url}")]
    Open {
        url: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Options that only some backends use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Durability {
    /// SQLite `synchronous=FULL` (survives power loss) instead of `NORMAL` (survives a crash of
    /// the process).
    pub sqlite_full_sync: bool,
}

/// Opens the database named by `url` and applies pending migrations.
pub async fn connect(url: &str, durability: Durability) -> Result<SqlStore, ConnectError> {
    let opened = if url.starts_with("sqlite:") {
        SqliteBackend::open(url, durability.sqlite_full_sync)
            .await
            .map(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        PostgresBackend::open(url).await.map(Backend::Postgres)
    } else {
        return Err(ConnectError::UnsupportedScheme(redact_password(url)));
    };
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| ConnectError::Open {
        url: redact_password(url),
        source,
    };
    match opened {
        Ok(backend) => SqlStore::open(backend)
            .await
            .map_err(|error| failed(Box::new(error))),
        Err(error) => Err(failed(Box::new(error))),
    }
}

/// The URL with any password replaced by `***`, for logs and error messages: the one in the
/// user-info part, and query parameters such as PostgreSQL's `password` and `sslpassword`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.to_ascii_lowercase().ends_with("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_password("postgres://scimd:s3cret@db:5432/scimd"),
            "postgres://scimd:***@db:5432/scimd"
        );
        assert_eq!(
            redact_password("postgres://scimd@db/scimd"),
            "postgres://scimd@db/scimd"
        );
        assert_eq!(
            redact_password("sqlite://./scimd-data/scimd.db"),
            "sqlite://./scimd-data/scimd.db"
        );
        assert_eq!(
            redact_password("postgres://db/scimd?user=scimd&password=s3cret&sslmode=require"),
            "postgres://db/scimd?user=scimd&password=***&sslmode=require"
        );
        assert_eq!(
            redact_password("postgres://u:p@db/scimd?sslpassword=k3y"),
            "postgres://u:***@db/scimd?sslpassword=***"
        );
    }
}
