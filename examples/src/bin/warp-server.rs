//! The example routes on warp: `warp-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use apikeys_examples::{ServerArgs, prepare_and_bind, warp_app};

#[tokio::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse_or_exit();
    let (keys, listener) = match prepare_and_bind("warp-server", &args).await {
        Ok(started) => started,
        Err(code) => return code,
    };
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
