//! The `apikeys` command. Exit codes: 0 success, 1 refused / not found / store error,
//! 2 usage error; every error is one line on stderr.

mod commands;
mod output;
mod parse;

use std::io::IsTerminal;
use std::process::ExitCode;

use apikeys::{validate_name, validate_scope};
use apikeys_cli::StoreArgs;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use time::{Duration, OffsetDateTime};

use crate::parse::{parse_duration, parse_meta, parse_timestamp};

/// Create, list, show, revoke and verify API keys.
#[derive(Debug, Parser)]
#[command(name = "apikeys", version)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a key and print it, once (the only command that prints a full key).
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
    /// Revoke a key, irreversibly.
    Revoke {
        /// The key's prefix (the part before the dot).
        prefix: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Read a key from standard input and print the outcome (`valid`, `revoked`, …).
    Verify,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// A name for people: 1 to 50 characters.
    #[arg(long, value_parser = parse_name)]
    name: String,
    /// Expiry, RFC 3339 (`2027-01-31T00:00:00Z`).
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp, conflicts_with = "expires_in")]
    expires: Option<OffsetDateTime>,
    /// Expiry from now: `90s`, `15m`, `12h`, `30d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    expires_in: Option<Duration>,
    /// Grant a scope (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", value_parser = parse_scope)]
    scopes: Vec<String>,
    /// Set a metadata field; VALUE is JSON if it parses as JSON, else a string (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta)]
    meta: Vec<(String, serde_json::Value)>,
    /// Print one JSON object (with the key) instead of the key alone.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Keys whose prefix starts with TEXT or whose name contains it (any case).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    #[command(flatten)]
    status: StatusArgs,
    /// At most N keys.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

/// At most one status filter.
#[derive(Debug, Args)]
#[group(multiple = false)]
struct StatusArgs {
    /// Only keys neither revoked nor expired.
    #[arg(long)]
    active: bool,
    /// Only revoked keys.
    #[arg(long)]
    revoked: bool,
    /// Only expired keys.
    #[arg(long)]
    expired: bool,
}

fn parse_name(name: &str) -> Result<String, String> {
    validate_name(name).map_err(|e| e.to_string())?;
    Ok(name.to_owned())
}

fn parse_scope(scope: &str) -> Result<String, String> {
    validate_scope(scope).map_err(|e| e.to_string())?;
    Ok(scope.to_owned())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    if cli.store.store.is_none() {
        eprintln!("error: {}", apikeys_cli::StoreOpenError::NoStore);
        return ExitCode::from(2);
    }
    // Off a terminal nobody can answer the question: a script must say --yes.
    if let Command::Revoke { yes: false, .. } = cli.command
        && !std::io::stdin().is_terminal()
    {
        eprintln!(
            "error: revoke asks for confirmation and standard input is not a terminal: pass --yes"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli.command, &cli.store)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Help and version go to stdout with exit 0; usage errors are one line and exit 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            eprintln!(
                "error: a command is required: create, list, show, revoke or verify (see apikeys --help)"
            );
            ExitCode::from(2)
        }
        _ => {
            // clap's first paragraph, folded onto one line (a list of missing arguments
            // follows its heading on indented lines); the usage and tips are left out.
            let rendered = error.render().to_string();
            let line: Vec<&str> = rendered
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            if line.is_empty() {
                eprintln!("error: invalid arguments (see apikeys --help)");
            } else {
                eprintln!("{}", line.join(" "));
            }
            ExitCode::from(2)
        }
    }
}
