//! A database for tests (feature `testing`): a throwaway PostgreSQL server started once per
//! test process, or an existing server named by `APIKEYS_TEST_DATABASE_URL`. Every test
//! works in a fresh schema. Used by this crate's tests and by the `apikeys` command's and
//! the example servers' tests of `--store postgres://…`.
//!
//! The throwaway server lives in a temporary directory that a watchdog process removes, after
//! stopping the server, as soon as the test process is gone — whether the tests passed,
//! failed or the process was killed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::PostgresStore;

/// Set this to a `postgres://` URL to run the tests against an existing server (the user
/// needs the right to create schemas in that database).
pub const DATABASE_URL_VAR: &str = "APIKEYS_TEST_DATABASE_URL";

/// The DDL Django 5.2 emits for djangorestframework-api-key 3.x's migrations 0001–0005
/// (see crates/apikeys/tests/data/DJANGO_FORMATS.md); the interop test runs the real ones.
pub const DJANGO_DDL: &str = r#"
CREATE TABLE "rest_framework_api_key_apikey" (
  "id"          varchar(150) NOT NULL PRIMARY KEY,
  "created"     timestamp with time zone NOT NULL,
  "name"        varchar(50) NOT NULL,
  "revoked"     boolean NOT NULL,
  "expiry_date" timestamp with time zone NULL,
  "hashed_key"  varchar(150) NOT NULL,
  "prefix"      varchar(8) NOT NULL UNIQUE
);
CREATE INDEX "rest_framework_api_key_apikey_id_6e07e68e_like"
  ON "rest_framework_api_key_apikey" ("id" varchar_pattern_ops);
CREATE INDEX "rest_framework_api_key_apikey_created_c61872d9"
  ON "rest_framework_api_key_apikey" ("created");
CREATE INDEX "rest_framework_api_key_apikey_prefix_4e0db5f8_like"
  ON "rest_framework_api_key_apikey" ("prefix" varchar_pattern_ops);
"#;

/// Waits until `store`'s record cache is in use (its listener connected and current), so
/// that a test runs through the cache rather than around it. Panics after 10 seconds, or at
/// once if the store has no cache.
pub async fn cache_in_use(store: &PostgresStore) {
    assert!(store.cache_status().enabled, "the store has no cache");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !store.cache_status().usable {
        assert!(
            std::time::Instant::now() < deadline,
            "the cache's listener did not become current: {:?}",
            store.cache_status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// The test server.
pub struct Server {
    /// A URL that both sqlx and the Django script understand.
    pub url: String,
    external: bool,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The server of this process, started on first use.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Server {
            url,
            external: true,
        },
        _ => start_throwaway(),
    })
}

/// A fresh, empty schema; a pool made by [`TestSchema::pool`] uses it as its `search_path`.
pub struct TestSchema {
    /// The schema's name.
    pub name: String,
    /// The server's URL (without the schema).
    pub url: String,
    external: bool,
}

static SCHEMAS: AtomicU32 = AtomicU32::new(0);

impl TestSchema {
    /// Creates a fresh schema on the test server.
    pub async fn new() -> Self {
        let server = server();
        let n = SCHEMAS.fetch_add(1, Ordering::Relaxed);
        let name = format!("apikeys_test_{}_{}_{n}", std::process::id(), unique());
        let mut admin = options(&server.url)
            .connect()
            .await
            .expect("connect to the test server");
        sqlx::raw_sql(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .expect("create schema");
        Self {
            name,
            url: server.url.clone(),
            external: server.external,
        }
    }

    /// A URL whose connections use this schema, for programs given `--store URL`.
    pub fn url_with_schema(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.url, self.name
        )
    }

    /// Creates djangorestframework-api-key's table in this schema, as its migrations do.
    pub async fn create_django_table(&self) {
        let pool = self.pool().await;
        sqlx::raw_sql(DJANGO_DDL)
            .execute(&pool)
            .await
            .expect("Django DDL");
        pool.close().await;
    }

    /// Connection options using this schema.
    pub fn options(&self) -> PgConnectOptions {
        options(&self.url).options([("search_path", self.name.as_str())])
    }

    /// Runs `sql` in this schema, e.g. to break the table under a running server.
    pub async fn execute(&self, sql: &str) {
        let pool = self.pool().await;
        sqlx::raw_sql(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        pool.close().await;
    }

    /// A new pool (as a separate server of a fleet would have).
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(8)
            .connect_with(self.options())
            .await
            .expect("connect to the test schema")
    }
}

impl Drop for TestSchema {
    /// The throwaway server is removed whole; on an existing server, drop the schema.
    fn drop(&mut self) {
        if !self.external {
            return;
        }
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut admin = options(&url).connect().await?;
                sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut admin)
                    .await
                    .map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

fn options(url: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url)
        .expect("a valid database URL")
        .disable_statement_logging()
}

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000)
}

/// `initdb` + `pg_ctl start` on a private unix socket, as an unprivileged user when root
/// (PostgreSQL refuses to run as root).
fn start_throwaway() -> Server {
    let bin = postgres_bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's initdb was not found on PATH or in /usr/lib/postgresql/*/bin: install \
             Debian's `postgresql` package (bash .ci/test does), or set {DATABASE_URL_VAR}"
        )
    });
    let as_user = unprivileged_user();
    // `nobody` must reach the directory: a root's TMPDIR may be private.
    let temp = if as_user.is_some() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    };
    let base = temp.join(format!("apikeys-pg-{}-{}", std::process::id(), unique()));
    std::fs::create_dir(&base).expect("create the server directory");
    if let Some((uid, gid)) = as_user {
        std::os::unix::fs::chown(&base, Some(uid), Some(gid)).expect("chown the server directory");
    }
    let data = base.join("data");
    let sock = base.join("sock");
    std::fs::create_dir(&sock).expect("create the socket directory");
    if let Some((uid, gid)) = as_user {
        std::os::unix::fs::chown(&sock, Some(uid), Some(gid)).expect("chown the socket directory");
    }
    spawn_watchdog(&bin, &base, &data, as_user.is_some());

    let run = |program: &str, args: &[&str]| {
        let mut command = if as_user.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(bin.join(program));
            c
        } else {
            Command::new(bin.join(program))
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let data_arg = data.to_str().expect("UTF-8 temp path");
    run(
        "initdb",
        &[
            "-D",
            data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
    );
    let server_options = format!(
        "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400",
        sock.display()
    );
    let log = base.join("server.log");
    run(
        "pg_ctl",
        &[
            "-D",
            data_arg,
            "-l",
            log.to_str().expect("UTF-8 temp path"),
            "-w",
            "-t",
            "60",
            "-o",
            &server_options,
            "start",
        ],
    );
    Server {
        url: format!(
            "postgres://postgres@localhost:5432/postgres?host={}",
            sock.display()
        ),
        external: false,
    }
}

/// Stops the server and removes its directory once this process has ended.
fn spawn_watchdog(bin: &Path, base: &Path, data: &Path, unprivileged: bool) {
    let pg_ctl = bin.join("pg_ctl");
    let as_user = if unprivileged {
        "runuser -u nobody -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; \
         {as_user}'{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{base}'",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        base = base.display(),
    );
    // Never waited for: it must outlive this process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cleanup watchdog");
}

/// `nobody`'s ids when running as root.
fn unprivileged_user() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id("-u")? != 0 {
        return None;
    }
    let nobody = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "nobody"]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((nobody("-u")?, nobody("-g")?))
}

/// The directory holding `initdb` and `pg_ctl`: on PATH, or Debian's versioned directory.
fn postgres_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if let Some(dir) = on_path {
        // Debian links initdb into PATH in some setups; pg_ctl beside the real binary is the
        // matching version.
        let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
        return real.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
