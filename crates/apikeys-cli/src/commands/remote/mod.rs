//! The commands over `--server`: the admin's JSON API does the work, the output is the
//! local mode's. Every command but `verify`, which is the application's job.

mod change;
mod keys;

use std::process::ExitCode;

use apikeys::{ApiKey, AuditEvent};
use apikeys_cli::{AdminClient, RemoteError, decode_record};
use http::Method;
use serde_json::Value;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{Failure, Outcome, confirm};
use crate::cli::{Command, HasherChoice};
use crate::output::{details, events_json, events_table, record_json};

/// Where the admin key comes from: this environment variable, never a flag.
const ADMIN_KEY_VAR: &str = "APIKEYS_ADMIN_KEY";

impl From<RemoteError> for Failure {
    fn from(error: RemoteError) -> Self {
        Self {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// The client for `--server URL`, with the key from [`ADMIN_KEY_VAR`].
pub(crate) fn client(url: &str) -> Result<AdminClient, Failure> {
    let key = match std::env::var(ADMIN_KEY_VAR) {
        Ok(key) if !key.trim().is_empty() => Zeroizing::new(key.trim().to_owned()),
        _ => {
            return Err(Failure {
                message: format!(
                    "--server needs the admin key in the environment variable {ADMIN_KEY_VAR}"
                ),
                code: 2,
            });
        }
    };
    Ok(AdminClient::new(url, key)?)
}

pub(crate) async fn run(command: Command, client: &AdminClient) -> Outcome {
    match command {
        Command::Create(args) => keys::create(client, args).await,
        Command::List(args) => keys::list(client, args).await,
        Command::Edit(args) => change::edit(client, args).await,
        Command::Roll(args) => change::roll(client, args).await,
        Command::Show { prefix, json } => show(client, &prefix, json).await,
        Command::Disable { prefix } => switch(client, &prefix, false).await,
        Command::Enable { prefix } => switch(client, &prefix, true).await,
        Command::Revoke { prefix, yes } => revoke(client, &prefix, yes).await,
        Command::Delete { prefix, yes } => delete(client, &prefix, yes).await,
        Command::History { prefix, json } => history(client, &prefix, json).await,
        Command::Verify => Err(Failure {
            message: "verify does not work over --server: verifying keys is the application's job (run it against the store)".into(),
            code: 2,
        }),
    }
}

/// The record of `prefix`, from the admin.
async fn get(client: &AdminClient, prefix: &str) -> Result<ApiKey, Failure> {
    let path = format!("/{}", percent_encode(prefix));
    decode(&client.call(Method::GET, &path, None).await?)
}

/// A record the admin sent, as the local printers take it.
fn decode(value: &Value) -> Result<ApiKey, Failure> {
    decode_record(value, OffsetDateTime::now_utc())
        .map_err(|e| format!("the admin sent a record that cannot be read: {e}").into())
}

/// Refuses `--hasher` for `command` over `--server`: the server makes keys with its own
/// hashers, and a flag that changed nothing would mislead.
fn no_hasher(hasher: Option<HasherChoice>, command: &str) -> Result<(), Failure> {
    match hasher {
        Some(_) => Err(Failure {
            message: format!(
                "{command} --hasher does not work over --server: the server makes keys with its own hashers"
            ),
            code: 2,
        }),
        None => Ok(()),
    }
}

/// `disable` (`enable` false) or `enable`, saying so when there is nothing to do, as the
/// local commands do.
async fn switch(client: &AdminClient, prefix: &str, enable: bool) -> Outcome {
    let before = get(client, prefix).await?;
    if before.disabled != enable && !before.revoked {
        let state = if enable {
            "was not disabled"
        } else {
            "was already disabled"
        };
        println!("key {prefix} ({}) {state}", before.name);
        return Ok(ExitCode::SUCCESS);
    }
    let action = if enable { "enable" } else { "disable" };
    let path = format!("/{}/{action}", percent_encode(prefix));
    let value = client.call(Method::POST, &path, None).await?;
    let key = decode(&value)?;
    println!("{action}d key {prefix} ({})", key.name);
    Ok(ExitCode::SUCCESS)
}

async fn revoke(client: &AdminClient, prefix: &str, yes: bool) -> Outcome {
    let key = get(client, prefix).await?;
    if key.revoked {
        println!("key {prefix} ({}) was already revoked", key.name);
        return Ok(ExitCode::SUCCESS);
    }
    let label = format!("{prefix} ({})", key.name);
    // `main` refused a missing --yes off a terminal; here there is one to ask.
    if !yes && !confirm(&format!("Revoke key {label}? This cannot be undone."))? {
        eprintln!("not revoked");
        return Ok(ExitCode::from(1));
    }
    let path = format!("/{}/revoke", percent_encode(prefix));
    let answer = client.call(Method::POST, &path, None).await?;
    if answer.get("already_revoked").and_then(Value::as_bool) == Some(true) {
        println!("key {label} was already revoked");
    } else {
        println!("revoked key {label}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete(client: &AdminClient, prefix: &str, yes: bool) -> Outcome {
    let key = get(client, prefix).await?;
    let label = format!("{prefix} ({})", key.name);
    // `main` refused a missing --yes off a terminal; here there is one to ask.
    if !yes
        && !confirm(&format!(
            "Delete key {label}? Its record is gone for good (its history stays)."
        ))?
    {
        eprintln!("not deleted");
        return Ok(ExitCode::from(1));
    }
    client
        .call(
            Method::DELETE,
            &format!("/{}", percent_encode(prefix)),
            None,
        )
        .await?;
    println!("deleted key {label}");
    Ok(ExitCode::SUCCESS)
}

async fn history(client: &AdminClient, prefix: &str, json: bool) -> Outcome {
    let path = format!("/{}/history", percent_encode(prefix));
    let answer = client.call(Method::GET, &path, None).await?;
    let events: Vec<AuditEvent> = answer
        .get("events")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("the admin sent a history that cannot be read: {e}"))?
        .ok_or_else(|| "the admin sent a history without events".to_owned())?;
    // An empty history of a key that never existed is a mistyped prefix, not "no events".
    if events.is_empty() {
        get(client, prefix).await?;
    }
    if json {
        println!("{}", events_json(&events));
    } else {
        print!("{}", events_table(&events));
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(client: &AdminClient, prefix: &str, json: bool) -> Outcome {
    let key = get(client, prefix).await?;
    let now = OffsetDateTime::now_utc();
    if json {
        println!("{}", record_json(&key, now));
    } else {
        print!("{}", details(&key, now));
    }
    Ok(ExitCode::SUCCESS)
}

/// A prefix as one path segment: anything but unreserved characters is escaped, so a
/// prefix cannot reach another route.
pub(super) fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
