//! The example routes on axum: `axum-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use apikeys_examples::{ServerArgs, axum_app, prepare_and_bind};

#[tokio::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse_or_exit();
    let (keys, listener) = match prepare_and_bind("axum-server", &args).await {
        Ok(started) => started,
        Err(code) => return code,
    };
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
