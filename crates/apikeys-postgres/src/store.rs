//! `PostgresStore`: the `KeyStore` over a PostgreSQL pool.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikeys::time::OffsetDateTime;
use apikeys::{
    ApiKey, AuditEvent, Capabilities, Change, KeyStore, ListQuery, Modified, Page, Roll, Rolled,
    Spend, StoreError, async_trait,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::cache::{CacheOptions, CacheStatus, Lookup};
use crate::error::{Error, store_error};
use crate::layout::{Layout, Mode, TableName};
use crate::listener::{self, Cached};
use crate::{django, events, limits, list, migrate, row, trigger, write};

/// API keys in PostgreSQL, shared by every server that connects to the database.
///
/// Lookups by prefix are answered from a bounded record cache while a dedicated listener
/// connection proves it is current (see [`CacheOptions`]): a change made anywhere is seen
/// within [`CacheOptions::max_staleness`] (100 ms by default), and while the listener is
/// down or lagging every lookup reads the table. This store's own writes are seen by its
/// next lookup. Listings and `touch` are one query on the pool; every other write is one
/// transaction that locks the key's row, changes only the columns of that change and
/// appends its audit event (see the crate's README, "Its own table"). Clones share the
/// pool and the cache.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    layout: Arc<Layout>,
    cache: Option<Arc<Cached>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.layout.table.name)
            .field("django", &(self.layout.mode == Mode::Django))
            .field("pool_size", &self.pool.size())
            .field("cache", &self.cache.as_ref().map(|c| c.cache.status()))
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/database`) and creates or
    /// upgrades apikeys' table, `apikeys`, in the first schema of the `search_path`.
    ///
    /// The pool has sqlx's defaults (10 connections) except that waiting for a connection
    /// gives up after 5 seconds; build your own pool for other settings. The record cache
    /// is on, with [`CacheOptions::new`]'s settings.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::new(pool(url).await?).await
    }

    /// Uses `pool`, creating or upgrading apikeys' table (see [`PostgresStore::connect`]).
    /// Safe to call from many servers at once: migrations take a lock.
    pub async fn new(pool: PgPool) -> Result<Self, Error> {
        Self::with_cache(pool, CacheOptions::new()).await
    }

    /// [`PostgresStore::new`] with these cache settings ([`CacheOptions::off`]: no cache,
    /// no listener connection).
    pub async fn with_cache(pool: PgPool, cache: CacheOptions) -> Result<Self, Error> {
        migrate::run(&pool).await?;
        let cache = listener::start(&pool, &cache);
        Ok(Self {
            pool,
            layout: Arc::new(Layout::own()),
            cache,
        })
    }

    /// Connects to `url` and uses the table djangorestframework-api-key created, `table`
    /// (usually [`DJANGO_TABLE`](crate::DJANGO_TABLE); a custom key model has its own),
    /// optionally qualified by a schema. Nothing is created: Django owns that table.
    pub async fn connect_django(url: &str, table: &str) -> Result<Self, Error> {
        Self::django(pool(url).await?, table).await
    }

    /// Uses the table djangorestframework-api-key created, through `pool`. Checks that it
    /// exists and has the columns of Django's `AbstractAPIKey`.
    ///
    /// That table has no column for scopes, metadata, owners, `disabled`, rotation links,
    /// `last_used` or an audit trail ([`KeyStore::capabilities`] says so): writing a key or
    /// a change that needs one fails with [`StoreError::Unsupported`] naming the field,
    /// rather than losing it; [`KeyStore::touch`] does nothing; reads show them empty.
    ///
    /// The record cache needs a trigger on the table: it is installed if missing and the
    /// role may (it must own the table); otherwise the store runs without a cache and logs
    /// why.
    pub async fn django(pool: PgPool, table: &str) -> Result<Self, Error> {
        Self::django_with_cache(pool, table, CacheOptions::new()).await
    }

    /// [`PostgresStore::django`] with these cache settings.
    pub async fn django_with_cache(
        pool: PgPool,
        table: &str,
        cache: CacheOptions,
    ) -> Result<Self, Error> {
        let table = TableName::parse(table)?;
        django::check_table(&pool, &table).await?;
        let cache = if cache.is_on() {
            match trigger::ensure_django(&pool, &table).await {
                Ok(()) => listener::start(&pool, &cache),
                Err(error) => {
                    tracing::warn!(
                        table = table.name,
                        %error,
                        "apikeys cache off: cannot install the change trigger on Django's table \
                         (the role must own it); every lookup reads the table"
                    );
                    None
                }
            }
        } else {
            None
        };
        Ok(Self {
            pool,
            layout: Arc::new(Layout::django(table)),
            cache,
        })
    }

    /// Whether a store location (a `--store` argument, say) names a PostgreSQL database
    /// rather than a file: it starts with `postgres://` or `postgresql://`.
    pub fn accepts_url(location: &str) -> bool {
        let lower = location.get(..13).unwrap_or(location).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The table's name as given (`apikeys` for apikeys' own table).
    pub fn table(&self) -> &str {
        &self.layout.table.name
    }

    /// Whether this store uses djangorestframework-api-key's table.
    pub fn is_django(&self) -> bool {
        self.layout.mode == Mode::Django
    }

    /// What the record cache is doing (all zero and `enabled: false` without one).
    pub fn cache_status(&self) -> CacheStatus {
        self.cache
            .as_ref()
            .map_or_else(CacheStatus::default, |c| c.cache.status())
    }

    /// Cache hook for every write of this store: forget `prefix` here at once, whatever the
    /// write's outcome (the trigger tells the other stores, and this one again, later).
    fn written(&self, prefix: &str) {
        if let Some(cached) = &self.cache {
            cached.cache.invalidate(prefix);
        }
    }
}

async fn pool(url: &str) -> Result<PgPool, Error> {
    let options: PgConnectOptions = url.parse().map_err(Error::Connect)?;
    // sqlx's pool retries a refused connection until its timeout and then reports only
    // the timeout; one direct attempt first says what is wrong, at once.
    match options.connect().await {
        Ok(connection) => drop(connection.close().await),
        Err(sqlx::Error::Io(source)) if source.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Error::Refused {
                address: format!("{}:{}", options.get_host(), options.get_port()),
                source,
            });
        }
        // Anything else (a server still starting, say) is the pool's to retry or report.
        Err(_) => {}
    }
    PgPoolOptions::new()
        // A request waiting for a connection during an outage should get its 503 soon,
        // not after sqlx's default 30 s.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(Error::Connect)
}

#[async_trait]
impl KeyStore for PostgresStore {
    /// Everything in apikeys' table; in Django's, no scopes, metadata, owners, `disabled`,
    /// rotation links, `last_used`, audit trail or usage limits (no columns for them).
    fn capabilities(&self) -> Capabilities {
        match self.layout.mode {
            Mode::Own => Capabilities::ALL,
            Mode::Django => django::CAPABILITIES,
        }
    }

    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let done = write::insert(&self.pool, &self.layout, key, event).await;
        self.written(&key.prefix);
        done
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        // PostgreSQL text cannot hold NUL: no key has such a prefix.
        if prefix.contains('\0') {
            return Ok(None);
        }
        // Cache hook: answer from memory while the listener is current.
        let ticket = match self.cache.as_ref().map(|c| c.cache.lookup(prefix)) {
            Some(Lookup::Hit(record)) => return Ok(Some(record)),
            Some(Lookup::Miss(ticket)) => Some(ticket),
            Some(Lookup::Bypass) | None => None,
        };
        let row = sqlx::query(&self.layout.get)
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        let record = row
            .map(|r| row::decode(&r, self.layout.mode).map(Arc::new))
            .transpose()?;
        if let (Some(ticket), Some(record), Some(cached)) = (ticket, &record, &self.cache) {
            cached.cache.fill(ticket, record);
        }
        Ok(record)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        list::list(&self.pool, &self.layout, query).await
    }

    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        let done = write::modify(&self.pool, &self.layout, prefix, change, event).await;
        self.written(prefix);
        done
    }

    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        if self.layout.mode == Mode::Django {
            return Err(django::no_column("rotation links", &roll.prefix));
        }
        let done = write::roll(&self.pool, &self.layout, roll, event).await;
        self.written(&roll.prefix);
        self.written(&roll.successor_prefix);
        done
    }

    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        if self.layout.mode == Mode::Django {
            return Ok(());
        }
        let done = write::touch(&self.pool, uses).await;
        for (prefix, _) in uses {
            self.written(prefix);
        }
        done
    }

    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let done = write::delete(&self.pool, &self.layout, prefix, event).await;
        self.written(prefix);
        done
    }

    /// Reads the credits (never from the cache) and writes the core's `Credits::spend` of
    /// them with one conditional `UPDATE`, read again if they changed meanwhile (see the
    /// README, "Usage limits").
    async fn spend(
        &self,
        prefix: &str,
        cost: u64,
        now: OffsetDateTime,
    ) -> Result<Option<Spend>, StoreError> {
        if self.layout.mode == Mode::Django {
            return Err(django::no_column("credits", prefix));
        }
        let done = limits::spend(&self.pool, prefix, cost, now).await;
        self.written(prefix);
        done
    }

    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        if self.layout.mode == Mode::Django {
            return Err(StoreError::Unsupported(
                "djangorestframework-api-key's table has no audit trail".into(),
            ));
        }
        events::history(&self.pool, prefix).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawnable<T: Send>(_: &T) {}

    #[test]
    fn store_locations() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@127.0.0.1:5432/db?sslmode=require",
            "POSTGRES://h/db",
        ] {
            assert!(PostgresStore::accepts_url(url), "{url}");
        }
        for other in [
            "keys.redb",
            "/var/lib/keys.redb",
            "postgres:/x",
            "mysql://h/db",
            "",
            "é",
        ] {
            assert!(!PostgresStore::accepts_url(other), "{other}");
        }
    }

    /// Servers build their store inside spawned tasks: the setup futures must be `Send`.
    #[test]
    fn setup_futures_are_send() {
        spawnable(&PostgresStore::connect("postgres://localhost/x"));
        spawnable(&PostgresStore::connect_django(
            "postgres://localhost/x",
            crate::DJANGO_TABLE,
        ));
    }
}
