//! `scimd user | report | activity` end to end against a real database: SQLite always,
//! PostgreSQL when `SCIMD_TEST_POSTGRES_URL` is set (SPEC §4, §7).

use crate::common;

use crate::common::cli::Cli;

use serde_json::{Value, json};
use std::process::Command;

#[tokio::test]
async fn manual_users_import_preserve_activate_delete_reports_and_activity() {
    for (backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        cli.ok(&["profile", "create", "Small", "--max-users", "2"]);
        cli.ok(&[
            "user",
            "create",
            "ann@example.com",
            "--name",
            "Ann <A>",
            "--profile",
            "Default",
            "--storage",
            "Default",
        ]);
        let again = cli.fails(&[
            "user",
            "create",
            "ANN@example.com",
            "--name",
            "Ann",
            "--profile",
            "Default",
            "--storage",
            "Default",
        ]);
        assert!(again.contains("already exists"), "{backend}: {again}");

        // All or nothing: a bad line, a duplicate, or a full profile refuses the whole file.
        let bad = cli.file(
            "bad.csv",
            "email,name,profile,storage\nbob@example.com,Bob,Default,Default\nnot-an-email,X,Default,Default\n",
        );
        let error = cli.fails(&["user", "import", &bad]);
        assert!(error.contains("line 3"), "{backend}: {error}");
        assert!(error.contains("nothing was imported"), "{backend}: {error}");
        let twice = cli.file(
            "twice.csv",
            "Email,Name,Profile,Storage\nbob@example.com,Bob,Default,Default\nBOB@example.com,Bob,Default,Default\n",
        );
        assert!(cli.fails(&["user", "import", &twice]).contains("line 3"));
        let full = cli.file(
            "full.csv",
            "email,name,profile,storage\nc1@example.com,C,Small,Default\nc2@example.com,C,Small,Default\nc3@example.com,C,Small,Default\n",
        );
        assert!(cli.fails(&["user", "import", &full]).contains("'Small'"));
        let accounts = cli.json(&["user", "list", "--format", "json"]);
        assert_eq!(
            accounts.as_array().unwrap().len(),
            1,
            "{backend}: nothing imported"
        );

        let good = cli.file(
            "good.csv",
            "name,email,storage,profile\n\"Bob, Jr\",bob@example.com,Default,Default\nCid,cid@example.com,Default,Small\n",
        );
        cli.ok(&["user", "import", &good]);
        let csv = cli.ok(&["user", "list", "--format", "csv"]);
        assert_eq!(
            csv.lines().count(),
            4,
            "{backend}: header and three accounts\n{csv}"
        );
        assert!(
            csv.contains("\"Bob, Jr\",bob@example.com"),
            "{backend}: {csv}"
        );
        let small = cli.json(&["user", "list", "--profile", "small", "--format", "json"]);
        assert_eq!(small[0]["email"], "cid@example.com", "{backend}");

        let shown = cli.json(&["user", "show", "ann@example.com", "--format", "json"]);
        assert_eq!(shown["name"], "Ann _A_", "{backend}: R-41");
        assert_eq!(shown["managed_by"], "manual");
        assert_eq!(shown["state"], "active");
        assert_eq!(shown["scim_id"], Value::Null);

        cli.ok(&["user", "preserve", "ann@example.com"]);
        let shown = cli.json(&["user", "show", "ann@example.com", "--format", "json"]);
        assert_eq!(shown["state"], "preserved", "{backend}");
        assert_eq!(shown["preserved_by"], "admin", "{backend}");
        let preserved = cli.json(&["report", "preserved", "--format", "json"]);
        assert_eq!(preserved.as_array().unwrap().len(), 1, "{backend}");
        assert_eq!(preserved[0]["preserved_by"], "admin");
        let active = cli.json(&["user", "list", "--state", "active", "--format", "json"]);
        assert_eq!(active.as_array().unwrap().len(), 2, "{backend}");
        cli.ok(&["user", "activate", "ann@example.com"]);
        assert!(
            cli.json(&["report", "preserved", "--format", "json"])
                .as_array()
                .unwrap()
                .is_empty()
        );
        let report = cli.ok(&["report", "provisioning"]);
        assert!(report.starts_with("USER"), "{backend}: {report}");
        assert_eq!(report.lines().count(), 4, "{backend}: {report}");

        let no_reason = cli.fails(&["user", "delete", "cid@example.com"]);
        assert!(no_reason.contains("--reason"), "{backend}: {no_reason}");
        cli.ok(&[
            "user",
            "delete",
            "cid@example.com",
            "--reason",
            "left the company",
        ]);
        let gone = cli.fails(&["user", "show", "cid@example.com"]);
        assert!(gone.contains("no account"), "{backend}: {gone}");

        let events = cli.json(&["activity", "--since", "1h", "--format", "json"]);
        let events = events.as_array().unwrap();
        assert_eq!(events[0]["operation"], "destroy", "{backend}: newest first");
        assert_eq!(events[0]["actor"], "admin carol", "{backend}");
        assert!(
            events[0]["detail"]
                .as_str()
                .unwrap()
                .contains("left the company"),
            "{backend}"
        );
        let operations = |about_accounts: bool| -> Vec<String> {
            events
                .iter()
                .filter(|event| event["user"].is_string() == about_accounts)
                .map(|event| {
                    let operation = event["operation"].as_str().unwrap();
                    format!("{operation} by {}", event["actor"].as_str().unwrap())
                })
                .collect()
        };
        assert_eq!(
            operations(true),
            [
                "destroy by admin carol",
                "activate by admin carol",
                "preserve by admin carol",
                "create by admin carol",
                "create by admin carol",
                "create by admin carol"
            ],
            "{backend}"
        );
        // Changes of the catalog are admin actions too; the default catalog is scimd's own.
        assert_eq!(
            operations(false),
            [
                "create profile by admin carol",
                "create mapping by system scimd",
                "create storage by system scimd",
                "create profile by system scimd"
            ],
            "{backend}"
        );
        let about_ann = cli.json(&["activity", "--user", "ANN@example.com", "--format", "json"]);
        assert_eq!(about_ann.as_array().unwrap().len(), 3, "{backend}");
        let failures = cli.json(&["activity", "--outcome", "failure", "--format", "json"]);
        assert!(failures.as_array().unwrap().is_empty(), "{backend}");
    }
}

/// profiles and storages are renamed and re-limited; a limit below the users a profile
/// holds is refused with their number and changes nothing; users, mappings and reports follow
/// a rename; each edit is in the activity log with the admin as actor.
#[tokio::test]
async fn r46_profiles_and_storages_are_edited_and_a_limit_below_the_users_held_is_refused() {
    for (backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        cli.ok(&["profile", "create", "Gold", "--max-users", "5"]);
        cli.ok(&["storage", "create", "EU", "--region", "eu-west-1"]);
        for n in 0..3 {
            cli.ok(&[
                "user",
                "create",
                &format!("u{n}@example.com"),
                "--name",
                "U",
                "--profile",
                "Gold",
                "--storage",
                "EU",
            ]);
        }
        cli.ok(&[
            "mapping",
            "create",
            "--name",
            "Gold users",
            "--attribute",
            "department",
            "--values",
            "Gold",
            "--profile",
            "Gold",
            "--storage",
            "EU",
        ]);

        let refused = cli.fails(&["profile", "edit", "Gold", "--max-users", "2"]);
        assert!(
            refused.contains("profile 'Gold' holds 3 users: its limit cannot go below 3"),
            "{backend}: {refused}"
        );
        assert!(
            cli.ok(&["profile", "list"])
                .lines()
                .any(|line| line.starts_with("Gold") && line.ends_with(" 5"))
        );
        cli.ok(&["profile", "edit", "Gold", "--max-users", "3"]);
        cli.ok(&["profile", "edit", "gold", "--rename", "Platinum"]);
        cli.ok(&[
            "storage",
            "edit",
            "EU",
            "--rename",
            "Europe",
            "--region",
            "eu-central-1",
        ]);
        let profiles = cli.ok(&["profile", "list"]);
        assert!(
            profiles
                .lines()
                .any(|line| line.starts_with("Platinum") && line.ends_with(" 3")),
            "{backend}: {profiles}"
        );
        assert!(!profiles.contains("Gold"), "{backend}: {profiles}");
        let storages = cli.ok(&["storage", "list"]);
        assert!(
            storages
                .lines()
                .any(|line| line.starts_with("Europe") && line.ends_with("eu-central-1")),
            "{backend}: {storages}"
        );
        let mappings = cli.ok(&["mapping", "list"]);
        assert!(
            mappings.contains("Platinum") && mappings.contains("Europe"),
            "{backend}: {mappings}"
        );
        let report = cli.ok(&["report", "provisioning", "--format", "csv"]);
        assert!(
            report.contains("u0@example.com,Platinum,Europe"),
            "{backend}: {report}"
        );

        // Bad inputs: clear errors, nothing changed.
        for (args, says) in [
            (
                vec!["profile", "edit", "Nope", "--max-users", "9"],
                "no profile 'Nope'",
            ),
            (
                vec!["profile", "edit", "Platinum"],
                "give a new name, a new limit of users, or both",
            ),
            (
                vec!["profile", "edit", "Platinum", "--rename", "Default"],
                "profile 'Default' already exists",
            ),
            (
                vec!["profile", "edit", "Platinum", "--rename", " "],
                "a profile name is 1 to 64",
            ),
            (
                vec!["storage", "edit", "Nope", "--region", "x"],
                "no storage 'Nope'",
            ),
            (
                vec!["storage", "edit", "Europe"],
                "give a new name, a new region, or both",
            ),
            (
                vec!["storage", "edit", "Europe", "--rename", "default"],
                "storage 'default' already exists",
            ),
        ] {
            let error = cli.fails(&args);
            assert!(error.contains(says), "{backend}: {args:?}: {error}");
        }
        assert_eq!(cli.ok(&["profile", "list"]), profiles, "{backend}");
        assert_eq!(cli.ok(&["storage", "list"]), storages, "{backend}");

        let events = cli.json(&["activity", "--format", "json"]);
        let edits: Vec<(String, String)> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["operation"].as_str().unwrap().starts_with("edit "))
            .map(|event| {
                (
                    event["actor"].as_str().unwrap().to_owned(),
                    event["detail"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            edits,
            [
                (
                    "admin carol".to_owned(),
                    "storage 'EU' edited: renamed 'Europe', region 'eu-central-1'".to_owned()
                ),
                (
                    "admin carol".to_owned(),
                    "profile 'gold' edited: renamed 'Platinum'".to_owned()
                ),
                (
                    "admin carol".to_owned(),
                    "profile 'Gold' edited: at most 3 users".to_owned()
                ),
            ],
            "{backend}"
        );
    }
}

/// R-45 at the command line: named accounts or a whole profile move, all or none; a move that
/// does not fit, unknown names and a missing selection are refused and change nothing; more
/// than 1,000 accounts move in one go; the activity log names the admin.
#[tokio::test]
async fn r45_users_move_by_email_or_profile_all_or_none() {
    for (backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        cli.ok(&["profile", "create", "Gold", "--max-users", "2"]);
        cli.ok(&["profile", "create", "Bulk"]);
        cli.ok(&["storage", "create", "EU", "--region", "eu-west-1"]);
        let mut csv = String::from("email,name,profile,storage\n");
        for n in 0..1001 {
            csv.push_str(&format!("u{n}@example.com,U {n},Default,Default\n"));
        }
        cli.ok(&["user", "import", &cli.file("users.csv", &csv)]);
        let show = |email: &str| cli.json(&["user", "show", email, "--format", "json"]);
        let before = show("u0@example.com");
        assert_eq!(before["mapping"], "manual", "{backend}");

        for (args, says) in [
            (
                vec![
                    "user",
                    "move",
                    "u0@example.com",
                    "u1@example.com",
                    "u2@example.com",
                    "--profile",
                    "Gold",
                ],
                "profile 'Gold' holds 0 of 2 users: moving 3 more accounts into it does not fit",
            ),
            (
                vec!["user", "move", "nobody@example.com", "--profile", "Gold"],
                "no account with email 'nobody@example.com'",
            ),
            (
                vec!["user", "move", "u0@example.com", "--profile", "Nope"],
                "no profile 'Nope'",
            ),
            (
                vec![
                    "user",
                    "move",
                    "u0@example.com",
                    "--profile",
                    "Gold",
                    "--storage",
                    "Nope",
                ],
                "no storage 'Nope'",
            ),
            (
                vec![
                    "user",
                    "move",
                    "--from-profile",
                    "Nope",
                    "--profile",
                    "Gold",
                ],
                "no profile 'Nope'",
            ),
            (
                vec![
                    "user",
                    "move",
                    "--from-mapping",
                    "Nope",
                    "--profile",
                    "Gold",
                ],
                "no mapping 'Nope'",
            ),
            (vec!["user", "move", "--profile", "Gold"], "required"),
            (
                vec![
                    "user",
                    "move",
                    "u0@example.com",
                    "--from-profile",
                    "Default",
                    "--profile",
                    "Gold",
                ],
                "cannot be used with",
            ),
            (
                vec![
                    "user",
                    "move",
                    "u0@example.com",
                    "--profile",
                    "Gold",
                    "--quota",
                    "lots",
                ],
                "invalid value 'lots' for '--quota <QUOTA>'",
            ),
        ] {
            let error = cli.fails(&args);
            assert!(error.contains(says), "{backend}: {args:?}: {error}");
        }
        assert_eq!(
            show("u0@example.com"),
            before,
            "{backend}: refused moves changed nothing"
        );

        cli.ok(&[
            "user",
            "move",
            "u0@example.com",
            "U1@example.com",
            "u0@example.com",
            "--profile",
            "gold",
            "--storage",
            "EU",
            "--quota",
            "1000",
        ]);
        let moved = show("u0@example.com");
        assert_eq!(
            (
                &moved["profile"],
                &moved["storage"],
                &moved["quota_bytes"],
                &moved["mapping"],
                &moved["state"]
            ),
            (
                &json!("Gold"),
                &json!("EU"),
                &json!("1000"),
                &json!("moved by admin"),
                &json!("active")
            ),
            "{backend}: {moved}"
        );
        // The whole profile, more than 1,000 accounts, each keeping its own storage.
        cli.ok(&[
            "user",
            "move",
            "--from-profile",
            "Default",
            "--profile",
            "Bulk",
        ]);
        let report = cli.ok(&["report", "provisioning", "--format", "csv"]);
        assert_eq!(
            report
                .matches(",Bulk,Default,active,moved by admin,")
                .count(),
            999,
            "{backend}"
        );
        assert_eq!(
            report.matches(",Gold,EU,active,moved by admin,").count(),
            2,
            "{backend}"
        );
        let events = cli.json(&[
            "activity",
            "--format",
            "json",
            "--operation",
            "move",
            "--limit",
            "5000",
        ]);
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 1001, "{backend}");
        assert!(
            events.iter().all(|e| e["actor"] == "admin carol"),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn admin_create_takes_the_password_from_the_environment_or_refuses() {
    for (backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        let with_password = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_scimd"))
                .env("SCIMD_DATABASE_URL", &cli.database_url)
                .env("SCIMD_ADMIN_PASSWORD", "a long enough passphrase")
                .env_remove("SCIMD_TENANT")
                .args(args)
                .output()
                .unwrap()
        };
        let created = with_password(&["admin", "create", "ann@example.com", "--role", "viewer"]);
        assert!(
            created.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        let again = with_password(&["admin", "create", "ANN@example.com"]);
        assert!(!again.status.success(), "{backend}: emails are unique");
        let operator = with_password(&["admin", "create", "ops@example.com", "--role", "operator"]);
        assert!(
            String::from_utf8_lossy(&operator.stderr).contains("all tenants"),
            "{backend}"
        );
        // No terminal and no SCIMD_ADMIN_PASSWORD: a clear refusal, nothing created.
        let refused = cli.fails(&["admin", "create", "bob@example.com"]);
        assert!(
            refused.contains("SCIMD_ADMIN_PASSWORD"),
            "{backend}: {refused}"
        );
        let events = cli.json(&["activity", "--format", "json"]);
        assert_eq!(events[0]["operation"], "create admin", "{backend}");

        // The account over its life, and its keys.
        let key = cli.ok(&["admin", "key", "create", "ann@example.com", "--name", "ci"]);
        assert!(key.trim().starts_with("scimd_k_"), "{backend}: {key}");
        let keys = cli.json(&["admin", "key", "list", "--format", "json"]);
        assert_eq!(keys[0]["name"], "ci", "{backend}: {keys}");
        assert!(
            keys[0]["expires"].as_str().is_some(),
            "{backend}: a key expires"
        );
        assert!(!keys.to_string().contains("scimd_k_"), "never the secret");
        for command in [
            &["admin", "disable", "ann@example.com"][..],
            &["admin", "enable", "ann@example.com"],
            &["admin", "sessions", "revoke", "ann@example.com"],
        ] {
            cli.ok(command);
        }
        let changed = with_password(&["admin", "password", "ann@example.com"]);
        assert!(changed.status.success(), "{backend}");
        cli.ok(&["admin", "delete", "ann@example.com"]);
        assert!(
            cli.fails(&["admin", "disable", "ann@example.com"])
                .contains("no admin")
        );
        let keys = cli.json(&["admin", "key", "list", "--format", "json"]);
        assert!(
            keys.as_array().unwrap().is_empty(),
            "{backend}: deleted with its account"
        );
    }
}

/// Every CSV the CLI writes quotes a cell a spreadsheet would run as a formula.
#[test]
fn every_csv_export_of_the_cli_quotes_cells_a_spreadsheet_would_run_as_formulas() {
    let cli = Cli::new();
    let formula = "=HYPERLINK(\"http://evil.test\",\"open\")";
    for email in ["+kept@example.com", "=gone@example.com"] {
        cli.ok(&[
            "user",
            "create",
            email,
            "--name",
            formula,
            "--profile",
            "Default",
            "--storage",
            "Default",
        ]);
    }
    cli.ok(&["user", "preserve", "=gone@example.com"]);
    for export in [
        &["user", "list", "--format", "csv"][..],
        &["report", "provisioning", "--format", "csv"],
        &["report", "preserved", "--format", "csv"],
        &["activity", "--format", "csv"],
    ] {
        let csv = cli.ok(export);
        let formula_cells = csv
            .split([',', '\n'])
            .map(|cell| cell.trim_start_matches('"'))
            .filter(|cell| cell.starts_with(['=', '+', '-', '@']))
            .count();
        assert_eq!(formula_cells, 0, "{export:?}\n{csv}");
        assert!(csv.contains("'="), "{export:?}: the quoted cell\n{csv}");
    }
}

/// R-47 from the CLI: the method is shown, switched both ways, listed, and logged; a bad one
/// is refused and changes nothing.
#[tokio::test]
async fn r47_the_provisioning_method_is_shown_switched_and_logged() {
    for (backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        assert_eq!(cli.ok(&["tenant", "provisioning"]), "scim\n", "{backend}");
        let refused = cli.fails(&["tenant", "provisioning", "sometimes"]);
        assert!(
            refused.contains("'scim' or 'manual'"),
            "{backend}: {refused}"
        );
        cli.ok(&["tenant", "provisioning", "manual"]);
        assert_eq!(cli.ok(&["tenant", "provisioning"]), "manual\n", "{backend}");
        assert!(
            cli.ok(&["tenant", "list"]).contains(" manual "),
            "{backend}"
        );
        cli.ok(&["tenant", "provisioning", "SCIM"]);
        assert_eq!(cli.ok(&["tenant", "provisioning"]), "scim\n", "{backend}");
        let events = cli.json(&["activity", "--format", "json"]);
        let switches: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["operation"] == "set provisioning method")
            .map(|event| event["detail"].as_str().unwrap())
            .collect();
        assert_eq!(switches.len(), 2, "{backend}: {events}");
        assert!(switches[0].contains("set to scim") && switches[1].contains("set to manual"));
    }
}
