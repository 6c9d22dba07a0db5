//! For test suites (this crate's and the binary's): a fresh PostgreSQL database per run, so
//! tests never share state.

use sqlx::Executor;

/// Creates an empty database on the server of `admin_url` (whose user may create databases) and
/// returns its URL. Its name carries this process's id, so that the first call in a later
/// process drops it: test runs leave no databases behind to fill the server's disk.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, sqlx::Error> {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let admin = sqlx::PgPool::connect(admin_url).await?;
    SWEPT
        .get_or_init(|| drop_databases_of_ended_runs(&admin))
        .await;
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| sqlx::Error::Protocol(error.to_string()))?;
    let suffix: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let name = format!("{TEST_DATABASE_PREFIX}{}_{suffix}", std::process::id());
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

const TEST_DATABASE_PREFIX: &str = "scimd_test_";

/// Drops the test databases of processes that have ended. Best effort: a database another
/// process drops at the same moment, or one still open, is left for the next run. Where
/// `/proc` does not tell which processes live, nothing is dropped.
async fn drop_databases_of_ended_runs(admin: &sqlx::PgPool) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(TEST_DATABASE_PREFIX)
            .fetch_all(admin)
            .await
            .unwrap_or_default();
    for name in names {
        let Some(pid) = name
            .strip_prefix(TEST_DATABASE_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await;
    }
}

/// A store on a temp-file SQLite database (`file` in a directory that lives as long as the
/// returned guard), and one on a fresh PostgreSQL database when the environment has a server.
#[cfg(test)]
pub(crate) async fn stores_on_both_backends(
    file: &str,
) -> Vec<(crate::SqlStore, Option<tempfile::TempDir>)> {
    let durability = crate::Durability::default();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join(file).display());
    let sqlite = crate::connect(&url, durability).await.expect("sqlite");
    let mut stores = vec![(sqlite, Some(dir))];
    if let Some(admin_url) = postgres_admin_url() {
        let url = fresh_postgres_database(&admin_url)
            .await
            .expect("fresh database");
        let postgres = crate::connect(&url, durability).await.expect("postgres");
        stores.push((postgres, None));
    }
    stores
}

/// The PostgreSQL server test cases run on (`SCIMD_TEST_POSTGRES_URL`, a URL whose user may
/// create databases), or `None` without one: see [`skipped_unless_ci`].
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("SCIMD_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        skipped_unless_ci("PostgreSQL cases", "SCIMD_TEST_POSTGRES_URL is not set");
    }
    url
}

/// Says that `what` did not run, and `why`. Under CI (`CI` set) it panics instead, so a case CI
/// must run cannot pass by not running. Elsewhere the note goes straight to stderr, once per
/// test binary: `cargo test` hides what a passing test prints, and a skip must not look like a
/// pass.
pub fn skipped_unless_ci(what: &str, why: &str) {
    use std::io::Write;
    use std::sync::Mutex;
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());

    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the {what}: {why}"
    );
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.iter().any(|done| done == what) {
        said.push(what.to_owned());
        let binary = std::env::args().next().unwrap_or_default();
        // Written to the stream itself, past the test harness's capture of `eprintln!`.
        let _ = writeln!(std::io::stderr(), "\nSKIPPED {what} of {binary}: {why}");
    }
}
