//! The commands over `--server`: the admin's JSON API does the work, the output is the
//! local mode's. So far `show`, `disable` and `enable`; the others say they are not available over `--server`
//! rather than touch a store.

use std::process::ExitCode;

use apikeys::ApiKey;
use apikeys_cli::{AdminClient, RemoteError, decode_record};
use http::Method;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{Failure, Outcome};
use crate::cli::Command;
use crate::output::{details, record_json};

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
        Command::Show { prefix, json } => show(client, &prefix, json).await,
        Command::Disable { prefix } => switch(client, &prefix, false).await,
        Command::Enable { prefix } => switch(client, &prefix, true).await,
        Command::Verify => Err(Failure {
            message: "verify does not work over --server: verifying keys is the application's job (run it against the store)".into(),
            code: 2,
        }),
        other => Err(Failure {
            message: format!(
                "{} is not available over --server yet (show, disable and enable are)",
                other.name()
            ),
            code: 2,
        }),
    }
}

/// The record of `prefix`, from the admin.
async fn get(client: &AdminClient, prefix: &str) -> Result<ApiKey, Failure> {
    let path = format!("/{}", percent_encode(prefix));
    let value = client.call(Method::GET, &path, None).await?;
    Ok(decode_record(&value, OffsetDateTime::now_utc()).map_err(|e| e.to_string())?)
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
    let key = decode_record(&value, OffsetDateTime::now_utc()).map_err(|e| e.to_string())?;
    println!("{action}d key {prefix} ({})", key.name);
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
fn percent_encode(segment: &str) -> String {
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
