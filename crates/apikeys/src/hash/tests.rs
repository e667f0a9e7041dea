use super::*;

/// Known-answer vectors written by Django 5.2 and djangorestframework-api-key 3.1
/// (`tests/data/gen_django_vectors.py`).
#[derive(serde::Deserialize)]
struct Vector {
    algorithm: String,
    key: String,
    encoded: String,
    cost: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("../../tests/data/django_hashes.json")).unwrap()
}

fn wrong(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'x' { 'y' } else { 'x' });
    wrong
}

#[cfg(feature = "sha512")]
#[test]
fn sha512_is_byte_for_byte_djangorestframework_api_key() {
    let drf: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v.algorithm == "sha512" && v.cost == "default")
        .collect();
    assert!(!drf.is_empty());
    for v in drf {
        assert_eq!(Sha512Hasher.hash(v.key.as_bytes()).unwrap(), v.encoded);
        assert_eq!(
            (Sha512Hasher.verify(v.key.as_bytes(), &v.encoded)).ok(),
            Some(true)
        );
        assert_eq!(
            (Sha512Hasher.verify(wrong(&v.key).as_bytes(), &v.encoded)).ok(),
            Some(false)
        );
    }
}

#[cfg(feature = "sha512")]
#[test]
fn sha512_refuses_broken_hashes_without_panicking() {
    let good = Sha512Hasher.hash(b"k").unwrap();
    for broken in [
        "sha512$$".to_owned(),
        "sha512$$zz".to_owned(),
        good[..good.len() - 1].to_owned(),
        format!("{good}00"),
        format!("{}é", &good[..good.len() - 2]),
    ] {
        assert!(
            matches!(
                Sha512Hasher.verify(b"k", &broken),
                Err(HashError::Malformed(_))
            ),
            "{broken:?}"
        );
    }
    // djangorestframework-api-key compares hex strings: an upper-case row never matches
    // there, so it is refused here too.
    let upper = good.to_uppercase().replace("SHA512", "sha512");
    assert!(
        matches!(
            Sha512Hasher.verify(b"k", &upper),
            Err(HashError::Malformed(_))
        ),
        "{upper}"
    );
}

#[test]
fn unknown_and_empty_hashes_are_refused() {
    let hashers = Hashers::default();
    for stored in [
        "",
        "$",
        "$$",
        "md5$salt$abc",
        "plain",
        "sha256$$00",
        "\u{0}",
    ] {
        assert!(
            matches!(
                hashers.check(b"k", stored),
                Err(HashError::UnknownAlgorithm)
            ),
            "{stored:?}"
        );
    }
}

#[cfg(feature = "sha512")]
#[test]
fn default_prefers_sha512_and_upgrades_others() {
    let hashers = Hashers::default();
    assert_eq!(hashers.preferred().algorithm(), "sha512");
    let stored = hashers.hash(b"key").unwrap();
    assert_eq!(
        (hashers.check(b"key", &stored)).ok(),
        Some(HashCheck {
            matched: true,
            needs_upgrade: false
        })
    );
    assert_eq!(
        (hashers.check(b"nope", &stored)).ok(),
        Some(HashCheck {
            matched: false,
            needs_upgrade: false
        })
    );
}

#[cfg(feature = "argon2")]
#[test]
fn argon2_round_trip_and_obsolete_parameters() {
    let hasher = Argon2Hasher::with_params(1024, 1, 1).unwrap();
    let stored = hasher.hash(b"key").unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{stored}"
    );
    assert_eq!((hasher.verify(b"key", &stored)).ok(), Some(true));
    assert_eq!((hasher.verify(b"kez", &stored)).ok(), Some(false));
    assert!(!hasher.is_obsolete(&stored));
    assert!(
        Argon2Hasher::with_params(2048, 1, 1)
            .unwrap()
            .is_obsolete(&stored)
    );
    // Salted: the same key hashes differently each time.
    assert_ne!(hasher.hash(b"key").unwrap(), stored);
}

#[cfg(feature = "argon2")]
#[test]
fn argon2_refuses_hostile_costs_before_hashing() {
    let hasher = Argon2Hasher::default();
    let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    assert!(matches!(
        hasher.verify(b"k", huge),
        Err(HashError::CostTooHigh(_))
    ));
    let slow = "$argon2id$v=19$m=1024,t=4000000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    assert!(matches!(
        hasher.verify(b"k", slow),
        Err(HashError::CostTooHigh(_))
    ));
    for broken in [
        "$argon2id$",
        "$argon2id$v=19$m=1024,t=1,p=1$",
        "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2q$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    ] {
        assert!(hasher.verify(b"k", broken).is_err(), "{broken}");
    }
}

#[cfg(feature = "scrypt")]
#[test]
fn scrypt_round_trip_and_hostile_costs() {
    let hasher = ScryptHasher::with_params(10, 8, 1).unwrap();
    let stored = hasher.hash(b"key").unwrap();
    assert!(stored.starts_with("$scrypt$ln=10,r=8,p=1$"), "{stored}");
    assert_eq!((hasher.verify(b"key", &stored)).ok(), Some(true));
    assert_eq!((hasher.verify(b"kez", &stored)).ok(), Some(false));
    assert!(ScryptHasher::default().is_obsolete(&stored));
    let huge = stored.replace("ln=10", "ln=30");
    assert!(matches!(
        hasher.verify(b"key", &huge),
        Err(HashError::CostTooHigh(_))
    ));
    assert!(hasher.verify(b"key", "$scrypt$ln=10").is_err());
}

/// Found by fuzzing: `scrypt::Params` multiplies `r · p` unchecked, so these panicked in
/// debug builds ("attempt to multiply with overflow") before the cost ceiling was checked.
#[cfg(feature = "scrypt")]
#[test]
fn scrypt_refuses_overflowing_costs_without_panicking() {
    let hasher = ScryptHasher::default();
    for stored in [
        "$scrypt$ln=1,r=65536,p=65536$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$scrypt$ln=1,r=4294967295,p=4294967295$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$scrypt$ln=1,r=1,p=4294967295$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$scrypt$ln=300,r=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    ] {
        assert!(
            matches!(
                hasher.verify(b"key", stored),
                Err(HashError::CostTooHigh(_))
            ),
            "{stored}"
        );
        assert!(hasher.is_obsolete(stored), "{stored}");
    }
}

#[cfg(feature = "django")]
mod django_vectors {
    use super::*;

    fn check(cost: &str) {
        let hasher = DjangoHasher;
        let mut seen = std::collections::BTreeSet::new();
        for v in vectors().into_iter().filter(|v| v.cost == cost) {
            if matches!(v.algorithm.as_str(), "sha512" | "md5") {
                continue;
            }
            assert!(hasher.recognizes(&v.encoded), "{}", v.encoded);
            assert_eq!(
                (hasher.verify(v.key.as_bytes(), &v.encoded)).ok(),
                Some(true),
                "{}",
                v.encoded
            );
            assert_eq!(
                (hasher.verify(wrong(&v.key).as_bytes(), &v.encoded)).ok(),
                Some(false),
                "{}",
                v.encoded
            );
            seen.insert(v.algorithm);
        }
        let expected = [
            "argon2",
            "bcrypt",
            "bcrypt_sha256",
            "pbkdf2_sha1",
            "pbkdf2_sha256",
            "scrypt",
        ];
        assert_eq!(
            seen.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn low_cost_vectors_verify() {
        check("low");
    }

    #[test]
    fn default_cost_vectors_verify() {
        check("default");
    }

    #[test]
    fn md5_is_not_accepted() {
        for v in vectors().into_iter().filter(|v| v.algorithm == "md5") {
            assert!(matches!(
                Hashers::default().check(v.key.as_bytes(), &v.encoded),
                Err(HashError::UnknownAlgorithm)
            ));
        }
    }

    #[cfg(feature = "sha512")]
    #[test]
    fn django_hashes_are_upgraded() {
        let v = vectors()
            .into_iter()
            .find(|v| v.algorithm == "pbkdf2_sha256")
            .unwrap();
        let check = Hashers::default()
            .check(v.key.as_bytes(), &v.encoded)
            .unwrap();
        assert_eq!(
            check,
            HashCheck {
                matched: true,
                needs_upgrade: true
            }
        );
        assert!(Hashers::default().is_expensive(&v.encoded));
    }

    #[test]
    fn hostile_or_broken_django_hashes() {
        let hasher = DjangoHasher;
        let cases = [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$-1$salt$AAAA",
            "pbkdf2_sha256$abc$salt$AAAA",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$",
            "pbkdf2_sha256$1000$salt$AAAA$extra",
            "bcrypt$$2b$xx$abc",
            "bcrypt$",
            "bcrypt_sha256$$2b$12$tooshort",
            "scrypt$1000$salt$8$1$AAAA",
            "scrypt$0$salt$8$1$AAAA",
            "scrypt$16384$salt$8$1",
            "argon2$argon2id$v=19$m=1024",
            "argon2$",
        ];
        for stored in cases {
            assert!(
                matches!(hasher.verify(b"k", stored), Err(HashError::Malformed(_))),
                "{stored}"
            );
        }
        let expensive = [
            "pbkdf2_sha256$4000000000$salt$AAAA",
            "bcrypt$$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345",
            "scrypt$1073741824$salt$8$1$AAAA",
            "scrypt$16384$salt$8$1000$AAAA",
        ];
        for stored in expensive {
            assert!(
                matches!(hasher.verify(b"k", stored), Err(HashError::CostTooHigh(_))),
                "{stored}"
            );
        }
        assert!(matches!(
            hasher.hash(b"k"),
            Err(HashError::VerifyOnly("django"))
        ));
    }
}

/// The digest is compared in words: a difference in any one byte must still refuse.
#[cfg(feature = "sha512")]
#[test]
fn sha512_compares_every_byte_of_the_digest() {
    let stored = Sha512Hasher.hash(b"key").unwrap();
    assert_eq!((Sha512Hasher.verify(b"key", &stored)).ok(), Some(true));
    for byte in 0..64 {
        let mut tampered = stored.clone().into_bytes();
        let at = "sha512$$".len() + 2 * byte + 1;
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            (Sha512Hasher.verify(b"key", &tampered)).ok(),
            Some(false),
            "byte {byte}"
        );
    }
}

/// Stored digests shorter than their algorithm's output would match many secrets.
#[cfg(all(feature = "django", feature = "argon2", feature = "scrypt"))]
mod digest_lengths {
    use base64ct::{Base64, Encoding};

    use super::*;

    fn pbkdf2_sha256(key: &[u8], iterations: u32, len: usize) -> String {
        let mut out = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, b"salt", iterations, &mut out);
        format!(
            "pbkdf2_sha256${iterations}$salt${}",
            Base64::encode_string(&out)
        )
    }

    #[test]
    fn truncated_django_digests_are_refused() {
        // The reported row: one byte of digest, so 1 secret in 256 matched it.
        assert!(matches!(
            DjangoHasher.verify(b"k", "pbkdf2_sha256$1$c2FsdA$AA=="),
            Err(HashError::Malformed(_))
        ));
        // The key's own digest, cut short, must not verify it.
        for len in [1, 16, 31, 33] {
            let stored = pbkdf2_sha256(b"k", 1, len.min(32));
            let stored = if len == 33 {
                format!("{stored}AA")
            } else {
                stored
            };
            if len == 32 {
                continue;
            }
            assert!(
                matches!(
                    DjangoHasher.verify(b"k", &stored),
                    Err(HashError::Malformed(_))
                ),
                "{len}: {stored}"
            );
        }
        let full = pbkdf2_sha256(b"k", 1, 32);
        assert_eq!(DjangoHasher.verify(b"k", &full).ok(), Some(true));
        assert_eq!(DjangoHasher.verify(b"j", &full).ok(), Some(false));

        let mut sha1 = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(b"k", b"salt", 1, &mut sha1);
        let full = format!("pbkdf2_sha1$1$salt${}", Base64::encode_string(&sha1));
        assert_eq!(DjangoHasher.verify(b"k", &full).ok(), Some(true));
        let short = format!("pbkdf2_sha1$1$salt${}", Base64::encode_string(&sha1[..1]));
        assert!(matches!(
            DjangoHasher.verify(b"k", &short),
            Err(HashError::Malformed(_))
        ));

        // Django's scrypt writes 64 bytes.
        let short = format!(
            "scrypt$16384$salt$8$1${}",
            Base64::encode_string(&[0u8; 32])
        );
        assert!(matches!(
            DjangoHasher.verify(b"k", &short),
            Err(HashError::Malformed(_))
        ));
    }

    #[test]
    fn truncated_phc_outputs_are_refused() {
        let argon2 = Argon2Hasher::with_params(1024, 1, 1).unwrap();
        let stored = argon2.hash(b"k").unwrap();
        let (head, output) = stored.rsplit_once('$').unwrap();
        // 4 bytes of output (6 base64 characters): argon2's minimum, 1 secret in 2^32.
        let short = format!("{head}${}", &output[..6]);
        assert!(
            matches!(argon2.verify(b"k", &short), Err(HashError::Malformed(_))),
            "{short}"
        );
        assert!(
            DjangoHasher
                .verify(b"k", &format!("argon2{short}"))
                .is_err()
        );

        let scrypt = ScryptHasher::with_params(4, 8, 1).unwrap();
        let stored = scrypt.hash(b"k").unwrap();
        let (head, output) = stored.rsplit_once('$').unwrap();
        let short = format!("{head}${}", &output[..22]);
        assert!(
            matches!(scrypt.verify(b"k", &short), Err(HashError::Malformed(_))),
            "{short}"
        );
    }

    /// Just beyond each ceiling is refused before any hashing; the defaults of Django and
    /// of the crates are inside (`default_cost_vectors_verify`, the round trips above).
    #[test]
    fn work_factor_ceilings() {
        let too_high = |stored: &str| {
            matches!(
                DjangoHasher.verify(b"k", stored),
                Err(HashError::CostTooHigh(_))
            )
        };
        assert!(too_high(&pbkdf2_sha256(b"k", 1, 32).replacen(
            "$1$",
            "$3000001$",
            1
        )));
        assert!(!too_high(&pbkdf2_sha256(b"k", 1, 32).replacen(
            "$1$",
            "$1200000$",
            1
        )));
        let bcrypt14 = format!(
            "bcrypt${}",
            "$2b$14$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345"
        );
        assert!(too_high(&bcrypt14));
        let output = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        for params in ["m=131073,t=1,p=1", "m=131072,t=9,p=1", "m=65536,t=17,p=1"] {
            let stored = format!("$argon2id$v=19${params}$c2FsdHNhbHRzYWx0${output}");
            assert!(
                matches!(
                    Argon2Hasher::default().verify(b"k", &stored),
                    Err(HashError::CostTooHigh(_))
                ),
                "{stored}"
            );
        }
        // Django's default argon2 (100 MiB, t=2, p=8) passes the ceilings (and then does
        // not match).
        let django = format!("$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHRzYWx0${output}");
        assert_eq!(
            Argon2Hasher::default().verify(b"k", &django).ok(),
            Some(false)
        );
        let scrypt = ScryptHasher::default();
        for params in ["ln=17,r=8,p=2", "ln=18,r=8,p=1", "ln=17,r=16,p=1"] {
            let stored = format!("$scrypt${params}$c2FsdHNhbHQ${output}");
            assert!(
                matches!(scrypt.verify(b"k", &stored), Err(HashError::CostTooHigh(_))),
                "{stored}"
            );
        }
    }
}

#[cfg(all(feature = "sha512", feature = "argon2"))]
#[test]
fn hashes_that_can_make_keys_are_migrated_only_on_request() {
    let argon = Argon2Hasher::with_params(1024, 1, 1).unwrap();
    let stored = argon.hash(b"key").unwrap();
    let default = Hashers::new(Sha512Hasher).with_legacy(argon.clone());
    assert_eq!(
        default.check(b"key", &stored).ok(),
        Some(HashCheck {
            matched: true,
            needs_upgrade: false
        }),
        "an Argon2id hash must not become SHA-512 by default"
    );
    let migrating = default.migrate_all();
    assert_eq!(
        migrating.check(b"key", &stored).ok(),
        Some(HashCheck {
            matched: true,
            needs_upgrade: true
        })
    );
    assert!(!migrating.check(b"nope", &stored).unwrap().needs_upgrade);
}
