use serde_json::json;
use time::macros::datetime;

use apikeys::{Credits, RateLimit, Refill, RefillInterval};

use super::*;

fn sample() -> ApiKey {
    ApiKey {
        prefix: "Abc12345".into(),
        hashed_key: format!("sha512$${}", "0123456789abcdef".repeat(8)),
        name: "billing ✓ 日本".into(),
        created: datetime!(2026-03-04 05:06:07.123456 UTC),
        expires: Some(datetime!(1969-12-31 23:59:59.999999 UTC)),
        revoked: true,
        scopes: ["a", "heroes:write"].map(String::from).into(),
        metadata: json!({"org": 42, "nested": {"list": [1, null, "x"]}})
            .as_object()
            .cloned()
            .expect("object"),
        owner: Some("org_42".into()),
        disabled: true,
        last_used: Some(datetime!(2026-03-05 00:00:00.000001 UTC)),
        predecessor: Some("Old12345".into()),
        successor: Some("New12345".into()),
        rate_limit: Some("100/10s,burst=5".parse().expect("limit")),
        credits: Some(
            Credits::new(1234, datetime!(2026-03-04 00:00:00.000007 UTC))
                .expect("credits")
                .with_refill("1000/month".parse().expect("refill")),
        ),
    }
}

fn without_limits(key: ApiKey) -> ApiKey {
    ApiKey {
        rate_limit: None,
        credits: None,
        ..key
    }
}

fn without_lifecycle(key: ApiKey) -> ApiKey {
    ApiKey {
        rate_limit: None,
        credits: None,
        owner: None,
        disabled: false,
        last_used: None,
        predecessor: None,
        successor: None,
        ..key
    }
}

#[test]
fn records_round_trip() {
    let key = sample();
    assert_eq!(
        decode_record("Abc12345", &encode_record(&key)),
        Ok(key.clone())
    );

    let plain = ApiKey {
        expires: None,
        revoked: false,
        scopes: BTreeSet::new(),
        metadata: Metadata::new(),
        ..ApiKey::new("Abc12345", key.hashed_key.clone(), "n", key.created)
    };
    assert_eq!(decode_record("Abc12345", &encode_record(&plain)), Ok(plain));

    // Other hashers' strings, and SHA-512 spellings that would not survive compaction.
    for hashed in [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        format!("sha512$${}", "0123456789ABCDEF".repeat(8)),
        format!("sha512$${}", "0".repeat(127)),
        String::new(),
    ] {
        let other = ApiKey {
            hashed_key: hashed,
            ..key.clone()
        };
        assert_eq!(decode_record("Abc12345", &encode_record(&other)), Ok(other));
    }
}

#[test]
fn sha512_hashes_are_stored_as_raw_bytes() {
    let key = sample();
    let compact = encode_record(&key).len();
    let text = encode_record(&ApiKey {
        hashed_key: key.hashed_key.replace("sha512$$", "sha512$!"),
        ..key
    })
    .len();
    assert!(compact + 64 < text, "{compact} vs {text}");
}

#[test]
fn timestamps_keep_microseconds() {
    let mut key = sample();
    key.created = datetime!(2026-03-04 05:06:07.123456789 +02:00);
    let decoded = decode_record("Abc12345", &encode_record(&key)).expect("decode");
    assert_eq!(decoded.created, datetime!(2026-03-04 03:06:07.123456 UTC));
    assert_eq!(decoded, normalized(&key));
    assert_eq!(
        from_micros(to_micros(OffsetDateTime::UNIX_EPOCH)).expect("epoch"),
        OffsetDateTime::UNIX_EPOCH
    );
}

#[test]
fn damaged_records_are_errors_not_panics() {
    let bytes = encode_record(&sample());
    for len in 0..bytes.len() {
        assert!(
            decode_record("p", &bytes[..len]).is_err(),
            "truncated at {len}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(
        decode_record("p", &extra)
            .unwrap_err()
            .contains("unexpected bytes")
    );

    let mut future = bytes.clone();
    future[0] = 4;
    assert!(
        decode_record("p", &future)
            .unwrap_err()
            .contains("version 4")
    );
    let mut limits = bytes.clone();
    limits[CREATED_AT.end] |= 0x80;
    assert!(
        decode_record("p", &limits)
            .unwrap_err()
            .contains("limit flags")
    );

    // Version 1 has no lifecycle flags.
    let mut flags = encode_record_v1(&sample());
    flags[1] |= DISABLED;
    assert!(decode_record("p", &flags).unwrap_err().contains("flags"));

    // Flip every byte in turn: decoding may succeed (a name byte changed) but never panics.
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0xff;
        let _ = decode_record("p", &flipped);
    }
    let huge_length = [
        RECORD_V1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ];
    assert!(decode_record("p", &huge_length).is_err());
    let endless_varint = [
        RECORD_V1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x80, 0x80,
    ];
    assert!(decode_record("p", &endless_varint).is_err());
}

#[test]
fn metadata_must_be_an_object() {
    // Metadata last: no lifecycle field after it.
    let mut bytes = encode_record(&ApiKey {
        metadata: Metadata::new(),
        ..without_lifecycle(sample())
    });
    bytes.pop(); // the empty metadata's length
    put_bytes(&mut bytes, b"[1,2]");
    assert!(
        decode_record("p", &bytes)
            .unwrap_err()
            .contains("JSON object")
    );
}

#[test]
fn index_entries_round_trip() {
    let key = sample();
    let bytes = encode_index(&key);
    assert_eq!(
        decode_index(&bytes),
        Ok(IndexEntry {
            revoked: true,
            disabled: true,
            expires: key.expires.map(to_micros),
            name: "billing ✓ 日本",
        })
    );
    assert!(decode_index(&[]).is_err());
    assert!(decode_index(&[INDEX_V1, 0x40]).is_err());
    assert!(
        decode_index(&[INDEX_V1, DISABLED]).is_err(),
        "not in version 1"
    );
    assert_eq!(
        decode_index(&[INDEX_V1, REVOKED, b'n']),
        Ok(IndexEntry {
            revoked: true,
            disabled: false,
            expires: None,
            name: "n",
        })
    );
    assert!(decode_index(&[INDEX_V1, HAS_EXPIRY, 1, 2]).is_err());
    assert!(decode_index(&[INDEX_V1, 0, 0xff]).is_err());
    assert!(decode_index(&[9, 0]).is_err());
}

#[test]
fn metadata_numbers_survive_rewriting() {
    // serde_json's default float parser is off by one ulp on some inputs, so a record read
    // and written back changed its metadata (found by fuzzing). Parsing is exact now.
    // Metadata last: no lifecycle field after it.
    let mut bytes = encode_record(&ApiKey {
        metadata: Metadata::new(),
        ..without_lifecycle(sample())
    });
    bytes.pop(); // the empty metadata's length
    let text = br#"{"x":[1.5E+200,1.5e200,0.30000000000000004,2.2250738585072014e-308]}"#;
    put_bytes(&mut bytes, text);
    let read = decode_record("Abc12345", &bytes).expect("decodes");
    let again = decode_record("Abc12345", &encode_record(&read)).expect("decodes");
    assert_eq!(again, read);
    assert_eq!(read.metadata["x"][0].as_f64(), Some(1.5e200));
}

#[test]
fn version_1_records_still_read() {
    // Bytes as apikeys-redb 0.1 wrote them (`encode_record_v1` is checked against a file
    // it wrote by the v1 fixture test): the lifecycle fields read as absent.
    let key = sample();
    let v1 = encode_record_v1(&key);
    assert_eq!(v1[0], RECORD_V1);
    assert_eq!(
        decode_record("Abc12345", &v1),
        Ok(without_lifecycle(key.clone()))
    );
    // A hand-made v1 record with nothing optional: version, flags, created, hash text,
    // name, no scopes, no metadata.
    let mut bytes = vec![RECORD_V1, 0];
    bytes.extend_from_slice(&to_micros(key.created).to_le_bytes());
    put_bytes(&mut bytes, b"argon2$x");
    put_bytes(&mut bytes, b"n");
    put_varint(&mut bytes, 0);
    put_varint(&mut bytes, 0);
    let read = decode_record("p", &bytes).expect("decodes");
    assert_eq!(read, ApiKey::new("p", "argon2$x", "n", key.created));
    // Written back, it is version 3.
    assert_eq!(encode_record(&read)[0], RECORD_V3);
}

#[test]
fn the_revoked_bit_and_creation_time_have_fixed_places() {
    let versions = [encode_record, encode_record_v2, encode_record_v1];
    for bytes in versions.map(|encode| encode(&sample())) {
        let mut active = decode_record("p", &bytes).expect("decodes");
        active.revoked = false;
        for mut bytes in versions.map(|encode| encode(&active)) {
            let before = decode_record("p", &bytes).expect("decodes");
            assert_eq!(created_in_place(&bytes), Some(to_micros(active.created)));
            assert!(revoke_in_place(&mut bytes));
            assert!(!revoke_in_place(&mut bytes), "already revoked");
            let revoked = decode_record("p", &bytes).expect("decodes");
            assert_eq!(
                revoked,
                ApiKey {
                    revoked: true,
                    ..before
                }
            );
        }
    }
    // Undecodable bytes are revocable as long as they hold a flags byte.
    let mut garbage = b"\x09\x00garbage".to_vec();
    assert!(revoke_in_place(&mut garbage));
    assert_eq!(garbage[1], REVOKED);
    assert!(!revoke_in_place(&mut [2]));
    assert_eq!(created_in_place(&[2, 0, 1]), None);
    let mut entry = encode_index(&ApiKey::new("p", "h", "n", sample().created));
    revoke_index_in_place(&mut entry);
    assert!(decode_index(&entry).expect("decodes").revoked);
}

#[test]
fn events_round_trip() {
    let event = apikeys::AuditEvent::new(
        "p",
        apikeys::AuditAction::Rolled {
            successor: "q".into(),
            retire: apikeys::Retirement::RevokeNow,
        },
    )
    .by(Some("cli:alice"));
    let bytes = encode_event(&event).expect("encodes");
    assert_eq!(decode_event(&bytes), Ok(event));
    assert!(decode_event(&[]).is_err());
    assert!(
        decode_event(&[9, b'{', b'}'])
            .unwrap_err()
            .contains("version 9")
    );
    assert!(decode_event(&[EVENT_V1, b'{']).is_err());
}

#[test]
fn version_2_records_still_read() {
    let key = sample();
    let v2 = encode_record_v2(&key);
    assert_eq!(v2[0], RECORD_V2);
    assert_eq!(
        decode_record("Abc12345", &v2),
        Ok(without_limits(key.clone()))
    );
    // Version 2 has no limit flags byte: the byte after `created` is the hash.
    assert_eq!(v2.len() + 1, encode_record(&without_limits(key)).len());
}

/// The v3 bytes of a small record with every limit, as this release writes them: a change
/// to the format must be a new version, not a silent change of this one.
#[test]
fn version_3_fixture() {
    let created = datetime!(2026-03-04 05:06:07.123456 UTC);
    let key = ApiKey {
        rate_limit: Some(
            RateLimit::new(100, std::time::Duration::from_millis(1500)).expect("limit"),
        ),
        credits: Some(
            Credits::new(50, created)
                .expect("credits")
                .with_refill(Refill {
                    amount: 1000,
                    interval: RefillInterval::Every(std::time::Duration::new(90, 5)),
                }),
        ),
        ..ApiKey::new("p", "h", "n", created)
    };
    let fixture: &[u8] = &[
        3, 0, // version, flags
        0x00, 0x90, 0x0d, 0xc7, 0x2b, 0x4c, 0x06, 0x00, // created
        7,    // limit flags: rate limit, credits, refill
        1, b'h', 1, b'n', 0, 0, // hash, name, no scopes, no metadata
        100, 0x80, 0xde, 0xa0, 0xcb, 0x05, 100, // rate limit: 100 per 1.5e9 ns, burst 100
        50, 0x00, 0x90, 0x0d, 0xc7, 0x2b, 0x4c, 0x06, 0x00, // credits: 50 since created
        0xe8, 0x07, 2, 90, 5, // refill: 1000 every 90 s 5 ns
    ];
    assert_eq!(encode_record(&key), fixture);
    assert_eq!(decode_record("p", fixture), Ok(key.clone()));

    // Damaged limits are errors, never panics.
    for len in 15..fixture.len() {
        assert!(
            decode_record("p", &fixture[..len]).is_err(),
            "truncated at {len}"
        );
    }
    let mut refill_alone = fixture.to_vec();
    refill_alone[10] = 4;
    assert!(
        decode_record("p", &refill_alone)
            .unwrap_err()
            .contains("refill")
    );
    let mut zero_count = fixture.to_vec();
    zero_count[17] = 0;
    assert!(
        decode_record("p", &zero_count)
            .unwrap_err()
            .contains("rate limit")
    );
    let mut kind = fixture.to_vec();
    kind[fixture.len() - 3] = 9;
    assert!(
        decode_record("p", &kind)
            .unwrap_err()
            .contains("interval kind")
    );
    let mut nanos = fixture.to_vec();
    *nanos.last_mut().expect("byte") = 0xff;
    assert!(decode_record("p", &nanos).is_err());

    // An interval kind a later core may add is kept in its text form.
    let mut text = fixture[..fixture.len() - 3].to_vec();
    text.push(255);
    put_bytes(&mut text, b"1000/day");
    let read = decode_record("p", &text).expect("decodes");
    assert_eq!(
        read.credits.and_then(|c| c.refill),
        Some(Refill {
            amount: 1000,
            interval: RefillInterval::Daily
        })
    );
    let mut disagree = fixture[..fixture.len() - 3].to_vec();
    disagree.push(255);
    put_bytes(&mut disagree, b"999/day");
    assert!(decode_record("p", &disagree).is_err());

    // More credits than a store may hold.
    let mut too_many = encode_record(&ApiKey {
        rate_limit: None,
        ..key
    });
    let at = too_many.iter().position(|&b| b == 50).expect("remaining");
    too_many.splice(at..=at, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(
        decode_record("p", &too_many)
            .unwrap_err()
            .contains("credits")
    );
}
