//! The example routes on actix-web: `actix-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use apikeys_examples::{ServerArgs, actix_app, announce, prepare};
use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse();
    let keys = match prepare(&args).await {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("actix-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = HttpServer::new(move || App::new().configure(actix_app::configure(keys.clone())))
        .workers(2)
        .bind(args.addr);
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            eprintln!("actix-server: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    for addr in server.addrs() {
        announce(addr);
    }
    if let Err(error) = server.run().await {
        eprintln!("actix-server: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
