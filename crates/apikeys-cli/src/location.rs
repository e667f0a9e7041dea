//! `--store LOCATION`: which store a command (or an example server) uses.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use apikeys::KeyStore;
use apikeys_postgres::PostgresStore;
use apikeys_redb::{OpenError, RedbStore};

/// Where the keys are: a redb file, or a PostgreSQL database.
///
/// ```
/// use apikeys_cli::StoreLocation;
///
/// let file: StoreLocation = "keys.redb".parse().unwrap();
/// assert!(matches!(file, StoreLocation::Redb(_)));
/// let db: StoreLocation = "postgres://localhost/app".parse().unwrap();
/// assert!(matches!(db, StoreLocation::Postgres(_)));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// A redb file.
    Redb(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl FromStr for StoreLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("the store location is empty".into());
        }
        if PostgresStore::accepts_url(s) {
            return Ok(Self::Postgres(s.to_owned()));
        }
        // `mysql://…`, `sqlite://…`, a mistyped `postgress://…`: a URL of a kind no store
        // here opens. Taken as a path it would name a file in a directory called `mysql:`.
        if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(format!(
                "unsupported store URL scheme {scheme:?}: use a redb file path or a postgres:// URL"
            ));
        }
        Ok(Self::Redb(PathBuf::from(s)))
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(path) => write!(f, "{}", path.display()),
            // The URL may hold a password, in the user-info part or as `?password=`: show
            // the host part and the query without any password.
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or("", |(_, rest)| rest);
                let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "postgres://{host}")?;
                let mut separator = '?';
                for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                    if name.to_ascii_lowercase().contains("password") {
                        write!(f, "{separator}{name}=***")?;
                    } else {
                        write!(f, "{separator}{pair}")?;
                    }
                    separator = '&';
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// Why [`StoreArgs::open`](crate::StoreArgs::open) (or `open_or_create`) failed. One line
/// each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreOpenError {
    /// The redb file could not be opened (missing, in use, corrupt, …).
    #[error(transparent)]
    Redb(#[from] OpenError),
    /// The PostgreSQL database could not be used (unreachable, wrong table, …).
    #[error("{location}: {source}")]
    Postgres {
        /// The location, without any password.
        location: String,
        /// What went wrong.
        source: apikeys_postgres::Error,
    },
    /// A Django table was asked for, but the store is not PostgreSQL.
    #[error("{0}: --django-table needs a postgres:// store")]
    DjangoTableNeedsPostgres(String),
    /// Neither `--store` nor `APIKEYS_STORE` was given.
    #[error("no store given: pass --store LOCATION or set APIKEYS_STORE")]
    NoStore,
}

/// Opens the store at `location`. A missing redb file is created only if
/// `create_if_missing`; otherwise it is an error and nothing is created. With
/// `django_table`, a PostgreSQL store uses the table djangorestframework-api-key created
/// (see [`apikeys_postgres::DJANGO_TABLE`]) instead of apikeys' own.
pub(crate) async fn open_store(
    location: &StoreLocation,
    django_table: Option<&str>,
    create_if_missing: bool,
) -> Result<Arc<dyn KeyStore>, StoreOpenError> {
    match location {
        StoreLocation::Redb(_) if django_table.is_some() => Err(
            StoreOpenError::DjangoTableNeedsPostgres(location.to_string()),
        ),
        StoreLocation::Redb(path) => {
            let store = if create_if_missing {
                RedbStore::open(path)?
            } else {
                RedbStore::open_existing(path)?
            };
            Ok(Arc::new(store))
        }
        StoreLocation::Postgres(url) => {
            let store = match django_table {
                Some(table) => PostgresStore::connect_django(url, table).await,
                None => PostgresStore::connect(url).await,
            };
            store
                .map(|s| Arc::new(s) as Arc<dyn KeyStore>)
                .map_err(|source| StoreOpenError::Postgres {
                    location: location.to_string(),
                    source,
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_passwords_are_not_displayed() {
        let location: StoreLocation = "postgresql://admin:s3cret@db.internal:5432/app"
            .parse()
            .expect("parse");
        assert_eq!(location.to_string(), "postgres://db.internal:5432/app");
        assert!(!format!("{location:?}").contains("s3cret"));
        assert!("".parse::<StoreLocation>().is_err());
    }

    #[test]
    fn query_passwords_are_not_displayed() {
        let location: StoreLocation =
            "postgres://db.internal/app?sslmode=require&password=s3cret&PassWord=x&sslpassword=y"
                .parse()
                .expect("parse");
        assert_eq!(
            location.to_string(),
            "postgres://db.internal/app?sslmode=require&password=***&PassWord=***&sslpassword=***"
        );
        let location: StoreLocation = "postgres://u:s3cret@h/app?password=s3cret"
            .parse()
            .expect("parse");
        assert!(!location.to_string().contains("s3cret"), "{location}");
        assert!(!format!("{location:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_url_schemes_are_refused() {
        for url in [
            "mysql://root@localhost/app",
            "sqlite://keys.db",
            "postgress://h/db",
        ] {
            let error = url.parse::<StoreLocation>().expect_err(url);
            assert!(error.contains("unsupported store URL scheme"), "{error}");
        }
        for path in [
            "keys.redb",
            "./dir/keys.redb",
            "/tmp/a:b.redb",
            "C:\\keys.redb",
        ] {
            assert!(matches!(path.parse(), Ok(StoreLocation::Redb(_))), "{path}");
        }
    }
}
