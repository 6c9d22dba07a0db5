//! Per-backend migrations, append-only, embedded in the binary.

use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration::new(
            $version,
            $description.into(),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(include_str!($file)),
            false,
        )
    };
}

pub(crate) fn sqlite() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "initial", "../migrations/sqlite/0001_initial.sql"),
        migration!(2, "catalog", "../migrations/sqlite/0002_catalog.sql"),
        migration!(
            3,
            "user placement",
            "../migrations/sqlite/0003_user_placement.sql"
        ),
        migration!(4, "accounts", "../migrations/sqlite/0004_accounts.sql"),
        migration!(5, "activity", "../migrations/sqlite/0005_activity.sql"),
    ])
}

pub(crate) fn postgres() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "initial", "../migrations/postgres/0001_initial.sql"),
        migration!(2, "catalog", "../migrations/postgres/0002_catalog.sql"),
        migration!(
            3,
            "user placement",
            "../migrations/postgres/0003_user_placement.sql"
        ),
        migration!(4, "accounts", "../migrations/postgres/0004_accounts.sql"),
        migration!(5, "activity", "../migrations/postgres/0005_activity.sql"),
    ])
}
