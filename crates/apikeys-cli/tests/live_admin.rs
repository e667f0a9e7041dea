//! `apikeys --server` against a real server: axum on 127.0.0.1 with the admin at `/admin`
//! and a route protected by apikeys-axum, over a `MemoryStore`. The command manages the
//! keys; the protected route then shows that the server took the changes.

use std::net::SocketAddr;
use std::process::Output;

use apikeys::{ApiKeys, MemoryStore, NewKey};
use apikeys_admin::{Admin, DEFAULT_SCOPE};
use apikeys_axum::Verified;
use axum::Router;
use axum::routing::get;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the admin and `GET /ping` (any valid key) until the test's runtime ends; the
/// address, an admin key made in-process and the server's manager.
async fn serve() -> (SocketAddr, String, ApiKeys) {
    let keys = ApiKeys::builder(MemoryStore::new()).build();
    let admin = keys
        .create(NewKey::named("cli test admin").scope(DEFAULT_SCOPE))
        .await
        .expect("create the admin key");
    let app = Router::new()
        .nest_service("/admin", Admin::new(keys.clone()))
        .route("/ping", get(ping))
        .with_state(keys.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (addr, admin.key.expose_secret().to_owned(), keys)
}

async fn ping(_: Verified) -> &'static str {
    "pong"
}

/// The status of `GET /ping` with `key`.
async fn ping_status(addr: SocketAddr, key: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /ping HTTP/1.1\r\nhost: {addr}\r\nauthorization: Api-Key {key}\r\nconnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("read the answer");
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// Runs the real binary with `--server` pointed at `addr` and `admin_key` in the
/// environment, off the runtime so the server keeps answering.
async fn apikeys(addr: SocketAddr, admin_key: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_apikeys"));
    command
        .arg("--server")
        .arg(format!("http://{addr}/admin"))
        .args(args)
        .env_remove("APIKEYS_STORE")
        .env_remove("APIKEYS_SERVER")
        .env("APIKEYS_ADMIN_KEY", admin_key);
    tokio::task::spawn_blocking(move || command.output().expect("run apikeys"))
        .await
        .expect("the command's thread")
}

/// Stdout of a command that must succeed.
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    let stdout = ok(out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `list` of the two keys: newest first; at `--limit 1` the note says one more matches;
/// `--search` filters.
async fn check_listing(addr: SocketAddr, admin: &str, old: &str) {
    let listed = json(&apikeys(addr, admin, &["list", "--json"]).await);
    let names: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert_eq!(names, ["billing", "cli test admin"], "{listed}");
    let first = apikeys(addr, admin, &["list", "--limit", "1"]).await;
    let table = ok(&first);
    assert!(
        table.contains(old) && !table.contains("cli test admin"),
        "{table}"
    );
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("note: 1 more key matches"),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let searched = json(&apikeys(addr, admin, &["list", "--search", "bill", "--json"]).await);
    assert_eq!(searched.as_array().map(Vec::len), Some(1), "{searched}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_show_edit_roll_revoke_over_server_reach_the_running_server() {
    let (addr, admin, _) = serve().await;

    let created = json(
        &apikeys(
            addr,
            &admin,
            &[
                "create",
                "--name",
                "billing",
                "--scope",
                "heroes:read",
                "--rate",
                "100/s",
                "--credits",
                "1000",
                "--refill",
                "1000/month",
                "--json",
            ],
        )
        .await,
    );
    let old_key = created["key"].as_str().expect("the new key").to_owned();
    let old = created["prefix"].as_str().expect("its prefix").to_owned();
    assert_eq!(created["rate_limit"], "100/s", "{created}");
    assert_eq!(created["credits"]["remaining"], 1000, "{created}");
    assert_eq!(ping_status(addr, &old_key).await, 200);

    check_listing(addr, &admin, &old).await;

    let shown = ok(&apikeys(addr, &admin, &["show", &old]).await);
    assert!(
        shown.contains("billing") && shown.contains("100/s") && shown.contains("heroes:read"),
        "{shown}"
    );

    // Absent keeps (the refill), null removes (the rate limit), a value sets.
    let edited = json(
        &apikeys(
            addr,
            &admin,
            &[
                "edit",
                &old,
                "--name",
                "billing-2",
                "--no-rate",
                "--credits",
                "5",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(edited["name"], "billing-2", "{edited}");
    assert_eq!(edited["rate_limit"], Value::Null, "{edited}");
    assert_eq!(edited["credits"]["remaining"], 5, "{edited}");
    assert_eq!(edited["credits"]["refill"], "1000/month", "{edited}");
    assert_eq!(
        edited["scopes"],
        serde_json::json!(["heroes:read"]),
        "{edited}"
    );

    let rolled = apikeys(addr, &admin, &["roll", &old, "--grace", "24h", "--json"]).await;
    let successor = json(&rolled);
    let new_key = successor["key"]
        .as_str()
        .expect("the successor's key")
        .to_owned();
    assert_ne!(successor["prefix"], old.as_str(), "{successor}");
    assert_eq!(successor["old"]["prefix"], old.as_str(), "{successor}");
    assert_eq!(successor["name"], "billing-2", "{successor}");
    assert!(
        String::from_utf8_lossy(&rolled.stderr).contains(&format!("key {old} keeps working until")),
        "{}",
        String::from_utf8_lossy(&rolled.stderr)
    );
    // Within the grace both work.
    assert_eq!(ping_status(addr, &old_key).await, 200);

    let new = successor["prefix"]
        .as_str()
        .expect("the successor's prefix");
    let disabled = ok(&apikeys(addr, &admin, &["disable", new]).await);
    assert_eq!(disabled.trim(), format!("disabled key {new} (billing-2)"));
    assert_ne!(ping_status(addr, &new_key).await, 200);
    ok(&apikeys(addr, &admin, &["enable", new]).await);

    let revoked = ok(&apikeys(addr, &admin, &["revoke", &old, "--yes"]).await);
    assert_eq!(revoked.trim(), format!("revoked key {old} (billing-2)"));
    assert_eq!(ping_status(addr, &old_key).await, 401);
    assert_eq!(ping_status(addr, &new_key).await, 200);

    // The trail names the command's changes.
    let history = json(&apikeys(addr, &admin, &["history", &old, "--json"]).await);
    assert!(history.to_string().contains("revoked"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_the_admin_scope_is_refused_over_server() {
    let (addr, _, _) = serve().await;
    let out = apikeys(addr, "ak_not.an-admin-key", &["list"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the admin key was refused or lacks the admin scope")
            && !stderr.contains("ak_not.an-admin-key"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hasher_over_server_is_refused_before_any_request() {
    let (addr, admin, _) = serve().await;
    let out = apikeys(
        addr,
        &admin,
        &["create", "--name", "x", "--hasher", "argon2"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--hasher does not work over --server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = json(&apikeys(addr, &admin, &["list", "--json"]).await);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_over_server_pages_past_the_admins_page_limit() {
    let (addr, admin, keys) = serve().await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(20);
    // More keys than one admin page holds (1000), three expiring soon among them.
    for i in 0..1200 {
        let mut new = NewKey::named(format!("bulk {i}"));
        if i % 400 == 7 {
            new = new.expires(soon);
        } else if i == 500 {
            new = new.expires(later);
        }
        keys.create(new).await.expect("create");
    }

    let out = apikeys(addr, &admin, &["list", "--limit", "1100", "--json"]).await;
    assert_eq!(json(&out).as_array().map(Vec::len), Some(1100));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("note: 101 more keys match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = apikeys(addr, &admin, &["list", "--limit", "100"]).await;
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("note: more than 1000 more keys match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The admin's `expiring` window is its own: the command applies 7 days itself.
    let out = apikeys(addr, &admin, &["list", "--expiring-within", "7d", "--json"]).await;
    let names: Vec<String> = json(&out)
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|k| k["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["bulk 807", "bulk 407", "bulk 7"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
