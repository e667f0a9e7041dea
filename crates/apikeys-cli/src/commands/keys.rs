//! Creating, listing, showing and verifying keys.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use apikeys::{ApiKey, ApiKeys, ListQuery, NewKey, StatusFilter, VerifyError};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{Failure, Outcome};
use crate::cli::{CreateArgs, ListArgs, StatusArgs};
use crate::output::{details, record_json, table, timestamp};

/// Longest line `verify` reads: far above any key format, small enough to bound memory.
const MAX_KEY_INPUT: usize = 4096;

/// How many keys past `--limit` `list` counts to say how many more there are.
pub(super) const COUNT_MORE: usize = ListQuery::MAX_LIMIT;

/// How many undecodable prefixes `list` names in its warning.
const NAME_UNDECODABLE: usize = 10;

pub(super) async fn create(keys: &ApiKeys, args: CreateArgs) -> Outcome {
    let now = OffsetDateTime::now_utc();
    let mut new = NewKey::named(args.name).scopes(args.scopes);
    for (field, value) in args.meta {
        new = new.meta(field, value);
    }
    if let Some(owner) = args.owner {
        new = new.owner(owner);
    }
    if let Some(limit) = args.limits.rate {
        new = new.rate_limit(limit);
    }
    if let Some(credits) = args.limits.credits {
        new = new.credits(credits);
    }
    if let Some(refill) = args.limits.refill {
        new = new.refill(refill);
    }
    if let Some(expires) = args.expiry.at(now).map_err(apikeys::Error::from)? {
        warn_if_past(expires, now, "created");
        new = new.expires(expires);
    }
    let created = keys.create(new).await?;
    print_new_key(
        created.key.expose_secret(),
        &created.record,
        now,
        args.json,
        None,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A warning when an expiry being set has passed already.
pub(super) fn warn_if_past(expires: OffsetDateTime, now: OffsetDateTime, done: &str) {
    if expires <= now {
        eprintln!(
            "warning: the expiry {} is in the past: the key is {done} already expired",
            timestamp(expires)
        );
    }
}

/// Prints a new key once: alone on stdout, or as the `key` field of its record's JSON
/// (plus `extra` fields), and warns on stderr that it cannot be shown again.
pub(super) fn print_new_key(
    secret: &str,
    record: &ApiKey,
    now: OffsetDateTime,
    json: bool,
    extra: Option<(&str, serde_json::Value)>,
) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    let printed = if json {
        let mut object = record_json(record, now);
        if let Some(object) = object.as_object_mut() {
            // A new key is none of these yet.
            for field in ["expired", "revoked", "disabled", "last_used", "successor"] {
                object.remove(field);
            }
            if let Some((name, value)) = extra {
                object.insert(name.to_owned(), value);
            }
        }
        // The key goes straight to stdout rather than into a JSON value, which would keep
        // a copy that is not zeroized.
        let rest = object.to_string();
        write!(stdout, "{{\"key\":")
            .and_then(|()| serde_json::to_writer(&mut stdout, secret).map_err(Into::into))
            .and_then(|()| writeln!(stdout, ",{}", rest.strip_prefix('{').unwrap_or(&rest)))
    } else {
        writeln!(stdout, "{secret}")
    };
    printed
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot print the key: {e}"))?;
    eprintln!(
        "warning: this is the only time key {} is shown: store it now, it cannot be shown again",
        record.prefix
    );
    Ok(())
}

fn status(args: &StatusArgs) -> StatusFilter {
    if args.active {
        StatusFilter::Active
    } else if args.revoked {
        StatusFilter::Revoked
    } else if args.expired {
        StatusFilter::Expired
    } else if args.disabled {
        StatusFilter::Disabled
    } else if let Some(within) = args.expiring_within {
        StatusFilter::ExpiringWithin(within)
    } else {
        StatusFilter::All
    }
}

/// The query `list` asks for, with no limit or cursor yet.
pub(super) fn list_query(args: &ListArgs) -> ListQuery {
    let mut query = ListQuery::new().status(status(&args.status));
    if let Some(search) = &args.search {
        query = query.search(search.clone());
    }
    if let Some(owner) = &args.owner {
        query = query.owner(owner.clone());
    }
    query
}

pub(super) async fn list(keys: &ApiKeys, args: ListArgs) -> Outcome {
    let wanted = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let mut query = list_query(&args);
    let now = query.filter().now();
    let mut found = Vec::new();
    let mut undecodable = Vec::new();
    let next = loop {
        let page = keys
            .list(&query.clone().limit(wanted - found.len()))
            .await?;
        found.extend(page.keys);
        undecodable.extend(page.undecodable);
        match page.next {
            Some(cursor) if found.len() < wanted => query = query.after(cursor),
            next => break next,
        }
    };
    found.truncate(wanted);
    // Stopped at --limit with keys left: one more page says how many (or that there are
    // more than it holds).
    let more = match next {
        Some(cursor) if found.len() >= wanted => {
            let page = keys
                .list(&query.clone().after(cursor).limit(COUNT_MORE))
                .await?;
            undecodable.extend(page.undecodable);
            Some((page.keys.len(), page.next.is_some()))
        }
        _ => None,
    };
    print_list(&found, now, args.json, more, &undecodable);
    Ok(ExitCode::SUCCESS)
}

/// Prints a listing, then on stderr how many more keys match past `--limit` (`more`:
/// the count, and whether there are more than that) and which records were skipped.
pub(super) fn print_list(
    found: &[ApiKey],
    now: OffsetDateTime,
    json: bool,
    more: Option<(usize, bool)>,
    undecodable: &[String],
) {
    if json {
        let array: Vec<_> = found.iter().map(|k| record_json(k, now)).collect();
        println!("{}", serde_json::Value::Array(array));
    } else {
        print!("{}", table(found, now));
    }
    match more {
        Some((count, false)) if count > 0 => eprintln!(
            "note: {count} more {} (raise --limit to see them)",
            if count == 1 {
                "key matches"
            } else {
                "keys match"
            }
        ),
        Some((count, true)) => {
            eprintln!("note: more than {count} more keys match (raise --limit to see them)");
        }
        _ => {}
    }
    if !undecodable.is_empty() {
        let named: Vec<&str> = undecodable
            .iter()
            .take(NAME_UNDECODABLE)
            .map(String::as_str)
            .collect();
        let rest = if undecodable.len() > named.len() {
            ", …"
        } else {
            ""
        };
        eprintln!(
            "warning: skipped {} record{} the store cannot decode ({}{rest}); they can still be revoked or deleted",
            undecodable.len(),
            if undecodable.len() == 1 { "" } else { "s" },
            named.join(", "),
        );
    }
}

pub(super) async fn show(keys: &ApiKeys, prefix: &str, json: bool) -> Outcome {
    let key = keys.get(prefix).await?;
    let now = OffsetDateTime::now_utc();
    if json {
        println!("{}", record_json(&key, now));
    } else {
        print!("{}", details(&key, now));
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies without writing: the manager is read-only (see [`super::manager`]).
pub(super) async fn verify(keys: &ApiKeys) -> Outcome {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("API key: ");
    }
    // Room for any key up front, so growing the buffer leaves no copies of it behind.
    let mut line = Zeroizing::new(String::with_capacity(MAX_KEY_INPUT + 2));
    stdin
        .lock()
        .take(MAX_KEY_INPUT as u64)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the key from standard input: {e}"))?;
    let key = line.trim();
    match keys.verify(key).await {
        Ok(_) => {
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Denied(denial)) => {
            println!("{}", denial.code());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.to_string().into()),
    }
}
