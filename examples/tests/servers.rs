//! The example servers as a user runs them: real processes on loopback ports, a redb file,
//! the flags of the shared command line.

#[allow(dead_code)] // Each test binary uses part of it.
mod common;

use std::path::Path;
use std::process::Command;

use apikeys::{ApiKeys, NewKey};
use apikeys_examples::HEROES_SCOPE;
use apikeys_redb::RedbStore;
use common::{Server, api_key, create_keys};

const SERVERS: [&str; 3] = [
    env!("CARGO_BIN_EXE_axum-server"),
    env!("CARGO_BIN_EXE_actix-server"),
    env!("CARGO_BIN_EXE_warp-server"),
];

/// Every server binary, gRPC included, for what happens before the first request.
const ALL_SERVERS: [&str; 4] = [
    SERVERS[0],
    SERVERS[1],
    SERVERS[2],
    env!("CARGO_BIN_EXE_grpc-server"),
];

fn check_default_configuration(binary: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let (plain, hero) = create_keys(&store);
    let store = store.to_str().expect("utf-8 path");
    let server = Server::start(
        binary,
        &[
            "--store",
            store,
            "--addr",
            "127.0.0.1:0",
            "--create-key",
            "started",
            "--scope",
            HEROES_SCOPE,
        ],
        dir.path(),
    );

    let public = server.get("/public", &[]);
    assert_eq!(public.status, 200, "{binary}: {public:?}");
    assert_eq!(public.json()["ok"], true);

    let missing = server.get("/ping", &[]);
    assert_eq!(missing.status, 401, "{binary}: {missing:?}");
    assert_eq!(missing.header("www-authenticate"), Some("Api-Key"));
    assert_eq!(missing.json()["error"], "unauthorized");

    // The benchmark's pair: the same bytes, with and without a key.
    assert_eq!(server.get("/private", &[]).status, 401, "{binary}");
    let private = server.get("/private", &[("Authorization", &api_key(&plain))]);
    assert_eq!(private.status, 200, "{binary}: {private:?}");
    assert_eq!(private.body, public.body, "{binary}");

    let ping = server.get("/ping", &[("Authorization", &api_key(&plain))]);
    assert_eq!(ping.status, 200, "{binary}: {ping:?}");
    let body = ping.json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["name"], "plain");
    assert_eq!(body["prefix"], plain.split('.').next().expect("prefix"));

    let unscoped = server.get("/heroes", &[("Authorization", &api_key(&plain))]);
    assert_eq!(unscoped.status, 403, "{binary}: {unscoped:?}");
    let heroes = server.get("/heroes", &[("Authorization", &api_key(&hero))]);
    assert_eq!(heroes.status, 200, "{binary}: {heroes:?}");
    assert!(heroes.json()["heroes"].is_array());

    // The key made by --create-key works and holds its scope.
    let started = server.created_key();
    let heroes = server.get("/heroes", &[("Authorization", &api_key(&started))]);
    assert_eq!(heroes.status, 200, "{binary}: {heroes:?}");

    let wrong = server.get("/ping", &[("Authorization", "Api-Key abcd")]);
    assert_eq!(wrong.status, 401, "{binary}: {wrong:?}");
}

fn check_custom_header_and_scheme(binary: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let (plain, _) = create_keys(&store);
    let store = store.to_str().expect("utf-8 path");

    let header = Server::start(
        binary,
        &[
            "--store",
            store,
            "--addr",
            "127.0.0.1:0",
            "--key-header",
            "X-Api-Key",
        ],
        dir.path(),
    );
    let granted = header.get("/ping", &[("X-Api-Key", &plain)]);
    assert_eq!(granted.status, 200, "{binary}: {granted:?}");
    let authorization = header.get("/ping", &[("Authorization", &api_key(&plain))]);
    assert_eq!(authorization.status, 401, "{binary}: {authorization:?}");
    assert_eq!(
        authorization.header("www-authenticate"),
        Some(r#"Api-Key header="x-api-key""#),
        "{binary}: the challenge names the header, not the Authorization keyword"
    );
    drop(header);

    let bearer = Server::start(
        binary,
        &[
            "--store",
            store,
            "--addr",
            "127.0.0.1:0",
            "--scheme",
            "Bearer",
        ],
        dir.path(),
    );
    let granted = bearer.get("/ping", &[("Authorization", &format!("Bearer {plain}"))]);
    assert_eq!(granted.status, 200, "{binary}: {granted:?}");
    let api_key_scheme = bearer.get("/ping", &[("Authorization", &api_key(&plain))]);
    assert_eq!(api_key_scheme.status, 401, "{binary}: {api_key_scheme:?}");
    assert_eq!(
        api_key_scheme.header("www-authenticate"),
        Some("Bearer"),
        "{binary}: the challenge names the configured scheme"
    );
}

#[test]
fn axum_server() {
    check_default_configuration(SERVERS[0]);
    check_custom_header_and_scheme(SERVERS[0]);
}

#[test]
fn actix_server() {
    check_default_configuration(SERVERS[1]);
    check_custom_header_and_scheme(SERVERS[1]);
}

#[test]
fn warp_server() {
    check_default_configuration(SERVERS[2]);
    check_custom_header_and_scheme(SERVERS[2]);
}

#[test]
fn a_store_held_by_a_running_server_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let store = store.to_str().expect("utf-8 path");
    let _running = Server::start(
        SERVERS[0],
        &["--store", store, "--create-store", "--addr", "127.0.0.1:0"],
        dir.path(),
    );
    for binary in SERVERS {
        let second = Command::new(binary)
            .args(["--store", store, "--addr", "127.0.0.1:0"])
            .output()
            .expect("run");
        assert_eq!(second.status.code(), Some(1), "{binary}");
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert!(stderr.contains("in use"), "{binary}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{binary}: {stderr}");
    }
}

#[test]
fn the_store_may_come_from_apikeys_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("from-env.redb");
    let (plain, _) = create_keys(&store);
    for binary in SERVERS {
        let server = Server::start_with_store_env(
            binary,
            &["--addr", "127.0.0.1:0"],
            dir.path(),
            Some(&store),
        );
        let ping = server.get("/ping", &[("Authorization", &api_key(&plain))]);
        assert_eq!(ping.status, 200, "{binary}: {ping:?}");
    }
}

#[test]
fn usage_errors_exit_with_2() {
    for binary in SERVERS {
        for args in [
            &[][..],
            &["--store", "k.redb", "--addr", "nowhere"][..],
            &["--store", "k.redb", "--key-header", "bad header"][..],
            &["--store", "k.redb", "--scheme", "Api Key"][..],
            &["--store", "k.redb", "--scope", "x"][..],
        ] {
            let run = Command::new(binary)
                .args(args)
                .env_remove("APIKEYS_STORE")
                .current_dir(std::env::temp_dir())
                .output()
                .expect("run");
            assert_eq!(run.status.code(), Some(2), "{binary} {args:?}");
        }
    }
}

#[test]
fn quickstart_creates_a_key_and_serves_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(
        env!("CARGO_BIN_EXE_quickstart"),
        &["--addr", "127.0.0.1:0"],
        dir.path(),
    );
    assert!(dir.path().join("apikeys-demo.redb").is_file());
    let key = server.created_key();
    let curl = format!(
        "curl -i -H 'Authorization: Api-Key {key}' http://{}/heroes",
        server.addr
    );
    assert!(
        server.output.iter().any(|line| line.trim() == curl),
        "{:?}",
        server.output
    );
    assert!(
        !server.output.iter().any(|line| line.contains("Deleted")),
        "{:?}",
        server.output
    );

    assert_eq!(server.get("/public", &[]).status, 200);
    assert_eq!(server.get("/ping", &[]).status, 401);
    let heroes = server.get("/heroes", &[("Authorization", &api_key(&key))]);
    assert_eq!(heroes.status, 200, "{heroes:?}");
    let ping = server.get("/ping", &[("Authorization", &api_key(&key))]);
    assert_eq!(ping.json()["name"], "quickstart");

    // The admin: its URL and an admin key are printed; the key opens the JSON API.
    let admin_url = format!("http://{}/admin/", server.addr);
    assert!(
        server
            .output
            .iter()
            .any(|line| line.trim() == format!("admin: {admin_url}")),
        "{:?}",
        server.output
    );
    let at = server
        .output
        .iter()
        .position(|line| line.contains("admin key (paste it on the login page"))
        .expect("the admin key is printed");
    let admin_key = server.output[at + 1].trim().to_owned();
    let listed = server.get(
        "/admin/api/keys",
        &[("Authorization", &api_key(&admin_key))],
    );
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json()["keys"].as_array().map(Vec::len), Some(2));
    let refused = server.get("/admin/api/keys", &[("Authorization", &api_key(&key))]);
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(server.get("/admin/login", &[]).status, 200);
    let remote = format!(
        "APIKEYS_ADMIN_KEY={admin_key} cargo run -p apikeys-cli -- --server http://{}/admin list",
        server.addr
    );
    assert!(
        server.output.iter().any(|line| line.trim() == remote),
        "the command's --server line: {:?}",
        server.output
    );
    drop(server);

    // A second run replaces its key (the first one's plaintext is gone) and says so.
    let again = Server::start(
        env!("CARGO_BIN_EXE_quickstart"),
        &["--addr", "127.0.0.1:0"],
        dir.path(),
    );
    let second = again.created_key();
    assert_ne!(second, key);
    assert!(
        again
            .output
            .iter()
            .any(|line| line.contains("Deleted the quickstart key of the previous run")),
        "{:?}",
        again.output
    );
    let old = again.get("/ping", &[("Authorization", &api_key(&key))]);
    assert_eq!(old.status, 401, "{old:?}");
    let new = again.get("/ping", &[("Authorization", &api_key(&second))]);
    assert_eq!(new.status, 200, "{new:?}");
    drop(again);
    // The demo key and the admin key, each replaced.
    assert_eq!(count_keys(&dir.path().join("apikeys-demo.redb")), 2);
}

/// How many keys the redb file at `path` holds (no server may have it open).
fn count_keys(path: &Path) -> u64 {
    RedbStore::open_existing(path)
        .expect("open")
        .len()
        .expect("len")
}

/// A server that cannot listen creates no `--create-key` key.
#[test]
fn create_key_waits_for_the_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    create_keys(&store);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    for binary in ALL_SERVERS {
        let run = Command::new(binary)
            .args(["--store", store.to_str().expect("utf-8")])
            .args(["--addr", &addr, "--create-key", "never"])
            .env_remove("APIKEYS_STORE")
            .output()
            .expect("run");
        assert_eq!(run.status.code(), Some(1), "{binary}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("cannot listen"), "{binary}: {stderr}");
        assert!(!String::from_utf8_lossy(&run.stdout).contains("key: "));
        assert_eq!(count_keys(&store), 2, "{binary} created a key");
    }
}

/// A mistyped store is an error, not a new empty store; `--create-store` makes one.
#[test]
fn servers_open_existing_stores_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("typo.redb");
    let missing_dir = dir.path().join("no-such-dir");
    for binary in ALL_SERVERS {
        let stderr = |args: &[&str], code: i32| {
            let run = Command::new(binary)
                .args(args)
                .args(["--addr", "127.0.0.1:0"])
                .env_remove("APIKEYS_STORE")
                .current_dir(dir.path())
                .output()
                .expect("run");
            assert_eq!(run.status.code(), Some(code), "{binary} {args:?}");
            let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
            assert!(!stderr.contains("s3cret"), "{binary}: {stderr}");
            stderr
        };
        let path = store.to_str().expect("utf-8");
        let error = stderr(&["--store", path], 1);
        assert!(error.contains("does not exist"), "{binary}: {error}");
        assert_eq!(error.trim_end().lines().count(), 1, "{binary}: {error}");
        assert!(!store.exists(), "{binary} created the store");

        let in_missing = missing_dir.join("keys.redb");
        let error = stderr(
            &[
                "--store",
                in_missing.to_str().expect("utf-8"),
                "--create-store",
            ],
            1,
        );
        let named = format!("its directory {} does not exist", missing_dir.display());
        assert!(error.contains(&named), "{binary}: {error}");

        let error = stderr(&["--store", "mysql://root:s3cret@localhost/app"], 2);
        assert!(
            error.contains("unsupported store URL scheme"),
            "{binary}: {error}"
        );

        // PostgreSQL refusing connections is said so, and no password is shown.
        for url in [
            "postgres://app:s3cret@127.0.0.1:1/keys",
            "postgres://app@127.0.0.1:1/keys?password=s3cret",
        ] {
            let error = stderr(&["--store", url], 1);
            assert!(
                error.contains("connection refused to 127.0.0.1:1"),
                "{binary}: {error}"
            );
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 0);
    let server = Server::start(
        SERVERS[0],
        &[
            "--store",
            store.to_str().expect("utf-8"),
            "--create-store",
            "--addr",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    drop(server);
    assert!(store.is_file());
}

/// How long a PostgreSQL store's record cache may take to see a change made elsewhere.
const POSTGRES_BOUND: std::time::Duration = apikeys_postgres::CacheOptions::DEFAULT_MAX_STALENESS;

/// Requests `/ping` with `key` until it is refused (401); panics if that takes longer than
/// the PostgreSQL cache's bound. Returns how long it took.
fn refused_within_bound(server: &Server, key: &str) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let ping = server.get("/ping", &[("Authorization", &api_key(key))]);
        if ping.status == 401 {
            return start.elapsed();
        }
        assert_eq!(ping.status, 200, "{ping:?}");
        assert!(
            start.elapsed() < POSTGRES_BOUND,
            "still granted {:?} after the revocation",
            start.elapsed()
        );
    }
}

/// Every server on a PostgreSQL store: keys work, and a revocation made elsewhere (another
/// server of the fleet, the `apikeys` command) is refused within the cache's bound.
#[test]
fn servers_on_postgres_see_revocations_within_the_bound() {
    use apikeys_postgres::PostgresStore;
    use apikeys_postgres::testing::TestSchema;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let dir = tempfile::tempdir().expect("temp dir");
    for binary in SERVERS {
        let server = Server::start(
            binary,
            &[
                "--store",
                &url,
                "--addr",
                "127.0.0.1:0",
                "--create-key",
                "pg",
            ],
            dir.path(),
        );
        let key = server.created_key();
        for _ in 0..3 {
            let ping = server.get("/ping", &[("Authorization", &api_key(&key))]);
            assert_eq!(ping.status, 200, "{binary}: {ping:?}");
        }
        runtime.block_on(async {
            let keys = ApiKeys::new(PostgresStore::connect(&url).await.expect("connect"));
            keys.revoke(key.split('.').next().expect("prefix"))
                .await
                .expect("revoke");
        });
        refused_within_bound(&server, &key);
    }

    runtime.block_on(schema.create_django_table());
    let server = Server::start(
        SERVERS[0],
        &[
            "--store",
            &url,
            "--django-table",
            "--addr",
            "127.0.0.1:0",
            "--create-key",
            "django",
        ],
        dir.path(),
    );
    let key = server.created_key();
    let ping = server.get("/ping", &[("Authorization", &api_key(&key))]);
    assert_eq!(ping.status, 200, "django table: {ping:?}");
}

/// A fleet: two servers (different frameworks) on one PostgreSQL database, both holding a
/// key in their caches; a revocation made through another store is refused by both within
/// the bound, and keys created meanwhile work on both at once.
#[test]
fn a_fleet_on_postgres_refuses_a_revoked_key_within_the_bound() {
    use apikeys_postgres::PostgresStore;
    use apikeys_postgres::testing::TestSchema;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let dir = tempfile::tempdir().expect("temp dir");
    let start = |binary, name| {
        Server::start(
            binary,
            &[
                "--store",
                &url,
                "--addr",
                "127.0.0.1:0",
                "--create-key",
                name,
            ],
            dir.path(),
        )
    };
    let fleet = [start(SERVERS[0], "one"), start(SERVERS[2], "two")];
    let admin = runtime
        .block_on(async { ApiKeys::new(PostgresStore::connect(&url).await.expect("connect")) });
    for round in 0..3 {
        let created = runtime
            .block_on(admin.create(NewKey::named(format!("fleet {round}"))))
            .expect("create");
        let key = created.key.expose_secret();
        for server in &fleet {
            for _ in 0..3 {
                let ping = server.get("/ping", &[("Authorization", &api_key(key))]);
                assert_eq!(ping.status, 200, "{ping:?}");
            }
        }
        runtime
            .block_on(admin.revoke(created.key.prefix()))
            .expect("revoke");
        for server in &fleet {
            let took = refused_within_bound(server, key);
            eprintln!("round {round}: refused after {took:?}");
        }
    }
    // Each server's own key still works on the other.
    let (one, two) = (fleet[0].created_key(), fleet[1].created_key());
    for (server, key) in [(&fleet[0], &two), (&fleet[1], &one)] {
        let ping = server.get("/ping", &[("Authorization", &api_key(key))]);
        assert_eq!(ping.status, 200, "{ping:?}");
    }
}

/// Every example server mounts the admin at `/admin`: a key with the admin scope opens its
/// JSON API, a key without it is refused, and the login page is served.
#[test]
fn servers_mount_the_admin() {
    for binary in SERVERS {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("keys.redb");
        let (_plain, hero) = create_keys(&store);
        let store = store.to_str().expect("utf-8 path");
        let server = Server::start(
            binary,
            &[
                "--store",
                store,
                "--addr",
                "127.0.0.1:0",
                "--create-key",
                "admin",
                "--scope",
                "apikeys:admin",
            ],
            dir.path(),
        );
        let admin = server.created_key();
        let listed = server.get("/admin/api/keys", &[("Authorization", &api_key(&admin))]);
        assert_eq!(listed.status, 200, "{binary}: {listed:?}");
        assert_eq!(
            listed.json()["keys"].as_array().map(Vec::len),
            Some(3),
            "{binary}"
        );
        let refused = server.get("/admin/api/keys", &[("Authorization", &api_key(&hero))]);
        assert_eq!(refused.status, 403, "{binary}: {refused:?}");
        assert_eq!(server.get("/admin/api/keys", &[]).status, 401, "{binary}");
        let login = server.get("/admin/login", &[]);
        assert_eq!(login.status, 200, "{binary}: {login:?}");
        // The application's own routes still answer beside the admin.
        assert_eq!(server.get("/public", &[]).status, 200, "{binary}");
    }
}

/// The value of the sample `series` (name and labels, as the text format writes them) in a
/// `/metrics` body.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
}

fn check_metrics(binary: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let (plain, _) = create_keys(&store);
    let store = store.to_str().expect("utf-8 path");
    let server = Server::start(
        binary,
        &["--store", store, "--addr", "127.0.0.1:0"],
        dir.path(),
    );
    let mut wrong = plain.clone();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    for _ in 0..3 {
        let ping = server.get("/ping", &[("Authorization", &api_key(&plain))]);
        assert_eq!(ping.status, 200, "{binary}: {ping:?}");
    }
    for _ in 0..2 {
        let refused = server.get("/ping", &[("Authorization", &api_key(&wrong))]);
        assert_eq!(refused.status, 401, "{binary}: {refused:?}");
    }

    // No key needed, and scraping verifies nothing.
    for _ in 0..2 {
        let metrics = server.get("/metrics", &[]);
        assert_eq!(metrics.status, 200, "{binary}: {metrics:?}");
        assert!(
            metrics
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{binary}: {metrics:?}"
        );
    }
    let body = server.get("/metrics", &[]).body;
    let verifications = |outcome: &str| {
        sample(
            &body,
            &format!("apikeys_verifications_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(verifications("granted"), Some(3.0), "{binary}: {body}");
    assert_eq!(
        verifications("invalid_secret"),
        Some(2.0),
        "{binary}: {body}"
    );
    // Every outcome is there from the start, at 0.
    assert_eq!(verifications("missing"), Some(0.0), "{binary}: {body}");
    for described in ["apikeys_verifications_total", "apikeys_cache_lookups_total"] {
        assert!(
            body.contains(&format!("# HELP {described} ")),
            "{binary}: {described} described: {body}"
        );
    }
    assert_eq!(
        sample(&body, "apikeys_verification_seconds_count"),
        Some(5.0),
        "{binary}: {body}"
    );
    assert!(
        body.contains("apikeys_verification_seconds_bucket{le=\"0.001\"}"),
        "{binary}: {body}"
    );
    // The keys were written before the server opened the file: one miss, then hits.
    let lookups = |result: &str| {
        sample(
            &body,
            &format!("apikeys_cache_lookups_total{{store=\"redb\",result=\"{result}\"}}"),
        )
    };
    assert_eq!(lookups("miss"), Some(1.0), "{binary}: {body}");
    assert_eq!(lookups("hit"), Some(4.0), "{binary}: {body}");
}

#[test]
fn servers_serve_their_metrics() {
    for binary in SERVERS {
        check_metrics(binary);
    }
}
