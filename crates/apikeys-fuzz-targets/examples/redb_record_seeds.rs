//! Writes the seed corpus of the `redb_record` target: real records of a few shapes as
//! `apikeys-redb` encodes them (format version 3, and versions 2 and 1 as earlier releases wrote them), and
//! their index entries.
//!
//! `cargo run -p apikeys-fuzz-targets --example redb_record_seeds` (from the repository root).

use apikeys::ApiKey;
use apikeys_redb::fuzzing::{encode_index, encode_record, encode_record_v1, encode_record_v2};
use serde_json::json;
use time::macros::datetime;

fn main() -> std::io::Result<()> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/redb_record");
    std::fs::create_dir_all(&dir)?;
    let plain = ApiKey::new(
        "Fz000000",
        format!("sha512$${}", "0123456789abcdef".repeat(8)),
        "billing",
        datetime!(2026-03-04 05:06:07.123456 UTC),
    );
    let full = ApiKey {
        name: "billing ✓ 日本".into(),
        expires: Some(datetime!(1969-12-31 23:59:59.999999 UTC)),
        revoked: true,
        scopes: ["a", "heroes:write"].map(String::from).into(),
        metadata: json!({"org": 42, "nested": {"list": [1, null, "x", 1.5e300]}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..plain.clone()
    };
    let shapes = [
        ("plain", plain.clone()),
        ("full", full.clone()),
        (
            "argon2",
            ApiKey {
                hashed_key: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                ..full.clone()
            },
        ),
        (
            "django-pbkdf2",
            ApiKey {
                hashed_key: "pbkdf2_sha256$870000$salt$aGFzaA==".into(),
                expires: Some(datetime!(9999-12-31 23:59:59.999999 UTC)),
                ..plain.clone()
            },
        ),
        (
            "sha512-uppercase",
            ApiKey {
                hashed_key: format!("sha512$${}", "0123456789ABCDEF".repeat(8)),
                created: datetime!(-9999-01-01 00:00:00 UTC),
                ..plain.clone()
            },
        ),
        (
            "empty-hash-many-scopes",
            ApiKey {
                hashed_key: String::new(),
                scopes: (0..20).map(|i| format!("scope:{i}")).collect(),
                ..plain.clone()
            },
        ),
        (
            "lifecycle",
            ApiKey {
                owner: Some("org_42".into()),
                disabled: true,
                last_used: Some(datetime!(2026-03-05 00:00:00.000001 UTC)),
                predecessor: Some("Fz00000p".into()),
                successor: Some("Fz00000s".into()),
                ..full.clone()
            },
        ),
        (
            "owner-only",
            ApiKey {
                owner: Some("o".into()),
                ..plain.clone()
            },
        ),
    ];
    let shapes = shapes.into_iter().chain(limit_shapes(&plain, &full));
    for (name, key) in shapes {
        let mut record = vec![0];
        record.extend(encode_record(&key));
        std::fs::write(dir.join(format!("seed-record-{name}")), record)?;
        let mut old = vec![0];
        old.extend(encode_record_v1(&key));
        std::fs::write(dir.join(format!("seed-record-v1-{name}")), old)?;
        let mut v2 = vec![0];
        v2.extend(encode_record_v2(&key));
        std::fs::write(dir.join(format!("seed-record-v2-{name}")), v2)?;
        let mut index = vec![1];
        index.extend(encode_index(&key));
        std::fs::write(dir.join(format!("seed-index-{name}")), index)?;
    }
    Ok(())
}

/// Records with usage limits (format version 3 only).
fn limit_shapes(plain: &ApiKey, full: &ApiKey) -> [(&'static str, ApiKey); 3] {
    [
        (
            "limits",
            ApiKey {
                rate_limit: "100/10s,burst=5".parse().ok(),
                credits: apikeys::Credits::new(1234, plain.created).ok().map(|c| {
                    c.with_refill(apikeys::Refill {
                        amount: 1000,
                        interval: apikeys::RefillInterval::Every(std::time::Duration::new(90, 5)),
                    })
                }),
                ..full.clone()
            },
        ),
        (
            "credits-monthly",
            ApiKey {
                credits: apikeys::Credits::new(0, plain.created)
                    .ok()
                    .and_then(|c| Some(c.with_refill("50/month".parse().ok()?))),
                ..plain.clone()
            },
        ),
        (
            "rate-only",
            ApiKey {
                rate_limit: "5000/h".parse().ok(),
                ..plain.clone()
            },
        ),
    ]
}
