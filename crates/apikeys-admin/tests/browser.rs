//! A real browser (Chromium, headless, through chromedriver) uses the admin the way a
//! person does: log in, create a key and copy it, reload, search, roll, revoke. Screenshots
//! of every page land in `target/admin-screenshots/`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/test` installs them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use apikeys_admin::testing::{Fixture, send};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Stops chromedriver however the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_driver() -> (Driver, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver (Debian package chromium-driver) must be installed: .ci/test installs it",
        );
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (driver, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening");
}

async fn browser(webdriver: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(webdriver)
        .await
        .expect("a Chromium session")
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/admin-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).expect("write screenshot");
}

async fn serve(fixture: &Fixture) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The application: one protected route, and the admin.
    let app = axum::Router::new()
        .route("/ping", axum::routing::get(|| async { "pong" }))
        .layer(apikeys_axum::ApiKeyLayer::new(fixture.keys.clone()))
        .nest_service("/admin", fixture.admin());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

async fn ping(addr: SocketAddr, key: &str) -> u16 {
    let auth = format!("Api-Key {key}");
    send(addr, "GET", "/ping", &[("authorization", &auth)], b"")
        .await
        .status
}

async fn fill(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Clicks something that loads a page, and waits until the old page is gone and the new
/// one has loaded (WebDriver's click does not always wait for a form's navigation).
async fn click(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.expect("a page");
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
    for _ in 0..100 {
        let stale = old.tag_name().await.is_err();
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == "complete");
        if stale && ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("clicking {css} loaded no new page");
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.expect("text"),
        Err(error) => {
            shot(client, "failure").await;
            let page = client.source().await.unwrap_or_default();
            panic!("{css} not on the page ({error}):\n{page}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_manages_keys_in_chromium() {
    let fixture = Fixture::new().await;
    let addr = serve(&fixture).await;
    let (_driver, webdriver) = start_driver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = browser(&webdriver, profile.path()).await;
    let base = format!("http://{addr}/admin");

    client.goto(&format!("{base}/")).await.expect("goto");
    assert!(
        client
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/admin/login")
    );
    shot(&client, "01-login").await;
    fill(&client, "#key", &fixture.admin_key).await;
    click(&client, "form button[type=submit]").await;
    assert_eq!(client.current_url().await.expect("url").path(), "/admin/");
    shot(&client, "02-list").await;

    click(&client, "nav a[href='/admin/new']").await;
    fill(&client, "#name", &"x".repeat(51)).await;
    fill(&client, "#metadata", "{not json").await;
    click(&client, "form.key button[type=submit]").await;
    assert!(text(&client, "#name-error").await.contains("50"));
    assert!(!text(&client, "#metadata-error").await.is_empty());
    shot(&client, "03-create-invalid").await;
    fill(&client, "#name", "browser key").await;
    fill(&client, "#scopes", "heroes:read").await;
    fill(&client, "#owner", "org-7").await;
    fill(&client, "#expires", "30d").await;
    fill(&client, "#metadata", "{\"team\": \"web\"}").await;
    click(&client, "form.key button[type=submit]").await;
    let key = text(&client, "#new-key").await;
    assert!(text(&client, "#warning").await.contains("only once"));
    shot(&client, "04-new-key").await;
    assert_eq!(ping(addr, &key).await, 200, "the new key works");
    let prefix = key.split('.').next().expect("prefix").to_owned();

    client.refresh().await.expect("reload");
    let source = client.source().await.expect("source");
    assert!(
        !source.contains(&key) && client.find(Locator::Id("new-key")).await.is_err(),
        "shown twice"
    );
    shot(&client, "05-new-key-gone").await;
    client.back().await.expect("back");
    assert!(
        !client.source().await.expect("source").contains(&key),
        "shown again after back"
    );

    client.goto(&format!("{base}/")).await.expect("goto");
    fill(&client, "#search", "browser").await;
    click(&client, "form.search button[type=submit]").await;
    let rows = client
        .find_all(Locator::Css("#keys tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "search found one key");
    shot(&client, "06-search").await;
    click(&client, &format!("a[href='/admin/keys/{prefix}']")).await;
    assert!(text(&client, "#history").await.contains("created"));
    shot(&client, "07-key").await;

    fill(&client, "#grace", "1h").await;
    click(&client, "#roll button[type=submit]").await;
    let successor = text(&client, "#new-key").await;
    assert_ne!(successor, key);
    shot(&client, "08-rolled").await;

    client
        .goto(&format!("{base}/keys/{prefix}"))
        .await
        .expect("goto");
    click(&client, "#revoke").await;
    shot(&client, "09-revoke-confirm").await;
    assert_eq!(
        ping(addr, &key).await,
        200,
        "the confirmation page alone revoked nothing"
    );
    click(&client, "#confirm-revoke").await;
    assert_eq!(text(&client, "#status").await, "revoked");
    shot(&client, "10-revoked").await;

    assert_eq!(ping(addr, &key).await, 401, "the revoked key still works");
    assert_eq!(
        ping(addr, &successor).await,
        200,
        "the successor does not work"
    );
    client.close().await.expect("close");
}
