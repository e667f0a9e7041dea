//! What each command does. Errors come back as one-line [`Failure`]s; `main` prints them.

mod keys;
mod lifecycle;
pub(crate) mod remote;

use std::io::BufRead;
use std::process::ExitCode;

use apikeys::{ApiKeys, Error, Hashers, KeyStore, StoreError};
use apikeys_cli::StoreArgs;
use std::sync::Arc;

use crate::cli::{Command, HasherChoice};

/// A command that failed: the one-line message and the exit code (1, or 2 for invalid
/// input the core refused, like an expiry out of range).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = if matches!(error, Error::Invalid(_)) {
            2
        } else {
            1
        };
        Self {
            message: error.to_string(),
            code,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

pub(crate) type Outcome = Result<ExitCode, Failure>;

pub(crate) async fn run(command: Command, store: &StoreArgs) -> Outcome {
    // Only `create` makes a missing store file: `list` on a mistyped path says so.
    let store = match command {
        Command::Create(_) => store.open_or_create().await,
        _ => store.open().await,
    }
    .map_err(|e| e.to_string())?;
    match command {
        Command::Create(args) => {
            let keys = manager(store, Some(args.hasher.unwrap_or(HasherChoice::Sha512)));
            keys::create(&keys, args).await
        }
        Command::List(args) => keys::list(&manager(store, None), args).await,
        Command::Show { prefix, json } => keys::show(&manager(store, None), &prefix, json).await,
        Command::Verify => keys::verify(&manager(store, None)).await,
        Command::Roll(args) => lifecycle::roll(store, args).await,
        Command::Edit(args) => lifecycle::edit(&manager(store, None), args).await,
        Command::Disable { prefix } => lifecycle::disable(&manager(store, None), &prefix).await,
        Command::Enable { prefix } => lifecycle::enable(&manager(store, None), &prefix).await,
        Command::Revoke { prefix, yes } => {
            lifecycle::revoke(&manager(store, None), &prefix, yes).await
        }
        Command::Delete { prefix, yes } => {
            lifecycle::delete(&manager(store, None), &prefix, yes).await
        }
        Command::History { prefix, json } => {
            lifecycle::history(&manager(store, None), &prefix, json).await
        }
    }
}

/// The manager every command uses. Read-only: verifying (`apikeys verify`) never writes,
/// neither a last-used time nor a hash upgrade, so the command cannot rewrite a hash
/// behind an application's back. Every change is attributed to [`actor`].
/// `hasher` picks the hasher for new keys (the default set otherwise).
pub(crate) fn manager(store: Arc<dyn KeyStore>, hasher: Option<HasherChoice>) -> ApiKeys {
    let mut builder = ApiKeys::builder_shared(store).read_only();
    if let Some(hasher) = hasher {
        builder = builder.hashers(hashers(hasher));
    }
    builder.build().with_actor(actor())
}

/// Hashes new keys with `choice`; verifies every hash the default set reads.
fn hashers(choice: HasherChoice) -> Hashers {
    let hashers = match choice {
        HasherChoice::Sha512 => Hashers::new(apikeys::Sha512Hasher),
        HasherChoice::Argon2 => Hashers::new(apikeys::Argon2Hasher::default()),
        HasherChoice::Scrypt => Hashers::new(apikeys::ScryptHasher::default()),
    };
    let mut hashers = hashers;
    if choice != HasherChoice::Sha512 {
        hashers = hashers.with_legacy(apikeys::Sha512Hasher);
    }
    if choice != HasherChoice::Argon2 {
        hashers = hashers.with_legacy(apikeys::Argon2Hasher::default());
    }
    if choice != HasherChoice::Scrypt {
        hashers = hashers.with_legacy(apikeys::ScryptHasher::default());
    }
    hashers.with_legacy(apikeys::DjangoHasher)
}

/// Longest OS user name kept in the actor; the rest is cut.
const MAX_USER_CHARS: usize = 64;

/// Who the audit trail names for this command's changes: `cli:<OS user>` (from `$USER`,
/// else `$LOGNAME`), or `cli` when neither is set. Control characters are dropped so that
/// the name cannot forge lines in a terminal or a log.
pub(crate) fn actor() -> String {
    let user = ["USER", "LOGNAME"].iter().find_map(|var| {
        let value = std::env::var(var).ok()?;
        let clean: String = value
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_CHARS)
            .collect();
        let clean = clean.trim().to_owned();
        (!clean.is_empty()).then_some(clean)
    });
    user.map_or_else(|| "cli".to_owned(), |user| format!("cli:{user}"))
}

/// The key's name for a question or a message, or a note that its record cannot be read
/// (revoke and delete still work then). `Ok(None)` is never returned for a missing key:
/// that is [`Error::NotFound`].
pub(crate) async fn describe(keys: &ApiKeys, prefix: &str) -> Result<Described, Failure> {
    match keys.get(prefix).await {
        Ok(key) => Ok(Described::Key(Box::new(key))),
        Err(Error::Store(StoreError::Corrupt { .. })) => Ok(Described::Undecodable),
        Err(e) => Err(e.into()),
    }
}

/// What [`describe`] found.
pub(crate) enum Described {
    /// The record.
    Key(Box<apikeys::ApiKey>),
    /// A record the store cannot decode.
    Undecodable,
}

impl Described {
    /// How the key is named to people: `PREFIX (name)`.
    pub(crate) fn label(&self, prefix: &str) -> String {
        match self {
            Self::Key(key) => format!("{prefix} ({})", key.name),
            Self::Undecodable => format!("{prefix} (record unreadable)"),
        }
    }
}

/// Asks a yes/no question on the terminal (`main` made sure there is one); whether the
/// answer is yes.
pub(crate) fn confirm(question: &str) -> Result<bool, Failure> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
