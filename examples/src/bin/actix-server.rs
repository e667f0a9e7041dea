//! The example routes on actix-web: `actix-server --store keys.redb [--addr 127.0.0.1:8000]`.

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use apikeys_examples::{ServerArgs, actix_app, announce, create_startup_key, log_start, prepare};

#[actix_web::main]
async fn main() -> ExitCode {
    let args = ServerArgs::parse_or_exit();
    let keys = match prepare(&args).await {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("actix-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let app_keys = keys.clone();
    let server =
        HttpServer::new(move || App::new().configure(actix_app::configure(app_keys.clone())))
            .workers(2)
            .bind(args.addr);
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            eprintln!("actix-server: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    // The key is made only now that the address is bound.
    if let Err(error) = create_startup_key(&keys, &args).await {
        eprintln!("actix-server: {error}");
        return ExitCode::FAILURE;
    }
    for addr in server.addrs() {
        announce(addr);
        log_start("actix-server", &args, addr);
    }
    if let Err(error) = server.run().await {
        eprintln!("actix-server: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
