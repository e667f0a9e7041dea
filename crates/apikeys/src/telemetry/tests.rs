//! Each test records into its own local recorder (`set_default_local_recorder`), on the
//! current-thread runtime of `#[tokio::test]`: no other test's verifications can reach it.

use std::collections::HashMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use super::{LATENCY, OUTCOMES, Telemetry, VERIFICATIONS, index};
use crate::extract::HeaderLookup;
use crate::limits::LimiterError;
use crate::store::StoreError;
use crate::verify::{Denial, VerifyError};
use crate::{ApiKeys, MemoryStore, NewKey};

/// Counter values by `outcome`, and the latency samples, since the last call.
fn take(snapshotter: &Snapshotter) -> (HashMap<String, u64>, Vec<f64>) {
    let mut counts = HashMap::new();
    let mut samples = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        match value {
            DebugValue::Counter(n) if key.name() == VERIFICATIONS && n > 0 => {
                let outcome = key
                    .labels()
                    .find(|l| l.key() == "outcome")
                    .expect("outcome label");
                assert_eq!(key.labels().count(), 1, "{key:?}");
                counts.insert(outcome.value().to_owned(), n);
            }
            DebugValue::Histogram(values) if key.name() == LATENCY => {
                samples.extend(values.into_iter().map(f64::from));
            }
            _ => {}
        }
    }
    (counts, samples)
}

fn counts(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

/// A request without headers.
struct NoHeaders;

impl HeaderLookup for NoHeaders {
    fn first(&self, _: &str) -> Option<&[u8]> {
        None
    }
    fn each(&self, _: &str, _: &mut dyn FnMut(&[u8]) -> bool) {}
}

/// A request carrying `authorization` twice.
struct TwoKeys;

impl HeaderLookup for TwoKeys {
    fn first(&self, _: &str) -> Option<&[u8]> {
        Some(b"Api-Key a.b")
    }
    fn each(&self, _: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        let _ = visit(b"Api-Key a.b") || visit(b"Api-Key c.d");
    }
}

#[tokio::test]
async fn each_verification_counts_its_outcome_once_and_is_timed() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let keys = ApiKeys::new(MemoryStore::new());
    let good = keys.create(NewKey::named("good")).await.expect("create");
    let revoked = keys.create(NewKey::named("gone")).await.expect("create");
    keys.revoke(revoked.key.prefix()).await.expect("revoke");
    let rated = keys
        .create(NewKey::named("rated").rate_limit("1/h".parse().expect("rate")))
        .await
        .expect("create");
    let good = good.key.expose_secret();
    let mut wrong = good.to_owned();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'a' { 'b' } else { 'a' });

    keys.verify(good).await.expect("granted");
    keys.verify_with_scopes(good, &[]).await.expect("granted");
    assert_eq!(
        keys.verify(&wrong).await.unwrap_err().outcome(),
        "invalid_secret"
    );
    assert_eq!(
        keys.verify(revoked.key.expose_secret())
            .await
            .unwrap_err()
            .outcome(),
        "revoked"
    );
    keys.verify(rated.key.expose_secret())
        .await
        .expect("first of 1/h");
    assert_eq!(
        keys.verify(rated.key.expose_secret())
            .await
            .unwrap_err()
            .outcome(),
        "rate_limited"
    );
    assert_eq!(
        keys.authenticate(&NoHeaders, None, &[])
            .await
            .unwrap_err()
            .outcome(),
        "missing"
    );
    assert_eq!(
        keys.authenticate(&TwoKeys, None, &[])
            .await
            .unwrap_err()
            .outcome(),
        "malformed"
    );
    assert_eq!(
        keys.verify("not a key").await.unwrap_err().outcome(),
        "malformed"
    );

    let (counted, samples) = take(&snapshotter);
    assert_eq!(
        counted,
        counts(&[
            ("granted", 3),
            ("invalid_secret", 1),
            ("revoked", 1),
            ("rate_limited", 1),
            ("missing", 1),
            ("malformed", 2),
        ])
    );
    // One sample per verification, each a plausible duration.
    assert_eq!(samples.len(), 9, "{samples:?}");
    assert!(
        samples.iter().all(|s| (0.0..10.0).contains(s)),
        "{samples:?}"
    );

    // Creating, revoking and listing are not verifications.
    keys.revoke(good.split('.').next().expect("prefix"))
        .await
        .expect("revoke");
    let (counted, samples) = take(&snapshotter);
    assert!(
        counted.is_empty() && samples.is_empty(),
        "{counted:?} {samples:?}"
    );
}

#[tokio::test]
async fn every_outcome_is_counted_under_its_documented_code() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let cancelled = tokio::spawn(std::future::pending::<()>());
    cancelled.abort();
    let task = crate::TaskError::new(cancelled.await.expect_err("aborted"));
    let mut errors: Vec<VerifyError> = [
        Denial::Missing,
        Denial::Malformed,
        Denial::NotFound,
        Denial::InvalidSecret,
        Denial::Revoked,
        Denial::Disabled,
        Denial::Expired,
        Denial::Rejected,
        Denial::InsufficientScope,
        Denial::RateLimited,
        Denial::UsageExceeded,
    ]
    .into_iter()
    .map(VerifyError::from)
    .collect();
    errors.extend([
        VerifyError::Limited {
            denial: Denial::UsageExceeded,
            usage: Box::default(),
        },
        VerifyError::Store(StoreError::Backend("down".into())),
        VerifyError::Policy("undecided".into()),
        VerifyError::Task(task),
        VerifyError::Limiter(LimiterError::Timeout(std::time::Duration::from_millis(5))),
        VerifyError::Overloaded,
    ]);
    let telemetry = Telemetry::new();
    for error in &errors {
        assert_eq!(OUTCOMES[index(Some(error))], error.outcome(), "{error:?}");
        telemetry.count(Some(error));
        let (counted, _) = take(&snapshotter);
        assert_eq!(counted, counts(&[(error.outcome(), 1)]), "{error:?}");
    }
    telemetry.count(None);
    assert_eq!(take(&snapshotter).0, counts(&[("granted", 1)]));

    let codes: std::collections::BTreeSet<_> = errors.iter().map(VerifyError::outcome).collect();
    assert_eq!(codes.len(), 16, "distinct codes: {codes:?}");
    assert_eq!(codes.len() + 1, OUTCOMES.len(), "one counter per outcome");
}

/// Built under a recorder, a manager describes its metrics and registers every outcome, so
/// that each shows from the start, at 0; it keeps recording there afterwards.
#[tokio::test]
async fn the_metrics_are_described_and_registered_when_built() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let keys = metrics::with_local_recorder(&recorder, || ApiKeys::new(MemoryStore::new()));
    let snapshot = snapshotter.snapshot().into_vec();
    let described: HashMap<String, Option<metrics::Unit>> = snapshot
        .iter()
        .filter(|(_, _, description, _)| description.is_some())
        .map(|(key, unit, _, _)| (key.key().name().to_owned(), *unit))
        .collect();
    assert_eq!(described[VERIFICATIONS], Some(metrics::Unit::Count));
    assert_eq!(described[LATENCY], Some(metrics::Unit::Seconds));
    let registered: Vec<String> = snapshot
        .iter()
        .filter(|(key, _, _, value)| {
            key.key().name() == VERIFICATIONS && *value == DebugValue::Counter(0)
        })
        .flat_map(|(key, _, _, _)| key.key().labels().map(|l| l.value().to_owned()))
        .collect();
    assert_eq!(registered, OUTCOMES);

    keys.verify("not a key").await.expect_err("malformed");
    let (counted, samples) = take(&snapshotter);
    assert_eq!(counted, counts(&[("malformed", 1)]));
    assert_eq!(samples.len(), 1);
}
