//! The lifecycle commands, on a redb file and on PostgreSQL (own table and Django's).

use super::*;

fn time(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap_or_else(|| panic!("not a time: {v}")),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339")
}

fn show(store: &Path, prefix: &str) -> Value {
    apikeys(Some(store), &["show", prefix, "--json"], "")
        .ok()
        .json()
}

fn verify(store: &Path, key: &str) -> String {
    apikeys(Some(store), &["verify"], key)
        .stdout
        .trim()
        .to_owned()
}

fn actions(store: &Path, prefix: &str) -> Vec<String> {
    apikeys(Some(store), &["history", prefix, "--json"], "")
        .ok()
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// `roll` prints only the successor's key; both keys work through the grace period and
/// name each other; the successor keeps name, scopes, metadata and owner.
fn roll_on(store: &Path) {
    let key = create(
        store,
        &[
            "--name", "rolled", "--scope", "a:read", "--meta", "org=7", "--owner", "org_7",
        ],
    );
    let old = prefix(&key).to_owned();
    let run = apikeys(Some(store), &["roll", &old, "--grace", "24h"], "").ok();
    let successor = run.stdout.trim().to_owned();
    assert_eq!(
        run.stdout,
        format!("{successor}\n"),
        "only the key on stdout"
    );
    assert!(run.stderr.contains("only time"), "{}", run.stderr);
    assert!(run.stderr.contains("keeps working until"), "{}", run.stderr);
    let new = prefix(&successor).to_owned();
    assert_ne!(new, old);
    assert_eq!(verify(store, &key), "valid", "the grace period");
    assert_eq!(verify(store, &successor), "valid");

    let before = show(store, &old);
    assert_eq!(before["successor"], new.as_str());
    let grace = time(&before["expires"]) - time::OffsetDateTime::now_utc();
    assert!((grace - time::Duration::hours(24)).abs() < time::Duration::minutes(1));
    let after = show(store, &new);
    assert_eq!(after["predecessor"], old.as_str());
    assert_eq!(after["name"], "rolled");
    assert_eq!(after["owner"], "org_7");
    assert_eq!(after["scopes"], serde_json::json!(["a:read"]));
    assert_eq!(after["metadata"], serde_json::json!({"org": 7}));

    apikeys(Some(store), &["roll", &old, "--grace", "1h"], "")
        .code(1)
        .one_error_line("already rolled");
    // A grace of zero revokes the old key at once; --json gives both records.
    let rolled = apikeys(Some(store), &["roll", &new, "--grace", "0", "--json"], "")
        .ok()
        .json();
    let third = rolled["key"].as_str().expect("key").to_owned();
    assert_eq!(rolled["prefix"], prefix(&third));
    assert_eq!(rolled["predecessor"], new.as_str());
    assert_eq!(rolled["old"]["prefix"], new.as_str());
    assert_eq!(rolled["old"]["revoked"], true);
    assert_eq!(rolled["old"]["successor"], prefix(&third));
    assert_eq!(verify(store, &successor), "revoked");
    assert_eq!(verify(store, &third), "valid");
    apikeys(Some(store), &["roll", &new, "--grace", "1h"], "")
        .code(1)
        .one_error_line("revoked");
    apikeys(Some(store), &["roll", "Nope1234", "--grace", "1h"], "")
        .code(1)
        .one_error_line("Nope1234");

    // Nothing but `create` and `roll` prints a secret.
    for secret in [&key, &successor, &third] {
        let secret = secret.split('.').nth(1).expect("secret");
        for args in [
            vec!["list"],
            vec!["list", "--json"],
            vec!["show", &old, "--json"],
            vec!["history", &new, "--json"],
            vec!["history", &new],
        ] {
            let run = apikeys(Some(store), &args, "").ok();
            assert!(!run.stdout.contains(secret), "{args:?}");
        }
    }
}

#[test]
fn roll_links_both_keys_and_prints_the_successor_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    roll_on(&store_in(&dir));
}

#[test]
fn roll_keeps_the_hasher_and_refuses_bad_graces() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "slow", "--hasher", "argon2"]);
    let hasher = |prefix: &str| {
        let run = apikeys(Some(&store), &["show", prefix], "").ok();
        run.stdout
            .lines()
            .find_map(|l| l.strip_prefix("hasher"))
            .expect("hasher line")
            .trim()
            .to_owned()
    };
    assert!(hasher(prefix(&key)).starts_with("argon2"));
    let run = apikeys(Some(&store), &["roll", prefix(&key), "--grace", "1h"], "").ok();
    let successor = run.stdout.trim().to_owned();
    assert!(
        hasher(prefix(&successor)).starts_with("argon2"),
        "not turned into SHA-512"
    );
    assert_eq!(verify(&store, &successor), "valid");
    let run = apikeys(
        Some(&store),
        &[
            "roll",
            prefix(&successor),
            "--grace",
            "1h",
            "--hasher",
            "scrypt",
        ],
        "",
    )
    .ok();
    assert!(hasher(prefix(run.stdout.trim())).starts_with("scrypt"));

    let other = create(&store, &["--name", "other"]);
    for (grace, what) in [("soon", "duration"), ("-1h", "duration"), ("", "duration")] {
        let grace = format!("--grace={grace}");
        apikeys(Some(&store), &["roll", prefix(&other), &grace], "")
            .code(2)
            .one_error_line(what);
    }
    apikeys(Some(&store), &["roll", prefix(&other)], "")
        .code(2)
        .one_error_line("--grace");
    // Past year 9999: the core refuses the expiry, a validation error.
    apikeys(
        Some(&store),
        &["roll", prefix(&other), "--grace", "3000000d"],
        "",
    )
    .code(2)
    .one_error_line("expiry");
    assert_eq!(verify(&store, &other), "valid", "nothing was changed");
    assert_eq!(show(&store, prefix(&other))["successor"], Value::Null);
}

#[test]
fn edit_changes_what_it_names_and_validates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(
        &store,
        &["--name", "before", "--scope", "a", "--meta", "x=1"],
    );
    let p = prefix(&key);
    let edited = apikeys(
        Some(&store),
        &[
            "edit",
            p,
            "--name",
            "after",
            "--scope",
            "b",
            "--scope",
            "c",
            "--meta",
            "plan=gold",
            "--expires-in",
            "7d",
            "--owner",
            "org_1",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["name"], "after");
    assert_eq!(edited["scopes"], serde_json::json!(["b", "c"]));
    assert_eq!(edited["metadata"], serde_json::json!({"plan": "gold"}));
    assert_eq!(edited["owner"], "org_1");
    assert!(time(&edited["expires"]) > time::OffsetDateTime::now_utc());
    assert_eq!(show(&store, p), edited, "stored as printed");

    // Only what is named changes.
    let renamed = apikeys(Some(&store), &["edit", p, "--name", "again", "--json"], "")
        .ok()
        .json();
    assert_eq!(renamed["name"], "again");
    assert_eq!(renamed["owner"], "org_1");
    assert_eq!(renamed["scopes"], serde_json::json!(["b", "c"]));

    let text = apikeys(
        Some(&store),
        &[
            "edit",
            p,
            "--no-expiry",
            "--no-owner",
            "--no-scopes",
            "--no-meta",
        ],
        "",
    )
    .ok();
    assert!(text.stdout.contains("again"), "{}", text.stdout);
    let cleared = show(&store, p);
    assert_eq!(cleared["expires"], Value::Null);
    assert_eq!(cleared["owner"], Value::Null);
    assert_eq!(cleared["scopes"], serde_json::json!([]));
    assert_eq!(cleared["metadata"], serde_json::json!({}));
    assert_eq!(verify(&store, &key), "valid");

    let past = apikeys(
        Some(&store),
        &["edit", p, "--expires", "2020-01-01T00:00:00Z"],
        "",
    )
    .ok();
    assert!(past.stderr.contains("in the past"), "{}", past.stderr);
    assert_eq!(verify(&store, &key), "expired");
}

#[test]
fn edit_refuses_invalid_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "again"]);
    let p = prefix(&key);
    let long_name = "n".repeat(51);
    let long_owner = "o".repeat(101);
    for (args, what) in [
        (vec!["edit", p], "nothing to change"),
        (vec!["edit", p, "--name", long_name.as_str()], "at most 50"),
        (
            vec!["edit", p, "--owner", long_owner.as_str()],
            "at most 100",
        ),
        (vec!["edit", p, "--scope", "has space"], "scope"),
        (
            vec!["edit", p, "--scope", "a", "--no-scopes"],
            "--no-scopes",
        ),
        (vec!["edit", p, "--owner", "o", "--no-owner"], "--no-owner"),
        (
            vec!["edit", p, "--expires-in", "1d", "--no-expiry"],
            "--no-expiry",
        ),
        (
            vec!["edit", p, "--expires", "9999-12-31T23:00:00-02:00"],
            "expiry",
        ),
    ] {
        apikeys(Some(&store), &args, "")
            .code(2)
            .one_error_line(what);
    }
    assert_eq!(show(&store, p)["name"], "again", "nothing was changed");
    apikeys(Some(&store), &["edit", "Nope1234", "--name", "x"], "")
        .code(1)
        .one_error_line("Nope1234");
}

#[test]
fn disable_and_enable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "suspended"]);
    let other = create(&store, &["--name", "untouched"]);
    let p = prefix(&key);
    let run = apikeys(Some(&store), &["disable", p], "").ok();
    assert_eq!(run.stdout, format!("disabled key {p} (suspended)\n"));
    assert_eq!(verify(&store, &key), "disabled");
    assert_eq!(show(&store, p)["disabled"], true);
    let again = apikeys(Some(&store), &["disable", p], "").ok();
    assert!(
        again.stdout.contains("already disabled"),
        "{}",
        again.stdout
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
    assert_eq!(names(&["--disabled"]), ["suspended"]);
    assert_eq!(names(&["--active"]), ["untouched"]);
    apikeys(Some(&store), &["list", "--disabled", "--active"], "")
        .code(2)
        .one_error_line("--active");
    let table = apikeys(Some(&store), &["list"], "").ok().stdout;
    assert!(table.lines().next().expect("header").contains("DISABLED"));

    let run = apikeys(Some(&store), &["enable", p], "").ok();
    assert_eq!(run.stdout, format!("enabled key {p} (suspended)\n"));
    assert_eq!(verify(&store, &key), "valid");
    let again = apikeys(Some(&store), &["enable", p], "").ok();
    assert!(
        again.stdout.contains("was not disabled"),
        "{}",
        again.stdout
    );

    // Nothing un-revokes.
    apikeys(Some(&store), &["revoke", prefix(&other), "--yes"], "").ok();
    for command in ["enable", "disable"] {
        apikeys(Some(&store), &[command, prefix(&other)], "")
            .code(1)
            .one_error_line("revoked");
    }
    assert_eq!(verify(&store, &other), "revoked");
    for command in ["enable", "disable"] {
        apikeys(Some(&store), &[command, "Nope1234"], "")
            .code(1)
            .one_error_line("Nope1234");
    }
}

#[test]
fn delete_asks_and_keeps_the_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "doomed"]);
    let p = prefix(&key);
    let run = apikeys(Some(&store), &["delete", p], "y\n")
        .code(2)
        .one_error_line("pass --yes");
    assert!(!run.stderr.contains("[y/N]"), "{}", run.stderr);
    assert_eq!(verify(&store, &key), "valid");
    assert_eq!(on_terminal(&store, &["delete", p], "n"), Some(1));
    assert_eq!(verify(&store, &key), "valid");
    assert_eq!(on_terminal(&store, &["delete", p], "y"), Some(0));
    assert_eq!(verify(&store, &key), "not_found");

    let key = create(&store, &["--name", "scripted"]);
    let p = prefix(&key);
    let run = apikeys(Some(&store), &["delete", p, "--yes"], "").ok();
    assert_eq!(run.stdout, format!("deleted key {p} (scripted)\n"));
    apikeys(Some(&store), &["show", p], "")
        .code(1)
        .one_error_line(p);
    apikeys(Some(&store), &["delete", p, "--yes"], "")
        .code(1)
        .one_error_line(p);
    assert_eq!(actions(&store, p), ["created", "deleted"]);
}

#[test]
fn history_names_every_change_and_its_actor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "audited"]);
    let p = prefix(&key);
    apikeys_as(
        Some("alice"),
        Some(&store),
        &["edit", p, "--owner", "org_9"],
        "",
    )
    .ok();
    apikeys_as(None, Some(&store), &["disable", p], "").ok();
    apikeys(Some(&store), &["enable", p], "").ok();
    let successor = apikeys(Some(&store), &["roll", p, "--grace", "1h"], "")
        .ok()
        .stdout;
    apikeys(Some(&store), &["revoke", p, "--yes"], "").ok();
    // Verifying writes nothing, so it leaves no event either.
    assert_eq!(verify(&store, &key), "revoked");

    let events = apikeys(Some(&store), &["history", p, "--json"], "")
        .ok()
        .json();
    let events = events.as_array().expect("array");
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["actor"].as_str().expect("actor"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("created", "cli:tester"),
            ("updated", "cli:alice"),
            ("disabled", "cli"),
            ("enabled", "cli:tester"),
            ("rolled", "cli:tester"),
            ("revoked", "cli:tester"),
        ]
    );
    assert_eq!(events[1]["changes"]["owner"], "org_9");
    assert_eq!(events[4]["successor"], prefix(successor.trim()));
    for event in events {
        time(&event["at"]);
        assert_eq!(event["prefix"], p);
    }
    // The roll is in the successor's history too.
    assert_eq!(actions(&store, prefix(successor.trim())), ["rolled"]);

    let table = apikeys(Some(&store), &["history", p], "").ok().stdout;
    let mut lines = table.lines();
    let header = lines.next().expect("header");
    for column in ["AT", "KEY", "ACTOR", "ACTION", "DETAILS"] {
        assert!(header.contains(column), "{header}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "{table}");
    assert!(rows[1].contains("owner=org_9"), "{}", rows[1]);
    assert!(rows[4].contains(prefix(successor.trim())), "{}", rows[4]);

    apikeys(Some(&store), &["history", "Nope1234"], "")
        .code(1)
        .one_error_line("Nope1234");
}

#[test]
fn create_with_owner_and_hasher_and_list_by_owner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let mut made = Vec::new();
    for (name, owner, hasher) in [
        ("a1", "org_a", "sha512"),
        ("b1", "org_b", "argon2"),
        ("a2", "org_a", "scrypt"),
    ] {
        let key = create(
            &store,
            &["--name", name, "--owner", owner, "--hasher", hasher],
        );
        assert_eq!(verify(&store, &key), "valid");
        let shown = apikeys(Some(&store), &["show", prefix(&key)], "")
            .ok()
            .stdout;
        assert!(shown.contains(hasher), "{shown}");
        assert!(shown.contains(owner), "{shown}");
        made.push(key);
    }
    let names = |owner: &str| -> Vec<String> {
        apikeys(Some(&store), &["list", "--json", "--owner", owner], "")
            .ok()
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|k| k["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names("org_a"), ["a2", "a1"]);
    assert_eq!(names("org_b"), ["b1"]);
    assert!(names("org_c").is_empty());
    let listed = apikeys(Some(&store), &["list", "--owner", "org_b"], "")
        .ok()
        .stdout;
    assert!(listed.lines().next().expect("header").contains("OWNER"));
    assert!(
        listed.contains("org_b") && !listed.contains("org_a"),
        "{listed}"
    );

    let long_owner = "o".repeat(101);
    for (args, what) in [
        (vec!["create", "--name", "x", "--hasher", "md5"], "md5"),
        (
            vec!["create", "--name", "x", "--owner", long_owner.as_str()],
            "at most 100",
        ),
        (vec!["create", "--name", "x", "--owner", " "], "empty"),
        // Past year 9999: refused, not a panic.
        (
            vec!["create", "--name", "x", "--expires-in", "3000000d"],
            "expiry",
        ),
    ] {
        apikeys(Some(&store), &args, "")
            .code(2)
            .one_error_line(what);
    }
}

#[test]
fn list_says_how_many_more_and_what_expires_soon() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    for (name, expiry) in [
        ("soon", "2d"),
        ("later", "30d"),
        ("never", ""),
        ("tomorrow", "1d"),
    ] {
        let mut args = vec!["--name", name];
        if !expiry.is_empty() {
            args.extend(["--expires-in", expiry]);
        }
        create(&store, &args);
    }
    let names = |args: &[&str]| -> (Vec<String>, String) {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        let run = apikeys(Some(&store), &all, "").ok();
        let names = run
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|k| k["name"].as_str().expect("name").to_owned())
            .collect();
        (names, run.stderr)
    };
    assert_eq!(names(&["--expiring-within", "7d"]).0, ["tomorrow", "soon"]);
    assert_eq!(names(&["--expiring-within", "36h"]).0, ["tomorrow"]);
    apikeys(Some(&store), &["list", "--expiring-within", "soon"], "")
        .code(2)
        .one_error_line("duration");

    let (first, note) = names(&["--limit", "1"]);
    assert_eq!(first, ["tomorrow"]);
    assert_eq!(
        note,
        "note: 3 more keys match (raise --limit to see them)\n"
    );
    let (_, note) = names(&["--limit", "3"]);
    assert_eq!(
        note,
        "note: 1 more key matches (raise --limit to see them)\n"
    );
    let (all, note) = names(&["--limit", "4"]);
    assert_eq!((all.len(), note.as_str()), (4, ""));
    let (_, note) = names(&["--limit", "1", "--expiring-within", "7d"]);
    assert!(note.contains("1 more key"), "{note}");
    let table = apikeys(Some(&store), &["list", "--limit", "2"], "").ok();
    assert_eq!(table.stdout.lines().count(), 3, "header and two keys");
    assert!(table.stderr.contains("2 more keys"), "{}", table.stderr);

    // The lifecycle fields are in every listing.
    let listed = apikeys(Some(&store), &["list", "--json"], "").ok().json();
    for field in ["owner", "disabled", "last_used", "predecessor", "successor"] {
        assert!(listed[0].get(field).is_some(), "{field}: {}", listed[0]);
    }
}

#[test]
fn list_reports_records_it_cannot_decode() {
    const RECORDS: redb::TableDefinition<'static, &str, &[u8]> =
        redb::TableDefinition::new("apikeys_records");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let good = create(&store, &["--name", "good"]);
    let bad = create(&store, &["--name", "damaged"]);
    {
        let db = redb::Database::open(&store).expect("open the file");
        let txn = db.begin_write().expect("write");
        txn.open_table(RECORDS)
            .expect("records")
            .insert(prefix(&bad), b"\xff\x00 not a record".as_slice())
            .expect("damage the record");
        txn.commit().expect("commit");
    }
    let run = apikeys(Some(&store), &["list", "--json"], "").ok();
    let listed = run.json();
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["prefix"], prefix(&good));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("warning: skipped 1 record "),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(prefix(&bad)), "{}", lines[0]);
    // It can still be revoked and deleted.
    let revoked = apikeys(Some(&store), &["revoke", prefix(&bad), "--yes"], "").ok();
    assert!(revoked.stdout.contains("revoked key"), "{}", revoked.stdout);
    apikeys(Some(&store), &["delete", prefix(&bad), "--yes"], "").ok();
    let run = apikeys(Some(&store), &["list"], "").ok();
    assert_eq!(run.stderr, "");
}

/// `verify` writes nothing: no last-used time, no hash upgrade, no event.
#[test]
fn verify_never_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_in(&dir);
    let key = create(&store, &["--name", "read only", "--hasher", "scrypt"]);
    let before = show(&store, prefix(&key));
    for _ in 0..3 {
        assert_eq!(verify(&store, &key), "valid");
    }
    let after = show(&store, prefix(&key));
    assert_eq!(after, before);
    assert_eq!(after["last_used"], Value::Null);
    assert_eq!(actions(&store, prefix(&key)), ["created"]);
}

/// The same commands on PostgreSQL's own table.
#[test]
fn postgres_lifecycle() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    let store = Path::new(&url);
    roll_on(store);
    let key = create(store, &["--name", "pg", "--owner", "org_pg"]);
    let p = prefix(&key);
    apikeys(
        Some(store),
        &["edit", p, "--scope", "s", "--expires-in", "2d"],
        "",
    )
    .ok();
    apikeys(Some(store), &["disable", p], "").ok();
    assert_eq!(verify(store, &key), "disabled");
    let listed = apikeys(Some(store), &["list", "--json", "--owner", "org_pg"], "")
        .ok()
        .json();
    assert_eq!(listed[0]["disabled"], true);
    assert_eq!(listed[0]["scopes"], serde_json::json!(["s"]));
    apikeys(Some(store), &["enable", p], "").ok();
    let soon = apikeys(
        Some(store),
        &[
            "list",
            "--json",
            "--owner",
            "org_pg",
            "--expiring-within",
            "3d",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(soon.as_array().expect("array").len(), 1);
    apikeys(Some(store), &["delete", p, "--yes"], "").ok();
    assert_eq!(
        actions(store, p),
        ["created", "updated", "disabled", "enabled", "deleted"]
    );
}

/// Django's table has no column for the lifecycle fields: writes needing one are refused
/// naming the field (exit 1); what it can hold still works.
#[test]
fn postgres_django_table_refuses_what_it_cannot_hold() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    runtime.block_on(schema.create_django_table());
    let url = schema.url_with_schema();
    let store = Path::new(&url);
    let key = create(store, &["--django-table", "--name", "django"]);
    let p = prefix(&key);
    for (args, what) in [
        (vec!["create", "--name", "x", "--owner", "org"], "owner"),
        (vec!["edit", p, "--owner", "org"], "owner"),
        (vec!["disable", p], "disabled"),
        (vec!["roll", p, "--grace", "1h"], "rotation"),
        (vec!["history", p], "audit trail"),
    ] {
        let mut all = vec!["--django-table"];
        all.extend(args.iter().copied());
        apikeys(Some(store), &all, "").code(1).one_error_line(what);
    }
    let edited = apikeys(
        Some(store),
        &[
            "--django-table",
            "edit",
            p,
            "--name",
            "renamed",
            "--expires-in",
            "1d",
            "--json",
        ],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["name"], "renamed");
    assert_eq!(edited["owner"], Value::Null);
    assert_eq!(edited["disabled"], false);
    let run = apikeys(Some(store), &["--django-table", "verify"], &key).ok();
    assert_eq!(run.stdout, "valid\n");
    apikeys(Some(store), &["--django-table", "delete", p, "--yes"], "").ok();
}
