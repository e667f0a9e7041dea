//! Changing existing keys: roll, edit, disable, enable, revoke, delete; and their history.

use std::process::ExitCode;
use std::sync::Arc;

use apikeys::{ApiKeys, CreditsChange, Edit, Hashers, KeyStore, Metadata, Revocation};
use time::OffsetDateTime;

use super::keys::{print_new_key, warn_if_past};
use super::{Described, Failure, Outcome, confirm, describe, manager};
use crate::cli::{EditArgs, HasherChoice, RollArgs};
use crate::output::{details, events_json, events_table, record_json, timestamp};

pub(super) async fn roll(store: Arc<dyn KeyStore>, args: RollArgs) -> Outcome {
    // The successor keeps the old key's hasher unless told otherwise: a roll must not turn
    // an application's Argon2id keys into SHA-512 behind its back.
    let hasher = if let Some(hasher) = args.hasher {
        hasher
    } else {
        let old = manager(Arc::clone(&store), None).get(&args.prefix).await?;
        hasher_of(&old.hashed_key)
    };
    let keys = manager(store, Some(hasher));
    let now = OffsetDateTime::now_utc();
    let rolled = keys.roll(&args.prefix, args.grace).await?;
    let old = &rolled.old;
    let new = &rolled.successor;
    print_new_key(
        new.key.expose_secret(),
        &new.record,
        now,
        args.json,
        Some(("old", record_json(old, now))),
    )?;
    if old.revoked {
        eprintln!("key {} is revoked", old.prefix);
    } else if let Some(until) = old.expires {
        eprintln!(
            "key {} keeps working until {}",
            old.prefix,
            timestamp(until)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The hasher that made `stored`, when it can make new keys; SHA-512 otherwise (a legacy
/// Django hash, or one no hasher reads).
fn hasher_of(stored: &str) -> HasherChoice {
    let hashers = Hashers::default();
    match hashers.find(stored) {
        Some(h) if !h.is_verify_only() => match h.algorithm() {
            "argon2" => HasherChoice::Argon2,
            "scrypt" => HasherChoice::Scrypt,
            _ => HasherChoice::Sha512,
        },
        _ => HasherChoice::Sha512,
    }
}

pub(super) async fn edit(keys: &ApiKeys, args: EditArgs) -> Outcome {
    let now = OffsetDateTime::now_utc();
    let mut edit = Edit::new();
    if let Some(name) = args.name {
        edit = edit.name(name);
    }
    if args.no_scopes {
        edit = edit.scopes(Vec::<String>::new());
    } else if !args.scopes.is_empty() {
        edit = edit.scopes(args.scopes);
    }
    if args.no_meta {
        edit = edit.metadata(Metadata::new());
    } else if !args.meta.is_empty() {
        edit = edit.metadata(args.meta.into_iter().collect());
    }
    if args.no_expiry {
        edit = edit.no_expiry();
    } else if let Some(expires) = args.expiry.at(now).map_err(apikeys::Error::from)? {
        warn_if_past(expires, now, "now");
        edit = edit.expires(expires);
    }
    if args.no_owner {
        edit = edit.no_owner();
    } else if let Some(owner) = args.owner {
        edit = edit.owner(owner);
    }
    if args.no_rate {
        edit = edit.no_rate_limit();
    } else if let Some(limit) = args.limits.rate {
        edit = edit.rate_limit(limit);
    }
    let credits = CreditsChange {
        remaining: if args.no_credits {
            Some(None)
        } else {
            args.limits.credits.map(Some)
        },
        refill: if args.no_refill {
            Some(None)
        } else {
            args.limits.refill.map(Some)
        },
    };
    if !credits.is_empty() {
        // An edit replaces the credits whole: what is not asked for is kept from the key.
        let current = keys.get(&args.prefix).await?;
        edit.credits = credits
            .resolve(current.credits.as_ref(), now)
            .map_err(|e| Failure {
                message: format!("edit: {e}"),
                code: 2,
            })?;
    }
    if edit.is_empty() {
        return Err(Failure {
            message: "edit: nothing to change: pass --name, --scope, --meta, --expires, --owner, --rate, --credits, --refill or one of their --no-… forms".into(),
            code: 2,
        });
    }
    let key = keys.update(&args.prefix, edit).await?;
    if args.json {
        println!("{}", record_json(&key, now));
    } else {
        print!("{}", details(&key, now));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn disable(keys: &ApiKeys, prefix: &str) -> Outcome {
    let before = keys.get(prefix).await?;
    if before.disabled && !before.revoked {
        println!("key {prefix} ({}) was already disabled", before.name);
        return Ok(ExitCode::SUCCESS);
    }
    let key = keys.disable(prefix).await?;
    println!("disabled key {prefix} ({})", key.name);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn enable(keys: &ApiKeys, prefix: &str) -> Outcome {
    let before = keys.get(prefix).await?;
    if !before.disabled && !before.revoked {
        println!("key {prefix} ({}) was not disabled", before.name);
        return Ok(ExitCode::SUCCESS);
    }
    let key = keys.enable(prefix).await?;
    println!("enabled key {prefix} ({})", key.name);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn revoke(keys: &ApiKeys, prefix: &str, yes: bool) -> Outcome {
    let found = describe(keys, prefix).await?;
    if let Described::Key(key) = &found
        && key.revoked
    {
        println!("key {prefix} ({}) was already revoked", key.name);
        return Ok(ExitCode::SUCCESS);
    }
    // `main` refused a missing --yes off a terminal; here there is one to ask.
    let label = found.label(prefix);
    if !yes && !confirm(&format!("Revoke key {label}? This cannot be undone."))? {
        eprintln!("not revoked");
        return Ok(ExitCode::from(1));
    }
    match keys.revoke(prefix).await? {
        Revocation::AlreadyRevoked(key) => {
            println!("key {prefix} ({}) was already revoked", key.name);
        }
        _ => println!("revoked key {label}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn delete(keys: &ApiKeys, prefix: &str, yes: bool) -> Outcome {
    let label = describe(keys, prefix).await?.label(prefix);
    // `main` refused a missing --yes off a terminal; here there is one to ask.
    if !yes
        && !confirm(&format!(
            "Delete key {label}? Its record is gone for good (its history stays)."
        ))?
    {
        eprintln!("not deleted");
        return Ok(ExitCode::from(1));
    }
    keys.delete(prefix).await?;
    println!("deleted key {label}");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn history(keys: &ApiKeys, prefix: &str, json: bool) -> Outcome {
    let events = keys.history(prefix).await?;
    // An empty history of a key that never existed is a mistyped prefix, not "no events".
    if events.is_empty() {
        describe(keys, prefix).await?;
    }
    if json {
        println!("{}", events_json(&events));
    } else {
        print!("{}", events_table(&events));
    }
    Ok(ExitCode::SUCCESS)
}
