//! `--store` and `--django-table`, declared once for the `apikeys` command and for servers
//! that take the same options (the example servers flatten [`StoreArgs`] into theirs).

use std::sync::Arc;

use apikeys::KeyStore;

use crate::location::{StoreLocation, StoreOpenError, open_store};

/// The options that name a key store: `--store LOCATION` (or `APIKEYS_STORE`) and
/// `--django-table[=NAME]`. Flatten it into a clap parser:
///
/// ```
/// use apikeys_cli::StoreArgs;
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Server {
///     #[command(flatten)]
///     store: StoreArgs,
/// }
///
/// let server = Server::parse_from(["server", "--store", "keys.redb"]);
/// assert_eq!(server.store.store.unwrap().to_string(), "keys.redb");
/// ```
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct StoreArgs {
    /// The store: a redb file path, or a postgres:// URL (or set APIKEYS_STORE).
    // The value stays out of --help: a database URL may carry a password.
    #[arg(
        long,
        env = "APIKEYS_STORE",
        hide_env_values = true,
        global = true,
        value_name = "LOCATION",
        value_parser = LocationParser
    )]
    pub store: Option<StoreLocation>,

    /// With a postgres:// store: use the table djangorestframework-api-key created
    /// (rest_framework_api_key_apikey, or --django-table=NAME) instead of apikeys' own.
    #[arg(
        long,
        global = true,
        value_name = "TABLE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = apikeys_postgres::DJANGO_TABLE
    )]
    pub django_table: Option<String>,
}

impl StoreArgs {
    /// Opens the store, which must exist: a missing redb file is
    /// [`StoreOpenError::Redb`] (`Missing`) and nothing is created. A mistyped path then
    /// fails at once instead of serving from a new, empty store.
    pub async fn open(&self) -> Result<Arc<dyn KeyStore>, StoreOpenError> {
        self.open_with(false).await
    }

    /// Opens the store, creating a missing redb file (its directory must exist).
    pub async fn open_or_create(&self) -> Result<Arc<dyn KeyStore>, StoreOpenError> {
        self.open_with(true).await
    }

    async fn open_with(&self, create: bool) -> Result<Arc<dyn KeyStore>, StoreOpenError> {
        let location = self.store.as_ref().ok_or(StoreOpenError::NoStore)?;
        open_store(location, self.django_table.as_deref(), create).await
    }
}

/// Parses `--store` without clap's "invalid value '…'" echo: the value may be a URL with a
/// password in it.
#[derive(Debug, Clone, Copy)]
struct LocationParser;

impl clap::builder::TypedValueParser for LocationParser {
    type Value = StoreLocation;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<StoreLocation, clap::Error> {
        let refuse = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--store: {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("the store location is not valid UTF-8".into()))?;
        text.parse().map_err(refuse)
    }
}
