//! The SQLite backend's own behaviour: group commit, abandoned reads, checkpoints.

use super::*;
use crate::backend::Cell;
use crate::sql::SqlValue;

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
    use scim::list::ListQuery;
    use scim::list::Page;

    let (dir, _backend) = backend().await;
    let connection = open_connection(&dir.path().join("t.db"), true, "NORMAL").unwrap();
    let filter = scim::Filter::parse_for(r#"userName eq "a@b.co""#, &scim::schema::USER);
    for page in [
        ListQuery::default().page,
        Page::Cursor {
            cursor: None,
            count: 10,
        },
        Page::Index {
            start_index: 3,
            count: 10,
        },
    ] {
        let query = ListQuery {
            filter: Some(filter.clone().unwrap()),
            page,
            ..ListQuery::default()
        };
        let planned = plan_query(
            Dialect::Sqlite,
            &crate::cursor_seal::CursorSeal::new(&[0; 32]),
            scimd_core::tenant::TenantId(1),
            &query,
            USER_COLUMNS,
            crate::sql::users::NameStart::First,
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
