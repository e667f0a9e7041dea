//! The JSON bodies every example server answers with.

use apikeys::VerifiedKey;
use serde_json::{Value, json};

/// The scope `GET /heroes` requires.
pub const HEROES_SCOPE: &str = "heroes:read";

/// `GET /public` (no key needed) and `GET /private` (a key needed): the same bytes, so that
/// `benches/http.sh` measures what a key costs a request and nothing else.
pub fn public_body() -> Value {
    json!({ "ok": true })
}

/// `GET /ping`: who is calling.
pub fn ping_body(key: &VerifiedKey) -> Value {
    json!({ "ok": true, "prefix": key.prefix(), "name": key.name() })
}

/// `GET /heroes`: something worth a scope.
pub fn heroes_body() -> Value {
    json!({ "heroes": ["Ada Lovelace", "Grace Hopper", "Katherine Johnson"] })
}
