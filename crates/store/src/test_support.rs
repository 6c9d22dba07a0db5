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
