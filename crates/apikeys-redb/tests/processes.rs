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
        Ok("spend") => child_spend_forever(&store_path()),
        Ok(other) => panic!("unknown child role {other}"),
        Err(_) => {
            let tests: [(&str, fn()); 3] = [
                ("crash_safety", crash_safety),
                ("credits_after_sigkill", credits_after_sigkill),
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

const SPENDER: &str = "Sig00001";
const CREDITS: u64 = 10_000_000;
const FLUSH: Duration = Duration::from_millis(100);

/// Child: spends 1 credit at a time until killed, printing after each grant what remains
/// and when (µs since it started).
fn child_spend_forever(path: &Path) {
    use apikeys::KeyStore;
    let store = RedbStore::builder()
        .credit_flush_interval(FLUSH)
        .open(path)
        .expect("child open");
    let started = Instant::now();
    runtime().block_on(async {
        let mut out = std::io::stdout().lock();
        loop {
            let spent = store
                .spend(SPENDER, 1, time::OffsetDateTime::now_utc())
                .await
                .expect("spend")
                .expect("credits");
            assert!(spent.granted, "the test gives more credits than it spends");
            writeln!(out, "{} {}", spent.remaining, started.elapsed().as_micros()).expect("print");
            out.flush().expect("flush");
        }
    });
}

fn stored_remaining(path: &Path) -> u64 {
    use apikeys::KeyStore;
    let store = RedbStore::open_existing(path).expect("reopen after SIGKILL");
    runtime().block_on(async {
        let key = store.get(SPENDER).await.expect("get").expect("present");
        key.credits.as_ref().expect("credits").remaining
    })
}

/// SIGKILL a process spending credits: the file never shows more spent than was granted
/// (at most the one grant the kill may cut before its line), loses at most about a flush
/// interval's spending, and remaining never goes up from one crash to the next.
fn credits_after_sigkill() {
    use apikeys::{AuditAction, AuditEvent, Credits, KeyStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("credits.redb");
    {
        let store = RedbStore::open(&path).expect("open");
        let record = apikeys::testing::record(SPENDER, "sigkill");
        let key = apikeys::ApiKey {
            credits: Some(Credits::new(CREDITS, record.created).expect("credits")),
            ..record
        };
        runtime().block_on(async {
            store
                .insert(&key, &AuditEvent::new(SPENDER, AuditAction::Created))
                .await
                .expect("insert");
        });
    }
    let mut flushed = CREDITS;
    let mut max_lost = 0;
    for round in 0..3 {
        let mut child = spawn("spend", &path);
        let stdout = child.0.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut grants: Vec<(u64, u64)> = Vec::new();
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            while stdout.read_line(&mut line).is_ok_and(|n| n > 0) && line.ends_with('\n') {
                let mut fields = line.split_whitespace().map(str::parse::<u64>);
                if let (Some(Ok(remaining)), Some(Ok(at))) = (fields.next(), fields.next()) {
                    grants.push((remaining, at));
                }
                line.clear();
            }
            grants
        });
        // Long enough for a few flushes.
        std::thread::sleep(Duration::from_millis(400) + random_delay());
        child.0.kill().expect("SIGKILL");
        assert!(!child.0.wait().expect("wait").success());
        let grants = reader.join().expect("reader");
        let &(last_printed, last_at) = grants.last().expect("the child granted something");
        let remaining = stored_remaining(&path);
        assert!(
            remaining < flushed,
            "round {round}: nothing was flushed in {} grants",
            grants.len()
        );
        assert!(
            remaining + 1 >= last_printed,
            "round {round}: the file shows more spent ({}) than was granted ({})",
            CREDITS - remaining,
            CREDITS - last_printed
        );
        // Lost: grants printed but not in the file. They must be recent: within a flush
        // interval of the kill, with a generous margin for a loaded machine.
        let lost = remaining.saturating_sub(last_printed);
        let window = u64::try_from((FLUSH * 10).as_micros()).expect("small");
        let recent = grants
            .iter()
            .filter(|(_, at)| *at + window >= last_at)
            .count() as u64;
        assert!(
            lost <= recent,
            "round {round}: lost {lost} grants, but only {recent} were within {window} µs of the kill"
        );
        assert!(remaining <= flushed, "round {round}: remaining went up");
        flushed = remaining;
        max_lost = max_lost.max(lost);
        println!(
            "  round {round}: {} grants, {lost} lost to the kill, {remaining} remaining",
            grants.len()
        );
    }
    println!("  at most {max_lost} grants lost per SIGKILL (flush interval {FLUSH:?})");
}
