//! Record and index entry decoding of the redb store.

use apikeys_redb::fuzzing::{decode_index, decode_record, encode_index, encode_record, to_micros};

const PREFIX: &str = "Fz000000";

/// Decodes the input as a stored value of `apikeys-redb`: with an even first byte the rest
/// is a record, with an odd one an index entry.
///
/// Decoding gives a key or an error, never a panic, whatever the bytes (a corrupt file
/// must read as a corrupt record). A decoded record, written back, reads back the same
/// (not necessarily byte for byte: metadata JSON and scope order are normalised), and the
/// index entry written next to it carries its revoked flag, expiry and name.
pub fn redb_record(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        // Nothing to compare with: an index entry is either read or refused.
        let _ = decode_index(bytes);
        return;
    }
    let Ok(key) = decode_record(PREFIX, bytes) else {
        return;
    };
    assert_eq!(key.prefix, PREFIX);
    let written = encode_record(&key);
    let again = decode_record(PREFIX, &written).expect("a re-encoded record decodes");
    assert_eq!(again, key, "a decoded record does not survive writing back");
    assert_eq!(encode_record(&again), written, "encoding is not stable");

    let (revoked, expires, name) = decode_index(&encode_index(&key)).expect("index decodes");
    assert_eq!(revoked, key.revoked);
    assert_eq!(expires, key.expires.map(to_micros));
    assert_eq!(name, key.name);
}
