//! The core's HTTP conformance suite, through the filters, plus the group, custom-response
//! and pass-through cases.

use apikeys::testing::http::{ANONYMOUS, HttpHarness, SCOPE, TestRequest, TestResponse, run_all};
use apikeys::testing::keys_with;
use apikeys::{ApiKeys, DenialResponse, NewKey, VerifiedKey, VerifyError};
use warp::Filter;
use warp::reply::{Reply, Response};

async fn send<F>(filter: &F, request: TestRequest) -> TestResponse
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply + Send,
{
    let mut builder = warp::test::request().path(&request.path);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder.reply(filter).await;
    TestResponse {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: String::from_utf8_lossy(response.body()).into_owned(),
    }
}

#[allow(clippy::needless_pass_by_value)] // warp's map hands the key over by value
fn prefix(key: VerifiedKey) -> String {
    key.prefix().to_owned()
}

struct Filters;

#[apikeys::async_trait]
impl HttpHarness for Filters {
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse {
        let public = warp::path!("public").map(|| "public");
        let ping = warp::path!("ping")
            .and(apikeys_warp::verified(keys.clone()))
            .map(prefix);
        let scoped = warp::path!("scoped")
            .and(apikeys_warp::verified_with_scopes(keys.clone(), [SCOPE]))
            .map(prefix);
        let optional = warp::path!("optional")
            .and(apikeys_warp::optional(keys.clone()))
            .map(|key: Option<VerifiedKey>| key.map_or(ANONYMOUS.to_owned(), prefix));
        let routes = warp::get()
            .and(public.or(ping).or(scoped).or(optional))
            .recover(apikeys_warp::recover);
        send(&routes, request).await
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
