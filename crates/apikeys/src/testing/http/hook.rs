//! The configured challenge on a 401, and what the denial hook sees.

use std::sync::Arc;

use super::{DenialLog, TestRequest, assert_challenged, assert_denied, fixture};
use crate::extract::KeySource;
use crate::manager::ApiKeys;
use crate::memory::MemoryStore;
use crate::verify::{Denial, DenialResponse};

/// A 401 challenges with the scheme actually configured: `Bearer` for a Bearer extractor,
/// `Api-Key` for the default one, each of several `Authorization` schemes, and never the
/// `Api-Key` keyword for a Bearer-only extractor.
pub async fn challenge_names_the_configured_scheme(harness: &dyn super::HttpHarness) {
    let store = Arc::new(MemoryStore::new());
    let f = fixture(ApiKeys::builder_shared(store.clone()).build()).await;
    assert_denied(
        &harness.send(&f.keys, TestRequest::get("/ping")).await,
        DenialResponse::UNAUTHORIZED,
        "default sources, no key",
    );
    let bearer = ApiKeys::builder_shared(store.clone())
        .sources([KeySource::authorization("Bearer")])
        .build();
    for (case, request) in [
        ("Bearer, no key", TestRequest::get("/ping")),
        (
            "Bearer, bad key",
            TestRequest::get("/ping").header("authorization", "Bearer abcd"),
        ),
        (
            "Bearer, optional route, bad key",
            TestRequest::get("/optional").header("authorization", "Bearer abcd"),
        ),
    ] {
        assert_challenged(
            &harness.send(&bearer, request).await,
            DenialResponse::UNAUTHORIZED,
            Some("Bearer"),
            case,
        );
    }
    let both = ApiKeys::builder_shared(store)
        .sources([
            KeySource::authorization("Bearer"),
            KeySource::authorization("Api-Key"),
        ])
        .build();
    assert_challenged(
        &harness.send(&both, TestRequest::get("/ping")).await,
        DenialResponse::UNAUTHORIZED,
        Some("Bearer, Api-Key"),
        "Bearer and Api-Key",
    );
    // 403 and 200 carry no challenge.
    let request = TestRequest::get("/scoped").header("authorization", format!("Bearer {}", f.key));
    assert_challenged(
        &harness.send(&bearer, request).await,
        DenialResponse::FORBIDDEN,
        None,
        "Bearer, missing scope",
    );
}

/// The request-aware denial hook sees the method, the path without its query string, the
/// presented key's prefix when it parses, and the reason; never the secret.
pub async fn denial_hook_sees_the_request(harness: &dyn super::HttpHarness) {
    let store = Arc::new(MemoryStore::new());
    let f = fixture(ApiKeys::builder_shared(store.clone()).build()).await;
    let log = DenialLog::default();

    assert_denied(
        &hooked(
            harness,
            &log,
            &f.keys,
            TestRequest::get("/scoped?page=2").api_key(&f.key),
        )
        .await,
        DenialResponse::FORBIDDEN,
        "hooked, missing scope",
    );
    assert_denied(
        &hooked(harness, &log, &f.keys, TestRequest::get("/ping")).await,
        DenialResponse::UNAUTHORIZED,
        "hooked, no key",
    );
    assert_denied(
        &hooked(
            harness,
            &log,
            &f.keys,
            TestRequest::get("/ping").api_key("abcd"),
        )
        .await,
        DenialResponse::UNAUTHORIZED,
        "hooked, malformed key",
    );
    // A key in the query string: the path the hook sees must not carry it.
    let query = ApiKeys::builder_shared(store.clone())
        .sources([
            KeySource::authorization("Bearer"),
            KeySource::query("api_key"),
        ])
        .build();
    f.keys.revoke(&f.scoped_prefix).await.expect("revoke");
    assert_challenged(
        &hooked(
            harness,
            &log,
            &query,
            TestRequest::get(&format!("/ping?api_key={}", f.scoped)),
        )
        .await,
        DenialResponse::UNAUTHORIZED,
        Some(r#"Bearer, Api-Key query="api_key""#),
        "hooked, revoked key in the query",
    );
    // A granted request does not reach the hook.
    let granted = hooked(
        harness,
        &log,
        &f.keys,
        TestRequest::get("/ping").api_key(&f.key),
    )
    .await;
    assert_eq!(granted.status, 200, "hooked, granted: {granted:?}");

    let seen = log.take();
    let summary: Vec<_> = seen
        .iter()
        .map(|s| {
            (
                s.method.as_str(),
                s.path.as_str(),
                s.prefix.as_deref(),
                s.denial,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "GET",
                "/scoped",
                Some(f.prefix.as_str()),
                Some(Denial::InsufficientScope)
            ),
            ("GET", "/ping", None, Some(Denial::Missing)),
            ("GET", "/ping", None, Some(Denial::Malformed)),
            (
                "GET",
                "/ping",
                Some(f.scoped_prefix.as_str()),
                Some(Denial::Revoked)
            ),
        ],
        "what the hook saw"
    );
    for s in &seen {
        for secret in [&f.key, &f.scoped] {
            let hidden = &secret[f.prefix.len()..];
            assert!(
                !s.debug.contains(hidden),
                "the hook's view holds a secret: {s:?}"
            );
        }
    }
}

async fn hooked(
    harness: &dyn super::HttpHarness,
    log: &DenialLog,
    keys: &ApiKeys,
    request: TestRequest,
) -> super::TestResponse {
    harness.send_hooked(keys, request, log.clone()).await
}
