//! Try apikeys in one command: `cargo run -p apikeys-examples --bin quickstart`.
//!
//! Opens (or creates) `./apikeys-demo.redb`, binds 127.0.0.1:8000 (`--addr` to change),
//! replaces the key named `quickstart` with a new one with scope `heroes:read` (a key's
//! plaintext is never stored, so the previous one cannot be shown again; deleting it keeps
//! runs from piling up keys), prints it with ready `curl` lines, and serves the axum example
//! routes and the admin at `/admin`, with a fresh admin key (named `quickstart admin`, scope
//! `apikeys:admin`, replaced the same way) and the admin's URL.

use std::net::SocketAddr;
use std::process::ExitCode;

use apikeys::{ApiKeys, Error, ListQuery, NewKey};
use apikeys_examples::{
    HEROES_SCOPE, LogFormat, announce, axum_app, init_logging, print_created_key,
};
use apikeys_redb::RedbStore;
use clap::Parser;

/// The demo's store file, in the current directory.
const STORE: &str = "apikeys-demo.redb";

/// The name of the key quickstart makes (and replaces on the next run).
const KEY_NAME: &str = "quickstart";
/// The name of the admin key quickstart makes (and replaces on the next run).
const ADMIN_KEY_NAME: &str = "quickstart admin";

#[derive(Debug, Parser)]
#[command(about = "Creates a demo key and serves the example routes with axum.")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "IP:PORT")]
    addr: SocketAddr,
    /// Log line format on stderr: `text` for people, `json` for log shippers. `RUST_LOG`
    /// filters them (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    // Before the store and the manager exist: they describe their metrics to it.
    apikeys_examples::install_metrics();
    let store = match RedbStore::open(STORE) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("quickstart: {error}");
            return ExitCode::FAILURE;
        }
    };
    let keys = ApiKeys::new(store);
    // Bound before any key is made: a second quickstart on a busy port changes nothing.
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("quickstart: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let replaced = match delete_previous_keys(&keys).await {
        Ok(replaced) => replaced,
        Err(error) => {
            eprintln!("quickstart: cannot remove the previous {KEY_NAME} key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let created = match keys
        .create(NewKey::named(KEY_NAME).scope(HEROES_SCOPE))
        .await
    {
        Ok(created) => created,
        Err(error) => {
            eprintln!("quickstart: cannot create a key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let admin_key = match keys
        .create(NewKey::named(ADMIN_KEY_NAME).scope(apikeys_admin::DEFAULT_SCOPE))
        .await
    {
        Ok(created) => created,
        Err(error) => {
            eprintln!("quickstart: cannot create an admin key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.addr);
    println!("Keys are stored (hashed) in ./{STORE}.");
    if replaced > 0 {
        println!(
            "Deleted the {KEY_NAME} key of the previous run (its plaintext is never stored, so \
             it cannot be shown again) and made a new one."
        );
    }
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
    println!(
        "  admin key (paste it on the login page; scope {}):",
        apikeys_admin::DEFAULT_SCOPE
    );
    println!("  {}", admin_key.key.expose_secret());
    println!("or through the admin's JSON API:");
    println!(
        "  curl -i -H 'Authorization: Api-Key {}' http://{addr}/admin/api/keys",
        admin_key.key.expose_secret()
    );
    println!();
    println!("or with the apikeys command, through the admin (the server keeps the redb file):");
    println!(
        "  APIKEYS_ADMIN_KEY={} cargo run -p apikeys-cli -- --server http://{addr}/admin list",
        admin_key.key.expose_secret()
    );
    println!();
    announce(addr);
    tracing::info!(server = "quickstart", %addr, store = STORE, "server started");
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

/// Deletes every key named [`KEY_NAME`] (normally the one of the previous run); returns how
/// many.
async fn delete_previous_keys(keys: &ApiKeys) -> Result<usize, Error> {
    let mut previous = Vec::new();
    let mut query = ListQuery::new().search(KEY_NAME);
    loop {
        let page = keys.list(&query).await?;
        previous.extend(
            page.keys
                .into_iter()
                .filter(|key| key.name == KEY_NAME || key.name == ADMIN_KEY_NAME)
                .map(|key| key.prefix),
        );
        match page.next {
            Some(next) => query = query.after(next),
            None => break,
        }
    }
    for prefix in &previous {
        keys.delete(prefix).await?;
    }
    Ok(previous.len())
}
