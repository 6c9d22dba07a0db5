//! Pages far into a listing sorted by userName start after a name anchor (`walks.rs`,
//! `sql/name_anchors.rs`) and give exactly what skipping rows gives, on both backends: for
//! all users and `active eq true`, ascending and descending, at offsets on and around anchors;
//! the anchors are the names of every 1,024th row; writes make them stale, pages stay right
//! meanwhile, and the eighth jump reads them again.

use crate::counted_pages::{assert_page, in_name_order, stores};
use crate::sql::counted::Counted;
use crate::walks::SortedListing;
use crate::{SqlStore, backend::Step};
use scim::Filter;
use scim::list::{ListQuery, Page, SortOrder};
use scim::schema::USER;
use scimd_core::tenant::TenantId;

/// Users created; every tenth is hidden, every seventh inactive.
const USERS: i64 = 50_000;
/// Makes a user's name from its number, in another order than its key.
const NAME_STEP: i64 = 7919;

/// Tenant 1 and its users `u<(n × NAME_STEP) mod USERS>`, id `id-<n>`, created in one
/// statement.
fn writes(sqlite: bool) -> Vec<Step> {
    let numbers = if sqlite {
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {USERS}) \
             SELECT n FROM g"
        )
    } else {
        format!("SELECT generate_series(1, {USERS}) AS n")
    };
    let name = format!("'u' || ((n * {NAME_STEP}) % {USERS})");
    let users = format!(
        "INSERT INTO users (pk, tenant_id, scim_id, user_name, user_name_ci, active, resource, \
         resource_ci, version, created_at, updated_at, state, managed_by, display_name, upn) \
         SELECT n, 1, 'id-' || n, {name}, {name}, true, '{{}}', '{{}}', 1, n, n, 'active', \
         'scim', 'u', 'u' FROM ({numbers}) AS numbers"
    );
    [
        "INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'one', 'one', 0)",
        &users,
        "UPDATE users SET active = false, state = 'preserved', preserved_by = 'idp', preserved_at = 0 \
         WHERE pk % 7 = 0",
        "UPDATE users SET scim_id = NULL WHERE pk % 10 = 0",
    ]
    .into_iter()
    .map(|sql| Step::run(sql, vec![]))
    .collect()
}

fn query(filter: Option<&str>, order: SortOrder, start_index: u64) -> ListQuery {
    ListQuery {
        filter: filter.map(|text| Filter::parse_for(text, &USER).expect("filter")),
        sort_by: Some(scim::list::sort_by("userName", &USER).expect("sortBy")),
        sort_order: order,
        page: Page::Index {
            start_index,
            count: 50,
        },
    }
}

/// The anchors `listing` should have: the folded userName of every 1,024th of its users.
async fn anchors_wanted(store: &SqlStore, active: Option<bool>, order: SortOrder) -> Vec<String> {
    let names = in_name_order(store, "user_name_ci", active, order).await;
    names.into_iter().skip(1023).step_by(1024).collect()
}

#[tokio::test]
async fn jumps_far_into_listings_sorted_by_user_name_start_after_name_anchors() {
    for (store, _dir) in stores().await {
        let sqlite = store.backend.dialect() == crate::sql::Dialect::Sqlite;
        store.backend.write(writes(sqlite)).await.expect("written");
        for (filter, active, counted) in [
            (None, None, Counted::All),
            (Some("active eq true"), Some(true), Counted::Active),
        ] {
            for order in [SortOrder::Ascending, SortOrder::Descending] {
                let listing = SortedListing::of(TenantId(1), counted, order);
                let all = in_name_order(&store, "scim_id", active, order).await;
                let total = all.len() as u64;
                assert!(total > 36_000, "{total} users");
                for start_index in [
                    16_385,
                    16_386,
                    20_000,
                    total / 2 - 1,
                    total / 2,
                    1024 * 20,
                    1024 * 20 + 1,
                    1024 * 21 - 1,
                    total - 16_434,
                ] {
                    assert_page(&store, 1, &query(filter, order, start_index), &all).await;
                }
                let anchors = anchors_wanted(&store, active, order).await;
                assert_eq!(store.walks.anchors_of(&listing), Some(anchors.clone()));
                // A user renamed to the front and one hidden: the anchors are stale; each jump
                // gives the right page all the same, and the eighth reads them again.
                let writes = [
                    format!(
                        "UPDATE users SET user_name_ci = 'a-{order:?}-{counted:?}' \
                         WHERE pk = (SELECT MAX(pk) FROM users WHERE scim_id IS NOT NULL AND active)"
                    ),
                    "UPDATE users SET scim_id = NULL WHERE pk = (SELECT MIN(pk) FROM users \
                     WHERE scim_id IS NOT NULL AND active)"
                        .to_owned(),
                ];
                let steps = writes.into_iter().map(|sql| Step::run(sql, vec![]));
                store.backend.write(steps.collect()).await.expect("written");
                let all = in_name_order(&store, "scim_id", active, order).await;
                for jump in 1..=8 {
                    let start_index = total / 2 + jump * 100;
                    assert_page(&store, 1, &query(filter, order, start_index), &all).await;
                    let kept = store.walks.anchors_of(&listing);
                    if jump < 8 {
                        assert_eq!(kept.as_ref(), Some(&anchors), "stale, kept at jump {jump}");
                    }
                }
                let anchors_now = anchors_wanted(&store, active, order).await;
                assert_ne!(anchors_now, anchors);
                assert_eq!(store.walks.anchors_of(&listing), Some(anchors_now));
            }
        }
    }
}
