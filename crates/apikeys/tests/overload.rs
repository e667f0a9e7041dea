//! Expensive hash checks are capped: 256 concurrent wrong secrets against one Argon2id
//! record once held 5 GB and 184 threads. Alone in its binary, so that the thread count
//! is this test's.
#![cfg(feature = "argon2")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apikeys::{
    ApiKeys, Argon2Hasher, Denial, HashError, Hashers, KeyHasher, MemoryStore, NewKey, VerifyError,
};

/// Argon2id at its defaults (19 MiB per check), counting the checks that run at once.
struct Counting {
    inner: Argon2Hasher,
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl KeyHasher for Counting {
    fn algorithm(&self) -> &'static str {
        "argon2"
    }
    fn recognizes(&self, stored: &str) -> bool {
        self.inner.recognizes(stored)
    }
    fn hash(&self, key: &[u8]) -> Result<String, HashError> {
        self.inner.hash(key)
    }
    fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let result = self.inner.verify(key, stored);
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
    fn is_expensive(&self) -> bool {
        true
    }
}

#[cfg(target_os = "linux")]
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads line")
}

#[cfg(not(target_os = "linux"))]
fn threads() -> usize {
    0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_secrets_are_capped_and_the_excess_is_overloaded() {
    const CAP: usize = 2;
    const REQUESTS: usize = 256;
    let most = Arc::new(AtomicUsize::new(0));
    let hasher = Counting {
        inner: Argon2Hasher::default(),
        running: Arc::new(AtomicUsize::new(0)),
        most: Arc::clone(&most),
    };
    let keys = ApiKeys::builder(MemoryStore::new())
        .hashers(Hashers::new(hasher))
        .max_concurrent_hash_checks(CAP)
        .hash_check_wait(Duration::from_millis(250))
        .build();
    let created = keys.create(NewKey::named("target")).await.unwrap();
    let real = created.key.expose_secret();
    // The known prefix with a wrong secret: every request costs a full Argon2id check.
    let wrong = format!("{}{}", &real[..9], "x".repeat(real.len() - 9));
    assert_ne!(wrong, real);
    let before = threads();

    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        let keys = keys.clone();
        let wrong = wrong.clone();
        tasks.push(tokio::spawn(async move {
            let verify = keys.verify(&wrong);
            if i % 4 == 0 {
                // A client that hangs up: its check must keep its slot until it ends.
                tokio::time::timeout(Duration::from_millis(1), verify)
                    .await
                    .ok()
            } else {
                Some(verify.await)
            }
        }));
    }
    let (mut invalid, mut overloaded) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Some(Err(VerifyError::Denied(Denial::InvalidSecret))) => invalid += 1,
            Some(Err(VerifyError::Overloaded)) => overloaded += 1,
            None => {}
            Some(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    // Let checks whose requests hung up finish.
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert!(
        most.load(Ordering::SeqCst) <= CAP,
        "{} checks at once",
        most.load(Ordering::SeqCst)
    );
    assert!(invalid >= 1, "{invalid} checks ran to the end");
    assert!(overloaded > 0, "no request was refused as overloaded");
    assert_eq!(VerifyError::Overloaded.response().status, 503);
    // The blocking pool grew by about one thread per slot (it keeps idle threads). Tokio may
    // start a spare one when a job is queued just as an idle thread is between jobs, so allow
    // a little slack: uncapped, the same burst started 256 threads.
    let grown = threads().saturating_sub(before);
    assert!(grown <= CAP + 2, "{grown} new threads");
    // The real key still verifies once the burst is over.
    assert!(keys.verify(real).await.is_ok());
}
