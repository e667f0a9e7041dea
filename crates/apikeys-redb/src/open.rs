//! Opening a store: from a path, or on a database the application already has.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apikeys::StoreError;
use redb::{Database, ReadableDatabase, TableError};

use crate::error::{OpenError, backend};
use crate::shared::shared_for;
use crate::store::RedbStore;
use crate::tables::{
    BY_CREATED, BY_OWNER, EVENTS, EVENTS_BY_KEY, LAYOUT, LAYOUT_KEY, META, RECORDS,
};

/// Records kept in memory by default: a few hundred bytes each, so tens of MB at most.
pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;

/// How often credits spent in memory are written to the file by default: what a crash may
/// lose of them.
pub const DEFAULT_CREDIT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest flush interval: a shorter one would keep a thread spinning.
const MIN_CREDIT_FLUSH_INTERVAL: Duration = Duration::from_millis(1);

/// Options for opening a [`RedbStore`].
///
/// ```no_run
/// # fn main() -> Result<(), apikeys_redb::OpenError> {
/// let store = apikeys_redb::RedbStore::builder()
///     .cache_capacity(10_000)
///     .open("keys.redb")?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedbStoreBuilder {
    cache_capacity: usize,
    check_integrity: bool,
    credit_flush_interval: Duration,
}

impl Default for RedbStoreBuilder {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            check_integrity: true,
            credit_flush_interval: DEFAULT_CREDIT_FLUSH_INTERVAL,
        }
    }
}

impl RedbStoreBuilder {
    /// How many records the cache holds (default [`DEFAULT_CACHE_CAPACITY`]); 0 disables
    /// it. The cache belongs to the database: stores sharing one keep the first one's size.
    #[must_use]
    pub fn cache_capacity(mut self, records: usize) -> Self {
        self.cache_capacity = records;
        self
    }

    /// Whether opening a file checks every page's checksum (default: yes). A file damaged
    /// outside redb then fails to open with [`OpenError::Corrupt`]; without the check redb
    /// trusts a cleanly closed file, and may panic on one that was altered. The check reads
    /// the whole file (about a second per few hundred MB). Files left by a crash are always
    /// checked and repaired.
    #[must_use]
    pub fn check_integrity(mut self, check: bool) -> Self {
        self.check_integrity = check;
        self
    }

    /// How often credits spent in memory are written to the file (default
    /// [`DEFAULT_CREDIT_FLUSH_INTERVAL`], 1 s; at least 1 ms, a shorter one is raised to
    /// it). Spending is exact in memory; a crash loses at most this long's spending, so
    /// remaining credits read back higher than they were, never lower. The last store on
    /// the database writes them when dropped. Stores sharing one database keep the first
    /// one's interval.
    #[must_use]
    pub fn credit_flush_interval(mut self, interval: Duration) -> Self {
        self.credit_flush_interval = interval.max(MIN_CREDIT_FLUSH_INTERVAL);
        self
    }

    /// Opens the store at `path`, creating the file if there is none. A new file is
    /// readable and writable by its owner only (mode 0600 on Unix): it holds key hashes, and
    /// whoever can open it can lock it and keep the server from starting.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<RedbStore, OpenError> {
        let path = path.as_ref();
        create_private(path)?;
        let db = self
            .redb()
            .create(path)
            .map_err(|e| OpenError::from_redb(path.to_owned(), e))?;
        self.finish(db, path)
    }

    /// Opens the store at `path`, failing with [`OpenError::Missing`] (and creating
    /// nothing) if there is no file.
    pub fn open_existing(&self, path: impl AsRef<Path>) -> Result<RedbStore, OpenError> {
        let path = path.as_ref();
        let db = self.open_existing_db(path)?;
        self.finish(db, path)
    }

    fn open_existing_db(&self, path: &Path) -> Result<Database, OpenError> {
        match path.try_exists() {
            Ok(true) => {}
            Ok(false) => {
                return Err(match missing_directory(path) {
                    Some(directory) => OpenError::MissingDirectory {
                        path: path.to_owned(),
                        directory,
                    },
                    None => OpenError::Missing {
                        path: path.to_owned(),
                    },
                });
            }
            Err(source) => {
                return Err(OpenError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        self.redb()
            .open(path)
            .map_err(|e| OpenError::from_redb(path.to_owned(), e))
    }

    /// Rewrites the file at `path` without its free space; it must not be open elsewhere.
    /// redb grows a file in doubling steps and reuses freed pages rather than returning
    /// them, so after a large import or many deletions this can halve the file.
    pub fn compact(&self, path: impl AsRef<Path>) -> Result<(), OpenError> {
        let path = path.as_ref();
        // The database alone, not a store: nothing can be spent, and no flush thread
        // holds it. A store open on the file in this process makes redb refuse (`InUse`).
        let mut db = self.open_existing_db(path)?;
        Self::prepared(&db, path)?;
        db.compact()
            .map_err(|e| OpenError::from_redb(path.to_owned(), e))?;
        Ok(())
    }

    /// A store on `db`, which the application may use for its own tables too. Stores made
    /// from the same `Arc<Database>` share one cache and see each other's writes at once.
    pub fn from_database(&self, db: Arc<Database>) -> Result<RedbStore, StoreError> {
        let (owner, fresh) = shared_for(db, self.cache_capacity, self.credit_flush_interval);
        if fresh {
            prepare(&owner.shared.db).map_err(|e| match e {
                Prepare::TooNew(too_new) => StoreError::backend(too_new),
                Prepare::Redb(e) => backend(e),
            })?;
        }
        Ok(RedbStore::new(owner))
    }

    fn redb(&self) -> redb::Builder {
        let mut builder = redb::Builder::new();
        builder.set_check_integrity_on_open(self.check_integrity);
        builder
    }

    fn prepared(db: &Database, path: &Path) -> Result<(), OpenError> {
        prepare(db).map_err(|e| match e {
            Prepare::TooNew(source) => OpenError::TooNew {
                path: path.to_owned(),
                source,
            },
            Prepare::Redb(e) => OpenError::from_redb(path.to_owned(), e),
        })
    }

    fn finish(&self, db: Database, path: &Path) -> Result<RedbStore, OpenError> {
        Self::prepared(&db, path)?;
        let (owner, _) = shared_for(
            Arc::new(db),
            self.cache_capacity,
            self.credit_flush_interval,
        );
        Ok(RedbStore::new(owner))
    }
}

/// Creates the file at `path` empty with mode 0600 if there is none, for redb to initialise
/// (redb itself would create it with the umask's mode, usually 0644).
fn create_private(path: &Path) -> Result<(), OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // An existing file keeps its mode: the owner may have chosen it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(match missing_directory(path) {
            Some(directory) => OpenError::MissingDirectory {
                path: path.to_owned(),
                directory,
            },
            None => OpenError::Io {
                path: path.to_owned(),
                source: e,
            },
        }),
        Err(source) => Err(OpenError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The file's directory, if it does not exist.
fn missing_directory(path: &Path) -> Option<std::path::PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    (!dir.try_exists().unwrap_or(true)).then(|| dir.to_owned())
}

enum Prepare {
    TooNew(crate::error::TooNew),
    Redb(redb::Error),
}

macro_rules! prepare_from {
    ($($error:ty),*) => {$(
        impl From<$error> for Prepare {
            fn from(e: $error) -> Self {
                Self::Redb(e.into())
            }
        }
    )*};
}
prepare_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Makes sure the tables exist and are a layout this release reads. Only a new file pays
/// for a write transaction.
fn prepare(db: &Database) -> Result<(), Prepare> {
    {
        let txn = db.begin_read()?;
        match txn.open_table(META) {
            Ok(meta) => {
                if let Some(found) = meta.get(LAYOUT_KEY)? {
                    let found = found.value();
                    if found > LAYOUT {
                        return Err(Prepare::TooNew(crate::error::TooNew {
                            found,
                            supported: LAYOUT,
                        }));
                    }
                    if found == LAYOUT {
                        return Ok(());
                    }
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // A new file, or layout 1: the tables layout 2 added start empty, which is right for
    // layout 1 (its records have no owners and it kept no events). Records stay in format
    // version 1 until they next change.
    let txn = db.begin_write()?;
    {
        txn.open_table(RECORDS)?;
        txn.open_table(BY_CREATED)?;
        txn.open_table(BY_OWNER)?;
        txn.open_table(EVENTS)?;
        txn.open_table(EVENTS_BY_KEY)?;
        let mut meta = txn.open_table(META)?;
        meta.insert(LAYOUT_KEY, LAYOUT)?;
    }
    txn.commit()?;
    Ok(())
}
