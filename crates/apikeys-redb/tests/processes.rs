//! Tests that need a second process: crash safety under SIGKILL, and a file held open by
//! another process. The binary re-executes itself as that process (`CHILD` says which
//! role), so it has its own `main` (`harness = false`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apikeys::{ApiKeys, NewKey};
use apikeys_redb::{OpenError, RedbStore};

const CHILD: &str = "APIKEYS_REDB_TEST_CHILD";
const STORE: &str = "APIKEYS_REDB_TEST_STORE";
const CRASH_ROUNDS: usize = 5;

fn main() {
    match std::env::var(CHILD).as_deref() {
        Ok("create") => child_create_forever(&store_path()),
        Ok("hold") => child_hold(&store_path()),
        Ok(other) => panic!("unknown child role {other}"),
        Err(_) => {
            let tests: [(&str, fn()); 2] = [
                ("crash_safety", crash_safety),
                ("held_by_another_process", held_by_another_process),
            ];
            // Enough of libtest's command line for `--list` and a name filter to work.
            let args: Vec<String> = std::env::args().skip(1).collect();
            let filter = args.iter().find(|a| !a.starts_with('-'));
            for (name, test) in tests {
                if filter.is_some_and(|f| !name.contains(f.as_str())) {
                    continue;
                }
                if args.iter().any(|a| a == "--list") {
                    println!("{name}: test");
                } else {
                    run(name, test);
                }
            }
        }
    }
}

fn run(name: &str, test: fn()) {
    let started = Instant::now();
    test();
    println!("test {name} ... ok ({:.1?})", started.elapsed());
}

fn store_path() -> PathBuf {
    PathBuf::from(std::env::var_os(STORE).expect("store path"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Kills and reaps the child even if the test panics.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, store: &Path) -> Reaped {
    let child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD, role)
        .env(STORE, store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    Reaped(child)
}

/// Child: creates keys until killed, printing each one after `create` returned.
fn child_create_forever(path: &Path) {
    runtime().block_on(async {
        let keys = ApiKeys::new(RedbStore::open(path).expect("child open"));
        let mut out = std::io::stdout().lock();
        for i in 0.. {
            let created = keys
                .create(NewKey::named(format!("crash {i}")))
                .await
                .expect("create");
            writeln!(out, "{}", created.key.expose_secret()).expect("print");
            out.flush().expect("flush");
        }
    });
}

/// Child: opens the store, says so, and keeps it open until its stdin closes.
fn child_hold(path: &Path) {
    let _store = RedbStore::open(path).expect("child open");
    println!("open");
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

/// A pseudo-random kill delay in 50..300 ms, different every run.
fn random_delay() -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new().hash_one(Instant::now());
    Duration::from_millis(50 + random % 250)
}

fn crash_safety() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.redb");
    let mut confirmed: Vec<String> = Vec::new();
    for round in 0..CRASH_ROUNDS {
        let mut child = spawn("create", &path);
        let stdout = child.0.stdout.take().expect("stdout");
        // Read on a thread so the child never blocks on a full pipe before the kill.
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            // A line without its newline was cut by the kill: its create may not have
            // returned, so it proves nothing.
            while stdout.read_line(&mut line).is_ok_and(|n| n > 0) && line.ends_with('\n') {
                lines.push(line.trim_end().to_owned());
                line.clear();
            }
            lines
        });
        std::thread::sleep(random_delay());
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().expect("wait");
        assert!(!status.success(), "round {round}: the child was not killed");
        let printed = reader.join().expect("reader");
        confirmed.extend(printed);

        let store = RedbStore::open_existing(&path)
            .unwrap_or_else(|e| panic!("round {round}: reopening after SIGKILL: {e}"));
        let keys = ApiKeys::new(store.clone());
        runtime().block_on(async {
            for secret in &confirmed {
                keys.verify(secret).await.unwrap_or_else(|e| {
                    panic!("round {round}: a key whose create returned is lost: {e:?}")
                });
            }
        });
        let stored = store.len().expect("len");
        assert!(stored >= confirmed.len() as u64, "round {round}");
    }
    assert!(
        confirmed.len() >= CRASH_ROUNDS,
        "the children made too few keys ({}) for the test to mean anything",
        confirmed.len()
    );
    println!(
        "  {} keys confirmed across {CRASH_ROUNDS} kills",
        confirmed.len()
    );
}

fn held_by_another_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("held.redb");
    let mut child = spawn("hold", &path);
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("child ready");
    assert_eq!(line.trim(), "open");

    for result in [RedbStore::open(&path), RedbStore::open_existing(&path)] {
        let error = result.expect_err("the file is held by the child");
        assert!(matches!(error, OpenError::InUse { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("in use by another process"), "{message}");
        assert!(!message.contains('\n'));
    }

    drop(child.0.stdin.take());
    assert!(child.0.wait().expect("wait").success());
    RedbStore::open_existing(&path).expect("free once the child is gone");
}
