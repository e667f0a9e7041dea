//! `--store LOCATION`: which store a command (or an example server) uses.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use apikeys::KeyStore;
use apikeys_redb::{OpenError, RedbStore};

/// Where the keys are: a redb file, or (later) a PostgreSQL database.
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
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Self::Postgres(s.to_owned()))
        } else {
            Ok(Self::Redb(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(path) => write!(f, "{}", path.display()),
            // The URL may hold a password: show the scheme and host part only.
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or("", |(_, rest)| rest);
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "postgres://{host}")
            }
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// Why [`open_store`] failed. One line each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreOpenError {
    /// The redb file could not be opened (missing, in use, corrupt, …).
    #[error(transparent)]
    Redb(#[from] OpenError),
    /// This kind of location is not supported by this build.
    #[error("{location}: {what} stores are not supported yet")]
    Unsupported {
        /// The location, without any password.
        location: String,
        /// The kind of store.
        what: &'static str,
    },
}

/// Opens the store at `location`. A missing redb file is created only if
/// `create_if_missing`; otherwise it is an error and nothing is created.
pub fn open_store(
    location: &StoreLocation,
    create_if_missing: bool,
) -> Result<Arc<dyn KeyStore>, StoreOpenError> {
    match location {
        StoreLocation::Redb(path) => {
            let store = if create_if_missing {
                RedbStore::open(path)?
            } else {
                RedbStore::open_existing(path)?
            };
            Ok(Arc::new(store))
        }
        StoreLocation::Postgres(_) => Err(StoreOpenError::Unsupported {
            location: location.to_string(),
            what: "PostgreSQL",
        }),
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
}
