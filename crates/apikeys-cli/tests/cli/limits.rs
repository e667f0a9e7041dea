//! `--rate`, `--credits` and `--refill` on `create` and `edit`, and how `show` and `list`
//! display them, on a redb file and on PostgreSQL.

use super::*;

fn limits_on(store: &Path) {
    let key = create(
        store,
        &[
            "--name",
            "metered",
            "--rate",
            "100/s",
            "--credits",
            "1000",
            "--refill",
            "1000/month",
        ],
    );
    let p = prefix(&key).to_owned();
    let shown = apikeys(Some(store), &["show", &p, "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["rate_limit"], "100/s", "{shown}");
    assert_eq!(shown["credits"]["remaining"], 1000, "{shown}");
    assert_eq!(shown["credits"]["refill"], "1000/month", "{shown}");
    assert!(shown["credits"]["next_refill"].is_string(), "{shown}");

    let text = apikeys(Some(store), &["show", &p], "").ok().stdout;
    for line in ["100/s", "1000/month", "next refill"] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let table = apikeys(Some(store), &["list"], "").ok().stdout;
    assert!(
        table.lines().next().unwrap_or("").contains("CREDITS"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(&p))
        .expect("the key's row");
    assert!(row.contains("1000"), "{row}");

    // An edit of the count keeps the refill; of the refill keeps the count.
    let edited = apikeys(Some(store), &["edit", &p, "--credits", "7", "--json"], "")
        .ok()
        .json();
    assert_eq!(edited["credits"]["remaining"], 7, "{edited}");
    assert_eq!(edited["credits"]["refill"], "1000/month", "{edited}");
    let edited = apikeys(
        Some(store),
        &["edit", &p, "--refill", "50/day", "--rate", "5/m", "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["credits"]["remaining"], 7, "{edited}");
    assert_eq!(edited["credits"]["refill"], "50/day", "{edited}");
    assert_eq!(edited["rate_limit"], "5/m", "{edited}");

    let edited = apikeys(
        Some(store),
        &["edit", &p, "--no-rate", "--no-refill", "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["rate_limit"], Value::Null, "{edited}");
    assert_eq!(edited["credits"]["remaining"], 7, "{edited}");
    assert_eq!(edited["credits"]["refill"], Value::Null, "{edited}");
    let edited = apikeys(Some(store), &["edit", &p, "--no-credits", "--json"], "")
        .ok()
        .json();
    assert_eq!(edited["credits"], Value::Null, "{edited}");

    // Bad values are usage errors, and change nothing.
    for (args, what) in [
        (vec!["create", "--rate", "fast"], "rate limit"),
        (vec!["create", "--rate", "0/s"], "rate"),
        (vec!["create", "--credits=-3"], "credits"),
        (vec!["create", "--refill", "1000/fortnight"], "refill"),
        (
            vec!["edit", &p, "--no-credits", "--credits", "3"],
            "--credits",
        ),
    ] {
        let run = apikeys(Some(store), &args, "").code(2);
        assert!(run.stderr.contains(what), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let shown = apikeys(Some(store), &["show", &p, "--json"], "")
        .ok()
        .json();
    assert_eq!(shown["credits"], Value::Null, "{shown}");
    // A refill for a key without credits starts them at the refill's amount.
    let edited = apikeys(
        Some(store),
        &["edit", &p, "--refill", "10/day", "--json"],
        "",
    )
    .ok()
    .json();
    assert_eq!(edited["credits"]["remaining"], 10, "{edited}");
    assert_eq!(edited["credits"]["refill"], "10/day", "{edited}");
    assert_eq!(edited["name"], "metered");
}

#[test]
fn limits_on_redb() {
    let dir = tempfile::tempdir().expect("tempdir");
    limits_on(&store_in(&dir));
}
#[test]
fn limits_on_postgres() {
    let runtime = runtime();
    let schema = runtime.block_on(TestSchema::new());
    let url = schema.url_with_schema();
    limits_on(Path::new(&url));
}
