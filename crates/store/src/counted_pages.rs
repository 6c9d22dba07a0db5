//! Listings answered from the user counts (`sql/counted.rs`) give exactly what counting and
//! skipping rows gives: every page, at every offset, for every counted filter, after users of
//! two tenants were created across many blocks of keys, deactivated, hidden and deleted by the
//! writes the triggers watch. Checked against the users table itself, on both backends.

use crate::SqlStore;
use crate::backend::{Cell, Column, Step};
use crate::sql::Statement;
use scim::Filter;
use scim::list::{ListQuery, Page, SortOrder};
use scim::schema::USER;
use scimd_core::store::{AccountReads, AccountWrites};
use scimd_core::tenant::TenantId;

pub(crate) async fn stores() -> Vec<(SqlStore, Option<tempfile::TempDir>)> {
    crate::test_support::stores_on_both_backends("counted.db").await
}

/// 2,400 users of tenants 1 and 2 interleaved, keys 7 apart (16 blocks each), then a third
/// deactivated, every fifth hidden (its SCIM id gone, as R-34 does), every eleventh deleted,
/// and some hidden and deactivated ones back again: each statement runs the triggers for many rows at once.
fn writes(sqlite: bool) -> Vec<Step> {
    let numbers = if sqlite {
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2400) SELECT n FROM g"
    } else {
        "SELECT generate_series(1, 2400) AS n"
    };
    let user = format!(
        "INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, resource, \
         resource_ci, version, created_at, updated_at, state, managed_by, display_name, upn) \
         SELECT n * 7, 1 + n % 2, 'id-' || n, 'u' || n, 'u' || n, true, '{{}}', '{{}}', 1, n, n, \
         'active', 'scim', 'u' || n, 'u' || n FROM ({numbers}) AS numbers"
    );
    [
        "INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'one', 'one', 0), (2, 'two', 'two', 0)",
        &user,
        "UPDATE users SET active = false, state = 'preserved', preserved_by = 'idp', preserved_at = 0 \
         WHERE pk % 3 = 0",
        "UPDATE users SET scim_id = NULL WHERE pk % 5 = 0",
        "DELETE FROM users WHERE pk % 11 = 0",
        "UPDATE users SET scim_id = 'back-' || pk WHERE pk % 5 = 0 AND pk % 4 = 0",
        "UPDATE users SET active = true, state = 'active', preserved_by = NULL, preserved_at = NULL \
         WHERE pk % 3 = 0 AND pk % 4 = 0",
    ]
    .into_iter()
    .map(|sql| Step::run(sql, vec![]))
    .collect()
}

/// The condition on `users` that holds the listing of users with that value of `active`.
fn active_condition(active: Option<bool>) -> &'static str {
    match active {
        None => "",
        Some(true) => " AND active",
        Some(false) => " AND NOT active",
    }
}

/// The SCIM ids a listing holds, in key order, read from the users table.
async fn expected(store: &SqlStore, tenant: i64, active: Option<bool>) -> Vec<String> {
    let condition = active_condition(active);
    scim_ids(
        store,
        &format!(
            "SELECT scim_id FROM users WHERE tenant_id = {tenant} AND scim_id IS NOT NULL{condition} ORDER BY pk"
        ),
    )
    .await
}

/// The first column of `select`'s rows: SCIM ids, or another text.
pub(crate) async fn scim_ids(store: &SqlStore, select: &str) -> Vec<String> {
    let statement = Statement::new(select, vec![]);
    let rows = store
        .backend
        .query(&statement, &[Column::Text])
        .await
        .expect("scim ids");
    rows.into_iter().map(|mut row| row[0].take_text()).collect()
}

/// Reads tenant `tenant`'s page of `query` (index paging, 50 users) and checks it against
/// `all`, the listing read from the users table: the same users in order, and its length as
/// the total. How many users the page held.
pub(crate) async fn assert_page(
    store: &SqlStore,
    tenant: i64,
    query: &ListQuery,
    all: &[String],
) -> usize {
    let Page::Index { start_index, .. } = query.page else {
        panic!("index pages only");
    };
    let page = store
        .query_users(TenantId(tenant), query)
        .await
        .expect("page");
    let ids: Vec<&str> = page
        .users
        .iter()
        .map(|user| user.scim_id.as_str())
        .collect();
    let from = usize::try_from(start_index - 1)
        .unwrap_or(usize::MAX)
        .min(all.len());
    let wanted: Vec<&str> = all[from..].iter().take(50).map(String::as_str).collect();
    let context = format!("tenant {tenant}, {query:?}");
    assert_eq!(ids, wanted, "{context}");
    assert_eq!(page.total, all.len() as u64, "{context}");
    ids.len()
}

/// How many blocks' counts differ from a recount of the users table.
async fn blocks_miscounted(store: &SqlStore) -> i64 {
    let recount = Statement::new(
        "SELECT COUNT(*) FROM (SELECT tenant_id, pk / 1024 AS block, COUNT(*) AS visible, \
           SUM(CASE WHEN active THEN 1 ELSE 0 END) AS active \
           FROM users WHERE scim_id IS NOT NULL GROUP BY tenant_id, pk / 1024) AS t \
         FULL OUTER JOIN (SELECT tenant_id, block, SUM(visible) AS visible, SUM(active) AS active \
           FROM user_counts GROUP BY tenant_id, block HAVING SUM(visible) <> 0) AS c \
         USING (tenant_id, block) \
         WHERE t.visible IS DISTINCT FROM c.visible OR t.active IS DISTINCT FROM c.active",
        vec![],
    );
    let differing = store
        .backend
        .query(&recount, &[Column::Int])
        .await
        .expect("recount");
    differing[0].first().map(Cell::int).unwrap_or(-1)
}

#[tokio::test]
async fn counted_pages_are_the_pages_of_the_users_table() {
    for (store, _dir) in stores().await {
        let sqlite = store.backend.dialect() == crate::sql::Dialect::Sqlite;
        store.backend.write(writes(sqlite)).await.expect("written");
        for tenant in [1, 2] {
            for (filter, active) in [
                (None, None),
                (Some("active eq true"), Some(true)),
                (Some("active eq false"), Some(false)),
                (Some("active ne true"), Some(false)),
            ] {
                let all = expected(&store, tenant, active).await;
                assert!(all.len() > 100, "{} users", all.len());
                let total = all.len() as u64;
                for start_index in [
                    1,
                    2,
                    73,
                    74,
                    75,
                    146,
                    147,
                    148,
                    500,
                    total - 1,
                    total,
                    total + 1,
                    99_999,
                ] {
                    let query = ListQuery {
                        filter: filter.map(|text| Filter::parse_for(text, &USER).expect("filter")),
                        page: Page::Index {
                            start_index,
                            count: 50,
                        },
                        ..ListQuery::default()
                    };
                    assert_page(&store, tenant, &query, &all).await;
                }
            }
        }
        assert_eq!(blocks_miscounted(&store).await, 0);
    }
}

/// `column` (text) of tenant 1's users (`active`: those with that value only) in userName
/// order, read from the users table.
pub(crate) async fn in_name_order(
    store: &SqlStore,
    column: &str,
    active: Option<bool>,
    order: SortOrder,
) -> Vec<String> {
    let direction = match order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    let collate = match store.backend.dialect() {
        crate::sql::Dialect::Sqlite => "",
        crate::sql::Dialect::Postgres => " COLLATE \"C\"",
    };
    let condition = active_condition(active);
    scim_ids(
        store,
        &format!(
            "SELECT {column} FROM users WHERE tenant_id = 1 AND scim_id IS NOT NULL{condition} \
             ORDER BY user_name_ci{collate} {direction}"
        ),
    )
    .await
}

/// A walk sorted by userName continues after the last page's name (`walks.rs`) and gives what
/// skipping rows gives, page after page, also when a user is renamed, created or hidden in
/// the middle of the walk (the next page then starts where skipping says); a jump past the
/// middle, read backwards, gives the same page; a cursor walk sorted by userName sees every
/// user once, in order.
#[tokio::test]
async fn walks_sorted_by_user_name_are_the_pages_of_the_users_table() {
    for (store, _dir) in stores().await {
        let sqlite = store.backend.dialect() == crate::sql::Dialect::Sqlite;
        store.backend.write(writes(sqlite)).await.expect("written");
        let query = |order: SortOrder, page: Page| ListQuery {
            sort_by: Some(scim::list::sort_by("userName", &USER).expect("sortBy")),
            sort_order: order,
            page,
            ..ListQuery::default()
        };
        // Writes in the middle of each walk: a rename to the front, a create, a user hidden.
        let meanwhile = |walk: usize| {
            [
                format!(
                    "UPDATE users SET user_name = 'a-renamed-{walk}', user_name_ci = 'a-renamed-{walk}' \
                     WHERE pk = (SELECT MAX(pk) FROM users WHERE tenant_id = 1 AND scim_id IS NOT NULL)"
                ),
                format!(
                    "INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, resource, \
                     resource_ci, version, created_at, updated_at, state, managed_by, display_name, upn) \
                     VALUES (9999{walk}, 1, 'new-{walk}', 'u0-{walk}', 'u0-{walk}', true, '{{}}', '{{}}', 1, 0, 0, \
                     'active', 'scim', 'u0', 'u0')"
                ),
                "UPDATE users SET scim_id = NULL WHERE pk = (SELECT MIN(pk) FROM users \
                 WHERE tenant_id = 1 AND scim_id IS NOT NULL)"
                    .to_owned(),
            ]
        };
        for (walk, order) in [SortOrder::Ascending, SortOrder::Descending]
            .into_iter()
            .enumerate()
        {
            let meanwhile = meanwhile(walk);
            let mut start_index = 1;
            let mut pages = 0;
            loop {
                if pages % 4 == 3 && pages / 4 < meanwhile.len() {
                    let write = Step::run(meanwhile[pages / 4].clone(), vec![]);
                    store.backend.write(vec![write]).await.expect("meanwhile");
                }
                let all = in_name_order(&store, "scim_id", None, order).await;
                let page = Page::Index {
                    start_index,
                    count: 50,
                };
                let held = assert_page(&store, 1, &query(order, page), &all).await;
                if held == 0 {
                    break;
                }
                start_index += held as u64;
                pages += 1;
            }
            assert!(pages > 12, "{pages} pages");
            let all = in_name_order(&store, "scim_id", None, order).await;
            // Jumps past the middle are read backwards from the last name: the same pages.
            let total = all.len() as u64;
            for start_index in [
                total / 2,
                total / 2 + 1,
                total * 3 / 4,
                total - 49,
                total - 1,
                total,
            ] {
                let page = Page::Index {
                    start_index,
                    count: 50,
                };
                assert_page(&store, 1, &query(order, page), &all).await;
            }
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = Page::Cursor { cursor, count: 70 };
                let found = store
                    .query_users(TenantId(1), &query(order, page))
                    .await
                    .expect("page");
                seen.extend(found.users.into_iter().map(|user| user.scim_id));
                cursor = found.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(seen, all, "{order:?} by cursor");
        }
    }
}

/// Tidying (PostgreSQL: each block's rows of writing sessions merged into slot 0) changes no
/// count and no page: with rows of several sessions in place, every page and total is the
/// same after it, the changes count too, and only slot 0 is left.
#[tokio::test]
async fn tidying_the_counts_changes_no_page() {
    for (store, _dir) in stores().await {
        let sqlite = store.backend.dialect() == crate::sql::Dialect::Sqlite;
        let mut steps = writes(sqlite);
        if !sqlite {
            // Rows as other sessions leave them: their sums cancel out but for `changes`.
            steps.push(Step::run(
                "INSERT INTO user_counts (tenant_id, block, slot, visible, active, changes) \
                 VALUES (1, 0, 5, 3, 2, 7), (1, 0, 9, -3, -2, 1), (2, 3, 16, 0, 0, 4)",
                vec![],
            ));
        }
        store.backend.write(steps).await.expect("written");
        let sums = Statement::new(
            "SELECT CAST(SUM(visible) AS BIGINT), CAST(SUM(active) AS BIGINT), \
             CAST(SUM(changes) AS BIGINT), CAST(MAX(slot) AS BIGINT) FROM user_counts",
            vec![],
        );
        let columns = [Column::Int, Column::Int, Column::Int, Column::Int];
        let before = store.backend.query(&sums, &columns).await.expect("sums");
        let pages = |store: &SqlStore| {
            let store = store.clone();
            async move {
                let mut pages = Vec::new();
                for start_index in [1, 74, 300, 700] {
                    let query = ListQuery {
                        page: Page::Index {
                            start_index,
                            count: 50,
                        },
                        ..ListQuery::default()
                    };
                    let page = store.query_users(TenantId(1), &query).await.expect("page");
                    let ids: Vec<String> =
                        page.users.into_iter().map(|user| user.scim_id).collect();
                    pages.push((page.total, ids));
                }
                pages
            }
        };
        let pages_before = pages(&store).await;
        store.tidy_user_counts().await.expect("tidied");
        let after = store.backend.query(&sums, &columns).await.expect("sums");
        assert_eq!(pages(&store).await, pages_before);
        assert_eq!(after[0][..3], before[0][..3]);
        assert_eq!(after[0][3].int(), 0, "only slot 0 is left");
        if !sqlite {
            assert!(
                before[0][3].int() >= 16,
                "rows of sessions were there to tidy"
            );
        }
    }
}

/// Writers in many sessions at once, and tidying beside them, over and over: the counts stay
/// what a recount gives.
#[tokio::test]
async fn counts_stay_exact_while_sessions_write_and_tidying_runs() {
    for (store, _dir) in stores().await {
        let tenant = Step::run(
            "INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'one', 'one', 0)",
            vec![],
        );
        store.backend.write(vec![tenant]).await.expect("tenant");
        let writer = |worker: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..40 {
                    let pk = 1 + worker * 40 + n;
                    let sql = format!(
                        "INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, \
                         resource, resource_ci, version, created_at, updated_at, state, managed_by, \
                         display_name, upn) VALUES ({pk}, 1, 'id-{pk}', 'u{pk}', 'u{pk}', true, '{{}}', \
                         '{{}}', 1, 0, 0, 'active', 'scim', 'u', 'u')"
                    );
                    let mut steps = vec![Step::run(sql, vec![])];
                    if n % 3 == 0 {
                        steps.push(Step::run(
                            format!("UPDATE users SET scim_id = NULL WHERE pk = {}", pk - 1),
                            vec![],
                        ));
                    }
                    store.backend.write(steps).await.expect("write");
                }
            })
        };
        let writers: Vec<_> = (0..8).map(writer).collect();
        let tidier = {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    store.tidy_user_counts().await.expect("tidied");
                }
            })
        };
        for task in writers.into_iter().chain([tidier]) {
            task.await.expect("task");
        }
        assert_eq!(blocks_miscounted(&store).await, 0);
        store.tidy_user_counts().await.expect("tidied");
        assert_eq!(blocks_miscounted(&store).await, 0);
    }
}
