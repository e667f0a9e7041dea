//! The admin conformance suite against each framework's one-line mount.

use std::net::SocketAddr;

use apikeys_admin::Admin;
use apikeys_admin::testing::run_all;

async fn serve_axum(admin: Admin) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The mount: one line.
    let app = axum::Router::new().nest_service("/admin", admin);
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

async fn serve_actix(admin: Admin) -> SocketAddr {
    let (tx, rx) = tokio::sync::oneshot::channel();
    // actix-web runs its own single-threaded runtime.
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                // The mount: one line.
                actix_web::App::new().service(apikeys_admin::actix::scope(admin.clone()))
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .expect("bind");
            let _ = tx.send(server.addrs()[0]);
            server.run().await.expect("serve");
        });
    });
    rx.await.expect("the actix server's address")
}

async fn serve_warp(admin: Admin) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The mount: one line (combined with the application's routes by `or`).
    let routes = apikeys_admin::warp::filter(admin);
    tokio::spawn(warp::serve(routes).incoming(listener).run());
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_mount_passes_the_suite() {
    run_all(serve_axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_mount_passes_the_suite() {
    run_all(serve_actix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warp_mount_passes_the_suite() {
    run_all(serve_warp).await;
}
