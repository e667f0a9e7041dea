//! The commands over `--server`: the admin's JSON API does the work, the output is the
//! local mode's. So far `show`; the others say they are not available over `--server`
//! rather than touch a store.

use std::process::ExitCode;

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
        Command::Verify => Err(Failure {
            message: "verify does not work over --server: verifying keys is the application's job (run it against the store)".into(),
            code: 2,
        }),
        other => Err(Failure {
            message: format!(
                "{} is not available over --server yet (only show is)",
                other.name()
            ),
            code: 2,
        }),
    }
}

async fn show(client: &AdminClient, prefix: &str, json: bool) -> Outcome {
    let path = format!("/{}", percent_encode(prefix));
    let value = client.call(Method::GET, &path, None).await?;
    let now = OffsetDateTime::now_utc();
    let key = decode_record(&value, now).map_err(|e| e.to_string())?;
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
