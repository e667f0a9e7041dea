//! Conformance cases of the lifecycle writes: touch, disable/enable, roll, the races the
//! field-specific writes exist for, the audit trail, capabilities, undecodable records.

use std::future::Future;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::insert;
use crate::audit::{AuditAction, AuditEvent};
use crate::lifecycle::{Change, Edit, Modified, Refusal, Retirement, Roll};
use crate::manager::ApiKeys;
use crate::query::{ListQuery, StatusFilter};
use crate::record::ApiKey;
use crate::store::{KeyStore, StoreError};
use crate::testing::{event, record};
use crate::verify::{Denial, VerifyError};
use crate::{Error, NewKey};

fn get(store: &Arc<dyn KeyStore>, prefix: &str) -> impl Future<Output = Option<ApiKey>> {
    let store = Arc::clone(store);
    let prefix = prefix.to_owned();
    async move {
        store
            .get(&prefix)
            .await
            .expect("get")
            .map(Arc::unwrap_or_clone)
    }
}

fn roll_of(prefix: &str, successor: &str, at: OffsetDateTime, retire: Retirement) -> Roll {
    Roll {
        prefix: prefix.to_owned(),
        successor_prefix: successor.to_owned(),
        successor_hash: format!("sha512$${}", "7".repeat(128)),
        at,
        retire,
    }
}

fn rolled(roll: &Roll) -> AuditEvent {
    event(
        &roll.prefix,
        AuditAction::Rolled {
            successor: roll.successor_prefix.clone(),
            retire: roll.retire,
        },
    )
}

fn now() -> OffsetDateTime {
    record("x", "x").created
}

/// `touch` only moves `last_used` forward, in one batch, touching nothing else; unknown
/// prefixes are ignored and never created; revoked keys stay revoked, deleted keys gone.
/// Without [`Capabilities::last_used`](crate::Capabilities) it changes nothing at all.
pub async fn touch_moves_forward_only(store: Arc<dyn KeyStore>) {
    let supported = store.capabilities().last_used;
    let (a, b) = (record("Tch00001", "a"), record("Tch00002", "b"));
    insert(&*store, &a).await.expect("insert");
    insert(&*store, &b).await.expect("insert");
    let t1 = a.created + Duration::seconds(10);
    let t2 = a.created + Duration::seconds(20);
    store
        .touch(&[
            ("Tch00001".into(), t2),
            ("Tch00002".into(), t1),
            ("Tch09999".into(), t1),
        ])
        .await
        .expect("touch");
    store
        .touch(&[("Tch00001".into(), t1)])
        .await
        .expect("touch");
    store.touch(&[]).await.expect("empty touch");
    let (got_a, got_b) = (get(&store, "Tch00001").await, get(&store, "Tch00002").await);
    let (got_a, got_b) = (got_a.expect("a"), got_b.expect("b"));
    if supported {
        assert_eq!(got_a.last_used, Some(t2), "touch moved time backwards");
        assert_eq!(got_b.last_used, Some(t1));
    } else {
        assert_eq!((got_a.last_used, got_b.last_used), (None, None));
    }
    assert_eq!(
        ApiKey {
            last_used: None,
            ..got_a
        },
        a,
        "touch changed another field"
    );
    assert!(
        get(&store, "Tch09999").await.is_none(),
        "touch created a key"
    );

    let revoke = event("Tch00001", AuditAction::Revoked);
    store
        .modify("Tch00001", &Change::Revoke, &revoke)
        .await
        .expect("revoke");
    let deleted = event("Tch00002", AuditAction::Deleted);
    assert!(store.delete("Tch00002", &deleted).await.expect("delete"));
    let t3 = t2 + Duration::seconds(10);
    store
        .touch(&[("Tch00001".into(), t3), ("Tch00002".into(), t3)])
        .await
        .expect("touch");
    assert!(get(&store, "Tch00001").await.expect("a").revoked);
    assert!(
        get(&store, "Tch00002").await.is_none(),
        "touch resurrected a deleted key"
    );
}

/// Disabling is reversible and listed; a revoked key can be neither disabled nor enabled.
pub async fn disable_and_enable(store: Arc<dyn KeyStore>) {
    if !store.capabilities().disabled {
        return;
    }
    let key = record("Dis00001", "suspend me");
    insert(&*store, &key).await.expect("insert");
    let disable = event("Dis00001", AuditAction::Disabled);
    let enable = event("Dis00001", AuditAction::Enabled);
    let Modified::Changed(after) = store
        .modify("Dis00001", &Change::Disable, &disable)
        .await
        .expect("disable")
    else {
        panic!("disabling changed nothing")
    };
    assert!(after.disabled && !after.revoked);
    assert!(get(&store, "Dis00001").await.expect("present").disabled);
    assert!(matches!(
        store.modify("Dis00001", &Change::Disable, &disable).await,
        Ok(Modified::Unchanged(_))
    ));
    let listed = |status| {
        let store = Arc::clone(&store);
        async move {
            store
                .list(&ListQuery::new().status(status))
                .await
                .expect("list")
                .keys
                .len()
        }
    };
    assert_eq!(listed(StatusFilter::Disabled).await, 1);
    assert_eq!(listed(StatusFilter::Active).await, 0);
    store
        .modify("Dis00001", &Change::Enable, &enable)
        .await
        .expect("enable");
    assert!(!get(&store, "Dis00001").await.expect("present").disabled);
    assert_eq!(listed(StatusFilter::Active).await, 1);

    store
        .modify(
            "Dis00001",
            &Change::Revoke,
            &event("Dis00001", AuditAction::Revoked),
        )
        .await
        .expect("revoke");
    for change in [Change::Disable, Change::Enable] {
        assert!(matches!(
            store.modify("Dis00001", &change, &enable).await,
            Err(StoreError::Refused {
                reason: Refusal::Revoked,
                ..
            })
        ));
    }
}

/// A roll inserts the successor with the old key's fields as stored and links both; the old
/// key is retired as asked; revoked, expired and already rolled keys are refused, and so is
/// a taken successor prefix, all without writing anything.
pub async fn roll_links_both_keys(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    if !caps.rotation {
        return;
    }
    let now = now();
    let mut old = record("Rol00001", "rolled");
    old.expires = Some(now + Duration::days(30));
    if caps.scopes {
        old.scopes.insert("read".into());
    }
    if caps.owner {
        old.owner = Some("org".into());
    }
    insert(&*store, &old).await.expect("insert");
    insert(&*store, &record("Rol00009", "taken"))
        .await
        .expect("insert");

    let grace = now + Duration::hours(1);
    let taken = roll_of("Rol00001", "Rol00009", now, Retirement::ExpireAt(grace));
    assert!(matches!(
        store.roll(&taken, &rolled(&taken)).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(get(&store, "Rol00001").await.expect("old"), old);

    let roll = roll_of("Rol00001", "Rol00002", now, Retirement::ExpireAt(grace));
    let done = store.roll(&roll, &rolled(&roll)).await.expect("roll");
    let mut expected_old = old.clone();
    let expected_new = roll.apply(&mut expected_old).expect("apply");
    assert_eq!(done.old, expected_old);
    assert_eq!(done.successor, expected_new);
    assert_eq!(get(&store, "Rol00001").await.expect("old"), expected_old);
    assert_eq!(get(&store, "Rol00002").await.expect("new"), expected_new);
    assert_eq!(expected_old.expires, Some(grace));
    assert_eq!(expected_new.predecessor.as_deref(), Some("Rol00001"));
    assert_eq!(expected_new.expires, old.expires);

    let again = roll_of("Rol00001", "Rol00003", now, Retirement::RevokeNow);
    match store.roll(&again, &rolled(&again)).await {
        Err(StoreError::Refused {
            reason: Refusal::AlreadyRolled { successor },
            ..
        }) => assert_eq!(successor, "Rol00002"),
        other => panic!("a second roll: {other:?}"),
    }
    assert!(get(&store, "Rol00003").await.is_none());

    // The successor rolls on, revoking at once.
    let next = roll_of("Rol00002", "Rol00004", now, Retirement::RevokeNow);
    let done = store.roll(&next, &rolled(&next)).await.expect("roll");
    assert!(done.old.revoked);
    let revoked = roll_of("Rol00002", "Rol00005", now, Retirement::RevokeNow);
    assert!(matches!(
        store.roll(&revoked, &rolled(&revoked)).await,
        Err(StoreError::Refused {
            reason: Refusal::Revoked | Refusal::AlreadyRolled { .. },
            ..
        })
    ));
    let mut expired = record("Rol00006", "expired");
    expired.expires = Some(now - Duration::seconds(1));
    insert(&*store, &expired).await.expect("insert");
    let late = roll_of("Rol00006", "Rol00007", now, Retirement::RevokeNow);
    assert!(matches!(
        store.roll(&late, &rolled(&late)).await,
        Err(StoreError::Refused {
            reason: Refusal::Expired,
            ..
        })
    ));
    assert_eq!(get(&store, "Rol00006").await.expect("expired"), expired);
    for absent in ["Rol00005", "Rol00007"] {
        assert!(get(&store, absent).await.is_none());
    }
    let missing = roll_of("Rol09999", "Rol00008", now, Retirement::RevokeNow);
    assert!(matches!(
        store.roll(&missing, &rolled(&missing)).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// 32 concurrent rolls of one key: exactly one succeeds, the others are refused; there is
/// one successor and it is linked both ways.
pub async fn concurrent_rolls_have_one_winner(store: Arc<dyn KeyStore>) {
    const ROLLS: usize = 32;
    if !store.capabilities().rotation {
        return;
    }
    insert(&*store, &record("Crl00000", "contested"))
        .await
        .expect("insert");
    let now = now();
    let handles: Vec<_> = (1..=ROLLS)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let grace = Retirement::ExpireAt(now + Duration::hours(1));
                let roll = roll_of("Crl00000", &format!("Crl{i:05}"), now, grace);
                (i, store.roll(&roll, &rolled(&roll)).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for handle in handles {
        match handle.await.expect("task") {
            (i, Ok(done)) => winners.push((i, done)),
            (_, Err(StoreError::Refused { .. })) => {}
            (_, Err(other)) => panic!("a concurrent roll failed: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "not exactly one successor");
    let (winner, _) = &winners[0];
    let winner = format!("Crl{winner:05}");
    let old = get(&store, "Crl00000").await.expect("old");
    assert_eq!(old.successor.as_deref(), Some(winner.as_str()));
    let new = get(&store, &winner).await.expect("successor");
    assert_eq!(new.predecessor.as_deref(), Some("Crl00000"));
    let all = store
        .list(&ListQuery::new().search("Crl"))
        .await
        .expect("list");
    assert_eq!(all.keys.len(), 2, "a loser's successor was left behind");
}

/// An edit racing a revocation: whichever lands first, the key ends revoked and edited.
pub async fn edit_racing_revocation_stays_revoked(store: Arc<dyn KeyStore>) {
    for round in 0..16 {
        let prefix = format!("Rce{round:05}");
        insert(&*store, &record(&prefix, "racing"))
            .await
            .expect("insert");
        let edit = Change::Edit(Edit::new().name(format!("edited {round}")));
        let (a, b) = (Arc::clone(&store), Arc::clone(&store));
        let (p1, p2) = (prefix.clone(), prefix.clone());
        let revoke_event = event(&prefix, AuditAction::Revoked);
        let edit_event = event(
            &prefix,
            AuditAction::Updated {
                changes: Edit::new(),
            },
        );
        let revoke =
            tokio::spawn(async move { a.modify(&p1, &Change::Revoke, &revoke_event).await });
        let edit = tokio::spawn(async move { b.modify(&p2, &edit, &edit_event).await });
        revoke.await.expect("task").expect("revoke");
        edit.await.expect("task").expect("edit");
        let got = get(&store, &prefix).await.expect("present");
        assert!(got.revoked, "an edit undid a revocation");
        assert_eq!(got.name, format!("edited {round}"));
    }
}

/// A hash upgrade (compare-and-set of the hash) racing an edit keeps both; an upgrade whose
/// expected hash is stale is refused and changes nothing.
pub async fn upgrade_racing_edit_keeps_the_edit(store: Arc<dyn KeyStore>) {
    let now = now();
    for round in 0..16 {
        let prefix = format!("Upg{round:05}");
        let key = record(&prefix, "upgrade");
        insert(&*store, &key).await.expect("insert");
        let expires = now - Duration::seconds(1);
        let new_hash = format!("sha512$${}", "b".repeat(128));
        let upgrade = Change::ReplaceHash {
            expected: key.hashed_key.clone(),
            new: new_hash.clone(),
        };
        let (a, b) = (Arc::clone(&store), Arc::clone(&store));
        let (p1, p2) = (prefix.clone(), prefix.clone());
        let upgraded = event(
            &prefix,
            AuditAction::HashUpgraded {
                algorithm: "sha512".into(),
            },
        );
        let edited = event(
            &prefix,
            AuditAction::Updated {
                changes: Edit::new(),
            },
        );
        let edit = Change::Edit(Edit::new().expires(expires));
        let up = tokio::spawn(async move { a.modify(&p1, &upgrade, &upgraded).await });
        let ed = tokio::spawn(async move { b.modify(&p2, &edit, &edited).await });
        up.await.expect("task").expect("upgrade");
        ed.await.expect("task").expect("edit");
        let got = get(&store, &prefix).await.expect("present");
        assert_eq!(got.expires, Some(expires), "the upgrade undid an edit");
        assert_eq!(got.hashed_key, new_hash);
    }
    let key = record("Upg99999", "stale");
    insert(&*store, &key).await.expect("insert");
    let stale = Change::ReplaceHash {
        expected: format!("sha512$${}", "c".repeat(128)),
        new: format!("sha512$${}", "d".repeat(128)),
    };
    let upgraded = event(
        "Upg99999",
        AuditAction::HashUpgraded {
            algorithm: "sha512".into(),
        },
    );
    assert!(matches!(
        store.modify("Upg99999", &stale, &upgraded).await,
        Err(StoreError::Refused {
            reason: Refusal::HashChanged,
            ..
        })
    ));
    assert_eq!(get(&store, "Upg99999").await.expect("present"), key);
}

/// A touch racing an edit keeps both.
pub async fn touch_racing_edit_keeps_both(store: Arc<dyn KeyStore>) {
    let supported = store.capabilities().last_used;
    for round in 0..16 {
        let prefix = format!("Rct{round:05}");
        let key = record(&prefix, "touched");
        insert(&*store, &key).await.expect("insert");
        let used = key.created + Duration::seconds(3);
        let (a, b) = (Arc::clone(&store), Arc::clone(&store));
        let (p1, p2) = (prefix.clone(), prefix.clone());
        let edited = event(
            &prefix,
            AuditAction::Updated {
                changes: Edit::new(),
            },
        );
        let touch = tokio::spawn(async move { a.touch(&[(p1, used)]).await });
        let edit = Change::Edit(Edit::new().name("renamed"));
        let ed = tokio::spawn(async move { b.modify(&p2, &edit, &edited).await });
        touch.await.expect("task").expect("touch");
        ed.await.expect("task").expect("edit");
        let got = get(&store, &prefix).await.expect("present");
        assert_eq!(got.name, "renamed", "a touch undid an edit");
        if supported {
            assert_eq!(got.last_used, Some(used), "an edit undid a touch");
        }
    }
}

/// Every change writes its event, in order, and only then: not on an unchanged write, a
/// refusal, a failed insert or a delete of nothing. A roll is in both keys' history; a
/// deleted key keeps its history.
pub async fn events_for_each_change_and_only_then(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    if !caps.audit {
        assert!(matches!(
            store.history("Aud00001").await,
            Err(StoreError::Unsupported(_))
        ));
        return;
    }
    let p = "Aud00001";
    let key = record(p, "audited");
    let mut expected = vec![crate::testing::created(&key)];
    store.insert(&key, &expected[0]).await.expect("insert");
    let dup = event(p, AuditAction::Created);
    assert!(store.insert(&key, &dup).await.is_err());

    let edit = Edit::new().name("renamed");
    let updated = || AuditAction::Updated {
        changes: edit.clone(),
    };
    let mut steps = vec![
        (Change::Edit(edit.clone()), updated(), true),
        (Change::Edit(edit.clone()), updated(), false),
    ];
    if caps.disabled {
        steps.push((Change::Disable, AuditAction::Disabled, true));
        steps.push((Change::Disable, AuditAction::Disabled, false));
        steps.push((Change::Enable, AuditAction::Enabled, true));
    }
    let hash = |c: &str| format!("sha512$${}", c.repeat(128));
    let upgraded = || AuditAction::HashUpgraded {
        algorithm: "sha512".into(),
    };
    let stale = Change::ReplaceHash {
        expected: hash("9"),
        new: hash("8"),
    };
    steps.push((stale, upgraded(), false));
    let fresh = Change::ReplaceHash {
        expected: key.hashed_key.clone(),
        new: hash("8"),
    };
    steps.push((fresh, upgraded(), true));
    if !caps.rotation {
        steps.push((Change::Revoke, AuditAction::Revoked, true));
    }
    for (change, action, writes) in steps {
        let ev = event(p, action);
        let _ = store.modify(p, &change, &ev).await;
        if writes {
            expected.push(ev);
        }
    }
    if caps.rotation {
        let roll = roll_of(p, "Aud00002", now(), Retirement::RevokeNow);
        let ev = rolled(&roll);
        store.roll(&roll, &ev).await.expect("roll");
        let refused = roll_of(p, "Aud00003", now(), Retirement::RevokeNow);
        assert!(store.roll(&refused, &rolled(&refused)).await.is_err());
        expected.push(ev.clone());
        assert_eq!(store.history("Aud00002").await.expect("history"), [ev]);
    }
    for (change, action) in [
        (Change::Revoke, AuditAction::Revoked),
        (Change::Enable, AuditAction::Enabled),
    ] {
        let _ = store.modify(p, &change, &event(p, action)).await;
    }
    let deleted = event(p, AuditAction::Deleted);
    assert!(store.delete(p, &deleted).await.expect("delete"));
    assert!(!store.delete(p, &deleted).await.expect("delete again"));
    expected.push(deleted);
    assert_eq!(store.history(p).await.expect("history"), expected);
    assert!(store.history("Aud09999").await.expect("history").is_empty());
}

/// Each write needing a field the store declares unsupported fails with
/// [`StoreError::Unsupported`] naming it, and writes nothing. Reads still work.
pub async fn unsupported_fields_are_refused(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    let base = record("Uns00001", "plain");
    insert(&*store, &base)
        .await
        .expect("a plain key is always supported");
    let refused = |result: Result<(), StoreError>, field: &str| match result {
        Err(StoreError::Unsupported(message)) => {
            assert!(message.contains(field), "{message:?} does not name {field}");
        }
        other => panic!("a write needing {field}: {other:?}"),
    };
    let mut n = 1;
    let mut fresh = |f: &dyn Fn(&mut ApiKey)| {
        n += 1;
        let mut key = record(&format!("Uns{n:05}"), "unsupported");
        f(&mut key);
        key
    };
    let mut cases: Vec<(&str, ApiKey, Option<Change>)> = Vec::new();
    if !caps.scopes {
        let key = fresh(&|k| {
            k.scopes.insert("s".into());
        });
        cases.push(("scopes", key, Some(Change::Edit(Edit::new().scopes(["s"])))));
    }
    if !caps.metadata {
        let key = fresh(&|k| {
            k.metadata.insert("k".into(), 1.into());
        });
        let mut metadata = crate::Metadata::new();
        metadata.insert("k".into(), 1.into());
        cases.push((
            "metadata",
            key,
            Some(Change::Edit(Edit::new().metadata(metadata))),
        ));
    }
    if !caps.owner {
        let key = fresh(&|k| k.owner = Some("org".into()));
        cases.push(("owner", key, Some(Change::Edit(Edit::new().owner("org")))));
    }
    if !caps.disabled {
        let key = fresh(&|k| k.disabled = true);
        cases.push(("disabled", key, Some(Change::Disable)));
    }
    if !caps.last_used {
        let key = fresh(&|k| k.last_used = Some(k.created));
        cases.push(("last_used", key, None));
    }
    if !caps.rotation {
        let key = fresh(&|k| k.successor = Some("Uns99999".into()));
        cases.push(("successor", key, None));
        let roll = roll_of("Uns00001", "Uns99998", now(), Retirement::RevokeNow);
        refused(
            store.roll(&roll, &rolled(&roll)).await.map(drop),
            "rotation",
        );
    }
    for (field, key, change) in cases {
        refused(insert(&*store, &key).await, field);
        assert!(get(&store, &key.prefix).await.is_none(), "{field}: written");
        if let Some(change) = change {
            let ev = event("Uns00001", AuditAction::Disabled);
            refused(
                store.modify("Uns00001", &change, &ev).await.map(drop),
                field,
            );
        }
    }
    assert_eq!(get(&store, "Uns00001").await.expect("read"), base);
}

/// A record the store cannot decode: the listing leaves it out and reports it, the rest of
/// the listing still works, and it can be revoked (never granted again) and deleted. For
/// stores that can hold undecodable bytes: `damage(prefix)` must make that record so.
pub async fn undecodable_records<D, Fut>(store: Arc<dyn KeyStore>, damage: D)
where
    D: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for i in 0..3 {
        insert(&*store, &record(&format!("Bad0000{i}"), "fine"))
            .await
            .expect("insert");
    }
    damage("Bad00001".to_owned()).await;
    let page = store.list(&ListQuery::new()).await.expect("list");
    assert_eq!(page.keys.len(), 2);
    assert_eq!(page.undecodable, ["Bad00001"]);
    let revoke = event("Bad00001", AuditAction::Revoked);
    match store.modify("Bad00001", &Change::Revoke, &revoke).await {
        Ok(Modified::RevokedUndecodable) => {}
        Ok(Modified::Changed(key) | Modified::Unchanged(key)) => assert!(key.revoked),
        other => panic!("revoking an undecodable record: {other:?}"),
    }
    match store.get("Bad00001").await {
        Ok(Some(key)) => assert!(key.revoked, "an undecodable record escaped revocation"),
        Ok(None) => panic!("revoking removed the record"),
        Err(_) => {}
    }
    let deleted = event("Bad00001", AuditAction::Deleted);
    assert!(store.delete("Bad00001", &deleted).await.expect("delete"));
    let page = store.list(&ListQuery::new()).await.expect("list");
    assert_eq!((page.keys.len(), page.undecodable.len()), (2, 0));
}

/// Through [`ApiKeys`] on this store: roll with a grace period, disable and enable, an
/// edit, last-used times written by `flush`, and the history with its actor — each as far
/// as the store's capabilities go.
pub async fn manager_lifecycle(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    let keys = ApiKeys::builder_shared(Arc::clone(&store))
        .build()
        .with_actor("cli:conformance");
    let denied = |r: Result<_, VerifyError>| r.err().and_then(|e: VerifyError| e.denial());
    let created = keys
        .create(NewKey::named("lifecycle"))
        .await
        .expect("create");
    let (prefix, secret) = (created.key.prefix(), created.key.expose_secret());
    keys.verify(secret).await.expect("verify");
    keys.flush().await.expect("flush");
    let used = get(&store, prefix).await.expect("present").last_used;
    assert_eq!(used.is_some(), caps.last_used, "last_used after flush");

    let edited = keys
        .update(prefix, Edit::new().name("edited"))
        .await
        .expect("update");
    assert_eq!(edited.name, "edited");
    assert_eq!(edited.last_used, used, "an edit kept last_used");

    if caps.disabled {
        keys.disable(prefix).await.expect("disable");
        assert_eq!(denied(keys.verify(secret).await), Some(Denial::Disabled));
        keys.enable(prefix).await.expect("enable");
        keys.verify(secret).await.expect("verify after enable");
    }
    if caps.rotation {
        let rolled = keys.roll(prefix, Duration::hours(1)).await.expect("roll");
        let next = &rolled.successor;
        assert_eq!(next.record.name, "edited");
        keys.verify(secret)
            .await
            .expect("the old key works in its grace period");
        keys.verify(next.key.expose_secret())
            .await
            .expect("the successor works");
        assert!(matches!(
            keys.roll(prefix, Duration::hours(1)).await,
            Err(Error::Refused { .. })
        ));
        keys.roll(next.key.prefix(), Duration::ZERO)
            .await
            .expect("roll at once");
        assert_eq!(
            denied(keys.verify(next.key.expose_secret()).await),
            Some(Denial::Revoked)
        );
    }
    keys.revoke(prefix).await.expect("revoke");
    assert_eq!(denied(keys.verify(secret).await), Some(Denial::Revoked));
    if caps.audit {
        let history = keys.history(prefix).await.expect("history");
        assert_eq!(
            history.first().map(|e| &e.action),
            Some(&AuditAction::Created)
        );
        assert_eq!(
            history.last().map(|e| &e.action),
            Some(&AuditAction::Revoked)
        );
        assert!(
            history
                .iter()
                .all(|e| e.actor.as_deref() == Some("cli:conformance"))
        );
    }
}
