//! The `scimd` binary as an operator runs it, on a temp database (or one the test names).

use serde_json::Value;
use std::process::{Command, Output};

pub struct Cli {
    pub dir: tempfile::TempDir,
    pub database_url: String,
}

impl Cli {
    /// On a temp SQLite file, in a data directory yet to be made.
    pub fn new() -> Self {
        Self::on(String::new())
    }

    /// On `database_url`, or on a temp SQLite file (in a directory yet to be made) when empty.
    pub fn on(database_url: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = if database_url.is_empty() {
            format!("sqlite://{}", dir.path().join("data/scimd.db").display())
        } else {
            database_url
        };
        Self { dir, database_url }
    }

    /// `scimd` on this database, acting as admin `carol`, in tenant `default`.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
        command
            .env("SCIMD_DATABASE_URL", &self.database_url)
            .env("SCIMD_ADMIN", "carol")
            .env_remove("SCIMD_TENANT")
            .env("SCIMD_LOG", "info");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// The command succeeds; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The command fails; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "{args:?} should fail");
        String::from_utf8(output.stderr).unwrap()
    }

    /// The command's stdout, as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// A file in the test's directory, for commands that read one.
    pub fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A new token's secret, as `token create` prints it.
    pub fn token(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.run(&["token", "create", "--name", name]).stdout)
            .trim()
            .to_owned()
    }
}
