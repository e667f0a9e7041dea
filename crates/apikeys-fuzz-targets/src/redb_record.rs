//! Record and index entry decoding of the redb store.

use apikeys::ApiKey;
use apikeys_redb::fuzzing::{
    decode_index, decode_record, encode_index, encode_record, encode_record_v1, encode_record_v2,
    revoke_in_place, to_micros,
};

const PREFIX: &str = "Fz000000";

/// Decodes the input as a stored value of `apikeys-redb`: with an even first byte the rest
/// is a record (format version 1, 2 or 3), with an odd one an index entry.
///
/// Decoding gives a key or an error, never a panic, whatever the bytes (a corrupt file
/// must read as a corrupt record). A decoded record, written back, reads back the same
/// (not necessarily byte for byte: metadata JSON and scope order are normalised), also
/// through the version 1 and 2 encodings for the fields they have; the index entry written
/// next to it carries its revoked and disabled flags, expiry and name; and revoking the
/// bytes in place (what the store does to a record it cannot decode) changes nothing but
/// `revoked`, on any input.
pub fn redb_record(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        // Nothing to compare with: an index entry is either read or refused.
        let _ = decode_index(bytes);
        return;
    }
    let decoded = decode_record(PREFIX, bytes);
    let mut revoked = bytes.to_vec();
    let flipped = revoke_in_place(&mut revoked);
    match (&decoded, decode_record(PREFIX, &revoked)) {
        (Ok(key), Ok(after)) => {
            assert_eq!(flipped, !key.revoked, "the bit is the revoked flag");
            assert_eq!(
                after,
                ApiKey {
                    revoked: true,
                    ..key.clone()
                },
                "revoking in place changed another field"
            );
        }
        (Ok(_), Err(e)) => panic!("revoking in place broke a record: {e}"),
        // Revoking never makes undecodable bytes readable as an active key.
        (Err(_), Ok(after)) => assert!(after.revoked),
        (Err(_), Err(_)) => {}
    }
    let Ok(key) = decoded else {
        return;
    };
    assert_eq!(key.prefix, PREFIX);
    let written = encode_record(&key);
    let again = decode_record(PREFIX, &written).expect("a re-encoded record decodes");
    assert_eq!(again, key, "a decoded record does not survive writing back");
    assert_eq!(encode_record(&again), written, "encoding is not stable");

    let without_limits = ApiKey {
        rate_limit: None,
        credits: None,
        ..key.clone()
    };
    let v2 = decode_record(PREFIX, &encode_record_v2(&key)).expect("a v2 record decodes");
    assert_eq!(v2, without_limits, "version 2 lost a field it has");

    let old = decode_record(PREFIX, &encode_record_v1(&key)).expect("a v1 record decodes");
    assert_eq!(
        old,
        ApiKey {
            owner: None,
            disabled: false,
            last_used: None,
            predecessor: None,
            successor: None,
            ..without_limits
        },
        "version 1 lost a field it has"
    );

    let (revoked, disabled, expires, name) =
        decode_index(&encode_index(&key)).expect("index decodes");
    assert_eq!((revoked, disabled), (key.revoked, key.disabled));
    assert_eq!(expires, key.expires.map(to_micros));
    assert_eq!(name, key.name);
}
