//! The one JSON shape of a key record, shared by `apikeys show --json` and the admin's
//! JSON API, so that a script reads both the same way. Never the hash, never a key.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::record::ApiKey;

/// RFC 3339 in UTC, to the microsecond as stored.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// A record as JSON: `prefix`, `name`, `created`, `expires`, `expired` (at `now`),
/// `revoked`, `scopes`, `metadata`, then the lifecycle fields `owner`, `disabled`,
/// `last_used`, `predecessor` and `successor`, then the usage limits: `rate_limit` (as
/// written, like `"100/s"`, or null) and `credits` (`{"remaining", "refill", "next_refill"}`,
/// or null), both as at `now`. The hash is left out on purpose.
pub fn record_json(key: &ApiKey, now: OffsetDateTime) -> Value {
    json!({
        "prefix": key.prefix,
        "name": key.name,
        "created": rfc3339(key.created),
        "expires": key.expires.map(rfc3339),
        "expired": key.is_expired_at(now),
        "revoked": key.revoked,
        "scopes": key.scopes,
        "metadata": key.metadata,
        "owner": key.owner,
        "disabled": key.disabled,
        "last_used": key.last_used.map(rfc3339),
        "predecessor": key.predecessor,
        "successor": key.successor,
        "rate_limit": key.rate_limit.map(|limit| limit.to_string()),
        "credits": key.credits.as_ref().map(|credits| {
            // As at `now`: a refill that is due but not yet spent from is counted.
            let mut credits = credits.clone();
            credits.refresh(now);
            json!({
                "remaining": credits.remaining,
                "refill": credits.refill.map(|refill| refill.to_string()),
                "next_refill": credits.next_refill().map(rfc3339),
            })
        }),
    })
}
