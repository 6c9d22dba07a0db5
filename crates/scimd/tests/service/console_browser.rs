//! The console in a real browser: Debian's chromium, headless, driven through chromedriver on
//! loopback (SPEC §7). An admin signs in, creates a token and reads it once, creates two
//! mappings and reorders them, previews a user, sees a user provisioned over SCIM in Users and
//! in the Activity log, preserves and activates it, and exports the report. A screenshot of each
//! page is saved under `target/console-screenshots/` for review.
//!
//! Skipped with a message when chromium or chromedriver is missing, except in CI (`CI` set),
//! where a missing browser fails the test.

use crate::common;

use crate::common::live::{LiveServer, exchange};
use fantoccini::{Client, ClientBuilder, Locator};
use scimd_core::admin::Role;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "a long enough passphrase";

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Option<(Driver, u16)> {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        scimd_store::test_support::skipped_unless_ci(
            "browser tests",
            "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
        );
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    wait_for("chromedriver to listen", || async {
        TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    Some((driver, port))
}

/// The most a browser step may take before the test gives up on it: only a broken page or
/// browser comes near it, so a busy machine never does.
const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `ready` until it holds. A browser, its driver and htmx answer when they are
/// scheduled: there is no deadline to race, and [`PATIENCE`] only keeps a broken page from
/// hanging the suite.
async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut ready: impl FnMut() -> F) {
    let started = std::time::Instant::now();
    while !ready().await {
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn browser(driver_port: u16) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap()
}

/// scimd on a loopback port with a fresh database, an admin, and an IdP token.
async fn start_scimd() -> LiveServer {
    let server = LiveServer::start(String::new()).await;
    common::add_admin(
        &server.database_url,
        "ann@example.com",
        Role::Admin,
        PASSWORD,
    )
    .await;
    server
}

/// One HTTP/1.1 request; the status code and body.
async fn http(address: SocketAddr, request: String) -> (u16, String) {
    let reply = exchange(address, request.as_bytes()).await;
    (reply.status, reply.text())
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// The text of the element `css` finds. htmx may swap the element out between finding it and
/// reading it (a stale reference): it is found again then.
async fn text_of(client: &Client, css: &str) -> String {
    for _ in 0..100 {
        let element = client.find(Locator::Css(css)).await.unwrap();
        match element.text().await {
            Ok(text) => return text,
            Err(error) if error.is_stale_element_reference() => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(error) => panic!("reading {css}: {error}"),
        }
    }
    panic!("{css} kept being replaced while it was read");
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks something that loads a new page, and waits until the old page is gone.
async fn click(client: &Client, css: &str) {
    let old_page = client.find(Locator::Css("html")).await.unwrap();
    choose(client, css).await;
    wait_for(&format!("clicking {css} to leave the page"), || async {
        old_page.text().await.is_err()
    })
    .await;
    wait_for(&format!("the page {css} opened to load"), || async {
        client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == "complete")
    })
    .await;
}

/// Clicks something on the page (a radio button) without leaving it.
async fn choose(client: &Client, css: &str) {
    let element = client.find(Locator::Css(css)).await.unwrap();
    element.click().await.unwrap();
}

async fn page_text(client: &Client) -> String {
    text_of(client, "body").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_console_in_a_real_browser() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let server = start_scimd().await;
    let (address, scim_token) = (server.address, server.token.clone());
    let base = format!("http://127.0.0.1:{}", address.port());
    let client = browser(driver_port).await;

    // Sign in: the console redirects there first.
    client.goto(&format!("{base}/admin")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/sign-in")
    );
    snap(&client, "01-sign-in").await;
    fill(&client, "#email", "ann@example.com").await;
    fill(&client, "#password", PASSWORD).await;
    click(&client, "button[type=submit]").await;
    let text = page_text(&client).await;
    let url = client.current_url().await.unwrap();
    assert!(
        text.contains("active users"),
        "signed in: the dashboard; at {url}: {text}"
    );
    snap(&client, "02-dashboard").await;

    // A token, read once.
    click(&client, "a[href='/admin/provisioning']").await;
    assert!(
        page_text(&client)
            .await
            .contains(&format!("{base}/scim/v2"))
    );
    fill(&client, "#name", "entra").await;
    click(
        &client,
        "form[action='/admin/provisioning/tokens'] button[type=submit]",
    )
    .await;
    let secret = text_of(&client, "#token-secret").await;
    assert!(
        secret.starts_with("scimd_") && secret.len() == 70,
        "{secret}"
    );
    snap(&client, "03-token-created").await;
    click(&client, "dialog form button[type=submit]").await;
    assert!(!page_text(&client).await.contains(&secret), "shown once");
    snap(&client, "04-provisioning").await;

    // Two mappings through the wizard, then reordered.
    for (name, values) in [("Engineering", "R&D,Engineering"), ("Sales", "Sales")] {
        client
            .goto(&format!("{base}/admin/mappings/new"))
            .await
            .unwrap();
        fill(&client, "#name", name).await;
        choose(&client, "input[name=kind][value=attribute]").await;
        fill(&client, "#attribute", "department").await;
        fill(&client, "#values", values).await;
        click(&client, "main button[type=submit]").await;
        assert!(page_text(&client).await.contains("Step 2 of 2"));
        if name == "Engineering" {
            snap(&client, "05-mapping-step-2").await;
        }
        click(&client, "main button[type=submit]").await;
    }
    // Rows of the table by their mapping's name (the second cell).
    let row_of = |table: &str, name: &str| {
        table
            .lines()
            .position(|row| row.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row {name}: {table}"))
    };
    let table = text_of(&client, "table").await;
    assert!(
        row_of(&table, "Engineering") < row_of(&table, "Sales")
            && row_of(&table, "Sales") < row_of(&table, "Default"),
        "R-23: new mappings go directly above the catch-all Default, which stays last: {table}"
    );
    click(&client, "button[aria-label='Move Sales up']").await;
    let table = text_of(&client, "table").await;
    assert!(
        row_of(&table, "Sales") < row_of(&table, "Engineering"),
        "Sales moved above Engineering: {table}"
    );
    assert!(!page_text(&client).await.contains("can never match"));
    fill(
        &client,
        "#sample",
        r#"{"userName": "a@example.com", "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "Sales"}}"#,
    )
    .await;
    click(&client, "form[action='/admin/mappings/preview'] button").await;
    let preview = page_text(&client).await;
    assert!(
        preview.contains("would be created by mapping 'Sales'"),
        "{preview}"
    );
    snap(&client, "06-mappings").await;

    // A user provisioned over SCIM appears in Users and in the Activity log.
    let body = json!({"userName": "bjensen@example.com", "displayName": "Barbara Jensen",
        "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "Sales"}})
    .to_string();
    let (status, created) = http(
        address,
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {scim_token}\r\n\
             User-Agent: Okta SCIM Client 1.0.0\r\nContent-Type: application/scim+json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    click(&client, "a[href='/admin/users']").await;
    assert!(page_text(&client).await.contains("bjensen@example.com"));
    snap(&client, "07-users").await;
    // With JavaScript, the list narrows as one types (htmx); the form works without it too.
    fill(&client, "#q", "nobody-like-this").await;
    wait_for("live search through htmx", || async {
        text_of(&client, "#users-table")
            .await
            .contains("No users match.")
    })
    .await;
    fill(&client, "#q", "").await;
    client.goto(&format!("{base}/admin/users")).await.unwrap();
    click(&client, "a[href='/admin/user?email=bjensen%40example.com']").await;
    let detail = page_text(&client).await;
    assert!(
        detail.contains("Mapping Sales"),
        "placed by the Sales mapping: {detail}"
    );
    assert!(detail.contains("Okta"), "its activity, with the IdP");
    click(&client, "form[action='/admin/user/preserve'] button").await;
    assert!(
        page_text(&client)
            .await
            .contains("Preserved: the IdP cannot reactivate it")
    );
    snap(&client, "08-user-preserved").await;
    click(&client, "form[action='/admin/user/activate'] button").await;
    assert!(page_text(&client).await.contains("Activated."));

    click(&client, "a[href='/admin/activity']").await;
    let activity = page_text(&client).await;
    assert!(activity.contains("bjensen@example.com") && activity.contains("preserve"));
    snap(&client, "09-activity").await;

    // The report, and its CSV export with the same session.
    click(&client, "a[href='/admin/reports/provisioning']").await;
    assert!(page_text(&client).await.contains("bjensen@example.com"));
    snap(&client, "10-report").await;
    let cookie = client
        .get_named_cookie("__Host-scimd_session")
        .await
        .expect("the browser kept the __Host- session cookie");
    let (status, csv) = http(
        address,
        format!(
            "GET /admin/reports/provisioning.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Cookie: __Host-scimd_session={}\r\nConnection: close\r\n\r\n",
            cookie.value()
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Barbara Jensen,bjensen@example.com,Default,Default,active,Sales,scim"),
        "{csv}"
    );

    click(&client, "form[action='/admin/sign-out'] button").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/sign-in")
    );
    client.close().await.unwrap();
}
