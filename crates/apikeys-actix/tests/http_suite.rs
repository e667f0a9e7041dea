//! The core's HTTP conformance suite, through the extractors and through the middleware.
//!
//! actix-web services are `!Send`, while the core's harness trait returns `Send` futures,
//! so the apps live on a thread of their own running an actix system; requests travel
//! there over a channel and each is served by its own local task, so that a slow request
//! does not hold up the others.

mod common;

use std::future::Future;
use std::pin::Pin;

use actix_web::{App, test, web};
use apikeys::testing::http::{
    ANONYMOUS, DenialLog, HttpHarness, SCOPE, TestRequest, TestResponse, run_all,
};
use apikeys::{ApiKeys, VerifiedKey};
use apikeys_actix::{ApiKeyConfig, ApiKeyMiddleware, MaybeVerified, Verified, denied_response};
use tokio::sync::{mpsc, oneshot};

apikeys_actix::scopes!(HeroesRead = [SCOPE]);

async fn ping(key: Verified) -> String {
    key.prefix().to_owned()
}

async fn scoped(key: Verified<HeroesRead>) -> String {
    key.prefix().to_owned()
}

async fn optional(key: MaybeVerified) -> String {
    key.key()
        .map_or(ANONYMOUS.to_owned(), |k| k.prefix().to_owned())
}

async fn from_extensions(key: web::ReqData<VerifiedKey>) -> String {
    key.prefix().to_owned()
}

/// Builds an app and answers one request with it.
type Serve<C> = fn(C, TestRequest) -> Pin<Box<dyn Future<Output = TestResponse> + 'static>>;

type Job<C> = (C, TestRequest, oneshot::Sender<TestResponse>);

/// A thread serving requests with a [`Serve`] function; it ends when this is dropped.
struct ActixThread<C> {
    jobs: mpsc::UnboundedSender<Job<C>>,
}

impl<C: Send + 'static> ActixThread<C> {
    fn start(serve: Serve<C>) -> Self {
        let (jobs, mut incoming) = mpsc::unbounded_channel::<Job<C>>();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                while let Some((context, request, reply)) = incoming.recv().await {
                    actix_web::rt::spawn(async move {
                        // The test may have stopped waiting; nothing to do then.
                        let _ = reply.send(serve(context, request).await);
                    });
                }
            });
        });
        Self { jobs }
    }

    async fn send(&self, context: C, request: TestRequest) -> TestResponse {
        let (reply, response) = oneshot::channel();
        self.jobs
            .send((context, request, reply))
            .expect("actix thread running");
        response.await.expect("actix thread answered")
    }
}

/// What an app is built with: the manager, and the log of the denial hook when the
/// suite asks for one.
type Context = (ApiKeys, Option<DenialLog>);

/// Apps built per request on the actix thread by one of the `serve_*` functions.
struct OnActixThread(ActixThread<Context>);

#[apikeys::async_trait]
impl HttpHarness for OnActixThread {
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse {
        self.0.send((keys.clone(), None), request).await
    }

    async fn send_hooked(
        &self,
        keys: &ApiKeys,
        request: TestRequest,
        log: DenialLog,
    ) -> TestResponse {
        self.0.send((keys.clone(), Some(log)), request).await
    }
}

/// The configuration, with the hook of `send_hooked` when there is a log: it notes the
/// refusal and answers with the standard response.
fn config((keys, log): Context) -> ApiKeyConfig {
    let config = ApiKeyConfig::new(keys);
    match log {
        Some(log) => config.on_denied(move |denied| {
            log.record(denied);
            denied_response(denied)
        }),
        None => config,
    }
}

/// Every route protected by extractors.
fn serve_extractors(
    context: Context,
    request: TestRequest,
) -> Pin<Box<dyn Future<Output = TestResponse>>> {
    Box::pin(async move {
        let app = test::init_service(
            App::new()
                .app_data(config(context))
                .route("/public", web::get().to(|| async { "public" }))
                .route("/ping", web::get().to(ping))
                .route("/scoped", web::get().to(scoped))
                .route("/optional", web::get().to(optional)),
        )
        .await;
        common::call(&app, request).await
    })
}

/// `/ping` and `/scoped` protected by middleware; the handlers read the key from extensions.
fn serve_middleware(
    context: Context,
    request: TestRequest,
) -> Pin<Box<dyn Future<Output = TestResponse>>> {
    Box::pin(async move {
        let config = config(context);
        let app = test::init_service(
            App::new()
                .app_data(config.clone())
                .route("/public", web::get().to(|| async { "public" }))
                .service(
                    web::resource("/ping")
                        .wrap(ApiKeyMiddleware::new(config.clone()))
                        .route(web::get().to(from_extensions)),
                )
                .service(
                    web::resource("/scoped")
                        .wrap(ApiKeyMiddleware::new(config).scopes([SCOPE]))
                        .route(web::get().to(from_extensions)),
                )
                .route("/optional", web::get().to(optional)),
        )
        .await;
        common::call(&app, request).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractors_pass_the_suite() {
    run_all(&OnActixThread(ActixThread::start(serve_extractors))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_passes_the_suite() {
    run_all(&OnActixThread(ActixThread::start(serve_middleware))).await;
}
