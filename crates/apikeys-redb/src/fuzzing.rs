//! The on-disk codec, exposed for the fuzz targets (feature `fuzzing`). Not a stable API:
//! it changes with the file format.

use apikeys::ApiKey;

use crate::codec;

/// Decodes a record value as the store reads it from the records table.
pub fn decode_record(prefix: &str, bytes: &[u8]) -> Result<ApiKey, String> {
    codec::decode_record(prefix, bytes)
}

/// Encodes a record value as the store writes it.
pub fn encode_record(key: &ApiKey) -> Vec<u8> {
    codec::encode_record(key)
}

/// An index entry's fields as listing reads them: revoked, disabled, expiry in microseconds, name.
pub type IndexFields = (bool, bool, Option<i64>, String);

/// Decodes an index entry value as listing reads it.
pub fn decode_index(bytes: &[u8]) -> Result<IndexFields, String> {
    codec::decode_index(bytes).map(|e| (e.revoked, e.disabled, e.expires, e.name.to_owned()))
}

/// Encodes the index entry the store writes next to `key`'s record.
pub fn encode_index(key: &ApiKey) -> Vec<u8> {
    codec::encode_index(key)
}

/// Microseconds since the Unix epoch, as stored.
pub fn to_micros(t: time::OffsetDateTime) -> i64 {
    codec::to_micros(t)
}

/// Encodes a record as format version 1 (apikeys-redb 0.1) wrote it, without the lifecycle
/// fields: the old format's reader must keep reading it.
pub fn encode_record_v1(key: &ApiKey) -> Vec<u8> {
    codec::encode_record_v1(key)
}

/// Encodes a record as format version 2 wrote it, without the usage limits.
pub fn encode_record_v2(key: &ApiKey) -> Vec<u8> {
    codec::encode_record_v2(key)
}

/// Sets the revoked bit of stored record bytes in place, as revoking a record the store
/// cannot decode does; whether it changed them.
pub fn revoke_in_place(bytes: &mut [u8]) -> bool {
    codec::revoke_in_place(bytes)
}
