//! The example routes on warp: `warp-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use apikeys_examples::{ServerArgs, announce, prepare, warp_app};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse();
    let keys = match prepare(&args).await {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("warp-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("warp-server: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        announce(addr);
    }
    warp::serve(warp_app::routes(keys))
        .incoming(listener)
        .graceful(async {
            // Without a signal handler the server simply runs until killed.
            let _ = tokio::signal::ctrl_c().await;
        })
        .run()
        .await;
    ExitCode::SUCCESS
}
