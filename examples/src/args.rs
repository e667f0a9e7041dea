//! The command line the example servers share, and opening the store it names.

use std::net::SocketAddr;

use apikeys::{ApiKeys, KeySource, NewKey};
use apikeys_cli::{StoreArgs, StoreOpenError};
use clap::{CommandFactory, FromArgMatches, Parser};

/// `axum-server`, `actix-server` and `warp-server` take the same options.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "An example server protecting GET /ping and GET /heroes with API keys."
)]
pub struct ServerArgs {
    /// `--store` and `--django-table`, as the `apikeys` command takes them.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Create the redb file named by --store if it does not exist (without it, a missing
    /// file is an error: a mistyped path would otherwise serve from an empty store).
    #[arg(long)]
    pub create_store: bool,
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// Read keys from this header (e.g. X-Api-Key) instead of Authorization.
    #[arg(long, value_name = "NAME", value_parser = header_name)]
    pub key_header: Option<String>,
    /// The Authorization keyword, instead of Api-Key (e.g. Bearer).
    #[arg(long, value_name = "WORD", value_parser = scheme)]
    pub scheme: Option<String>,
    /// Create a key with this name at startup and print it, once.
    #[arg(long, value_name = "NAME")]
    pub create_key: Option<String>,
    /// A scope for the key made by --create-key (repeat for more).
    #[arg(long = "scope", value_name = "SCOPE", requires = "create_key")]
    pub scopes: Vec<String>,
    /// Log line format on stderr: `text` for people, `json` for log shippers. `RUST_LOG`
    /// filters them (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How the servers write log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Installs the log subscriber: `RUST_LOG` (default `info`, with sqlx's per-start notices
/// at `warn` only), on stderr so stdout keeps the printed address and key for scripts.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second install (tests calling twice) keeps the first; nothing to report.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

impl ServerArgs {
    /// Parses the command line, exiting with clap's usage error (status 2) when it is wrong
    /// or names no store.
    pub fn parse_or_exit() -> Self {
        Self::parse_with(Self::command())
    }

    /// [`parse_or_exit`](Self::parse_or_exit) with `command`: [`ServerArgs::command`] as a
    /// server customised it (its name, description, default address).
    pub fn parse_with(mut command: clap::Command) -> Self {
        let matches = command.get_matches_mut();
        let args = Self::from_arg_matches(&matches)
            .unwrap_or_else(|error| error.format(&mut command).exit());
        init_logging(args.log_format);
        if args.store.store.is_none() {
            command
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    StoreOpenError::NoStore,
                )
                .exit();
        }
        args
    }

    /// Where requests carry keys: the custom header and/or the Authorization keyword.
    pub fn sources(&self) -> Vec<KeySource> {
        let mut sources = Vec::new();
        if let Some(header) = &self.key_header {
            sources.push(KeySource::header(header));
        }
        if self.scheme.is_some() || sources.is_empty() {
            sources.push(KeySource::authorization(
                self.scheme.as_deref().unwrap_or("Api-Key"),
            ));
        }
        sources
    }
}

fn header_name(name: &str) -> Result<String, String> {
    axum::http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| name.to_owned())
        .map_err(|_| format!("{name:?} is not a valid header name"))
}

fn scheme(word: &str) -> Result<String, String> {
    let valid = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b':' && b != b',');
    if valid {
        Ok(word.to_owned())
    } else {
        Err(format!("{word:?} is not a single Authorization keyword"))
    }
}

/// Why a server could not start. One line each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store could not be opened (missing directory, in use by another process, …).
    #[error(transparent)]
    Store(#[from] StoreOpenError),
    /// `--create-key` failed (e.g. a name over 50 characters).
    #[error("cannot create key: {0}")]
    CreateKey(#[from] apikeys::Error),
}

/// Opens the store (creating a missing redb file only with `--create-store`) and configures
/// the key sources. The `--create-key` key is made later, by [`create_startup_key`], once
/// the address is bound: a server that cannot listen leaves no key behind.
pub async fn prepare(args: &ServerArgs) -> Result<ApiKeys, StartError> {
    // Before the store and the manager exist: they describe their metrics to it.
    crate::install_metrics();
    let store = if args.create_store {
        args.store.open_or_create().await?
    } else {
        args.store.open().await?
    };
    Ok(ApiKeys::builder_shared(store)
        .sources(args.sources())
        .build())
}

/// Makes and prints the `--create-key` key, if one was asked for.
pub async fn create_startup_key(keys: &ApiKeys, args: &ServerArgs) -> Result<(), StartError> {
    if let Some(name) = &args.create_key {
        let created = keys
            .create(NewKey::named(name.as_str()).scopes(args.scopes.iter().cloned()))
            .await?;
        print_created_key(&created);
    }
    Ok(())
}

/// The start the Tokio-based servers share: [`prepare`], bind `--addr`,
/// [`create_startup_key`], announce the bound address. Failures are printed as one line,
/// `name: error`.
pub async fn prepare_and_bind(
    name: &str,
    args: &ServerArgs,
) -> Result<(ApiKeys, tokio::net::TcpListener), std::process::ExitCode> {
    let failed = |error: &dyn std::fmt::Display| {
        eprintln!("{name}: {error}");
        std::process::ExitCode::FAILURE
    };
    let keys = prepare(args).await.map_err(|error| failed(&error))?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| failed(&format_args!("cannot listen on {}: {error}", args.addr)))?;
    create_startup_key(&keys, args)
        .await
        .map_err(|error| failed(&error))?;
    if let Ok(addr) = listener.local_addr() {
        crate::announce(addr);
        log_start(name, args, addr);
    }
    Ok((keys, listener))
}

/// The start-up log line: where, which key sources (never a key; not the store location,
/// which may be a database URL with a password in it).
pub fn log_start(name: &str, args: &ServerArgs, addr: SocketAddr) {
    let sources: Vec<String> = args.sources().iter().map(ToString::to_string).collect();
    let sources = sources.join(", ");
    tracing::info!(
        server = name,
        %addr,
        sources,
        "server started"
    );
}

/// Prints a new key on a line of its own (`key: …`): the only time it is ever shown.
pub fn print_created_key(created: &apikeys::CreatedKey) {
    let scopes: Vec<&str> = created.record.scopes.iter().map(String::as_str).collect();
    println!(
        "created API key {:?} (prefix {}, scopes [{}]); it is shown only this once:",
        created.record.name,
        created.key.prefix(),
        scopes.join(", ")
    );
    println!("key: {}", created.key.expose_secret());
}
