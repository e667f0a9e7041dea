//! The real `apikeys` binary, run as a script would run it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use apikeys_postgres::testing::TestSchema;
use serde_json::Value;

/// Roll, edit, disable, enable, delete, history and the grown `list`, `show`, `create`.
#[path = "cli/lifecycle.rs"]
mod lifecycle;

/// Rate limits and credits on `create`, `edit`, `show` and `list`.
#[path = "cli/limits.rs"]
mod limits;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// The single error line, which must name `what`.
    fn one_error_line(self, what: &str) -> Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "not one line: {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{:?}", self.stderr);
        assert!(
            lines[0].contains(what),
            "{:?} does not say {what:?}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

fn apikeys(store: Option<&Path>, args: &[&str], stdin: &str) -> Run {
    apikeys_as(Some("tester"), store, args, stdin)
}

/// Runs the command as OS user `user` (`$USER`; `$LOGNAME` unset), or with neither set.
fn apikeys_as(user: Option<&str>, store: Option<&Path>, args: &[&str], stdin: &str) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_apikeys"));
    command.env_remove("LOGNAME").env_remove("USER");
    if let Some(user) = user {
        command.env("USER", user);
    }
    command
        .env_remove("APIKEYS_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(store) = store {
        command.arg("--store").arg(store);
    }
    command.args(args);
    let mut child = command.spawn().expect("run apikeys");
    let mut input = child.stdin.take().expect("stdin");
    // A command that fails before reading its input closes the pipe: that is fine.
    if let Err(e) = input.write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).expect("utf-8"),
        stderr: String::from_utf8(stderr).expect("utf-8"),
    }
}

fn store_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("keys.redb")
}

/// Creates a key and returns it (the first stdout line).
fn create(store: &Path, args: &[&str]) -> String {
    let mut all = vec!["create"];
    all.extend_from_slice(args);
    let run = apikeys(Some(store), &all, "").ok();
    let key = run.stdout.lines().next().expect("a key line").to_owned();
    assert_eq!(run.stdout, format!("{key}\n"), "only the key on stdout");
    assert!(run.stderr.contains("only time"), "{}", run.stderr);
    key
}

fn prefix(key: &str) -> &str {
    key.split('.').next().expect("prefix")
}

#[test]
fn create_list_verify_revoke_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(
        &store,
        &["--name", "billing-service", "--scope", "invoices:read"],
    );
    let prefix = prefix(&key);
    let secret = key.split('.').nth(1).expect("secret");

    let listed = apikeys(Some(&store), &["list"], "").ok();
    let header = listed.stdout.lines().next().expect("header");
    for column in [
        "PREFIX", "NAME", "CREATED", "EXPIRES", "EXPIRED", "REVOKED", "SCOPES",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(listed.stdout.contains(prefix));
    assert!(listed.stdout.contains("billing-service"));
    assert!(listed.stdout.contains("invoices:read"));

    let verified = apikeys(Some(&store), &["verify"], &format!("{key}\n")).ok();
    assert_eq!(verified.stdout, "valid\n");

    let revoked = apikeys(Some(&store), &["revoke", prefix, "--yes"], "").ok();
    assert!(revoked.stdout.contains("revoked"), "{}", revoked.stdout);
    let after = apikeys(Some(&store), &["verify"], &key).code(1);
    assert_eq!(after.stdout, "revoked\n");
    let again = apikeys(Some(&store), &["revoke", prefix, "--yes"], "").ok();
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);

    // No command but `create` ever prints the secret.
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", prefix],
        vec!["show", prefix, "--json"],
    ] {
        let run = apikeys(Some(&store), &args, "").ok();
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{args:?}"
        );
    }
}

#[test]
fn json_output_parses_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let run = apikeys(
        Some(&store),
        &[
            "create",
            "--name",
            "json ✓",
            "--scope",
            "a",
            "--scope",
            "b",
            "--meta",
            "org=42",
            "--meta",
            "plan=gold",
            "--expires-in",
            "30d",
            "--json",
        ],
        "",
    )
    .ok();
    let created = run.json();
    let key = created["key"].as_str().expect("key");
    assert_eq!(created["prefix"], prefix(key));
    assert_eq!(created["name"], "json ✓");
    assert_eq!(created["scopes"], serde_json::json!(["a", "b"]));
    assert_eq!(
        created["metadata"],
        serde_json::json!({"org": 42, "plan": "gold"})
    );
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    let lifetime = parse(&created["expires"]) - parse(&created["created"]);
    assert!((lifetime - time::Duration::days(30)).abs() < time::Duration::seconds(5));

    let shown = apikeys(Some(&store), &["show", prefix(key), "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["name"], "json ✓");
    assert_eq!(shown["revoked"], false);
    assert_eq!(shown["expired"], false);
    assert!(shown.get("key").is_none());

    create(&store, &["--name", "second"]);
    let listed = apikeys(Some(&store), &["list", "--json"], "").ok().json();
    let array = listed.as_array().expect("array");
    assert_eq!(array.len(), 2);
    assert_eq!(array[0]["name"], "second", "newest first");
    assert_eq!(array[1]["metadata"]["org"], 42);
}

#[test]
fn list_filters_search_and_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let active = create(&store, &["--name", "Billing active"]);
    let revoked = create(&store, &["--name", "billing revoked"]);
    apikeys(Some(&store), &["revoke", prefix(&revoked), "--yes"], "").ok();
    let run = apikeys(
        Some(&store),
        &[
            "create",
            "--name",
            "old one",
            "--expires",
            "2020-01-01T00:00:00Z",
        ],
        "",
    )
    .ok();
    assert!(
        run.stderr
            .contains("warning: the expiry 2020-01-01T00:00:00Z is in the past")
    );
    let expired = run.stdout.trim().to_owned();
    assert_eq!(
        apikeys(Some(&store), &["verify"], &expired).code(1).stdout,
        "expired\n"
    );

    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        apikeys(Some(&store), &all, "")
            .ok()
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|k| k["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&["--active"]), ["Billing active"]);
    assert_eq!(names(&["--revoked"]), ["billing revoked"]);
    assert_eq!(names(&["--expired"]), ["old one"]);
    assert_eq!(
        names(&["--search", "BILLING"]),
        ["billing revoked", "Billing active"]
    );
    assert_eq!(names(&["--search", prefix(&active)]), ["Billing active"]);
    assert_eq!(names(&["--limit", "1"]), ["old one"]);
    assert_eq!(names(&[]).len(), 3);
    apikeys(Some(&store), &["list", "--active", "--revoked"], "")
        .code(2)
        .one_error_line("--revoked");
    apikeys(Some(&store), &["list", "--limit", "0"], "")
        .code(2)
        .one_error_line("--limit");
}

#[test]
fn verify_reports_every_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "v"]);
    let mut wrong = key.clone();
    let last = wrong.pop().expect("char");
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    let unknown = format!("ZZZZZZZZ.{}", &key[9..]);
    for (input, outcome, code) in [
        (format!("{key}\n"), "valid", 0),
        (key.clone(), "valid", 0),
        (wrong, "invalid_secret", 1),
        (unknown, "not_found", 1),
        ("not a key".to_owned(), "malformed", 1),
        (String::new(), "malformed", 1),
    ] {
        let run = apikeys(Some(&store), &["verify"], &input).code(code);
        assert_eq!(run.stdout, format!("{outcome}\n"), "{input:?}");
    }
    apikeys(Some(&store), &["verify", &key], "").code(2);
}

#[test]
fn store_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "env"]);
    let output = Command::new(env!("CARGO_BIN_EXE_apikeys"))
        .env("APIKEYS_STORE", &store)
        .args(["show", prefix(&key), "--json"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let shown: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(shown["name"], "env");
}

#[test]
fn missing_store_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    for args in [
        vec!["list"],
        vec!["show", "Abcdefgh"],
        vec!["revoke", "Abcdefgh", "--yes"],
        vec!["verify"],
    ] {
        apikeys(Some(&store), &args, "x.y")
            .code(1)
            .one_error_line("does not exist");
        assert!(!store.exists(), "{args:?} created the store");
    }
    apikeys(None, &["list"], "")
        .code(2)
        .one_error_line("APIKEYS_STORE");
    create(&store, &["--name", "creates the file"]);
    assert!(store.exists());
}

#[test]
fn unknown_prefixes_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    create(&store, &["--name", "k"]);
    apikeys(Some(&store), &["show", "Nope1234"], "")
        .code(1)
        .one_error_line("Nope1234");
    apikeys(Some(&store), &["revoke", "Nope1234", "--yes"], "")
        .code(1)
        .one_error_line("Nope1234");
}

#[test]
fn a_store_in_use_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let held = apikeys_redb::RedbStore::open(&store).expect("hold the file");
    apikeys(Some(&store), &["list"], "")
        .code(1)
        .one_error_line("in use by another process");
    apikeys(Some(&store), &["create", "--name", "x"], "")
        .code(1)
        .one_error_line("in use");
    drop(held);
    apikeys(Some(&store), &["list"], "").ok();
}

#[test]
fn a_corrupt_store_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    std::fs::write(&store, "not a database at all\n".repeat(100)).expect("write");
    for args in [vec!["list"], vec!["create", "--name", "x"]] {
        apikeys(Some(&store), &args, "")
            .code(1)
            .one_error_line("not a valid API key store");
    }
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let long = "n".repeat(51);
    for (args, what) in [
        (vec!["create", "--name", long.as_str()], "at most 50"),
        (vec!["create", "--name", "  "], "empty"),
        (vec!["create"], "--name"),
        (
            vec!["create", "--name", "x", "--expires", "tomorrow"],
            "RFC 3339",
        ),
        (
            vec!["create", "--name", "x", "--expires-in", "3 weeks"],
            "duration",
        ),
        (
            vec![
                "create",
                "--name",
                "x",
                "--expires",
                "2030-01-01T00:00:00Z",
                "--expires-in",
                "1d",
            ],
            "--expires",
        ),
        (
            vec!["create", "--name", "x", "--scope", "has space"],
            "scope",
        ),
        (
            vec!["create", "--name", "x", "--meta", "novalue"],
            "KEY=VALUE",
        ),
        (vec!["frobnicate"], "frobnicate"),
        (vec![], "command is required"),
    ] {
        apikeys(Some(&store), &args, "")
            .code(2)
            .one_error_line(what);
        assert!(!store.exists(), "{args:?} created the store");
    }
    let help = apikeys(None, &["--help"], "").ok();
    assert!(help.stdout.contains("create"));
}

#[test]
fn unreachable_postgres_is_one_line_without_the_password() {
    // Nothing listens on port 1 of the loopback: the connection is refused at once, and
    // said so (not a pool timeout).
    for url in [
        "postgres://admin:s3cret@127.0.0.1:1/keys",
        "postgres://admin@127.0.0.1:1/keys?password=s3cret",
        "postgresql://admin@127.0.0.1:1/keys?sslmode=disable&password=s3cret",
    ] {
        let started = std::time::Instant::now();
        let run = apikeys(Some(Path::new(url)), &["list"], "")
            .code(1)
            .one_error_line("connection refused to 127.0.0.1:1");
        assert!(
            run.stderr.contains("postgres://127.0.0.1:1/keys"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("s3cret"), "{url}: {}", run.stderr);
        // Well under the pool's 5-second acquire timeout.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{url}"
        );
    }
    // A URL sqlx cannot use: its error does not show the password either.
    let run = apikeys(
        Some(Path::new(
            "postgres://admin@127.0.0.1:1/keys?password=s3cret&sslmode=bogus",
        )),
        &["list"],
        "",
    )
    .code(1);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// With a real server, a wrong database in a URL carrying `?password=` fails without
/// showing the password.
#[test]
fn postgres_errors_never_show_a_query_password() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let separator = if url.contains('?') { '&' } else { '?' };
    let with_password = format!("{url}{separator}password=s3cret&dbname=no_such_database");
    let run = apikeys(Some(Path::new(&with_password)), &["list"], "").code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert!(run.stderr.contains("password=***"), "{}", run.stderr);
}

#[test]
fn unknown_url_schemes_are_refused_not_taken_for_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    for url in ["mysql://root:s3cret@localhost/app", "sqlite://keys.db"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_apikeys"));
        let output = command
            .args(["--store", url, "create", "--name", "x"])
            .env_remove("APIKEYS_STORE")
            .current_dir(dir.path())
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("unsupported store URL scheme"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    // Nothing was created, not even a `mysql:` directory.
    assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 0);
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let store = missing.join("keys.redb");
    let what = format!("its directory {} does not exist", missing.display());
    for args in [vec!["create", "--name", "x"], vec!["list"]] {
        apikeys(Some(&store), &args, "")
            .code(1)
            .one_error_line(&what);
    }
    assert!(!missing.exists());
}

/// The file holds key hashes: only its owner may read it.
#[cfg(unix)]
#[test]
fn created_stores_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    create(&store, &["--name", "k"]);
    let mode = std::fs::metadata(&store)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn django_table_needs_a_postgres_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(&dir);
    apikeys(Some(&store), &["--django-table", "list"], "")
        .code(1)
        .one_error_line("--django-table needs a postgres:// store");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The same life cycle as on a redb file, on a throwaway PostgreSQL server.
#[test]
fn postgres_store_create_list_verify_revoke() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let store = Path::new(&url);
    let key = create(store, &["--name", "on postgres", "--scope", "heroes:read"]);
    let listed = apikeys(Some(store), &["list", "--json"], "").ok().json();
    assert_eq!(listed[0]["name"], "on postgres");
    assert_eq!(listed[0]["scopes"][0], "heroes:read");
    apikeys(Some(store), &["verify"], &key).ok();
    apikeys(Some(store), &["revoke", prefix(&key), "--yes"], "").ok();
    let run = apikeys(Some(store), &["verify"], &key).code(1);
    assert_eq!(run.stdout.trim(), "revoked");
}

/// `--django-table` reads and writes djangorestframework-api-key's table.
#[test]
fn postgres_django_table() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let store = Path::new(&url);
    apikeys(Some(store), &["--django-table", "list"], "")
        .code(1)
        .one_error_line("rest_framework_api_key_apikey");
    apikeys(Some(store), &["--django-table=custom_keys", "list"], "")
        .code(1)
        .one_error_line("custom_keys");
    runtime.block_on(schema.create_django_table());
    let key = create(store, &["--django-table", "--name", "from the cli"]);
    apikeys(Some(store), &["--django-table", "verify"], &key).ok();
    apikeys(
        Some(store),
        &["--django-table", "create", "--name", "x", "--scope", "s"],
        "",
    )
    .code(1)
    .one_error_line("scopes");
    let shown = apikeys(
        Some(store),
        &["--django-table", "show", prefix(&key), "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(shown["name"], "from the cli");
    // apikeys' own table in the same schema knows nothing of it.
    let run = apikeys(Some(store), &["verify"], &key).code(1);
    assert_eq!(run.stdout.trim(), "not_found");
}

/// Off a terminal nobody can answer: without --yes, `revoke` refuses (exit 2) and says how.
#[test]
fn revoke_without_a_terminal_needs_yes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "scripted"]);
    let run = apikeys(Some(&store), &["revoke", prefix(&key)], "y\n")
        .code(2)
        .one_error_line("pass --yes");
    assert!(!run.stderr.contains("[y/N]"), "{}", run.stderr);
    assert_eq!(
        apikeys(Some(&store), &["verify"], &key).ok().stdout,
        "valid\n"
    );
    apikeys(Some(&store), &["revoke", prefix(&key), "--yes"], "").ok();
    assert_eq!(
        apikeys(Some(&store), &["verify"], &key).code(1).stdout,
        "revoked\n"
    );
}

/// Python's `pty` (on every CI machine) plays the terminal: runs the command on a
/// pseudo-terminal, answers `answer` to its `[y/N]` question, and returns its exit code.
fn on_terminal(store: &Path, args: &[&str], answer: &str) -> Option<i32> {
    const DRIVER: &str = r#"
import os, pty, sys
answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
seen = b""
while b"[y/N]" not in seen:
    chunk = os.read(fd, 1024)
    if not chunk:
        sys.exit(90)
    seen += chunk
os.write(fd, answer + b"\n")
try:
    while os.read(fd, 1024):
        pass
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    Command::new("python3")
        .args([
            "-c",
            DRIVER,
            answer,
            env!("CARGO_BIN_EXE_apikeys"),
            "--store",
        ])
        .arg(store)
        .args(args)
        .env_remove("APIKEYS_STORE")
        .status()
        .expect("python3 runs the command on a pseudo-terminal")
        .code()
}

/// On a terminal, `revoke` asks first; only "y" revokes.
#[test]
fn revoke_on_a_terminal_asks_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "asked"]);
    let revoke = |answer: &str| on_terminal(&store, &["revoke", prefix(&key)], answer);
    assert_eq!(revoke("n"), Some(1), "declining exits 1");
    assert_eq!(
        apikeys(Some(&store), &["verify"], &key).ok().stdout,
        "valid\n"
    );
    assert_eq!(revoke("y"), Some(0));
    assert_eq!(
        apikeys(Some(&store), &["verify"], &key).code(1).stdout,
        "revoked\n"
    );
}
