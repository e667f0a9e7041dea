//! What each command does. Errors come back as one-line messages; `main` prints them.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use apikeys::{ApiKeys, ListQuery, NewKey, Revocation, StatusFilter, VerifyError};
use apikeys_cli::StoreArgs;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::output::{details, record_json, table, timestamp};
use crate::{Command, CreateArgs, ListArgs};

/// Longest line `verify` reads: far above any key format, small enough to bound memory.
const MAX_KEY_INPUT: usize = 4096;

pub(crate) async fn run(command: Command, store: &StoreArgs) -> Result<ExitCode, String> {
    // Only `create` makes a missing store file: `list` on a mistyped path says so.
    let store = match command {
        Command::Create(_) => store.open_or_create().await,
        _ => store.open().await,
    }
    .map_err(|e| e.to_string())?;
    let keys = ApiKeys::builder_shared(store).build();
    match command {
        Command::Create(args) => create_key(&keys, args).await,
        Command::List(args) => list(&keys, args).await,
        Command::Show { prefix, json } => show(&keys, &prefix, json).await,
        Command::Revoke { prefix, yes } => revoke(&keys, &prefix, yes).await,
        Command::Verify => verify(&keys).await,
    }
}

async fn create_key(keys: &ApiKeys, args: CreateArgs) -> Result<ExitCode, String> {
    let now = OffsetDateTime::now_utc();
    let mut new = NewKey::named(args.name).scopes(args.scopes);
    for (field, value) in args.meta {
        new = new.meta(field, value);
    }
    if let Some(expires) = args.expires.or(args.expires_in.map(|d| now + d)) {
        if expires <= now {
            eprintln!(
                "warning: the expiry {} is in the past: the key is created already expired",
                timestamp(expires)
            );
        }
        new = new.expires(expires);
    }
    let created = keys.create(new).await.map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    let printed = if args.json {
        let mut object = record_json(&created.record, now);
        if let Some(object) = object.as_object_mut() {
            object.remove("expired");
            object.remove("revoked");
        }
        // The key goes straight to stdout rather than into a JSON value, which would keep
        // a copy that is not zeroized.
        let rest = object.to_string();
        write!(stdout, "{{\"key\":")
            .and_then(|()| {
                serde_json::to_writer(&mut stdout, created.key.expose_secret()).map_err(Into::into)
            })
            .and_then(|()| writeln!(stdout, ",{}", rest.strip_prefix('{').unwrap_or(&rest)))
    } else {
        writeln!(stdout, "{}", created.key.expose_secret())
    };
    printed
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot print the key: {e}"))?;
    eprintln!(
        "warning: this is the only time key {} is shown: store it now, it cannot be shown again",
        created.key.prefix()
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(keys: &ApiKeys, args: ListArgs) -> Result<ExitCode, String> {
    let status = if args.status.active {
        StatusFilter::Active
    } else if args.status.revoked {
        StatusFilter::Revoked
    } else if args.status.expired {
        StatusFilter::Expired
    } else {
        StatusFilter::All
    };
    let wanted = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let mut query = ListQuery::new().status(status);
    if let Some(search) = args.search {
        query = query.search(search);
    }
    let now = query.now;
    let mut found = Vec::new();
    loop {
        let page = keys
            .list(&query.clone().limit(wanted - found.len()))
            .await
            .map_err(|e| e.to_string())?;
        found.extend(page.keys);
        match page.next {
            Some(next) if found.len() < wanted => query = query.after(next),
            _ => break,
        }
    }
    found.truncate(wanted);
    if args.json {
        let array: Vec<_> = found.iter().map(|k| record_json(k, now)).collect();
        println!("{}", serde_json::Value::Array(array));
    } else {
        print!("{}", table(&found, now));
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(keys: &ApiKeys, prefix: &str, json: bool) -> Result<ExitCode, String> {
    let key = keys.get(prefix).await.map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    if json {
        println!("{}", record_json(&key, now));
    } else {
        print!("{}", details(&key, now));
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(keys: &ApiKeys, prefix: &str, yes: bool) -> Result<ExitCode, String> {
    let key = keys.get(prefix).await.map_err(|e| e.to_string())?;
    if key.revoked {
        println!("key {prefix} ({}) was already revoked", key.name);
        return Ok(ExitCode::SUCCESS);
    }
    // `main` refused a missing --yes off a terminal; here there is one to ask.
    if !yes {
        eprint!(
            "Revoke key {prefix} ({})? This cannot be undone. [y/N] ",
            key.name
        );
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            eprintln!("not revoked");
            return Ok(ExitCode::from(1));
        }
    }
    match keys.revoke(prefix).await.map_err(|e| e.to_string())? {
        Revocation::Revoked(key) => println!("revoked key {prefix} ({})", key.name),
        Revocation::AlreadyRevoked(key) => {
            println!("key {prefix} ({}) was already revoked", key.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(keys: &ApiKeys) -> Result<ExitCode, String> {
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
        Err(e) => Err(e.to_string()),
    }
}
