//! The command line: every command and option, as clap parses them.

use apikeys::{RateLimit, Refill, validate_name, validate_owner, validate_scope};
use apikeys_cli::StoreArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};
use time::{Duration, OffsetDateTime};

use crate::parse::{parse_duration, parse_grace, parse_meta, parse_timestamp};

/// Create, list, show, roll, edit, disable, revoke, delete and verify API keys.
#[derive(Debug, Parser)]
#[command(name = "apikeys", version)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) store: StoreArgs,

    /// Manage the keys of a running server through its admin JSON API at this URL (the
    /// admin's mount, like http://127.0.0.1:3000/admin). The admin key comes from the
    /// environment variable APIKEYS_ADMIN_KEY only, never a flag (it would show in `ps`).
    #[arg(long, env = "APIKEYS_SERVER", global = true, value_name = "URL")]
    pub(crate) server: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a key and print it, once (only `create` and `roll` print a full key).
    Create(CreateArgs),
    /// List keys, newest first.
    List(ListArgs),
    /// Show one key's record.
    Show {
        /// The key's prefix (the part before the dot).
        prefix: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a key by a successor and print the successor's key, once. The old key keeps
    /// working for the grace period.
    Roll(RollArgs),
    /// Change a key's name, scopes, metadata, expiry or owner.
    Edit(EditArgs),
    /// Suspend a key (reversible with `enable`).
    Disable {
        /// The key's prefix (the part before the dot).
        prefix: String,
    },
    /// Lift a key's suspension.
    Enable {
        /// The key's prefix (the part before the dot).
        prefix: String,
    },
    /// Revoke a key, irreversibly.
    Revoke {
        /// The key's prefix (the part before the dot).
        prefix: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Delete a key's record (its history stays). Prefer `revoke`.
    Delete {
        /// The key's prefix (the part before the dot).
        prefix: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Show a key's audit trail, oldest first.
    History {
        /// The key's prefix (the part before the dot).
        prefix: String,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Read a key from standard input and print the outcome (`valid`, `revoked`, …).
    /// Never writes to the store.
    Verify,
}

impl Command {
    /// The name of a command that asks for confirmation, when it was not given `--yes`.
    pub(crate) fn unconfirmed(&self) -> Option<&'static str> {
        match self {
            Self::Revoke { yes: false, .. } => Some("revoke"),
            Self::Delete { yes: false, .. } => Some("delete"),
            _ => None,
        }
    }
}

/// The hasher for a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HasherChoice {
    /// SHA-512 (fast; the default for new keys).
    Sha512,
    /// Argon2id (slow by design).
    Argon2,
    /// scrypt (slow by design).
    Scrypt,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// A name for people: 1 to 50 characters.
    #[arg(long, value_parser = parse_name)]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) expiry: ExpiryArgs,
    /// Grant a scope (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", value_parser = parse_scope)]
    pub(crate) scopes: Vec<String>,
    /// Set a metadata field; VALUE is JSON if it parses as JSON, else a string (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta)]
    pub(crate) meta: Vec<(String, serde_json::Value)>,
    /// The key's owner (an organisation or customer id, 1 to 100 characters).
    #[arg(long, value_name = "ID", value_parser = parse_owner)]
    pub(crate) owner: Option<String>,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    /// The hasher for the new key (default: sha512). Not over --server, where the
    /// server's own hashers make the key.
    #[arg(long, value_enum)]
    pub(crate) hasher: Option<HasherChoice>,
    /// Print one JSON object (with the key) instead of the key alone.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A key's usage limits, as `create` and `edit` take them.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// A rate limit: `100/s`, `5000/h`, `60/m,burst=10`; over it, requests get 429.
    #[arg(long, value_name = "N/PERIOD", value_parser = parse_rate)]
    pub(crate) rate: Option<RateLimit>,
    /// Requests (of cost 1) the key may make; at zero, requests get 429.
    #[arg(long, value_name = "N", value_parser = parse_credits)]
    pub(crate) credits: Option<u64>,
    /// Set the credits back to N on a schedule: `1000/day`, `1000/month`, `500/12h`.
    #[arg(long, value_name = "N/INTERVAL", value_parser = parse_refill)]
    pub(crate) refill: Option<Refill>,
}

/// `--expires` or `--expires-in`, at most one.
#[derive(Debug, Args)]
pub(crate) struct ExpiryArgs {
    /// Expiry, RFC 3339 (`2027-01-31T00:00:00Z`).
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp, conflicts_with = "expires_in")]
    pub(crate) expires: Option<OffsetDateTime>,
    /// Expiry from now: `90s`, `15m`, `12h`, `30d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expires_in: Option<Duration>,
}

impl ExpiryArgs {
    /// The expiry asked for, if any; an error when `now + --expires-in` is past any
    /// representable time.
    pub(crate) fn at(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, apikeys::ValidationError> {
        match (self.expires, self.expires_in) {
            (Some(at), _) => Ok(Some(at)),
            (None, Some(after)) => now
                .checked_add(after)
                .map(Some)
                .ok_or(apikeys::ValidationError::ExpiryOutOfRange),
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct RollArgs {
    /// The key's prefix (the part before the dot).
    pub(crate) prefix: String,
    /// How long the old key keeps working: `90s`, `15m`, `24h`, `7d`; `0` revokes it at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_grace)]
    pub(crate) grace: Duration,
    /// The hasher for the successor (default: the old key's, when it can make new keys).
    /// Not over --server, where the server's own hashers make the key.
    #[arg(long, value_enum)]
    pub(crate) hasher: Option<HasherChoice>,
    /// Print one JSON object (the successor with its key, and the old key) instead of the
    /// key alone.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct EditArgs {
    /// The key's prefix (the part before the dot).
    pub(crate) prefix: String,
    /// A new name: 1 to 50 characters.
    #[arg(long, value_parser = parse_name)]
    pub(crate) name: Option<String>,
    /// Replace the scopes by these (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", value_parser = parse_scope, conflicts_with = "no_scopes")]
    pub(crate) scopes: Vec<String>,
    /// Remove every scope.
    #[arg(long)]
    pub(crate) no_scopes: bool,
    /// Replace the metadata by these fields (repeatable); VALUE is JSON if it parses as JSON.
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta, conflicts_with = "no_meta")]
    pub(crate) meta: Vec<(String, serde_json::Value)>,
    /// Remove all metadata.
    #[arg(long)]
    pub(crate) no_meta: bool,
    #[command(flatten)]
    pub(crate) expiry: ExpiryArgs,
    /// Remove the expiry.
    #[arg(long, conflicts_with_all = ["expires", "expires_in"])]
    pub(crate) no_expiry: bool,
    /// A new owner (1 to 100 characters).
    #[arg(long, value_name = "ID", value_parser = parse_owner, conflicts_with = "no_owner")]
    pub(crate) owner: Option<String>,
    /// Remove the owner.
    #[arg(long)]
    pub(crate) no_owner: bool,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    /// Remove the rate limit (the server's default, if any, then applies).
    #[arg(long, conflicts_with = "rate")]
    pub(crate) no_rate: bool,
    /// Remove the credits: the key's requests are no longer counted.
    #[arg(long, conflicts_with_all = ["credits", "refill"])]
    pub(crate) no_credits: bool,
    /// Stop refilling the credits (the remaining count stays).
    #[arg(long, conflicts_with = "refill")]
    pub(crate) no_refill: bool,
    /// Print the record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Keys whose prefix starts with TEXT or whose name contains it (any case).
    #[arg(long, value_name = "TEXT")]
    pub(crate) search: Option<String>,
    /// Only keys of this owner.
    #[arg(long, value_name = "ID")]
    pub(crate) owner: Option<String>,
    #[command(flatten)]
    pub(crate) status: StatusArgs,
    /// At most N keys.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) limit: u32,
    /// Print a JSON array.
    #[arg(long)]
    pub(crate) json: bool,
}

/// At most one status filter.
#[derive(Debug, Args)]
#[group(multiple = false)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct StatusArgs {
    /// Only keys neither revoked, disabled nor expired.
    #[arg(long)]
    pub(crate) active: bool,
    /// Only revoked keys.
    #[arg(long)]
    pub(crate) revoked: bool,
    /// Only expired keys.
    #[arg(long)]
    pub(crate) expired: bool,
    /// Only disabled keys.
    #[arg(long)]
    pub(crate) disabled: bool,
    /// Only keys, not revoked, that expire within DURATION from now (`7d`, `12h`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expiring_within: Option<Duration>,
}

fn parse_name(name: &str) -> Result<String, String> {
    validate_name(name).map_err(|e| e.to_string())?;
    Ok(name.to_owned())
}

fn parse_scope(scope: &str) -> Result<String, String> {
    validate_scope(scope).map_err(|e| e.to_string())?;
    Ok(scope.to_owned())
}

fn parse_rate(text: &str) -> Result<RateLimit, String> {
    text.parse()
        .map_err(|e| format!("{e} (a rate limit is written like 100/s, 5000/h or 60/m,burst=10)"))
}

fn parse_credits(text: &str) -> Result<u64, String> {
    let credits: u64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of credits"))?;
    if credits > apikeys::MAX_CREDITS {
        return Err(apikeys::CreditsError::TooMany.to_string());
    }
    Ok(credits)
}

fn parse_refill(text: &str) -> Result<Refill, String> {
    text.parse()
        .map_err(|e: apikeys::CreditsError| e.to_string())
}

fn parse_owner(owner: &str) -> Result<String, String> {
    validate_owner(owner).map_err(|e| e.to_string())?;
    Ok(owner.to_owned())
}
