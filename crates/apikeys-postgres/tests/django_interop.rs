//! The real thing: djangorestframework-api-key 3.x, installed from PyPI into a virtual
//! environment, migrates the test database and issues, verifies and revokes keys in the
//! same table as `PostgresStore`'s Django mode. Keys made on either side work on the other,
//! and a key revoked on either side is refused by both.
//!
//! The virtual environment is kept under the target directory and reused while the pinned
//! requirements stay the same. `APIKEYS_TEST_PYTHON` picks the interpreter (default `python3`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use apikeys::{
    ApiKeys, Denial, DjangoHasher, Hashers, KeyStore, ListQuery, NewKey, Sha512Hasher, VerifyError,
};
use apikeys_postgres::testing::TestSchema;
use apikeys_postgres::{DJANGO_TABLE, PostgresStore};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Pinned: the versions DJANGO_FORMATS.md was checked against.
const REQUIREMENTS: &[&str] = &[
    "Django==5.2.19",
    "djangorestframework==3.18.3",
    "djangorestframework-api-key==3.1.0",
    "psycopg[binary]==3.3.9",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_and_apikeys_share_one_table() {
    let python = tokio::task::spawn_blocking(venv_python)
        .await
        .expect("venv task");
    let schema = TestSchema::new().await;
    let mut django = Django::start(&python, &schema);
    django.call(&json!({"op": "migrate"}));

    let store = PostgresStore::django(schema.pool().await, DJANGO_TABLE)
        .await
        .expect("Django's migrations made a usable table");
    let keys = ApiKeys::builder(store.clone())
        .hashers(Hashers::new(Sha512Hasher).with_legacy(DjangoHasher))
        .build();

    // Issued by Django, verified by apikeys.
    let from_django = django.call(&json!({"op": "create", "name": "issued by Django"}));
    let django_key = from_django["key"].as_str().expect("key").to_owned();
    let django_prefix = from_django["prefix"].as_str().expect("prefix").to_owned();
    let verified = keys
        .verify(&django_key)
        .await
        .expect("Django's key verifies");
    assert_eq!(verified.name(), "issued by Django");
    assert_eq!(verified.prefix(), django_prefix);
    assert!(matches!(
        keys.verify(&tamper(&django_key)).await,
        Err(VerifyError::Denied(Denial::InvalidSecret))
    ));

    // Issued by apikeys, verified by Django, which sees the same fields.
    let expires = OffsetDateTime::now_utc() + Duration::days(30);
    let ours = keys
        .create(NewKey::named("issued by apikeys ✓").expires(expires))
        .await
        .expect("create in Django's table");
    let our_key = ours.key.expose_secret().to_owned();
    let our_prefix = ours.key.prefix().to_owned();
    assert!(django.is_valid(&our_key), "Django accepts apikeys' key");
    assert!(!django.is_valid(&tamper(&our_key)));
    let row = django.call(&json!({"op": "get", "prefix": our_prefix}));
    assert_eq!(row["name"], "issued by apikeys ✓");
    assert_eq!(row["revoked"], false);
    assert_eq!(row["hashed_key"], ours.record.hashed_key.as_str());
    assert_eq!(
        row["id"],
        format!("{our_prefix}.{}", ours.record.hashed_key)
    );
    assert_eq!(timestamp(&row["created"]), ours.record.created);
    assert_eq!(Some(timestamp(&row["expiry_date"])), ours.record.expires);

    // Both list both keys, newest first.
    let listed: Vec<String> = keys
        .list(&ListQuery::new())
        .await
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.prefix)
        .collect();
    assert_eq!(listed, [our_prefix.clone(), django_prefix.clone()]);
    assert_eq!(
        django.call(&json!({"op": "list"}))["prefixes"],
        json!([our_prefix, django_prefix])
    );

    // Revoked in apikeys: refused by both.
    keys.revoke(&django_prefix).await.expect("revoke");
    assert!(
        !django.is_valid(&django_key),
        "Django still accepts a key apikeys revoked"
    );
    assert!(matches!(
        keys.verify(&django_key).await,
        Err(VerifyError::Denied(Denial::Revoked))
    ));
    // Revoked in Django: refused by both (by apikeys within its cache's bound).
    django.call(&json!({"op": "revoke", "prefix": our_prefix}));
    refused_within_bound(&keys, &our_key).await;
    assert!(!django.is_valid(&our_key));

    // Expired on either side: refused by both.
    let past = OffsetDateTime::now_utc() - Duration::hours(1);
    let from_django_expired = django.call(&json!({
        "op": "create",
        "name": "expired in Django",
        "expiry_date": past.format(&Rfc3339).expect("format"),
    }));
    let expired_key = from_django_expired["key"].as_str().expect("key");
    assert!(!django.is_valid(expired_key));
    assert!(matches!(
        keys.verify(expired_key).await,
        Err(VerifyError::Denied(Denial::Expired))
    ));
    let ours_expired = keys
        .create(NewKey::named("expired in apikeys").expires(past))
        .await
        .expect("create");
    assert!(!django.is_valid(ours_expired.key.expose_secret()));

    // Scopes and metadata have no column: a clear error, and nothing written.
    assert!(matches!(
        keys.create(NewKey::named("scoped").scope("read")).await,
        Err(apikeys::Error::Store(apikeys::StoreError::Unsupported(_)))
    ));
    assert_eq!(
        django.call(&json!({"op": "list"}))["prefixes"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_django_hashes_verify_and_are_upgraded_as_django_does() {
    let python = tokio::task::spawn_blocking(venv_python)
        .await
        .expect("venv task");
    let schema = TestSchema::new().await;
    let mut django = Django::start(&python, &schema);
    django.call(&json!({"op": "migrate"}));
    let store = PostgresStore::django(schema.pool().await, DJANGO_TABLE)
        .await
        .expect("store");
    let keys = ApiKeys::builder(store.clone())
        .hashers(Hashers::new(Sha512Hasher).with_legacy(DjangoHasher))
        .build();

    // A row as djangorestframework-api-key < 3 wrote it: hashed by Django's PBKDF2.
    let legacy = django.call(&json!({"op": "create_legacy", "name": "from 2019"}));
    let key = legacy["key"].as_str().expect("key");
    let prefix = legacy["prefix"].as_str().expect("prefix");
    let old_hash = legacy["hashed_key"].as_str().expect("hash").to_owned();
    assert!(old_hash.starts_with("pbkdf2_sha256$"), "{old_hash}");

    // Without the Django hasher the hash is not understood, and the key is refused.
    let sha512_only = ApiKeys::builder(store.clone())
        .hashers(Hashers::new(Sha512Hasher))
        .build();
    assert!(matches!(
        sha512_only.verify(key).await,
        Err(VerifyError::Denied(Denial::InvalidSecret))
    ));
    assert!(matches!(
        keys.verify(&tamper(key)).await,
        Err(VerifyError::Denied(Denial::InvalidSecret))
    ));
    assert!(
        store.get(prefix).await.unwrap().unwrap().hashed_key == old_hash,
        "a wrong key must not upgrade the hash"
    );

    // The first use checks the slow PBKDF2 hash, then upgrades it. Django sets an expiry
    // while the check runs: the upgrade is a compare-and-set of the hash alone, so the
    // expiry survives it (a whole-record write-back would undo it).
    let verifying = {
        let keys = keys.clone();
        let key = key.to_owned();
        tokio::spawn(async move { keys.verify(&key).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let later = time::macros::datetime!(2031-01-02 03:04:05 UTC);
    django.call(&json!({
        "op": "set_expiry",
        "prefix": prefix,
        "expiry_date": later.format(&Rfc3339).expect("format"),
    }));
    assert!(
        !verifying.is_finished(),
        "Django's write must land during the check for this to test anything"
    );
    verifying
        .await
        .expect("task")
        .expect("the legacy key verifies");
    let upgraded = store.get(prefix).await.unwrap().unwrap();
    assert_eq!(
        upgraded.expires,
        Some(later),
        "the upgrade undid Django's expiry"
    );
    let row = django.call(&json!({"op": "get", "prefix": prefix}));
    assert_eq!(timestamp(&row["expiry_date"]), later);
    assert!(
        upgraded.hashed_key.starts_with("sha512$$"),
        "upgraded on first use"
    );
    let row = django.call(&json!({"op": "get", "prefix": prefix}));
    assert_eq!(row["hashed_key"], upgraded.hashed_key.as_str());
    assert_eq!(
        row["id"],
        format!("{prefix}.{old_hash}"),
        "the id stays as Django leaves it"
    );
    assert!(django.is_valid(key), "Django accepts the upgraded hash");
    sha512_only
        .verify(key)
        .await
        .expect("now a plain sha512$$ key");

    django.call(&json!({"op": "revoke", "prefix": prefix}));
    refused_within_bound(&keys, key).await;
}

/// A key revoked by Django (which writes the table directly) is refused as revoked within
/// the record cache's bound: the trigger tells the store's listener.
async fn refused_within_bound(keys: &ApiKeys, key: &str) {
    let start = std::time::Instant::now();
    loop {
        let outcome = keys.verify(key).await;
        if matches!(outcome, Err(VerifyError::Denied(Denial::Revoked))) {
            return;
        }
        assert!(
            start.elapsed() < apikeys_postgres::CacheOptions::DEFAULT_MAX_STALENESS,
            "still {outcome:?} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// The same key with its last character changed.
fn tamper(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    wrong
}

fn timestamp(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a timestamp"), &Rfc3339).expect("RFC 3339")
}

/// One Python process running tests/django_interop.py; killed when dropped.
struct Django {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Django {
    fn start(python: &Path, schema: &TestSchema) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_interop.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(&schema.url)
            .arg(&schema.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start Python");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn call(&mut self, request: &Value) -> Value {
        writeln!(self.stdin, "{request}").expect("write to Python");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from Python");
        let mut reply: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("Python replied {line:?} to {request}: {e}"));
        if let Some(error) = reply.get("error") {
            panic!(
                "Django failed on {request}:\n{}",
                error.as_str().unwrap_or_default()
            );
        }
        reply["ok"].take()
    }

    fn is_valid(&mut self, key: &str) -> bool {
        self.call(&json!({"op": "is_valid", "key": key}))["valid"]
            .as_bool()
            .expect("a boolean")
    }
}

impl Drop for Django {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtual environment's interpreter, made (once) under the target directory.
fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("django-venv");
    let stamp_name = "apikeys-requirements.txt";
    let wanted = REQUIREMENTS.join("\n");
    let python = |dir: &Path| dir.join("bin/python");
    if std::fs::read_to_string(dir.join(stamp_name)).is_ok_and(|s| s == wanted) {
        return python(&dir);
    }
    // Built aside and renamed into place, so that a half-made environment is never used
    // and test binaries running at once do not trip over each other.
    let building = dir.with_extension(format!("building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let interpreter = std::env::var("APIKEYS_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = |command: &mut Command, what: &str| {
        let output = command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot {what}: {e}"));
        assert!(
            output.status.success(),
            "cannot {what}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(
        Command::new(&interpreter)
            .args(["-m", "venv"])
            .arg(&building),
        "create a Python virtual environment (on Debian: apt-get install python3-venv)",
    );
    run(
        Command::new(python(&building))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(REQUIREMENTS),
        "install Django and djangorestframework-api-key from PyPI",
    );
    std::fs::write(building.join(stamp_name), &wanted).expect("write the stamp");
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::rename(&building, &dir).is_err() {
        // Another test process finished first; use its environment.
        let _ = std::fs::remove_dir_all(&building);
    }
    python(&dir)
}
