//! Try apikeys in one command: `cargo run -p apikeys-examples --bin quickstart`.
//!
//! Opens (or creates) `./apikeys-demo.redb`, creates a key named `quickstart` with scope
//! `heroes:read` and an admin key, prints them with ready `curl` lines and the admin's URL,
//! and serves the axum example routes and the admin (`/admin`) on 127.0.0.1:8000 (`--addr`
//! to change).

use std::net::SocketAddr;
use std::process::ExitCode;

use apikeys::{ApiKeys, NewKey};
use apikeys_examples::{HEROES_SCOPE, announce, axum_app, print_created_key};
use apikeys_redb::RedbStore;
use clap::Parser;

/// The demo's store file, in the current directory.
const STORE: &str = "apikeys-demo.redb";

#[derive(Debug, Parser)]
#[command(about = "Creates a demo key and serves the example routes with axum.")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "IP:PORT")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let store = match RedbStore::open(STORE) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("quickstart: {error}");
            return ExitCode::FAILURE;
        }
    };
    let keys = ApiKeys::new(store);
    let created = match keys
        .create(NewKey::named("quickstart").scope(HEROES_SCOPE))
        .await
    {
        Ok(created) => created,
        Err(error) => {
            eprintln!("quickstart: cannot create a key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let admin_key = match keys
        .create(NewKey::named("quickstart admin").scope(apikeys_admin::DEFAULT_SCOPE))
        .await
    {
        Ok(created) => created,
        Err(error) => {
            eprintln!("quickstart: cannot create an admin key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("quickstart: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.addr);
    println!("Keys are stored (hashed) in ./{STORE}.");
    print_created_key(&created);
    let key = created.key.expose_secret();
    println!();
    println!("Try it:");
    println!("  curl -i http://{addr}/public");
    println!("  curl -i http://{addr}/ping                                  # 401: no key");
    println!("  curl -i -H 'Authorization: Api-Key {key}' http://{addr}/ping");
    println!("  curl -i -H 'Authorization: Api-Key {key}' http://{addr}/heroes");
    println!();
    println!("Manage keys in a browser while the server runs:");
    println!("  admin: http://{addr}/admin/");
    println!("  admin key (paste it on the login page; scope {}):", apikeys_admin::DEFAULT_SCOPE);
    println!("  {}", admin_key.key.expose_secret());
    println!("or through the admin's JSON API:");
    println!(
        "  curl -i -H 'Authorization: Api-Key {}' http://{addr}/admin/api/keys",
        admin_key.key.expose_secret()
    );
    println!();
    println!("Or with the apikeys command (stop this server first: a redb file is open in one");
    println!("process at a time):");
    println!("  cargo run -p apikeys-cli -- --store {STORE} list");
    println!();
    announce(addr);
    drop(created);
    drop(admin_key);
    let served = axum::serve(listener, axum_app::router(keys))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Err(error) = served {
        eprintln!("quickstart: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
