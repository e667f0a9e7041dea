//! `edit` and `roll` over `--server`: the admin makes the change (for `roll`, with its own
//! hashers), the output is the local mode's.

use std::process::ExitCode;

use apikeys_cli::AdminClient;
use http::Method;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::keys::{rfc3339, take_secret};
use super::{decode, no_hasher, percent_encode};
use crate::cli::{EditArgs, RollArgs};
use crate::commands::keys::{print_new_key, warn_if_past};
use crate::commands::{Failure, Outcome};
use crate::output::{details, record_json, timestamp};

/// The PATCH body for `args`: an absent field keeps, `null` removes, a value sets. The
/// credits go as a count and a refill; the admin works out the rest from the key, as the
/// local edit does.
fn patch_body(args: EditArgs, now: OffsetDateTime) -> Result<Map<String, Value>, Failure> {
    let mut body = Map::new();
    let mut set = |field: &str, value: Value| {
        body.insert(field.to_owned(), value);
    };
    if let Some(name) = args.name {
        set("name", json!(name));
    }
    if args.no_scopes {
        set("scopes", json!([]));
    } else if !args.scopes.is_empty() {
        set("scopes", json!(args.scopes));
    }
    if args.no_meta {
        set("metadata", json!({}));
    } else if !args.meta.is_empty() {
        set("metadata", Value::Object(args.meta.into_iter().collect()));
    }
    if args.no_expiry {
        set("expires", Value::Null);
    } else if let Some(expires) = args.expiry.at(now).map_err(apikeys::Error::from)? {
        warn_if_past(expires, now, "now");
        set("expires", json!(rfc3339(expires)?));
    }
    if args.no_owner {
        set("owner", Value::Null);
    } else if let Some(owner) = args.owner {
        set("owner", json!(owner));
    }
    if args.no_rate {
        set("rate_limit", Value::Null);
    } else if let Some(limit) = args.limits.rate {
        set("rate_limit", json!(limit.to_string()));
    }
    if args.no_credits {
        set("credits", Value::Null);
    } else if let Some(credits) = args.limits.credits {
        set("credits", json!(credits));
    }
    if args.no_refill {
        set("refill", Value::Null);
    } else if let Some(refill) = args.limits.refill {
        set("refill", json!(refill.to_string()));
    }
    Ok(body)
}

pub(super) async fn edit(client: &AdminClient, args: EditArgs) -> Outcome {
    let now = OffsetDateTime::now_utc();
    let prefix = args.prefix.clone();
    let json = args.json;
    let body = patch_body(args, now)?;
    if body.is_empty() {
        return Err(Failure {
            message: "edit: nothing to change: pass --name, --scope, --meta, --expires, --owner, --rate, --credits, --refill or one of their --no-… forms".into(),
            code: 2,
        });
    }
    let path = format!("/{}", percent_encode(&prefix));
    let answer = client
        .call(Method::PATCH, &path, Some(&Value::Object(body)))
        .await?;
    let key = decode(&answer)?;
    if json {
        println!("{}", record_json(&key, now));
    } else {
        print!("{}", details(&key, now));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn roll(client: &AdminClient, args: RollArgs) -> Outcome {
    no_hasher(args.hasher, "roll")?;
    let now = OffsetDateTime::now_utc();
    // Whole seconds: `parse_grace` reads whole units, so nothing is cut.
    let body = json!({"grace": format!("{}s", args.grace.whole_seconds())});
    let path = format!("/{}/roll", percent_encode(&args.prefix));
    let mut answer = client.call(Method::POST, &path, Some(&body)).await?;
    let secret = take_secret(&mut answer)?;
    let new = decode(&answer["record"])?;
    let old = decode(&answer["old"])?;
    print_new_key(
        &secret,
        &new,
        now,
        args.json,
        Some(("old", record_json(&old, now))),
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn body(args: &[&str]) -> Map<String, Value> {
        let cli =
            Cli::try_parse_from(["apikeys", "edit", "ak_x"].iter().chain(args)).expect("parse");
        let Command::Edit(edit) = cli.command else {
            panic!("not an edit");
        };
        patch_body(edit, OffsetDateTime::now_utc()).expect("a body")
    }

    #[test]
    fn what_is_not_asked_for_is_absent_and_the_no_forms_are_null() {
        let sent = body(&["--no-rate", "--credits", "5", "--no-owner", "--no-expiry"]);
        assert_eq!(
            Value::Object(sent),
            json!({"rate_limit": null, "credits": 5, "owner": null, "expires": null})
        );
        let sent = body(&["--rate", "10/s", "--refill", "1000/month", "--no-scopes"]);
        assert_eq!(
            Value::Object(sent),
            json!({"rate_limit": "10/s", "refill": "1000/month", "scopes": []})
        );
        assert_eq!(
            Value::Object(body(&["--no-credits", "--no-meta"])),
            json!({"credits": null, "metadata": {}})
        );
        assert_eq!(
            Value::Object(body(&["--no-refill"])),
            json!({"refill": null})
        );
        assert!(body(&[]).is_empty());
    }
}
