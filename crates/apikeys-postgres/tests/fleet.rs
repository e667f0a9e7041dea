//! Several servers, one database: separate pools create, verify and revoke at once, and
//! each sees the others' writes: new keys on its next query, revocations within the record
//! cache's staleness bound.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apikeys::{ApiKeys, Denial, NewKey, VerifyError};
use apikeys_postgres::testing::TestSchema;
use apikeys_postgres::{CacheOptions, PostgresStore};

const SERVERS: usize = 4;
const KEYS_PER_SERVER: usize = 12;

/// Whether `server` refuses `secret` as revoked (`revoked`) or accepts it, within the bound.
async fn settles(server: &ApiKeys, secret: &str, revoked: bool) -> bool {
    let start = Instant::now();
    loop {
        let outcome = server.verify(secret).await;
        let is_revoked = matches!(outcome, Err(VerifyError::Denied(Denial::Revoked)));
        if is_revoked == revoked && (revoked || outcome.is_ok()) {
            return true;
        }
        if start.elapsed() > CacheOptions::DEFAULT_MAX_STALENESS {
            eprintln!("{outcome:?} after {:?}", start.elapsed());
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_share_keys_and_revocations() {
    let schema = TestSchema::new().await;
    // The servers start together on an empty database: migrations must not collide.
    let mut starting = Vec::new();
    for _ in 0..SERVERS {
        let pool = schema.pool().await;
        starting.push(tokio::spawn(PostgresStore::new(pool)));
    }
    let mut servers = Vec::new();
    for start in starting {
        let store = start.await.expect("task").expect("store");
        servers.push(ApiKeys::new(store));
    }

    // (secret, revoked?) of every key made so far, by any server.
    let issued: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let tasks: Vec<_> = (0..SERVERS)
        .map(|i| {
            let me = servers[i].clone();
            let neighbour = servers[(i + 1) % SERVERS].clone();
            let issued = Arc::clone(&issued);
            tokio::spawn(async move {
                for n in 0..KEYS_PER_SERVER {
                    let created = me
                        .create(NewKey::named(format!("server {i} key {n}")).scope("s"))
                        .await
                        .expect("create");
                    let secret = created.key.expose_secret().to_owned();
                    // Another server knows the key at once.
                    neighbour.verify(&secret).await.expect("neighbour verifies");
                    let revoke = n % 3 == 0;
                    if revoke {
                        me.revoke(created.key.prefix()).await.expect("revoke");
                        // …and its revocation, too, within the bound.
                        assert!(settles(&neighbour, &secret, true).await);
                    }
                    issued.lock().unwrap().push((secret, revoke));
                    // Check a key someone else made, whatever its state now.
                    let other = issued.lock().unwrap().first().cloned();
                    if let Some((secret, revoked)) = other {
                        assert!(settles(&me, &secret, revoked).await);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("server task");
    }

    let issued = issued.lock().unwrap().clone();
    assert_eq!(issued.len(), SERVERS * KEYS_PER_SERVER);
    for server in &servers {
        for (secret, revoked) in &issued {
            assert!(settles(server, secret, *revoked).await);
            if !*revoked {
                let verified = server.verify(secret).await.expect("active key");
                assert_eq!(verified.scopes().len(), 1);
            }
        }
    }
}
