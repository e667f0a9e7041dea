//! The HTTP adapter conformance suite.
//!
//! An adapter implements [`HttpHarness`]: given an [`ApiKeys`], serve three routes and
//! answer one request. [`run_all`] then checks the HTTP behaviour of
//! [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant) against it.
//!
//! | route | protection | 200 body |
//! |---|---|---|
//! | `GET /public` | none | `public` |
//! | `GET /ping` | a valid key | the key's prefix |
//! | `GET /scoped` | a valid key with scope [`SCOPE`] | the key's prefix |
//! | `GET /optional` | a key is optional, but if present it must be valid | the prefix, or `anonymous` |

use std::sync::{Arc, Mutex, PoisonError};

mod limits;
pub use self::limits::{
    default_rate_limit_applies, rate_limited_is_429_with_headers, usage_exceeded_is_429,
};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::FailingStore;
use crate::denied::DeniedRequest;
use crate::extract::KeySource;
use crate::manager::ApiKeys;
use crate::memory::MemoryStore;
use crate::policy::policy_fn;
use crate::record::NewKey;
use crate::verify::{Denial, DenialResponse};

mod hook;
pub use self::hook::{challenge_names_the_configured_scheme, denial_hook_sees_the_request};

/// The scope `/scoped` requires.
pub const SCOPE: &str = "heroes:read";
/// Body of `/optional` without a key.
pub const ANONYMOUS: &str = "anonymous";

/// A request for the harness: a path (with query string) and headers.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// Path and query, e.g. `/ping?api_key=…`.
    pub path: String,
    /// Header name/value pairs, in order.
    pub headers: Vec<(String, String)>,
}

impl TestRequest {
    /// `GET path` without headers.
    pub fn get(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `Authorization: Api-Key <key>`.
    #[must_use]
    pub fn api_key(self, key: &str) -> Self {
        self.header("authorization", format!("Api-Key {key}"))
    }
}

/// What the harness got back.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs (names in any case).
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl TestResponse {
    /// The first value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An adapter under test: serves the suite's routes with `keys` and sends one request.
#[async_trait]
pub trait HttpHarness: Send + Sync {
    /// Builds (or reuses) an app protected by `keys` and answers `request`.
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse;

    /// Like [`send`](Self::send), with the adapter's request-aware denial hook installed
    /// on every protected route: it calls [`DenialLog::record`] with the
    /// [`DeniedRequest`] and answers with the adapter's standard response for it.
    async fn send_hooked(
        &self,
        keys: &ApiKeys,
        request: TestRequest,
        log: DenialLog,
    ) -> TestResponse;
}

/// One refusal as a denial hook saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDenial {
    /// [`DeniedRequest::method`].
    pub method: String,
    /// [`DeniedRequest::path`].
    pub path: String,
    /// [`DeniedRequest::prefix`].
    pub prefix: Option<String>,
    /// The reason, when the refusal is a denial.
    pub denial: Option<Denial>,
    /// The whole view's `Debug` text, checked for secrets.
    pub debug: String,
}

/// What the denial hook of [`HttpHarness::send_hooked`] saw, shared with the suite.
#[derive(Debug, Clone, Default)]
pub struct DenialLog(Arc<Mutex<Vec<SeenDenial>>>);

impl DenialLog {
    /// Notes one refusal; the hook calls it.
    pub fn record(&self, denied: &DeniedRequest) {
        let seen = SeenDenial {
            method: denied.method().to_owned(),
            path: denied.path().to_owned(),
            prefix: denied.prefix().map(str::to_owned),
            denial: denied.error().denial(),
            debug: format!("{denied:?}"),
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }

    /// Every refusal noted so far, emptying the log.
    pub fn take(&self) -> Vec<SeenDenial> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Fixture {
    keys: ApiKeys,
    key: String,
    prefix: String,
    scoped: String,
    scoped_prefix: String,
}

async fn fixture(keys: ApiKeys) -> Fixture {
    let created = keys.create(NewKey::named("suite")).await.expect("create");
    let scoped = keys
        .create(NewKey::named("suite scoped").scope(SCOPE))
        .await
        .expect("create scoped");
    Fixture {
        key: created.key.expose_secret().to_owned(),
        prefix: created.key.prefix().to_owned(),
        scoped: scoped.key.expose_secret().to_owned(),
        scoped_prefix: scoped.key.prefix().to_owned(),
        keys,
    }
}

fn assert_granted(response: &TestResponse, prefix: &str, case: &str) {
    assert_eq!(response.status, 200, "{case}: {response:?}");
    assert_eq!(
        response.body, prefix,
        "{case}: the handler must see the verified key"
    );
}

/// The standard refusal `expected`, with the default sources' challenge on a 401.
fn assert_denied(response: &TestResponse, expected: DenialResponse, case: &str) {
    assert_challenged(response, expected, expected.www_authenticate, case);
}

/// The standard refusal `expected`, with `challenge` as its `WWW-Authenticate`.
fn assert_challenged(
    response: &TestResponse,
    expected: DenialResponse,
    challenge: Option<&str>,
    case: &str,
) {
    assert_eq!(response.status, expected.status, "{case}: {response:?}");
    assert_eq!(
        response.header("www-authenticate"),
        challenge,
        "{case}: WWW-Authenticate"
    );
    assert_eq!(response.body, expected.body, "{case}: body");
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with(DenialResponse::CONTENT_TYPE),
        "{case}: content type {content_type:?}"
    );
}

/// Runs every case against `harness`.
pub async fn run_all(harness: &dyn HttpHarness) {
    default_configuration(harness).await;
    malformed_keys(harness).await;
    several_key_headers(harness).await;
    key_status(harness).await;
    custom_sources(harness).await;
    policy_and_scopes(harness).await;
    optional_key(harness).await;
    store_failure(harness).await;
    rate_limited_is_429_with_headers(harness).await;
    default_rate_limit_applies(harness).await;
    usage_exceeded_is_429(harness).await;
    challenge_names_the_configured_scheme(harness).await;
    denial_hook_sees_the_request(harness).await;
    // Needs a slow hasher and a fast one to compare.
    #[cfg(all(feature = "argon2", feature = "sha512"))]
    slow_hash_does_not_block(harness).await;
}

/// Valid keys pass; missing ones get 401 with a challenge; keyword case does not matter.
pub async fn default_configuration(harness: &dyn HttpHarness) {
    let f = fixture(ApiKeys::new(MemoryStore::new())).await;
    let send = |r| harness.send(&f.keys, r);
    assert_granted(
        &send(TestRequest::get("/ping").api_key(&f.key)).await,
        &f.prefix,
        "valid key",
    );
    assert_denied(
        &send(TestRequest::get("/ping")).await,
        DenialResponse::UNAUTHORIZED,
        "no header",
    );
    for keyword in ["api-key", "API-KEY", "Api-Key"] {
        let request =
            TestRequest::get("/ping").header("authorization", format!("{keyword} {}", f.key));
        assert_granted(&send(request).await, &f.prefix, keyword);
    }
    for (case, value) in [
        ("two spaces", format!("Api-Key  {}", f.key)),
        ("colon", format!("Api-Key:{}", f.key)),
        ("other keyword", format!("X-Key {}", f.key)),
        ("longer keyword", format!("My-Special-Api-Key {}", f.key)),
        ("bearer", format!("Bearer {}", f.key)),
    ] {
        let request = TestRequest::get("/ping").header("authorization", value);
        assert_denied(&send(request).await, DenialResponse::UNAUTHORIZED, case);
    }
    assert_granted(
        &send(TestRequest::get("/public")).await,
        "public",
        "unprotected route",
    );
}

/// Anything that is not exactly a key is 401.
pub async fn malformed_keys(harness: &dyn HttpHarness) {
    let f = fixture(ApiKeys::new(MemoryStore::new())).await;
    let mut dropped = f.key.clone();
    dropped.remove(0);
    for (case, key) in [
        ("empty", String::new()),
        ("abcd", "abcd".to_owned()),
        ("foo.bar", "foo.bar".to_owned()),
        ("upper-cased", f.key.to_uppercase()),
        ("lower-cased", f.key.to_lowercase()),
        ("prefix character dropped", dropped),
        ("unknown prefix", format!("ZZZZZZZZ{}", &f.key[8..])),
        ("long garbage", "x".repeat(4000)),
    ] {
        let request = TestRequest::get("/ping").header("authorization", format!("Api-Key {key}"));
        assert_denied(
            &harness.send(&f.keys, request).await,
            DenialResponse::UNAUTHORIZED,
            case,
        );
    }
}

/// A request with its key header several times is ambiguous (which one a proxy or the
/// framework reads differs): refused with 401, even when every copy is the valid key,
/// and on routes where a key is optional too.
pub async fn several_key_headers(harness: &dyn HttpHarness) {
    let f = fixture(ApiKeys::new(MemoryStore::new())).await;
    let value = format!("Api-Key {}", f.key);
    for (case, second) in [
        ("the same key twice", value.clone()),
        ("another credential second", "Basic dXNlcjpwYXNz".to_owned()),
        ("a wrong key second", format!("Api-Key {}", f.scoped)),
    ] {
        for path in ["/ping", "/optional"] {
            let request = TestRequest::get(path)
                .header("authorization", value.clone())
                .header("authorization", second.clone());
            assert_denied(
                &harness.send(&f.keys, request).await,
                DenialResponse::UNAUTHORIZED,
                &format!("several Authorization headers, {case}, {path}"),
            );
        }
    }
    let custom = ApiKeys::builder_shared(Arc::clone(f.keys.store()))
        .sources([KeySource::header("X-Api-Key")])
        .build();
    let request = TestRequest::get("/ping")
        .header("x-api-key", f.key.clone())
        .header("x-api-key", f.key.clone());
    assert_challenged(
        &harness.send(&custom, request).await,
        DenialResponse::UNAUTHORIZED,
        Some(r#"Api-Key header="x-api-key""#),
        "several X-Api-Key headers",
    );
}

/// Revoked, disabled and expired keys are 401; a key expiring tomorrow works, and again
/// once enabled.
pub async fn key_status(harness: &dyn HttpHarness) {
    let keys = ApiKeys::new(MemoryStore::new());
    let f = fixture(keys.clone()).await;
    let tomorrow = keys
        .create(NewKey::named("tomorrow").expires(OffsetDateTime::now_utc() + Duration::days(1)))
        .await
        .expect("create");
    let expired = keys
        .create(NewKey::named("yesterday").expires(OffsetDateTime::now_utc() - Duration::days(1)))
        .await
        .expect("create");
    let send = |r| harness.send(&keys, r);
    assert_granted(
        &send(TestRequest::get("/ping").api_key(tomorrow.key.expose_secret())).await,
        tomorrow.key.prefix(),
        "expires tomorrow",
    );
    assert_denied(
        &send(TestRequest::get("/ping").api_key(expired.key.expose_secret())).await,
        DenialResponse::UNAUTHORIZED,
        "expired",
    );
    keys.disable(tomorrow.key.prefix()).await.expect("disable");
    assert_denied(
        &send(TestRequest::get("/ping").api_key(tomorrow.key.expose_secret())).await,
        DenialResponse::UNAUTHORIZED,
        "disabled",
    );
    keys.enable(tomorrow.key.prefix()).await.expect("enable");
    assert_granted(
        &send(TestRequest::get("/ping").api_key(tomorrow.key.expose_secret())).await,
        tomorrow.key.prefix(),
        "enabled again",
    );
    keys.revoke(&f.prefix).await.expect("revoke");
    assert_denied(
        &send(TestRequest::get("/ping").api_key(&f.key)).await,
        DenialResponse::UNAUTHORIZED,
        "revoked",
    );
}

/// The key source is configurable: keyword, header, cookie, query.
pub async fn custom_sources(harness: &dyn HttpHarness) {
    let store = Arc::new(MemoryStore::new());
    let plain = ApiKeys::builder_shared(store.clone()).build();
    let f = fixture(plain).await;

    let bearer = ApiKeys::builder_shared(store.clone())
        .sources([KeySource::authorization("Bearer")])
        .build();
    let request = TestRequest::get("/ping").header("authorization", format!("Bearer {}", f.key));
    assert_granted(
        &harness.send(&bearer, request).await,
        &f.prefix,
        "Bearer keyword",
    );
    let request = TestRequest::get("/ping").api_key(&f.key);
    assert_challenged(
        &harness.send(&bearer, request).await,
        DenialResponse::UNAUTHORIZED,
        Some("Bearer"),
        "Api-Key when Bearer is configured",
    );

    let header = ApiKeys::builder_shared(store.clone())
        .sources([KeySource::header("X-Api-Key")])
        .build();
    let request = TestRequest::get("/ping").header("X-Api-Key", f.key.clone());
    assert_granted(
        &harness.send(&header, request).await,
        &f.prefix,
        "X-Api-Key header",
    );
    let request = TestRequest::get("/ping").api_key(&f.key);
    assert_challenged(
        &harness.send(&header, request).await,
        DenialResponse::UNAUTHORIZED,
        Some(r#"Api-Key header="x-api-key""#),
        "Authorization when X-Api-Key is configured",
    );

    let cookie_or_query = ApiKeys::builder_shared(store)
        .sources([KeySource::cookie("api_key"), KeySource::query("api_key")])
        .build();
    let request =
        TestRequest::get("/ping").header("cookie", format!("theme=dark; api_key={}", f.key));
    assert_granted(
        &harness.send(&cookie_or_query, request).await,
        &f.prefix,
        "cookie",
    );
    let request = TestRequest::get(&format!("/ping?x=1&api_key={}", f.key));
    assert_granted(
        &harness.send(&cookie_or_query, request).await,
        &f.prefix,
        "query",
    );
}

/// Policy refusals and missing scopes are 403.
pub async fn policy_and_scopes(harness: &dyn HttpHarness) {
    let store = Arc::new(MemoryStore::new());
    let f = fixture(ApiKeys::builder_shared(store.clone()).build()).await;
    let send = |r| harness.send(&f.keys, r);
    assert_denied(
        &send(TestRequest::get("/scoped").api_key(&f.key)).await,
        DenialResponse::FORBIDDEN,
        "missing scope",
    );
    assert_granted(
        &send(TestRequest::get("/scoped").api_key(&f.scoped)).await,
        &f.scoped_prefix,
        "scope held",
    );
    let suspended = f.prefix.clone();
    let strict = ApiKeys::builder_shared(store)
        .policy(policy_fn(move |key| key.prefix != suspended))
        .build();
    let request = TestRequest::get("/ping").api_key(&f.key);
    assert_denied(
        &harness.send(&strict, request).await,
        DenialResponse::FORBIDDEN,
        "policy rejection",
    );
    let request = TestRequest::get("/ping").api_key(&f.scoped);
    assert_granted(
        &harness.send(&strict, request).await,
        &f.scoped_prefix,
        "policy allows",
    );
}

/// An optional key: absent runs the handler without one; present must be valid.
pub async fn optional_key(harness: &dyn HttpHarness) {
    let f = fixture(ApiKeys::new(MemoryStore::new())).await;
    let send = |r| harness.send(&f.keys, r);
    assert_granted(
        &send(TestRequest::get("/optional")).await,
        ANONYMOUS,
        "optional without key",
    );
    assert_granted(
        &send(TestRequest::get("/optional").api_key(&f.key)).await,
        &f.prefix,
        "optional with key",
    );
    assert_denied(
        &send(TestRequest::get("/optional").api_key("abcd")).await,
        DenialResponse::UNAUTHORIZED,
        "optional with a bad key",
    );
}

/// A failing store is 503, not a denial.
pub async fn store_failure(harness: &dyn HttpHarness) {
    let keys = ApiKeys::new(FailingStore);
    let valid_shape = crate::KeyFormat::default().generate().expect("random");
    let request = TestRequest::get("/ping").api_key(valid_shape.expose_secret());
    assert_denied(
        &harness.send(&keys, request).await,
        DenialResponse::UNAVAILABLE,
        "store failure",
    );
    assert_denied(
        &harness.send(&keys, TestRequest::get("/ping")).await,
        DenialResponse::UNAUTHORIZED,
        "no key, no store call",
    );
}

/// While one request verifies an expensive Argon2 hash, others are served: the hash runs
/// off the async worker threads.
#[cfg(all(feature = "argon2", feature = "sha512"))]
pub async fn slow_hash_does_not_block(harness: &dyn HttpHarness) {
    use crate::hash::{Argon2Hasher, Hashers, Sha512Hasher};
    use std::time::Instant;

    // ~100 ms of hashing even with optimised dependencies.
    let slow = Argon2Hasher::with_params(64 * 1024, 4, 1).expect("params");
    let store = Arc::new(MemoryStore::new());
    let argon = ApiKeys::builder_shared(store.clone())
        .hashers(Hashers::new(slow))
        .build();
    let slow_key = argon.create(NewKey::named("slow")).await.expect("create");
    let keys = ApiKeys::builder_shared(store)
        .hashers(Hashers::new(Sha512Hasher).with_legacy(Argon2Hasher::default()))
        .build();
    let fast_key = keys.create(NewKey::named("fast")).await.expect("create");

    let slow_request = TestRequest::get("/ping").api_key(slow_key.key.expose_secret());
    let fast_request = TestRequest::get("/ping").api_key(fast_key.key.expose_secret());
    let (slow_done, fast_done) = tokio::join!(
        async {
            let response = harness.send(&keys, slow_request).await;
            assert_eq!(response.status, 200, "argon2 key: {response:?}");
            Instant::now()
        },
        async {
            let mut last = Instant::now();
            for _ in 0..5 {
                let response = harness.send(&keys, fast_request.clone()).await;
                assert_eq!(response.status, 200, "sha512 key: {response:?}");
                last = Instant::now();
            }
            last
        }
    );
    assert!(
        fast_done < slow_done,
        "requests waited for an Argon2 verification: it ran on the async worker thread"
    );
}
