//! SPEC §3: `userName`, `externalId`, `id` and `emails.value` lookups use indexes, never a scan
//! of the users table, on both backends. Checked on the real query plans.

use crate::SqlStore;
use crate::backend::{Column, Step, Written};
use crate::sql::Statement;
use crate::sql::name_anchors::anchors_statement;
use crate::sql::users::{USER_COLUMNS, plan_query};
use scim::Filter;
use scim::list::ListQuery;
use scim::list::Page;
use scim::schema::USER;
use scimd_core::tenant::TenantId;

/// Each lookup and the index that must serve it (SQLite name, PostgreSQL name).
const LOOKUPS: [(&str, [&str; 2]); 5] = [
    (
        r#"userName eq "bjensen@example.com""#,
        ["users_by_user_name", "users_by_user_name"],
    ),
    (
        r#"externalId eq "701984""#,
        ["users_by_external_id", "users_by_external_id"],
    ),
    (
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        ["users_by_scim_id", "users_scim_id_key"],
    ),
    (
        r#"emails.value eq "bjensen@example.com""#,
        [
            "user_emails_by_value (tenant_id=? AND value_ci=?)",
            "user_emails_by_value",
        ],
    ),
    // Entra's matching query with the reference check: the id index still leads.
    (
        r#"id eq "2819c223" and manager eq "26118915""#,
        ["users_by_scim_id", "users_scim_id_key"],
    ),
];

async fn stores() -> Vec<(SqlStore, Option<tempfile::TempDir>)> {
    let stores = crate::test_support::stores_on_both_backends("plans.db").await;
    for (store, _) in &stores {
        if store.backend.dialect() == crate::sql::Dialect::Postgres {
            seed_and_analyze(store).await;
        }
    }
    stores
}

/// PostgreSQL plans by statistics: give it a tenant of realistic size to plan for.
async fn seed_and_analyze(store: &SqlStore) {
    let steps = [
        Step::run(
            "INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'plans', 'plans', 0)",
            vec![],
        ),
        Step::run(
            "INSERT INTO users (tenant_id, scim_id, user_name, user_name_ci, external_id, active, resource, \
             resource_ci, version, created_at, updated_at, state, managed_by, display_name, upn) \
             SELECT 1, 'id-' || g, 'u' || g || '@example.com', 'u' || g || '@example.com', 'ext-' || g, true, \
             '{}', '{}'::jsonb, 1, g, g, 'active', 'scim', 'u' || g, 'u' || g \
             FROM generate_series(1, 5000) AS g",
            vec![],
        ),
        Step::run(
            "INSERT INTO user_emails (user_pk, tenant_id, value_ci) SELECT pk, 1, user_name_ci FROM users",
            vec![],
        ),
        Step::run("ANALYZE users", vec![]),
        Step::run("ANALYZE user_emails", vec![]),
    ];
    store.backend.write(steps.to_vec()).await.expect("seeded");
}

/// The plan's lines: SQLite's `EXPLAIN QUERY PLAN` details, PostgreSQL's `EXPLAIN` with
/// sequential scans disabled (so a usable index is always taken, even on an empty table).
async fn plan(store: &SqlStore, statement: &Statement) -> Vec<String> {
    let explain = Statement {
        sql: format!("EXPLAIN {}", statement.sql),
        params: statement.params.clone(),
    };
    match store.backend.dialect() {
        crate::sql::Dialect::Sqlite => {
            let query_plan = Statement {
                sql: format!("EXPLAIN QUERY PLAN {}", statement.sql),
                ..explain
            };
            let columns = [Column::Int, Column::Int, Column::Int, Column::Text];
            let rows = store
                .backend
                .query(&query_plan, &columns)
                .await
                .expect("plan");
            rows.into_iter().map(|mut row| row[3].take_text()).collect()
        }
        crate::sql::Dialect::Postgres => {
            let steps = [
                Step::run("SET LOCAL enable_seqscan = off", vec![]),
                Step {
                    statement: explain,
                    returning: Some(vec![Column::Text]),
                    must_affect: false,
                },
            ];
            match store.backend.write(steps.to_vec()).await.expect("plan") {
                Written::Committed(mut rows) => rows
                    .remove(1)
                    .into_iter()
                    .map(|mut row| row[0].take_text())
                    .collect(),
                Written::Unmet { .. } => Vec::new(),
            }
        }
    }
}

fn scans_users(line: &str) -> bool {
    let line = line.to_ascii_lowercase();
    line.starts_with("scan u") || line.contains("seq scan on users")
}

#[tokio::test]
async fn indexed_lookups_never_scan_the_users_table() {
    for (store, _dir) in stores().await {
        let postgres = store.backend.dialect() == crate::sql::Dialect::Postgres;
        for (text, indexes) in LOOKUPS {
            let index = indexes[usize::from(postgres)];
            let filter = Filter::parse_for(text, &USER).expect("valid filter");
            let query = ListQuery {
                filter: Some(filter),
                page: Page::Index {
                    start_index: 1,
                    count: 10,
                },
                ..ListQuery::default()
            };
            let planned = planned(&store, &query);
            let statements = [planned.count.as_ref(), planned.rows.as_ref()];
            for statement in statements.into_iter().flatten() {
                let lines = plan(&store, statement).await;
                let plan = lines.join("\n");
                assert!(
                    !lines.iter().any(|line| scans_users(line)),
                    "{text} scans users:\n{plan}"
                );
                assert!(plan.contains(index), "{text} does not use {index}:\n{plan}");
            }
        }
    }
}

/// The statements of a listing of tenant 1.
fn planned(store: &SqlStore, query: &ListQuery) -> crate::sql::users::PlannedQuery {
    plan_query(
        store.backend.dialect(),
        &store.cursors,
        TenantId(1),
        query,
        USER_COLUMNS,
        crate::sql::users::NameStart::First,
    )
    .expect("planned")
}

/// A SCIM listing (no filter, or only `active`) never scans the users table, and never counts
/// it: its total comes from the tenant's user counts, and its page scans the tenant's index
/// from the first key of the block where the page starts. On SQLite the index alone says which
/// accounts are SCIM-visible.
#[tokio::test]
async fn listings_start_from_the_user_counts() {
    for (store, _dir) in stores().await {
        let sqlite = store.backend.dialect() == crate::sql::Dialect::Sqlite;
        for filter in [None, Some("active eq true")] {
            let query = ListQuery {
                filter: filter.map(|text| Filter::parse_for(text, &USER).expect("valid filter")),
                page: Page::Index {
                    start_index: 5001,
                    count: 100,
                },
                ..ListQuery::default()
            };
            let planned = planned(&store, &query);
            let count = planned.count.as_ref().expect("a count");
            assert!(count.sql.contains("FROM user_counts"), "{}", count.sql);
            assert!(!count.sql.contains("users u"), "{}", count.sql);
            let rows = planned.rows.as_ref().expect("a page");
            assert!(
                rows.sql.contains("u.pk >= (SELECT first_key"),
                "{}",
                rows.sql
            );
            let count = plan(&store, count).await.join("\n");
            let rows = plan(&store, rows).await.join("\n");
            for plan in [&count, &rows] {
                assert!(!plan.lines().any(scans_users), "{plan}");
            }
            // PostgreSQL chooses among the tenant's indexes by cost.
            if sqlite && filter.is_none() {
                assert!(
                    rows.contains("INDEX users_by_tenant (tenant_id=? AND pk>?)"),
                    "{rows}"
                );
            }
        }
    }
}

/// A page sorted by userName, far into the directory, skips rows through the index of visible
/// users by name alone: it neither sorts nor reads the rows it skips.
#[tokio::test]
async fn pages_sorted_by_user_name_skip_through_the_name_index() {
    for (store, _dir) in stores().await {
        let query = ListQuery {
            sort_by: Some(scim::list::sort_by("userName", &USER).expect("sortBy")),
            page: Page::Index {
                start_index: 4001,
                count: 100,
            },
            ..ListQuery::default()
        };
        let planned = planned(&store, &query);
        let rows = plan(&store, planned.rows.as_ref().expect("a page")).await;
        let rows = rows.join("\n");
        assert!(rows.contains("users_listed_by_name"), "{rows}");
        assert!(!rows.to_ascii_lowercase().contains("sort"), "{rows}");
    }
}

/// Name anchors are read through the index of visible users by name alone (no users row is
/// read: the index holds `active`), each from the one before it, without a sort, for both
/// directions, of all users and of `active eq true`; a page after an anchor reads the same
/// index.
#[tokio::test]
async fn name_anchors_are_read_through_the_name_index() {
    for (store, _dir) in stores().await {
        for filter in [None, Some("active eq true")] {
            for sort_order in [
                scim::list::SortOrder::Ascending,
                scim::list::SortOrder::Descending,
            ] {
                let query = ListQuery {
                    filter: filter
                        .map(|text| Filter::parse_for(text, &USER).expect("valid filter")),
                    sort_by: Some(scim::list::sort_by("userName", &USER).expect("sortBy")),
                    sort_order,
                    page: Page::Index {
                        start_index: 4001,
                        count: 100,
                    },
                };
                let dialect = store.backend.dialect();
                let anchors = anchors_statement(dialect, TenantId(1), &query).expect("anchors");
                let after_anchor = plan_query(
                    dialect,
                    &store.cursors,
                    TenantId(1),
                    &query,
                    USER_COLUMNS,
                    crate::sql::users::NameStart::After {
                        name: "u2047",
                        skip: 900,
                    },
                )
                .expect("planned");
                assert!(
                    !reads_user_rows(&store, &anchors).await,
                    "{filter:?}: {}",
                    anchors.sql
                );
                for statement in [&anchors, after_anchor.rows.as_ref().expect("a page")] {
                    let plan = plan(&store, statement).await.join("\n");
                    assert!(plan.contains("users_listed_by_name"), "{filter:?}: {plan}");
                    assert!(
                        !plan.to_ascii_lowercase().contains("sort"),
                        "{filter:?}: {plan}"
                    );
                    assert!(!plan.lines().any(scans_users), "{filter:?}: {plan}");
                }
            }
        }
    }
}

/// Whether `statement` reads rows of the users table, not only its indexes: on PostgreSQL, a
/// plan with a scan of users other than an index-only one; on SQLite, a program that reads a
/// column through a cursor on the users table (its plan says "covering" only when no column
/// outside the index is named, even one the partial index's condition settles).
async fn reads_user_rows(store: &SqlStore, statement: &Statement) -> bool {
    match store.backend.dialect() {
        crate::sql::Dialect::Postgres => plan(store, statement).await.iter().any(|line| {
            let line = line.to_ascii_lowercase();
            line.contains(" on users ") && !line.contains("index only scan")
        }),
        crate::sql::Dialect::Sqlite => {
            let root = Statement {
                sql: "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'users'"
                    .into(),
                params: crate::sql::Params::default(),
            };
            let root = store
                .backend
                .query(&root, &[Column::Int])
                .await
                .expect("root");
            let root = root[0][0].int();
            let explain = Statement {
                sql: format!("EXPLAIN {}", statement.sql),
                params: statement.params.clone(),
            };
            // addr, opcode, p1, p2, p3, p4, p5, comment
            let columns = [
                Column::Int,
                Column::Text,
                Column::Int,
                Column::Int,
                Column::Int,
                Column::OptText,
                Column::Int,
                Column::OptText,
            ];
            let program: Vec<(String, i64, i64)> = store
                .backend
                .query(&explain, &columns)
                .await
                .expect("program")
                .into_iter()
                .map(|mut row| (row[1].take_text(), row[2].int(), row[3].int()))
                .collect();
            let users_cursors: Vec<i64> = program
                .iter()
                .filter(|(opcode, _, p2)| opcode == "OpenRead" && *p2 == root)
                .map(|(_, p1, _)| *p1)
                .collect();
            program
                .iter()
                .any(|(opcode, p1, _)| opcode == "Column" && users_cursors.contains(p1))
        }
    }
}
