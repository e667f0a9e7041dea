//! Middleware scopes, custom denial responses, and the extractor reusing the middleware's
//! verification. actix-web's test runtime runs these on one thread, as actix serves.

mod common;

use actix_web::{App, HttpResponse, test, web};
use apikeys::testing::FailingStore;
use apikeys::testing::http::TestRequest;
use apikeys::testing::keys_with;
use apikeys::{ApiKeys, DenialResponse, NewKey, VerifiedKey, VerifyError};
use apikeys_actix::{ApiKeyConfig, ApiKeyMiddleware, Verified, denial_response};

apikeys_actix::scopes!(Admin = ["admin"]);

fn teapot(error: &VerifyError) -> HttpResponse {
    let standard = denial_response(error);
    HttpResponse::ImATeapot().body(format!("custom {}", standard.status().as_u16()))
}

async fn name(key: web::ReqData<VerifiedKey>) -> String {
    key.name().to_owned()
}

#[actix_web::test]
async fn middleware_protects_a_scope_and_requires_scopes() {
    let (keys, reader) = keys_with(&["read"]).await;
    let both = keys
        .create(NewKey::named("both").scopes(["read", "write"]))
        .await
        .expect("create");
    let app = test::init_service(
        App::new()
            .route("/open", web::get().to(|| async { "open" }))
            .service(
                web::scope("/api")
                    .wrap(ApiKeyMiddleware::new(keys).scopes(["read", "write"]))
                    .route("/a", web::get().to(name))
                    .route("/b", web::get().to(name)),
            ),
    )
    .await;

    let open = common::call(&app, TestRequest::get("/open")).await;
    assert_eq!((open.status, open.body.as_str()), (200, "open"));
    for path in ["/api/a", "/api/b"] {
        let missing = common::call(&app, TestRequest::get(path)).await;
        assert_eq!(missing.status, 401, "{path}");
        assert_eq!(missing.header("www-authenticate"), Some("Api-Key"));
        assert_eq!(missing.body, DenialResponse::UNAUTHORIZED.body);
        let unscoped = common::call(&app, TestRequest::get(path).api_key(&reader)).await;
        assert_eq!(unscoped.status, 403, "{path}");
        assert_eq!(unscoped.body, DenialResponse::FORBIDDEN.body);
        let granted = common::call(
            &app,
            TestRequest::get(path).api_key(both.key.expose_secret()),
        )
        .await;
        assert_eq!((granted.status, granted.body.as_str()), (200, "both"));
    }
}

#[actix_web::test]
async fn extractor_custom_denial_response() {
    let (keys, key) = keys_with(&[]).await;
    let app = test::init_service(
        App::new()
            .app_data(ApiKeyConfig::new(keys).on_denial(teapot))
            .route(
                "/",
                web::get().to(|k: Verified| async move { k.name().to_owned() }),
            )
            .route(
                "/admin",
                web::get().to(|_: Verified<Admin>| async { "admin" }),
            ),
    )
    .await;

    let missing = common::call(&app, TestRequest::get("/")).await;
    assert_eq!((missing.status, missing.body.as_str()), (418, "custom 401"));
    assert_eq!(missing.header("www-authenticate"), None);
    let unscoped = common::call(&app, TestRequest::get("/admin").api_key(&key)).await;
    assert_eq!(
        (unscoped.status, unscoped.body.as_str()),
        (418, "custom 403")
    );
    let granted = common::call(&app, TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));
}

#[actix_web::test]
async fn middleware_custom_denial_response_also_serves_extractors_behind_it() {
    let (keys, key) = keys_with(&[]).await;
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(ApiKeyMiddleware::new(
                    ApiKeyConfig::new(keys).on_denial(teapot),
                ))
                .route("/", web::get().to(name))
                .route(
                    "/admin",
                    web::get().to(|_: Verified<Admin>| async { "admin" }),
                ),
        ),
    )
    .await;

    let missing = common::call(&app, TestRequest::get("/")).await;
    assert_eq!((missing.status, missing.body.as_str()), (418, "custom 401"));
    let unscoped = common::call(&app, TestRequest::get("/admin").api_key(&key)).await;
    assert_eq!(
        (unscoped.status, unscoped.body.as_str()),
        (418, "custom 403")
    );
    let granted = common::call(&app, TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));
}

#[actix_web::test]
async fn extractor_reuses_the_middlewares_verification() {
    let (keys, key) = keys_with(&["admin"]).await;
    // The app data's manager cannot verify anything: a 200 proves the extractor took the
    // key the middleware verified instead of verifying again.
    let failing = ApiKeyConfig::new(ApiKeys::new(FailingStore));
    let guarded = test::init_service(App::new().app_data(failing.clone()).service(
        web::scope("").wrap(ApiKeyMiddleware::new(keys)).route(
            "/",
            web::get().to(|k: Verified<Admin>| async move { k.name().to_owned() }),
        ),
    ))
    .await;
    let granted = common::call(&guarded, TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));

    let alone = test::init_service(
        App::new()
            .app_data(failing)
            .route("/", web::get().to(|_: Verified| async { "unreachable" })),
    )
    .await;
    let unavailable = common::call(&alone, TestRequest::get("/").api_key(&key)).await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.body, DenialResponse::UNAVAILABLE.body);
}

#[actix_web::test]
async fn extractor_without_configuration_is_a_server_error_not_a_grant() {
    let (_, key) = keys_with(&[]).await;
    let app = test::init_service(
        App::new().route("/", web::get().to(|_: Verified| async { "unreachable" })),
    )
    .await;
    let response = common::call(&app, TestRequest::get("/").api_key(&key)).await;
    assert_eq!(response.status, 500);
}

/// actix-web's guide puts shared state in `web::Data`; the extractors find the
/// configuration there too, and a bare `ApiKeys` as well, instead of answering 500.
#[actix_web::test]
async fn configuration_in_web_data_works() {
    async fn ping<D: 'static>(data: D, key: &str) -> (u16, u16) {
        let app = test::init_service(App::new().app_data(data).route(
            "/",
            web::get().to(|k: Verified| async move { k.name().to_owned() }),
        ))
        .await;
        let granted = common::call(&app, TestRequest::get("/").api_key(key)).await;
        let refused = common::call(&app, TestRequest::get("/")).await;
        (granted.status, refused.status)
    }
    let (keys, key) = keys_with(&[]).await;
    let teapot_config = ApiKeyConfig::new(keys.clone()).on_denial(teapot);
    assert_eq!(ping(web::Data::new(teapot_config), &key).await, (200, 418));
    assert_eq!(ping(web::Data::new(keys.clone()), &key).await, (200, 401));
    assert_eq!(ping(keys.clone(), &key).await, (200, 401));
    assert_eq!(ping(ApiKeyConfig::new(keys), &key).await, (200, 401));
}
