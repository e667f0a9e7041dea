//! The core's HTTP conformance suite, through the filters, plus the group, custom-response
//! and pass-through cases.

use apikeys::testing::http::{
    ANONYMOUS, DenialLog, HttpHarness, SCOPE, TestRequest, TestResponse, run_all,
};
use apikeys::testing::keys_with;
use apikeys::{ApiKeys, DenialResponse, NewKey, VerifiedKey, VerifyError};
use http_body_util::BodyExt;
use tower_service::Service;
use warp::Filter;
use warp::reply::{Reply, Response};

/// Sends `request` through `filter` as a server would (warp's tower service), so that a
/// header may occur several times (warp's test builder replaces repeated headers).
async fn send<F>(filter: &F, request: TestRequest) -> TestResponse
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply + Send,
{
    send_with(filter, request, None).await
}

async fn send_with<F>(
    filter: &F,
    request: TestRequest,
    earlier: Option<VerifiedKey>,
) -> TestResponse
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply + Send,
{
    let mut builder = warp::http::Request::get(request.path.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut http_request = builder.body(String::new()).expect("request");
    if let Some(key) = earlier {
        http_request.extensions_mut().insert(key);
    }
    let mut service = warp::service(filter.clone());
    let response = service.call(http_request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

#[allow(clippy::needless_pass_by_value)] // warp's map hands the key over by value
fn prefix(key: VerifiedKey) -> String {
    key.prefix().to_owned()
}

apikeys_warp::scopes!(Suite = [SCOPE]);
apikeys_warp::scopes!(Admin = ["admin"]);

struct Filters;

#[apikeys::async_trait]
impl HttpHarness for Filters {
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse {
        send(&routes(keys).recover(apikeys_warp::recover), request).await
    }

    async fn send_hooked(
        &self,
        keys: &ApiKeys,
        request: TestRequest,
        log: DenialLog,
    ) -> TestResponse {
        let hooked = routes(keys).recover(apikeys_warp::recover_denied(move |denied| {
            log.record(denied);
            apikeys_warp::denied_response(denied)
        }));
        send(&hooked, request).await
    }
}

/// The suite's routes, without a recover.
fn routes(
    keys: &ApiKeys,
) -> impl Filter<Extract = (impl Reply,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    {
        let public = warp::path!("public").map(|| "public");
        let ping = warp::path!("ping")
            .and(apikeys_warp::verified(keys.clone()))
            .map(prefix);
        let scoped = warp::path!("scoped")
            .and(apikeys_warp::verified_for::<Suite>(keys.clone()))
            .map(prefix);
        let optional = warp::path!("optional")
            .and(apikeys_warp::optional(keys.clone()))
            .map(|key: Option<VerifiedKey>| key.map_or(ANONYMOUS.to_owned(), prefix));
        warp::get().and(public.or(ping).or(scoped).or(optional))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_pass_the_suite() {
    run_all(&Filters).await;
}

#[tokio::test]
async fn one_filter_protects_a_group_of_routes_with_scopes() {
    let (keys, reader) = keys_with(&["read"]).await;
    let both = keys
        .create(NewKey::named("both").scopes(["read", "write"]))
        .await
        .expect("create");
    let a = warp::path!("a").map(|| "a");
    let b = warp::path!("b").map(|| "b");
    let api = warp::path("api")
        .and(apikeys_warp::verified_with_scopes(keys, ["read", "write"]))
        .and(a.or(b).unify())
        .map(|key: VerifiedKey, route: &str| format!("{} {route}", key.name()));
    let routes = api.recover(apikeys_warp::recover);
    for path in ["/api/a", "/api/b"] {
        let missing = send(&routes, TestRequest::get(path)).await;
        assert_eq!(missing.status, 401, "{path}");
        assert_eq!(missing.header("www-authenticate"), Some("Api-Key"));
        assert_eq!(missing.body, DenialResponse::UNAUTHORIZED.body);
        let unscoped = send(&routes, TestRequest::get(path).api_key(&reader)).await;
        assert_eq!(unscoped.status, 403, "{path}");
        assert_eq!(unscoped.body, DenialResponse::FORBIDDEN.body);
        let granted = send(
            &routes,
            TestRequest::get(path).api_key(both.key.expose_secret()),
        )
        .await;
        assert_eq!(granted.status, 200, "{path}");
        assert_eq!(granted.body, format!("both {}", &path[5..]));
    }
}

fn teapot(error: &VerifyError) -> Response {
    let standard = apikeys_warp::denial_response(error);
    warp::reply::with_status(
        format!("custom {}", standard.status().as_u16()),
        warp::http::StatusCode::IM_A_TEAPOT,
    )
    .into_response()
}

#[tokio::test]
async fn custom_denial_response() {
    let (keys, key) = keys_with(&[]).await;
    let ping = warp::path!("ping")
        .and(apikeys_warp::verified(keys.clone()))
        .map(|key: VerifiedKey| key.name().to_owned());
    let admin = warp::path!("admin")
        .and(apikeys_warp::verified_with_scopes(keys, ["admin"]))
        .map(|_| "admin");
    let routes = ping.or(admin).recover(apikeys_warp::recover_with(teapot));

    let missing = send(&routes, TestRequest::get("/ping")).await;
    assert_eq!((missing.status, missing.body.as_str()), (418, "custom 401"));
    assert_eq!(missing.header("www-authenticate"), None);
    let unscoped = send(&routes, TestRequest::get("/admin").api_key(&key)).await;
    assert_eq!(
        (unscoped.status, unscoped.body.as_str()),
        (418, "custom 403")
    );
    let granted = send(&routes, TestRequest::get("/ping").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));
}

#[tokio::test]
async fn recover_passes_other_rejections_on() {
    let (keys, _) = keys_with(&[]).await;
    let ping = warp::path!("ping")
        .and(apikeys_warp::verified(keys))
        .map(|_| "pong");
    for routes in [
        ping.clone().recover(apikeys_warp::recover).boxed(),
        ping.recover(apikeys_warp::recover_with(teapot)).boxed(),
    ] {
        let unknown = send(&routes, TestRequest::get("/elsewhere")).await;
        assert_eq!(unknown.status, 404);
    }
}

/// A key verified in front of the filters (e.g. by a tower `ApiKeyLayer`, which puts it in
/// the request's extensions) is reused: this manager's store fails every lookup.
#[tokio::test]
async fn filters_reuse_a_key_verified_in_front() {
    let (keys, key) = keys_with(&["admin"]).await;
    let earlier = keys.verify(&key).await.expect("verified");
    let failing = ApiKeys::new(apikeys::testing::FailingStore);
    let admin = warp::path!("admin")
        .and(apikeys_warp::verified_for::<Admin>(failing.clone()))
        .map(prefix);
    let optional = warp::path!("optional")
        .and(apikeys_warp::optional_for::<Admin>(failing))
        .map(|key: Option<VerifiedKey>| key.map_or(ANONYMOUS.to_owned(), prefix));
    let routes = admin.or(optional).recover(apikeys_warp::recover);
    for path in ["/admin", "/optional"] {
        let granted = send_with(&routes, TestRequest::get(path), Some(earlier.clone())).await;
        assert_eq!(
            (granted.status, granted.body.as_str()),
            (200, earlier.prefix()),
            "{path}"
        );
        // Without it, the failing store answers.
        let unavailable = send(&routes, TestRequest::get(path).api_key(&key)).await;
        assert_eq!(unavailable.status, 503, "{path}");
    }
    // The reused key is still checked for the route's scopes.
    let (other, reader) = keys_with(&["read"]).await;
    let reader = other.verify(&reader).await.expect("verified");
    let refused = send_with(&routes, TestRequest::get("/admin"), Some(reader)).await;
    assert_eq!(refused.status, 403);
}
