//! The example routes on axum: `axum-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use apikeys_examples::{ServerArgs, announce, axum_app, prepare};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse();
    let keys = match prepare(&args).await {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("axum-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum-server: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        announce(addr);
    }
    let served = axum::serve(listener, axum_app::router(keys))
        .with_graceful_shutdown(async {
            // Without a signal handler the server simply runs until killed.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Err(error) = served {
        eprintln!("axum-server: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
