//! The layer in front of a real tonic server on loopback, called by a real tonic client.

mod support;

use std::sync::Arc;
use std::time::Duration;

use apikeys::testing::{FailingStore, keys_with};
use apikeys::{ApiKeys, Hashers, KeySource, MemoryStore, NewKey, Sha512Hasher};
use apikeys_tonic::{
    ApiKeyLayer, PERMISSION_DENIED_MESSAGE, UNAUTHENTICATED_MESSAGE, UNAVAILABLE_MESSAGE,
};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;

use support::{
    GatedArgon2, PREFIX_HEADER, check, client, request, serve_health, serve_health_behind_two,
    serve_key_echo, watch_first, with_metadata,
};

const WATCH: &str = "/grpc.health.v1.Health/Watch";

/// A refusal the client decoded as a gRPC status (a transport error would be `Unknown`,
/// `Unavailable` or `Internal` with another message), with the generic message only.
fn assert_refused(result: Result<ServingStatus, Status>, code: Code, message: &str, case: &str) {
    let status = result.expect_err(case);
    assert_eq!(status.code(), code, "{case}: {status:?}");
    assert_eq!(status.message(), message, "{case}: {status:?}");
}

/// A granted call that reached the health service.
fn assert_serving(result: Result<ServingStatus, Status>, case: &str) {
    match result {
        Ok(status) => assert_eq!(status, ServingStatus::Serving, "{case}"),
        Err(status) => panic!("{case}: refused with {status:?}"),
    }
}

#[tokio::test]
async fn a_valid_key_reaches_the_service() {
    let (keys, key) = keys_with(&[]).await;
    let mut client = client(serve_health(ApiKeyLayer::new(keys)).await).await;

    assert_serving(check(&mut client, Some(&key)).await, "valid key");
}

#[tokio::test]
async fn refusals_are_unauthenticated_statuses() {
    let (keys, key) = keys_with(&[]).await;
    let mut client = client(serve_health(ApiKeyLayer::new(keys.clone())).await).await;

    let mut wrong_secret = key.clone();
    let last = wrong_secret.pop().expect("a key");
    wrong_secret.push(if last == 'a' { 'b' } else { 'a' });
    let unknown_prefix = format!("Zz{}", &key[2..]);
    for (case, presented) in [
        ("no key", None),
        ("wrong secret", Some(wrong_secret.as_str())),
        ("unknown prefix", Some(unknown_prefix.as_str())),
        ("malformed", Some("not-a-key")),
    ] {
        let result = check(&mut client, presented).await;
        assert_refused(result, Code::Unauthenticated, UNAUTHENTICATED_MESSAGE, case);
    }

    // Another keyword, or the key in a header the server does not read, is no key.
    let bearer = with_metadata(request(None), "authorization", &format!("Bearer {key}"));
    let status = client.check(bearer).await.expect_err("Bearer");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    let prefix = key.split('.').next().expect("prefix");
    keys.revoke(prefix).await.expect("revoke");
    let result = check(&mut client, Some(&key)).await;
    assert_refused(
        result,
        Code::Unauthenticated,
        UNAUTHENTICATED_MESSAGE,
        "revoked",
    );
}

#[tokio::test]
async fn keys_come_from_the_configured_metadata_entry() {
    let keys = ApiKeys::builder(MemoryStore::new())
        .sources([KeySource::header("x-api-key")])
        .build();
    let created = keys.create(NewKey::named("robot")).await.expect("create");
    let key = created.key.expose_secret();
    let mut client = client(serve_health(ApiKeyLayer::new(keys)).await).await;

    let in_header = with_metadata(request(None), "x-api-key", key);
    let response = client.check(in_header).await.expect("x-api-key");
    assert_eq!(response.into_inner().status(), ServingStatus::Serving);
    // The default source is not tried when others are configured.
    let result = check(&mut client, Some(key)).await;
    assert_refused(
        result,
        Code::Unauthenticated,
        UNAUTHENTICATED_MESSAGE,
        "authorization",
    );
}

#[tokio::test]
async fn a_missing_scope_is_permission_denied() {
    let (keys, reader) = keys_with(&["health"]).await;
    let watcher = keys
        .create(NewKey::named("watcher").scopes(["health", "health:watch"]))
        .await
        .expect("create");
    let watcher = watcher.key.expose_secret();
    let stranger = keys
        .create(NewKey::named("stranger"))
        .await
        .expect("create");
    let stranger = stranger.key.expose_secret();
    let layer = ApiKeyLayer::new(keys)
        .service_scopes("grpc.health.v1.Health", ["health"])
        .method_scopes(WATCH, ["health:watch"]);
    let mut client = client(serve_health(layer).await).await;

    let result = check(&mut client, Some(stranger)).await;
    assert_refused(
        result,
        Code::PermissionDenied,
        PERMISSION_DENIED_MESSAGE,
        "no scope",
    );
    assert_serving(check(&mut client, Some(&reader)).await, "reader");
    assert_serving(check(&mut client, Some(watcher)).await, "watcher");

    // Watch needs its own scope on top of the service's.
    let result = watch_first(&mut client, Some(&reader)).await;
    assert_refused(
        result,
        Code::PermissionDenied,
        PERMISSION_DENIED_MESSAGE,
        "watch",
    );
    assert_serving(
        watch_first(&mut client, Some(watcher)).await,
        "watcher watches",
    );
}

#[tokio::test]
async fn streaming_calls_are_protected() {
    let (keys, key) = keys_with(&[]).await;
    let mut client = client(serve_health(ApiKeyLayer::new(keys)).await).await;

    let result = watch_first(&mut client, None).await;
    assert_refused(
        result,
        Code::Unauthenticated,
        UNAUTHENTICATED_MESSAGE,
        "no key",
    );
    let result = watch_first(&mut client, Some("not-a-key")).await;
    assert_refused(
        result,
        Code::Unauthenticated,
        UNAUTHENTICATED_MESSAGE,
        "malformed",
    );
    assert_serving(watch_first(&mut client, Some(&key)).await, "valid key");
}

#[tokio::test]
async fn a_failing_store_is_unavailable() {
    let layer = ApiKeyLayer::new(ApiKeys::new(FailingStore));
    let mut client = client(serve_health(layer).await).await;

    let key = "AbCdEfGh.0123456789abcdefghijABCDEFGHIJ01";
    let result = check(&mut client, Some(key)).await;
    assert_refused(result, Code::Unavailable, UNAVAILABLE_MESSAGE, "store down");
}

#[tokio::test]
async fn the_handler_sees_the_verified_key() {
    let (keys, key) = keys_with(&["health"]).await;
    let layer = ApiKeyLayer::new(keys).scopes(["health"]);
    let mut client = client(serve_key_echo(&layer).await).await;

    let response = client.check(request(Some(&key))).await.expect("granted");
    let prefix = response.metadata().get(PREFIX_HEADER).expect("prefix");
    assert_eq!(prefix.to_str().ok(), key.split('.').next());
    // The layer wraps that one service; its refusals are the same.
    let result = check(&mut client, None).await;
    assert_refused(
        result,
        Code::Unauthenticated,
        UNAUTHENTICATED_MESSAGE,
        "no key",
    );
}

/// One async thread serves both calls. While an Argon2 verification waits (as long as the
/// test holds its gate), a call with a SHA-512 key is answered; only then does the test let
/// the Argon2 verification finish. Had the hash run on the async thread, the second call
/// could not have been answered, and the gate would have timed out.
#[tokio::test(flavor = "current_thread")]
async fn an_argon2_verification_does_not_block_other_calls() {
    let (gated, mut waiting) = GatedArgon2::new();
    let store = Arc::new(MemoryStore::new());
    let argon2 = ApiKeys::builder_shared(store.clone())
        .hashers(Hashers::new(gated.clone()))
        .build();
    let slow = argon2.create(NewKey::named("slow")).await.expect("create");
    let slow = slow.key.expose_secret().to_owned();
    let keys = ApiKeys::builder_shared(store)
        .hashers(Hashers::new(Sha512Hasher).with_legacy(gated.clone()))
        .build();
    let fast = keys.create(NewKey::named("fast")).await.expect("create");
    let fast = fast.key.expose_secret();
    let addr = serve_health(ApiKeyLayer::new(keys)).await;

    let mut slow_client = client(addr).await;
    let slow_call = tokio::spawn(async move { check(&mut slow_client, Some(&slow)).await });
    tokio::time::timeout(Duration::from_secs(60), waiting.recv())
        .await
        .expect("the Argon2 verification started");

    let mut fast_client = client(addr).await;
    let fast_result =
        tokio::time::timeout(Duration::from_secs(10), check(&mut fast_client, Some(fast)))
            .await
            .expect("a call was answered while Argon2 verified");
    assert_serving(fast_result, "sha512 key");
    assert!(
        !slow_call.is_finished(),
        "the Argon2 call waits for the gate"
    );

    gated.open();
    let slow_result = slow_call.await.expect("slow call");
    assert_serving(
        slow_result,
        "the Argon2 verification timed out: it blocked the async thread",
    );
}

/// What a refusal looks like on the wire: HTTP 200, `application/grpc`, the status in the
/// headers (trailers-only), the message generic; the service is never called.
#[tokio::test]
async fn a_refusal_is_http_200_with_the_status_in_the_headers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    let (keys, _) = keys_with(&[]).await;
    let called = Arc::new(AtomicBool::new(false));
    let service = tower::service_fn({
        let called = Arc::clone(&called);
        move |_: http::Request<tonic::body::Body>| {
            called.store(true, Ordering::SeqCst);
            async {
                Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        }
    });
    let request = http::Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header(
            "authorization",
            "Api-Key AbCdEfGh.0123456789abcdefghijABCDEFGHIJ01",
        )
        .body(tonic::body::Body::empty())
        .expect("request");

    let response = ApiKeyLayer::new(keys)
        .protect(service)
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("content-type"), Some("application/grpc"));
    assert_eq!(header("grpc-status"), Some("16"));
    let message = header("grpc-message").expect("grpc-message");
    assert!(message.starts_with("A%20valid%20API%20key"), "{message}");
    assert!(
        !called.load(Ordering::SeqCst),
        "the service ran for a refused call"
    );
}

/// An inner layer reuses the key an outer one verified (checking only its own scopes), as
/// the HTTP adapters do: here the inner layer's manager has an empty store, so a second
/// verification would refuse the key as unknown.
#[tokio::test]
async fn a_key_verified_by_an_outer_layer_is_reused() {
    let (keys, key) = keys_with(&["health:read"]).await;
    let elsewhere = ApiKeys::new(MemoryStore::new());
    let addr = serve_health_behind_two(
        ApiKeyLayer::new(keys),
        ApiKeyLayer::new(elsewhere).scopes(["health:read"]),
    )
    .await;
    let mut client = client(addr).await;
    assert_serving(check(&mut client, Some(&key)).await, "reused key");
}
