//! The `scimd` binary end to end, as an operator uses it, on a temp database.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common;

use crate::common::cli::Cli;

/// A `scimd serve` process, killed if a failed assertion unwinds past it: a server left running
/// would hold the test run's output open.
struct Serving(std::process::Child);

impl Serving {
    /// `serve` started by `command`, its log piped.
    fn start(command: &mut Command) -> (Self, std::process::ChildStderr) {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let log = child.stderr.take().unwrap();
        (Self(child), log)
    }

    /// SIGTERM, as a service manager stops a server; its exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.0.wait().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The database holds personal data and password hashes: owner only, even under umask 000.
#[test]
fn a_new_data_directory_and_its_database_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    let command = cli.command();
    let program = command.get_program().to_owned();
    let output = Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(program)
        .args(["token", "create", "--name", "entra"])
        .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mode = |name: &str| {
        let path = cli.dir.path().join(name);
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode("data"), 0o700);
    for file in ["data/scimd.db", "data/scimd.db-wal", "data/scimd.db-shm"] {
        if cli.dir.path().join(file).exists() {
            assert_eq!(mode(file), 0o600, "{file}");
        }
    }
    assert_eq!(mode("data/scimd.db"), 0o600);
    // An existing database others can read is reported, not silently served.
    let database = cli.dir.path().join("data/scimd.db");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = cli.run(&["token", "list"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("can be read by other users"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn migrate_creates_the_database_and_its_directory() {
    let cli = Cli::new();
    let output = cli.run(&["migrate"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(cli.dir.path().join("data/scimd.db").exists());
}

#[test]
fn token_commands_print_the_secret_alone_and_track_status() {
    let cli = Cli::new();
    let created = cli.run(&["token", "create", "--name", "entra"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let secret = text(&created.stdout);
    assert_eq!(
        secret.lines().count(),
        1,
        "stdout is the secret alone: {secret:?}"
    );
    assert!(
        secret.starts_with("scimd_") && secret.trim().len() == 70,
        "{secret:?}"
    );
    assert!(text(&created.stderr).contains("created token 'entra' for tenant 'default'"));

    let rotated = cli.run(&[
        "token",
        "create",
        "--name",
        "entra",
        "--keep-previous",
        "1h",
    ]);
    assert!(
        text(&rotated.stderr).contains("keeps working until"),
        "{}",
        text(&rotated.stderr)
    );
    let listed = text(&cli.run(&["token", "list"]).stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|line| line.starts_with("entra ") && line.contains(" valid "))
            .count(),
        2,
        "{listed}"
    );

    assert!(cli.run(&["token", "revoke", "entra"]).status.success());
    let listed = text(&cli.run(&["token", "list"]).stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|line| line.contains(" revoked "))
            .count(),
        2,
        "{listed}"
    );
    let again = cli.run(&["token", "revoke", "entra"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no live token named 'entra'"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn tenant_commands_create_list_and_refuse_duplicates() {
    let cli = Cli::new();
    assert!(
        cli.run(&["tenant", "create", "acme", "--name", "Acme Corp"])
            .status
            .success()
    );
    let listed = text(&cli.run(&["tenant", "list"]).stdout);
    assert!(
        listed.contains("acme") && listed.contains("Acme Corp") && listed.contains("default"),
        "{listed}"
    );
    let duplicate = cli.run(&["tenant", "create", "acme"]);
    assert!(!duplicate.status.success());
    assert!(text(&duplicate.stderr).contains("already exists"));
    let token = cli
        .command()
        .args(["token", "create", "--name", "okta"])
        .env("SCIMD_TENANT", "acme")
        .output()
        .unwrap();
    assert!(token.status.success(), "{}", text(&token.stderr));
    let missing = cli.run(&["token", "create", "--name", "okta", "--tenant", "nope"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no tenant 'nope'"));
    let bad = cli.run(&["token", "create", "--name", "has space"]);
    assert!(!bad.status.success());
}

#[test]
fn healthcheck_fails_without_a_server() {
    let cli = Cli::new();
    let output = cli.run(&["healthcheck", "--listen", "127.0.0.1:9"]);
    assert!(!output.status.success());
}

/// A kept-alive connection on which `GET /healthz` was answered, or `None` when the server
/// closed it unanswered.
fn answered_connection(port: u16) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut answer = [0; 512];
    let read = stream.read(&mut answer).ok()?;
    answer[..read]
        .starts_with(b"HTTP/1.1 200")
        .then_some(stream)
}

/// [`exchange`], on a server that admits one connection per address: a connection closed
/// unanswered (the one before has not given its place back yet) is tried again.
fn exchange_when_admitted(port: u16, request: &str) -> String {
    for _ in 0..1000 {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let mut response = String::new();
        let answered = stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .and_then(|()| stream.write_all(request.as_bytes()))
            .and_then(|()| stream.read_to_string(&mut response));
        if answered.is_ok() && !response.is_empty() {
            return response;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never admitted: {request}");
}

/// A SCIM `POST` of `body` to `path`, with the token, on a connection it closes.
fn post_request(host: &str, path: &str, token: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 exchange on a fresh connection.
fn exchange(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_accepts_a_token_from_the_cli_and_stops_on_sigterm() {
    let cli = Cli::new();
    let token = cli.token("entra");
    let (server, log) = Serving::start(cli.command().args(["serve", "--listen", "127.0.0.1:0"]));
    let mut lines = BufReader::new(log).lines();
    let port = common::listening_port(&mut lines);
    let banner: Vec<String> = lines.by_ref().take(2).map(Result::unwrap).collect();
    assert!(
        banner
            .iter()
            .any(|line| line.contains(&format!("http://127.0.0.1:{port}/scim/v2"))),
        "{banner:?}"
    );
    assert!(
        banner
            .iter()
            .any(|line| line.contains("scimd token create")),
        "{banner:?}"
    );

    let health = cli.run(&["healthcheck", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(health.status.success(), "{}", text(&health.stderr));

    let body = r#"{"userName":"cli@example.com"}"#;
    let created = exchange(
        port,
        &post_request("localhost", "/scim/v2/Users", &token, body),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let found = exchange(
        port,
        &format!(
            "GET /scim/v2/Users?filter=userName+eq+\"cli@example.com\" HTTP/1.1\r\nHost: localhost\r\n\
             Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(found.contains("\"totalResults\":1"), "{found}");
    // A group write while groups are not managed: the expected 501, not an error in the log.
    let group = r#"{"displayName":"Sales"}"#;
    let refused = exchange(
        port,
        &post_request("localhost", "/scim/v2/Groups", &token, group),
    );
    assert!(refused.starts_with("HTTP/1.1 501"), "{refused}");

    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let logged: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(
        !logged.iter().any(|line| line.contains("ERROR")),
        "{logged:#?}"
    );
}

/// `serve` configured by environment variables alone, as a container runs it, each read back
/// from what the server does: the address, JSON logs, the public URL in `Location`, another
/// host name allowed, the payload limit, the per-address connection limit.
#[test]
fn serve_reads_its_settings_from_the_environment_and_logs_json() {
    let cli = Cli::new();
    let token = cli.token("entra");
    let (server, log) = Serving::start(
        cli.command()
            .arg("serve")
            .env("SCIMD_LISTEN", "127.0.0.1:0")
            .env("SCIMD_LOG_FORMAT", "json")
            .env("SCIMD_PUBLIC_URL", "https://scim.example.com")
            .env("SCIMD_ALLOWED_HOSTS", "idp.example,other.example")
            .env("SCIMD_MAX_PAYLOAD_BYTES", "2048")
            .env("SCIMD_MAX_CONNECTIONS_PER_ADDRESS", "1"),
    );
    let mut lines = BufReader::new(log).lines();
    let mut logged = Vec::new();
    let port = common::listening_port(&mut lines.by_ref().inspect(|line| {
        if let Ok(line) = line {
            logged.push(line.clone());
        }
    }));
    std::thread::spawn(move || lines.for_each(drop));
    for line in &logged {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{line}"
        );
    }

    let post = |host: &str, body: &str| post_request(host, "/scim/v2/Users", &token, body);
    let created = exchange_when_admitted(
        port,
        &post("idp.example", r#"{"userName":"env@example.com"}"#),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    assert!(
        created.contains("location: https://scim.example.com/scim/v2/Users/"),
        "{created}"
    );
    let other = exchange_when_admitted(
        port,
        &post("unknown.example", r#"{"userName":"x@example.com"}"#),
    );
    assert!(other.starts_with("HTTP/1.1 421"), "{other}");
    let big = format!(
        r#"{{"userName":"big@example.com","displayName":"{}"}}"#,
        "x".repeat(3000)
    );
    let refused = exchange_when_admitted(port, &post("idp.example", &big));
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(refused.contains("2048"), "{refused}");

    // One connection per address: a second, while the first is open and answered, is closed
    // with nothing sent. The connections above give their place back once the server has
    // seen them close, so the first is tried until it is answered.
    let first = (0..1000)
        .find_map(|_| {
            let answered = answered_connection(port);
            if answered.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            answered
        })
        .expect("a place came free");
    let mut second = TcpStream::connect(("127.0.0.1", port)).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let _ = second.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut sent = Vec::new();
    let _ = second.read_to_end(&mut sent);
    assert!(sent.is_empty(), "{}", text(&sent));
    drop(first);

    assert!(server.terminate().success());
}

/// SPEC §5 and §8, on SQLite and PostgreSQL.
#[tokio::test]
async fn a_new_database_has_the_default_catalog_and_mappings_are_managed_in_order() {
    for (_backend, url) in common::database_urls().await {
        let cli = Cli::on(url);
        let listed = text(&cli.run(&["mapping", "list"]).stdout);
        assert!(
            listed.lines().any(|line| line.starts_with("1 ")
                && line.contains("Default")
                && line.contains("AllowAnyUser")),
            "{listed}"
        );
        assert!(text(&cli.run(&["profile", "list"]).stdout).contains("Default"));
        assert!(text(&cli.run(&["storage", "list"]).stdout).contains("Default"));

        assert!(
            cli.run(&["profile", "create", "Engineers", "--max-users", "50"])
                .status
                .success()
        );
        assert!(
            cli.run(&["storage", "create", "EU", "--region", "eu-west-1"])
                .status
                .success()
        );
        let created = cli.run(&[
            "mapping",
            "create",
            "--name",
            "Eng",
            "--attribute",
            "department",
            "--values",
            "R&D,Engineering",
            "--profile",
            "engineers",
            "--storage",
            "eu",
            "--quota",
            "1000000",
        ]);
        assert!(created.status.success(), "{}", text(&created.stderr));
        assert!(
            text(&created.stderr).contains("at priority 1"),
            "R-23: above the catch-all, which stays last: {}",
            text(&created.stderr)
        );
        assert!(!text(&created.stderr).contains("warning"));

        // R-29: moved below the catch-all, it is shadowed, and every surface says so.
        let moved = cli.run(&["mapping", "reorder", "Eng", "--priority", "2"]);
        assert!(moved.status.success());
        assert!(
            text(&moved.stderr).contains(
                "warning: mapping 'Eng' can never match: 'Default' comes before it and matches any user"
            ),
            "{}",
            text(&moved.stderr)
        );
        let listed = text(&cli.run(&["mapping", "list"]).stdout);
        let eng = listed.lines().find(|line| line.contains("Eng")).unwrap();
        assert!(eng.ends_with("shadowed by 'Default'"), "{listed}");
        let late = cli.run(&[
            "mapping",
            "create",
            "--name",
            "Late",
            "--any-user",
            "--profile",
            "Default",
            "--storage",
            "Default",
            "--priority",
            "99",
        ]);
        assert!(
            text(&late.stderr).contains("created mapping 'Late' at priority 3")
                && text(&late.stderr).contains("warning: mapping 'Late' can never match"),
            "past the end is the bottom: {}",
            text(&late.stderr)
        );
        assert!(cli.run(&["mapping", "delete", "Late"]).status.success());
        let refused = cli.run(&[
            "mapping",
            "create",
            "--name",
            "Zero",
            "--any-user",
            "--profile",
            "Default",
            "--storage",
            "Default",
            "--priority",
            "0",
        ]);
        assert!(!refused.status.success());
        assert!(
            cli.run(&["mapping", "reorder", "Eng", "--priority", "1"])
                .status
                .success()
        );
        let listed = text(&cli.run(&["mapping", "list"]).stdout);
        assert!(!listed.contains("shadowed"), "{listed}");
        let names: Vec<&str> = listed
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(1))
            .collect();
        assert_eq!(names, ["Eng", "Default"], "{listed}");

        let refused = cli.run(&["mapping", "edit", "Eng", "--attribute", "title"]);
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains("cannot change after creation (R-24)"),
            "{}",
            text(&refused.stderr)
        );
        assert!(
            cli.run(&[
                "mapping",
                "edit",
                "Eng",
                "--new-name",
                "Engineering",
                "--no-quota"
            ])
            .status
            .success()
        );

        let sample = cli.dir.path().join("user.json");
        std::fs::write(
            &sample,
            r#"{"userName": "a@b.co", "department": "Finance"}"#,
        )
        .unwrap();
        let preview = cli.run(&["mapping", "preview", sample.to_str().unwrap()]);
        let shown = text(&preview.stdout);
        assert!(shown.contains("#1 'Engineering' (department in [R&D,Engineering]) does not match: the user has [Finance]"), "{shown}");
        assert!(
            shown.contains("=> the user would be created by mapping 'Default'"),
            "{shown}"
        );

        assert!(
            !cli.run(&["profile", "delete", "Engineers"])
                .status
                .success(),
            "a profile in use stays"
        );
        assert!(cli.run(&["mapping", "delete", "Default"]).status.success());
        let preview = cli.run(&["mapping", "preview", sample.to_str().unwrap()]);
        assert!(!preview.status.success());
        assert!(text(&preview.stdout).contains("None of the SCIM Mapping matched to create user."));
    }
}

#[test]
fn a_postgres_password_given_in_the_query_is_not_printed() {
    let cli =
        Cli::on("postgres://scimd@127.0.0.1:1/scimd?password=hunter2secret&sslmode=bogus".into());
    let output = cli.run(&["migrate"]);
    assert!(!output.status.success());
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!printed.contains("hunter2secret"), "{printed}");
    assert!(printed.contains("password=***"), "{printed}");
}

/// A CLI command, like a clean stop of the server, leaves the database one complete file: a
/// copy of `scimd.db` alone holds what the command wrote.
#[tokio::test]
async fn a_cli_command_leaves_what_it_wrote_in_the_database_file() {
    let cli = Cli::new();
    let output = cli.run(&["token", "create", "--name", "entra"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let wal = cli.dir.path().join("data/scimd.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |wal| wal.len()) == 0,
        "the WAL is empty"
    );
    let database = cli.dir.path().join("data/scimd.db");
    assert_eq!(common::rows_in_a_lone_copy(&database, "tokens").await, 1);
}

/// R-48 end to end: `serve` with mail settings mails the activation email of a user an IdP
/// creates through a mapping with the flag, and the one `user create --send-activation-email`
/// queued for it; without mail settings that request is refused; wrong mail settings stop any
/// command before it touches the database.
#[tokio::test(flavor = "multi_thread")]
async fn serve_mails_activation_emails_through_smtp() {
    let smtp = common::smtp::TestSmtp::start().await;
    let cli = Cli::new();
    let token = cli.token("entra");
    let url = smtp.url();
    for (args, says) in [
        (
            vec![
                "tenant",
                "list",
                "--smtp-url",
                "smtp://mail.example.com:25",
                "--mail-from",
                "s@example.com",
            ],
            "plain SMTP would send mail (and any password) in clear",
        ),
        (
            vec!["tenant", "list", "--smtp-url", &url],
            "--smtp-url needs --mail-from",
        ),
        (
            vec!["tenant", "list", "--mail-from", "s@example.com"],
            "--mail-from needs --smtp-url",
        ),
        (
            vec![
                "tenant",
                "list",
                "--smtp-url",
                &url,
                "--mail-from",
                "not an address",
            ],
            "is not an address",
        ),
        (
            vec![
                "tenant",
                "list",
                "--smtp-url",
                "imap://127.0.0.1:1",
                "--mail-from",
                "s@example.com",
            ],
            "use smtp://",
        ),
    ] {
        let refused = cli.run(&args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(
            text(&refused.stderr).contains(says),
            "{args:?}: {}",
            text(&refused.stderr)
        );
    }
    let manual = [
        "user",
        "create",
        "m@example.com",
        "--name",
        "M",
        "--profile",
        "Default",
        "--storage",
        "Default",
        "--send-activation-email",
    ];
    let refused = cli.run(&manual);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("email notifications are off"),
        "{}",
        text(&refused.stderr)
    );
    let mailing = |command: &mut Command| {
        command
            .env("SCIMD_SMTP_URL", smtp.url())
            .env("SCIMD_MAIL_FROM", "scimd <scimd@example.com>");
    };
    let mut create = cli.command();
    mailing(&mut create);
    let created = create.args(manual).output().unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    let mapping = cli.run(&[
        "mapping",
        "create",
        "--name",
        "Welcome",
        "--any-user",
        "--profile",
        "Default",
        "--storage",
        "Default",
        "--activation-email",
    ]);
    assert!(mapping.status.success(), "{}", text(&mapping.stderr));

    let mut serve = cli.command();
    mailing(&mut serve);
    let (server, log) = Serving::start(serve.args(["serve", "--listen", "127.0.0.1:0"]));
    let mut lines = BufReader::new(log).lines();
    let port = common::listening_port(&mut lines);
    let body = r#"{"userName":"idp@example.com"}"#;
    let created = exchange(
        port,
        &post_request("localhost", "/scim/v2/Users", &token, body),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");

    let mut recipients: Vec<String> = smtp
        .wait_for(2)
        .await
        .into_iter()
        .flat_map(|mail| mail.to)
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["idp@example.com", "m@example.com"]);
    assert!(server.terminate().success());
    let logged: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(
        logged
            .iter()
            .any(|line| line.contains("email notifications on")),
        "{logged:#?}"
    );
}
