//! For test suites (this crate's and the binary's): a fresh PostgreSQL database per run, so
//! tests never share state.

use sqlx::Executor;

/// Creates an empty database on the server of `admin_url` (whose user may create databases) and
/// returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, sqlx::Error> {
    let admin = sqlx::PgPool::connect(admin_url).await?;
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| sqlx::Error::Protocol(error.to_string()))?;
    let suffix: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let name = format!("scimd_test_{suffix}");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
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
