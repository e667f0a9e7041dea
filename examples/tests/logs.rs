//! What an operator reads: each example server's log of a run that exercised every
//! outcome, as JSON lines on stderr (`--log-format json`).

#[allow(dead_code)] // Each test binary uses part of it.
mod common;

use std::path::Path;

use apikeys::{ApiKeys, KeyFormat, ListQuery};
use apikeys_redb::RedbStore;
use common::{Server, api_key, create_keys};
use serde_json::Value;

const SERVERS: [&str; 3] = [
    env!("CARGO_BIN_EXE_axum-server"),
    env!("CARGO_BIN_EXE_actix-server"),
    env!("CARGO_BIN_EXE_warp-server"),
];

/// The key's prefix, as the log names it; `None` for a string that is not a key.
fn prefix_of(key: &str) -> Option<String> {
    KeyFormat::default()
        .parse(key)
        .map(|parsed| parsed.prefix().to_owned())
}

/// One refusal the log must hold.
struct Refusal {
    reason: &'static str,
    path: String,
    status: u16,
    prefix: Option<String>,
}

/// A server under a run: what it was asked, what its log must say, and every secret used.
struct Run {
    server: Server,
    admin: String,
    refusals: Vec<Refusal>,
    secrets: Vec<String>,
}

impl Run {
    /// `GET path` with `key` (none if `None`); asserts the status.
    fn get(&self, path: &str, key: Option<&str>, status: u16) {
        let header = key.map(api_key);
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        let response = self.server.get(path, &headers);
        assert_eq!(response.status, status, "{path}: {response:?}");
    }

    /// A request that must be refused with `status`, and logged with `reason`.
    fn refused(&mut self, path: &str, key: Option<&str>, status: u16, reason: &'static str) {
        self.get(path, key, status);
        self.refusals.push(Refusal {
            reason,
            path: path.to_owned(),
            status,
            prefix: key.and_then(prefix_of),
        });
    }

    /// An admin JSON API call that must answer `status`; its JSON.
    fn admin(&self, path: &str, body: &str, status: u16) -> Value {
        let auth = api_key(&self.admin);
        let response = self.server.post_json(
            &format!("/admin/api{path}"),
            &[("Authorization", &auth)],
            body,
        );
        assert_eq!(response.status, status, "{path}: {response:?}");
        response.json()
    }

    /// An admin action on `key` (`disable`, `revoke`, …).
    fn act(&self, key: &str, action: &str) {
        let prefix = prefix_of(key).expect("a key");
        self.admin(&format!("/keys/{prefix}/{action}"), "{}", 200);
    }

    /// A key made through the admin from `body`: its full key.
    fn make(&mut self, body: &str) -> String {
        let made = self.admin("/keys", body, 201);
        let key = made["key"].as_str().expect("key").to_owned();
        self.secrets.push(key.clone());
        key
    }
}

/// Every stored hash in the redb file at `path`, once the server has closed it.
fn stored_hashes(path: &Path) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let keys = ApiKeys::new(RedbStore::open(path).expect("open store"));
        let page = keys.list(&ListQuery::new()).await.expect("list");
        page.keys.into_iter().map(|key| key.hashed_key).collect()
    })
}

/// Drives every outcome against `binary`, with a redb store in `dir`.
fn run_every_outcome(binary: &str, dir: &Path) -> Logged {
    let store = dir.join("keys.redb");
    let (plain, hero) = create_keys(&store);
    let log = dir.join("server.log");
    let server = Server::start_logging_to(
        binary,
        &[
            "--store",
            store.to_str().expect("utf-8 path"),
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--create-key",
            "admin",
            "--scope",
            "apikeys:admin",
        ],
        dir,
        &log,
    );
    let admin = server.created_key();
    let mut wrong = plain.clone();
    let last = if wrong.ends_with('A') { 'B' } else { 'A' };
    wrong.pop();
    wrong.push(last);
    let unknown = format!("Zz9Zz9Zz.{}", "Q".repeat(32));
    let mut run = Run {
        server,
        secrets: vec![
            plain.clone(),
            hero.clone(),
            admin.clone(),
            wrong.clone(),
            unknown.clone(),
        ],
        admin,
        refusals: Vec::new(),
    };

    run.get("/ping", Some(&plain), 200);
    run.get("/heroes", Some(&hero), 200);
    run.refused("/ping", None, 401, "missing");
    run.refused("/ping", Some("not-a-key"), 401, "malformed");
    run.refused("/ping", Some(&unknown), 401, "not_found");
    run.refused("/ping", Some(&wrong), 401, "invalid_secret");
    run.refused("/heroes", Some(&plain), 403, "insufficient_scope");
    run.refused("/admin/api/keys", Some(&hero), 403, "insufficient_scope");

    // Keys the admin makes, each then refused for its own reason.
    let disabled = run.make(r#"{"name":"to disable"}"#);
    run.act(&disabled, "disable");
    run.refused("/ping", Some(&disabled), 401, "disabled");
    let revoked = run.make(r#"{"name":"to revoke"}"#);
    run.act(&revoked, "revoke");
    run.refused("/ping", Some(&revoked), 401, "revoked");
    let rated = run.make(r#"{"name":"rated","rate_limit":"1/m"}"#);
    run.get("/ping", Some(&rated), 200);
    run.refused("/ping", Some(&rated), 429, "rate_limited");
    let metered = run.make(r#"{"name":"metered","credits":1}"#);
    run.get("/ping", Some(&metered), 200);
    run.refused("/ping", Some(&metered), 429, "usage_exceeded");
    let brief = run.make(r#"{"name":"brief","expires_in":"1s"}"#);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run.refused("/ping", Some(&brief), 401, "expired");

    let Run {
        server,
        admin,
        refusals,
        secrets,
    } = run;
    drop(server);
    Logged {
        text: std::fs::read_to_string(&log).expect("read log"),
        admin,
        refusals,
        secrets,
        hashes: stored_hashes(&store),
    }
}

/// A finished run: its log, and what the log must and must not hold.
struct Logged {
    text: String,
    admin: String,
    refusals: Vec<Refusal>,
    secrets: Vec<String>,
    hashes: Vec<String>,
}

impl Logged {
    /// The `fields` of every event with this message.
    fn events(&self, message: &str) -> Vec<Value> {
        events(&self.text, message)
            .into_iter()
            .map(|event| event["fields"].clone())
            .collect()
    }
}

/// Every event of a JSON log with this message; panics on a line that is not JSON.
fn events(text: &str, message: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("not JSON: {line}"))
        })
        .filter(|event| event["fields"]["message"] == message)
        .collect()
}

fn check(binary: &str, logged: &Logged) {
    let text = &logged.text;
    let started = logged.events("server started");
    assert!(
        started.first().is_some_and(|fields| fields["addr"]
            .as_str()
            .is_some_and(|addr| addr.starts_with("127.0.0.1:"))
            && fields["sources"] == "Authorization: Api-Key"),
        "{binary}: no start-up line with the address and sources in {text}"
    );

    let refused = logged.events("request refused");
    for wanted in &logged.refusals {
        assert!(
            refused
                .iter()
                .any(|fields| fields["reason"] == wanted.reason
                    && fields["method"] == "GET"
                    && fields["path"] == wanted.path.as_str()
                    && fields["status"] == wanted.status
                    && fields["prefix"].as_str() == wanted.prefix.as_deref()),
            "{binary}: no {} line for {} (prefix {:?}) in {text}",
            wanted.reason,
            wanted.path,
            wanted.prefix
        );
    }
    assert_eq!(
        refused.len(),
        logged.refusals.len(),
        "{binary}: one line per refused request: {text}"
    );

    let admin = prefix_of(&logged.admin);
    let changes = logged.events("API key change");
    for (action, times) in [("created", 5), ("disabled", 1), ("revoked", 1)] {
        let by_admin = changes
            .iter()
            .filter(|fields| {
                fields["action"] == action && fields["actor"].as_str() == admin.as_deref()
            })
            .count();
        assert_eq!(
            by_admin, times,
            "{binary}: {action} lines by the admin in {text}"
        );
    }

    for secret in &logged.secrets {
        let (_, tail) = secret.rsplit_once('.').expect("prefix.secret");
        assert!(
            !text.contains(tail),
            "{binary}: a secret is in the log: {text}"
        );
    }
    assert!(logged.hashes.len() >= 8, "{binary}: {:?}", logged.hashes);
    for hash in &logged.hashes {
        let digest = hash.rsplit('$').next().expect("hash");
        assert!(
            !text.contains(digest),
            "{binary}: a hash is in the log: {text}"
        );
    }
}

#[test]
fn servers_log_every_outcome_without_secrets() {
    for binary in SERVERS {
        let dir = tempfile::tempdir().expect("temp dir");
        let logged = run_every_outcome(binary, dir.path());
        check(binary, &logged);
    }
}

/// A store outage is logged where it happens, once per failed lookup with its cause at
/// `error`, and once more as the refused request (503) — in every server.
#[test]
fn servers_log_a_store_failure() {
    use apikeys_postgres::testing::TestSchema;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for binary in SERVERS {
        let schema = runtime.block_on(TestSchema::new());
        let url = schema.url_with_schema();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let server = Server::start_logging_to(
            binary,
            &[
                "--store",
                &url,
                "--addr",
                "127.0.0.1:0",
                "--log-format",
                "json",
            ],
            dir.path(),
            &log,
        );
        // The table goes away under the running server: every lookup now fails.
        runtime.block_on(schema.execute("ALTER TABLE apikeys RENAME TO apikeys_gone"));
        let key = format!("Zz9Zz9Zz.{}", "Q".repeat(32));
        let ping = server.get("/ping", &[("Authorization", &api_key(&key))]);
        assert_eq!(ping.status, 503, "{binary}: {ping:?}");
        drop(server);

        let text = std::fs::read_to_string(&log).expect("read log");
        let failed = events(&text, "API key verification failed");
        let failed = failed.iter().find(|event| event["level"] == "ERROR");
        let failed = failed.unwrap_or_else(|| panic!("{binary}: no store failure line: {text}"));
        assert_eq!(failed["fields"]["prefix"], "Zz9Zz9Zz", "{binary}: {failed}");
        assert!(
            failed["fields"]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{binary}: the cause is missing: {failed}"
        );
        assert!(
            events(&text, "request refused").iter().any(|event| {
                event["fields"]["status"] == 503
                    && event["fields"]["reason"] == "store_error"
                    && event["fields"]["path"] == "/ping"
            }),
            "{binary}: no 503 request line: {text}"
        );
        assert!(
            !text.contains(&"Q".repeat(32)),
            "{binary}: the secret is in the log"
        );
    }
}

/// quickstart logs like the servers: a start-up line, and a line per refused request.
#[test]
fn quickstart_logs_its_start_and_refusals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("quickstart.log");
    let server = Server::start_logging_to(
        env!("CARGO_BIN_EXE_quickstart"),
        &["--addr", "127.0.0.1:0", "--log-format", "json"],
        dir.path(),
        &log,
    );
    let key = server.created_key();
    assert_eq!(server.get("/heroes", &[]).status, 401);
    drop(server);
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(!events(&text, "server started").is_empty(), "{text}");
    assert!(
        events(&text, "request refused")
            .iter()
            .any(|e| e["fields"]["reason"] == "missing" && e["fields"]["path"] == "/heroes"),
        "{text}"
    );
    let (_, secret) = key.rsplit_once('.').expect("prefix.secret");
    assert!(!text.contains(secret), "the key is in the log: {text}");
}
