//! `ApiKeys`: create, verify, list and revoke keys over a store.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{AuditAction, AuditEvent, AuditSink};
use crate::error::{Error, TaskError};
use crate::extract::{Ambiguous, HeaderLookup, KeyExtractor, KeySource};
use crate::format::KeyFormat;
use crate::gate::HashGate;
use crate::hash::{HashCheck, HashError, Hashers};
use crate::last_used::{DEFAULT_INTERVAL, Uses};
use crate::lifecycle::Change;
use crate::manager::limits::Limits;
pub use crate::manager::limits::RouteLimits;
use crate::matched::{self, MatchedKeys};
use crate::plaintext::PlaintextKey;
use crate::policy::KeyPolicy;
use crate::query::ListQuery;
use crate::record::{ApiKey, NewKey};
use crate::store::{KeyStore, Page, StoreError};
use crate::telemetry::{Telemetry, Verification};
use crate::validation::to_stored_precision;
use crate::verify::{Denial, VerifiedKey, VerifyError, log_refusal};

/// How many fresh keys `create` tries when a generated prefix is already taken.
const CREATE_ATTEMPTS: usize = 8;

/// The API key manager: cheap to clone, shared by every request handler.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use apikeys::{ApiKeys, MemoryStore, NewKey};
///
/// let keys = ApiKeys::new(MemoryStore::new());
/// let created = keys.create(NewKey::named("ci-runner")).await?;
/// let verified = keys.verify(created.key.expose_secret()).await?;
/// assert_eq!(verified.name(), "ci-runner");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiKeys {
    inner: Arc<Inner>,
    /// Who this handle's changes are attributed to in the audit trail.
    actor: Option<Arc<str>>,
}

struct Inner {
    store: Arc<dyn KeyStore>,
    hashers: Hashers,
    format: KeyFormat,
    extractor: KeyExtractor,
    policy: Option<Arc<dyn KeyPolicy>>,
    limits: Limits,
    gate: HashGate,
    /// Metric handles (feature `metrics`; empty without it).
    telemetry: Telemetry,

    sink: Option<Arc<dyn AuditSink>>,
    /// Last-used times waiting to be written; `None` when not recorded.
    uses: Option<Uses>,
    /// Keys that matched their hash, so that their next check skips the hasher; `None`
    /// when turned off.
    matched: Option<MatchedKeys>,
    /// Verification never writes (no hash upgrades, no last-used times).
    read_only: bool,
}

impl Inner {
    /// The store itself. Called through the `Arc`, a method would go to `Arc`'s own
    /// `KeyStore` impl, whose future boxes the store's boxed future a second time: one more
    /// allocation and indirection on every verification.
    fn store(&self) -> &dyn KeyStore {
        &*self.store
    }
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("store", &self.inner.store)
            .field("format", &self.inner.format)
            .field("hashers", &self.inner.hashers)
            .field("sources", &self.inner.extractor.sources())
            .field("policy", &self.inner.policy.is_some())
            .field("max_concurrent_hash_checks", &self.inner.gate.capacity())
            .field("audit_sink", &self.inner.sink)
            .field(
                "last_used_interval",
                &self.inner.uses.as_ref().map(|u| u.interval),
            )
            .field("read_only", &self.inner.read_only)
            .field("match_cache", &self.inner.matched)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// Configures an [`ApiKeys`]; start with [`ApiKeys::builder`].
#[must_use]
pub struct ApiKeysBuilder {
    store: Arc<dyn KeyStore>,
    hashers: Hashers,
    format: KeyFormat,
    extractor: KeyExtractor,
    policy: Option<Arc<dyn KeyPolicy>>,
    limits: Limits,
    max_concurrent_hash_checks: Option<usize>,
    hash_check_wait: Duration,

    sink: Option<Arc<dyn AuditSink>>,
    last_used: Option<std::time::Duration>,
    read_only: bool,
    match_cache: usize,
}

impl ApiKeysBuilder {
    /// The key format for new keys and for parsing presented ones.
    pub fn format(mut self, format: KeyFormat) -> Self {
        self.format = format;
        self
    }

    /// The hashers: one preferred for new keys, others that verify older hashes.
    pub fn hashers(mut self, hashers: Hashers) -> Self {
        self.hashers = hashers;
        self
    }

    /// Where requests carry keys, tried in order (default: `Authorization: Api-Key <key>`).
    pub fn sources(mut self, sources: impl IntoIterator<Item = KeySource>) -> Self {
        self.extractor = KeyExtractor::new(sources);
        self
    }

    /// The application's rule for which keys are usable.
    pub fn policy(mut self, policy: impl KeyPolicy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// At most `permits` expensive hash checks (Argon2id, scrypt, Django's hashes) run at
    /// once; further ones wait for [`hash_check_wait`](Self::hash_check_wait), then are
    /// refused with [`VerifyError::Overloaded`]. Default: one per core, fewer if that many
    /// checks at the hashers' memory ceilings would need more than 512 MiB. At least 1.
    pub fn max_concurrent_hash_checks(mut self, permits: usize) -> Self {
        self.max_concurrent_hash_checks = Some(permits);
        self
    }

    /// How long an expensive hash check waits for a free slot before it is refused with
    /// [`VerifyError::Overloaded`] (default 1 s). The wait needs Tokio's timer, which
    /// `#[tokio::main]`, actix-web's runtime and `Runtime::new` enable.
    pub fn hash_check_wait(mut self, wait: Duration) -> Self {
        self.hash_check_wait = wait;
        self
    }

    /// Also sends every audit event to `sink` (the store's durable history, when it keeps
    /// one, and a tracing line get them regardless).
    pub fn audit_sink(mut self, sink: impl AuditSink) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// Writes last-used times at most once per key per `interval` (default 60 s), in one
    /// batch per flush. See [`ApiKeys::flush`].
    pub fn last_used_interval(mut self, interval: std::time::Duration) -> Self {
        self.last_used = Some(interval);
        self
    }

    /// How many keys that matched their stored hash are remembered, so that their next
    /// requests skip the hasher (default 10,000; 0 turns it off). Each is remembered as an
    /// HMAC-SHA-256 tag under a random key that exists only in this manager, next to the
    /// record it matched; a key whose stored hash changed since is checked in full, and
    /// revocation, expiry, policy, scopes and limits are still decided on every request.
    /// It saves the SHA-512 (~0.3 µs) of a default key, and the milliseconds of an
    /// Argon2id, scrypt or Django hash. Only keys that matched are remembered: wrong keys
    /// cannot fill it.
    pub fn match_cache(mut self, capacity: usize) -> Self {
        self.match_cache = capacity;
        self
    }

    /// Records no last-used times.
    pub fn without_last_used(mut self) -> Self {
        self.last_used = None;
        self
    }

    /// Verification writes nothing: no hash upgrades, no last-used times. For read-only
    /// tools such as `apikeys verify`. Management calls (create, revoke, …) still write.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self.last_used = None;
        self
    }

    /// The configured manager.
    pub fn build(self) -> ApiKeys {
        let capacity = self
            .max_concurrent_hash_checks
            .unwrap_or_else(|| HashGate::default_capacity(crate::hash::max_check_memory()));
        let uses = self
            .last_used
            .filter(|_| self.store.capabilities().last_used)
            .map(Uses::new);
        let matched = (self.match_cache > 0)
            .then(|| MatchedKeys::new(self.match_cache))
            .and_then(|made| {
                made.inspect_err(|error| {
                    tracing::warn!(%error, "no OS randomness for the match cache; every key is hashed on every request");
                })
                .ok()
            });
        ApiKeys {
            inner: Arc::new(Inner {
                store: self.store,
                hashers: self.hashers,
                format: self.format,
                extractor: self.extractor,
                policy: self.policy,
                limits: self.limits,
                gate: HashGate::new(capacity, self.hash_check_wait),
                telemetry: Telemetry::new(),

                sink: self.sink,
                uses,
                matched,
                read_only: self.read_only,
            }),
            actor: None,
        }
    }
}

/// A newly created key: the stored record and the plaintext key, which exists only here.
#[derive(Debug)]
pub struct CreatedKey {
    /// What the store holds.
    pub record: ApiKey,
    /// The full key, to hand to the client once.
    pub key: PlaintextKey,
}

/// A rolled key: the old record, retired and linked, and its successor, whose plaintext
/// key exists only here.
#[derive(Debug)]
pub struct RolledKey {
    /// The old key as stored now (its expiry shortened to the grace period, or revoked).
    pub old: ApiKey,
    /// The successor: record and plaintext key, to hand to the client once.
    pub successor: CreatedKey,
}

/// What [`ApiKeys::revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The key is now revoked.
    Revoked(ApiKey),
    /// It was revoked already; nothing changed.
    AlreadyRevoked(ApiKey),
    /// The key's record cannot be decoded by the store; it is revoked nonetheless.
    RevokedUndecodable,
}

impl ApiKeys {
    /// A manager with the default format, hashers and key source.
    pub fn new(store: impl KeyStore + 'static) -> Self {
        Self::builder(store).build()
    }

    /// Starts configuring a manager over `store`.
    pub fn builder(store: impl KeyStore + 'static) -> ApiKeysBuilder {
        Self::builder_shared(Arc::new(store))
    }

    /// Starts configuring a manager over a store that is shared with other code.
    pub fn builder_shared(store: Arc<dyn KeyStore>) -> ApiKeysBuilder {
        ApiKeysBuilder {
            store,
            hashers: Hashers::default(),
            format: KeyFormat::default(),
            extractor: KeyExtractor::default(),
            policy: None,
            limits: Limits::default(),
            max_concurrent_hash_checks: None,
            hash_check_wait: crate::gate::DEFAULT_WAIT,

            sink: None,
            last_used: Some(DEFAULT_INTERVAL),
            read_only: false,
            match_cache: matched::DEFAULT_CAPACITY,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.inner.store
    }

    /// The key format.
    pub fn format(&self) -> &KeyFormat {
        &self.inner.format
    }

    /// The key sources.
    pub fn extractor(&self) -> &KeyExtractor {
        &self.inner.extractor
    }

    /// Creates a key. The plaintext key is in the result and nowhere else.
    pub async fn create(&self, new: NewKey) -> Result<CreatedKey, Error> {
        let new = new.validated()?;
        if (new.rate_limit.is_some() || new.credits.is_some() || new.refill.is_some())
            && !self.inner.store.capabilities().limits
        {
            // Refused before a store that cannot hold them silently drops them.
            return Err(StoreError::Unsupported("rate_limit / credits".to_owned()).into());
        }
        let created = to_stored_precision(OffsetDateTime::now_utc());
        let expires = new.expires;
        let mut last_prefix = String::new();
        for _ in 0..CREATE_ATTEMPTS {
            let key = self.inner.format.generate()?;
            let hashed_key = self.hash_new(&key).await?;
            let record = ApiKey {
                expires,
                scopes: new.scopes.clone(),
                metadata: new.metadata.clone(),
                owner: new.owner.clone(),
                rate_limit: new.rate_limit,
                credits: new.initial_credits(created),
                ..ApiKey::new(key.prefix(), hashed_key, new.name.clone(), created)
            };
            let event = AuditEvent {
                at: created,
                ..self.event(key.prefix(), AuditAction::Created)
            };
            match self.inner.store().insert(&record, &event).await {
                Ok(()) => {
                    self.announce(&event).await;
                    return Ok(CreatedKey { record, key });
                }
                Err(StoreError::AlreadyExists { prefix }) => {
                    tracing::debug!(prefix, "generated prefix already taken; drawing another");
                    last_prefix = prefix;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(StoreError::AlreadyExists {
            prefix: last_prefix,
        }))
    }

    /// Verifies a presented key: granted only if it is well formed, exists, matches its
    /// hash, is neither revoked nor expired, and the policy allows it.
    pub async fn verify(&self, key: &str) -> Result<VerifiedKey, VerifyError> {
        self.verify_with_scopes(key, &[]).await
    }

    /// [`verify`](Self::verify), then also requires every one of `scopes`.
    pub async fn verify_with_scopes(
        &self,
        key: &str,
        scopes: &[&str],
    ) -> Result<VerifiedKey, VerifyError> {
        self.verify_with_limits(key, scopes, &RouteLimits::new())
            .await
    }

    /// [`verify_with_scopes`](Self::verify_with_scopes) on a route with its own rate limit
    /// or credit cost. (Every verification applies the key's own limits; this names the
    /// route's.)
    pub async fn verify_with_limits(
        &self,
        key: &str,
        scopes: &[&str],
        route: &RouteLimits,
    ) -> Result<VerifiedKey, VerifyError> {
        let timed = Verification::start();
        let result = match self.check(key, scopes).await {
            // Boxed, as the other rare branches below: a future holds the state of every
            // branch it may take, and the common one (no limits, a cheap hash) should not
            // initialise and move the limiter's, the hashing thread's and the upgrade's
            // state on every request.
            Ok(verified) if self.has_limits(&verified, route) => {
                Box::pin(self.enforce_limits(verified, route)).await
            }
            Ok(verified) => Ok(verified),
            Err(error) => Err(error),
        };
        // Last used means last granted: a request refused by its limits does not count.
        if let Ok(verified) = &result {
            self.note_use(verified.prefix());
        }
        if let Err(error) = &result {
            let prefix = self.inner.format.parse(key).map(|k| k.prefix());
            log_refusal(error, prefix);
        }
        timed.finish(&self.inner.telemetry, &result);
        result
    }

    /// Finds the key in a request (per the configured sources) and verifies it;
    /// [`Denial::Missing`] when there is none, [`Denial::Malformed`] when the key header
    /// occurs several times. HTTP adapters call
    /// [`authenticate_request`](Self::authenticate_request), which builds on this.
    pub async fn authenticate<H>(
        &self,
        headers: &H,
        query: Option<&str>,
        scopes: &[&str],
    ) -> Result<VerifiedKey, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        let key = self.presented_key(headers, query)?;
        self.verify_with_scopes(&key, scopes).await
    }

    /// The key a request presents, per the configured sources: [`Denial::Missing`] when
    /// there is none, [`Denial::Malformed`] when its header occurs several times.
    pub(crate) fn presented_key<'h, H>(
        &self,
        headers: &'h H,
        query: Option<&'h str>,
    ) -> Result<std::borrow::Cow<'h, str>, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        let error: VerifyError = match self.inner.extractor.extract(headers, query) {
            // Timed by its verify: no clock read here on the path every grant takes.
            Ok(Some(key)) => return Ok(key),
            Ok(None) => {
                tracing::debug!(reason = "missing", "API key denied");
                Denial::Missing.into()
            }
            Err(Ambiguous) => {
                let error = Denial::Malformed.into();
                log_refusal(&error, None);
                error
            }
        };
        // A whole verification, decided by the extraction: counted, with its (tiny) time.
        let refused = Err(error);
        Verification::start().finish(&self.inner.telemetry, &refused);
        refused
    }

    /// Like [`authenticate`](Self::authenticate), but a request without any key is
    /// `Ok(None)`. A key that is present must still be valid.
    pub async fn authenticate_optional<H>(
        &self,
        headers: &H,
        query: Option<&str>,
        scopes: &[&str],
    ) -> Result<Option<VerifiedKey>, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        match self.authenticate(headers, query, scopes).await {
            Err(VerifyError::Denied(Denial::Missing)) => Ok(None),
            other => other.map(Some),
        }
    }

    /// Whether `key` would be granted. Store failures are errors, not `false`.
    pub async fn is_valid(&self, key: &str) -> Result<bool, VerifyError> {
        match self.verify(key).await {
            Ok(_) => Ok(true),
            Err(VerifyError::Denied(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The record with this prefix; [`Error::NotFound`] when there is none.
    pub async fn get(&self, prefix: &str) -> Result<ApiKey, Error> {
        self.inner
            .store()
            .get(prefix)
            .await?
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| Error::NotFound {
                prefix: prefix.to_owned(),
            })
    }

    /// One page of keys, newest first.
    pub async fn list(&self, query: &ListQuery) -> Result<Page, Error> {
        Ok(self.inner.store().list(query).await?)
    }

    async fn check(&self, key: &str, scopes: &[&str]) -> Result<VerifiedKey, VerifyError> {
        let parsed = self.inner.format.parse(key).ok_or(Denial::Malformed)?;
        let record = self
            .inner
            .store()
            .get(parsed.prefix())
            .await?
            .ok_or(Denial::NotFound)?;
        // The secret first: revocation, expiry and policy are told only to the key's holder.
        let check = self.check_hash(key, &record).await?;
        if !check.matched {
            return Err(Denial::InvalidSecret.into());
        }
        if record.revoked {
            return Err(Denial::Revoked.into());
        }
        if record.disabled {
            return Err(Denial::Disabled.into());
        }
        if record.expires.is_some() && record.is_expired_at(OffsetDateTime::now_utc()) {
            return Err(Denial::Expired.into());
        }
        if check.needs_upgrade && !self.inner.read_only {
            Box::pin(self.upgrade_hash(key, &record)).await;
        }
        if let Some(policy) = &self.inner.policy
            && !policy.allows(&record).await.map_err(VerifyError::Policy)?
        {
            return Err(Denial::Rejected.into());
        }
        if !record.has_scopes(scopes) {
            return Err(Denial::InsufficientScope.into());
        }
        Ok(VerifiedKey::new(record))
    }

    async fn check_hash(&self, key: &str, record: &Arc<ApiKey>) -> Result<HashCheck, VerifyError> {
        let matched = self.inner.matched.as_ref();
        let tag = matched.map(|matched| matched.tag(key.as_bytes()));
        if let (Some(matched), Some(tag)) = (matched, &tag)
            && matched.recalls(tag, record)
        {
            return Ok(HashCheck {
                matched: true,
                needs_upgrade: false,
            });
        }
        let hashers = &self.inner.hashers;
        let result = if hashers.is_expensive(&record.hashed_key) {
            Box::pin(self.check_expensive(key, record)).await?
        } else {
            hashers.check(key.as_bytes(), &record.hashed_key)
        };
        let check = result.unwrap_or_else(|error| {
            tracing::warn!(prefix = record.prefix, %error, "stored hash unreadable; key refused");
            HashCheck {
                matched: false,
                needs_upgrade: false,
            }
        });
        // A hash due for an upgrade is about to change: nothing to remember it by.
        if check.matched
            && !check.needs_upgrade
            && let (Some(matched), Some(tag)) = (matched, tag)
        {
            matched.remember(tag, record);
        }
        Ok(check)
    }

    /// A hash check that takes milliseconds: on the blocking pool, within the gate.
    async fn check_expensive(
        &self,
        key: &str,
        record: &ApiKey,
    ) -> Result<Result<HashCheck, HashError>, VerifyError> {
        // The slot moves into the job: a dropped request must not free it early.
        let slot = self.inner.gate.enter().await?;
        let key = Zeroizing::new(key.to_owned());
        let stored = record.hashed_key.clone();
        Ok(self
            .off_thread(move |inner| {
                let result = inner.hashers.check(key.as_bytes(), &stored);
                drop(slot);
                result
            })
            .await?)
    }

    async fn hash_new(&self, key: &PlaintextKey) -> Result<String, Error> {
        if self.inner.hashers.preferred().is_expensive() {
            let key = Zeroizing::new(key.expose_secret().to_owned());
            Ok(self
                .off_thread(move |inner| inner.hashers.hash(key.as_bytes()))
                .await??)
        } else {
            Ok(self.inner.hashers.hash(key.expose_secret().as_bytes())?)
        }
    }

    /// Re-hashes a legacy hash with the preferred hasher. A failure here must not turn a
    /// granted request into an error: it is logged and retried on the next use.
    async fn upgrade_hash(&self, key: &str, record: &ApiKey) {
        let key = Zeroizing::new(key.to_owned());
        let hashed = if self.inner.hashers.preferred().is_expensive() {
            self.off_thread(move |inner| inner.hashers.hash(key.as_bytes()))
                .await
                .map_err(Error::from)
                .and_then(|r| r.map_err(Error::from))
        } else {
            self.inner.hashers.hash(key.as_bytes()).map_err(Error::from)
        };
        // A compare-and-set of the hash alone: whatever else changed during the slow check
        // (an expiry, a scope removal) stays, and a hash replaced meanwhile is not overwritten.
        let result = match hashed {
            Ok(new) => {
                let change = Change::ReplaceHash {
                    expected: record.hashed_key.clone(),
                    new,
                };
                let algorithm = self.inner.hashers.preferred().algorithm().to_owned();
                let event = self.event(&record.prefix, AuditAction::HashUpgraded { algorithm });
                self.apply(&record.prefix, &change, event).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => {}
            Err(Error::Refused { .. }) => {
                tracing::debug!(
                    prefix = record.prefix,
                    "hash changed meanwhile; not upgraded"
                );
            }
            Err(error) => {
                tracing::warn!(prefix = record.prefix, %error, "API key hash upgrade failed");
            }
        }
    }

    /// Runs CPU-heavy hashing on the runtime's blocking pool, so that the async worker
    /// threads keep serving requests; inline when there is no Tokio runtime.
    async fn off_thread<T, F>(&self, job: F) -> Result<T, TaskError>
    where
        F: FnOnce(&Inner) -> T + Send + 'static,
        T: Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let inner = Arc::clone(&self.inner);
                runtime
                    .spawn_blocking(move || job(&inner))
                    .await
                    .map_err(TaskError::new)
            }
            Err(_) => Ok(job(&self.inner)),
        }
    }
}

mod lifecycle;
mod limits;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lifecycle;
#[cfg(test)]
mod tests_matched;
mod write_behind;
