//! Reads a record back from the JSON the admin API sends (`apikeys::record_json`), so
//! that `apikeys --server` prints a remote key with the same printers as a local one.
//! The hash never travels: a decoded record has an empty `hashed_key`.

use apikeys::RefillInterval;
use apikeys::{ApiKey, Credits, CreditsError, Metadata, RateLimit, RateLimitError, Refill};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, Time};

/// Why a record from the admin cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A field is missing or of the wrong JSON type.
    #[error("the admin sent a record whose `{0}` is missing or malformed")]
    Field(&'static str),
    /// A timestamp is not RFC 3339.
    #[error("the admin sent a record whose `{field}` is not an RFC 3339 time")]
    Time {
        /// The field.
        field: &'static str,
        /// What the parser said.
        #[source]
        source: time::error::Parse,
    },
    /// `rate_limit` is not like `100/s`.
    #[error("the admin sent a record with an invalid rate_limit")]
    RateLimit(#[source] RateLimitError),
    /// `credits` or its refill is invalid.
    #[error("the admin sent a record with invalid credits")]
    Credits(#[source] CreditsError),
}

/// The record `value` describes (as `record_json` wrote it at `now`).
pub fn decode_record(value: &Value, now: OffsetDateTime) -> Result<ApiKey, DecodeError> {
    let object = value.as_object().ok_or(DecodeError::Field("record"))?;
    let get = |field: &'static str| object.get(field).unwrap_or(&Value::Null);
    let mut key = ApiKey::new(
        string(get("prefix"), "prefix")?,
        String::new(),
        string(get("name"), "name")?,
        time(get("created"), "created")?,
    );
    key.expires = optional_time(get("expires"), "expires")?;
    key.revoked = boolean(get("revoked"), "revoked")?;
    key.scopes = get("scopes")
        .as_array()
        .ok_or(DecodeError::Field("scopes"))?
        .iter()
        .map(|scope| string(scope, "scopes"))
        .collect::<Result<_, _>>()?;
    key.metadata = match get("metadata") {
        Value::Object(map) => map.clone(),
        Value::Null => Metadata::new(),
        _ => return Err(DecodeError::Field("metadata")),
    };
    key.owner = optional_string(get("owner"), "owner")?;
    key.disabled = boolean(get("disabled"), "disabled")?;
    key.last_used = optional_time(get("last_used"), "last_used")?;
    key.predecessor = optional_string(get("predecessor"), "predecessor")?;
    key.successor = optional_string(get("successor"), "successor")?;
    key.rate_limit = optional_string(get("rate_limit"), "rate_limit")?
        .map(|limit| limit.parse::<RateLimit>())
        .transpose()
        .map_err(DecodeError::RateLimit)?;
    key.credits = match get("credits") {
        Value::Null => None,
        credits => Some(decode_credits(credits, now)?),
    };
    Ok(key)
}

/// Credits as sent: the count, the refill and the next refill, from which the period's
/// start is worked back so that `Credits::next_refill` gives the same instant again.
fn decode_credits(value: &Value, now: OffsetDateTime) -> Result<Credits, DecodeError> {
    let object = value.as_object().ok_or(DecodeError::Field("credits"))?;
    let get = |field: &'static str| object.get(field).unwrap_or(&Value::Null);
    let remaining = get("remaining")
        .as_u64()
        .ok_or(DecodeError::Field("credits.remaining"))?;
    let refill = optional_string(get("refill"), "credits.refill")?
        .map(|refill| refill.parse::<Refill>())
        .transpose()
        .map_err(DecodeError::Credits)?;
    let next = optional_time(get("next_refill"), "credits.next_refill")?;
    let start = match (refill, next) {
        (Some(refill), Some(next)) => period_start(refill.interval, next).unwrap_or(now),
        _ => now,
    };
    let mut credits = Credits::new(remaining, start).map_err(DecodeError::Credits)?;
    if let Some(refill) = refill {
        credits = credits.with_refill(refill);
    }
    Ok(credits)
}

/// The start of the period that ends at `next` (the inverse of `RefillInterval::next_after`).
fn period_start(interval: RefillInterval, next: OffsetDateTime) -> Option<OffsetDateTime> {
    match interval {
        RefillInterval::Daily => next.checked_sub(time::Duration::DAY),
        RefillInterval::Monthly => {
            let (year, month) = match next.month() {
                Month::January => (next.year().checked_sub(1)?, Month::December),
                m => (next.year(), m.previous()),
            };
            Date::from_calendar_date(year, month, 1)
                .ok()
                .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        }
        RefillInterval::Every(period) => next.checked_sub(time::Duration::try_from(period).ok()?),
        // An interval this version does not know: the next refill is then shown as the
        // server's clock would compute it from now.
        _ => None,
    }
}

fn string(value: &Value, field: &'static str) -> Result<String, DecodeError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or(DecodeError::Field(field))
}

fn optional_string(value: &Value, field: &'static str) -> Result<Option<String>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        value => string(value, field).map(Some),
    }
}

fn boolean(value: &Value, field: &'static str) -> Result<bool, DecodeError> {
    value.as_bool().ok_or(DecodeError::Field(field))
}

fn time(value: &Value, field: &'static str) -> Result<OffsetDateTime, DecodeError> {
    let text = value.as_str().ok_or(DecodeError::Field(field))?;
    OffsetDateTime::parse(text, &Rfc3339).map_err(|source| DecodeError::Time { field, source })
}

fn optional_time(
    value: &Value,
    field: &'static str,
) -> Result<Option<OffsetDateTime>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        value => time(value, field).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikeys::record_json;
    use serde_json::json;
    use time::macros::datetime;

    fn full_key(refill: &str, period_start: OffsetDateTime) -> ApiKey {
        let mut key = ApiKey::new(
            "ak_abc",
            "sha512$$00",
            "billing",
            datetime!(2026-01-02 03:04:05.123456 UTC),
        );
        key.expires = Some(datetime!(2027-01-01 00:00 UTC));
        key.revoked = true;
        key.scopes = ["read".to_owned(), "write".to_owned()].into();
        key.metadata = json!({"team": "ops", "n": 3}).as_object().cloned().unwrap();
        key.owner = Some("org_1".into());
        key.disabled = true;
        key.last_used = Some(datetime!(2026-06-01 12:00:00.5 UTC));
        key.predecessor = Some("ak_old".into());
        key.successor = Some("ak_new".into());
        key.rate_limit = Some("100/s".parse().unwrap());
        key.credits = Some(
            Credits::new(42, period_start)
                .unwrap()
                .with_refill(refill.parse().unwrap()),
        );
        key
    }

    #[test]
    fn every_field_round_trips_through_record_json() {
        let now = datetime!(2026-06-15 10:00 UTC);
        for (refill, start) in [
            ("1000/month", datetime!(2026-06-01 00:00 UTC)),
            ("1000/day", datetime!(2026-06-15 00:00 UTC)),
            ("500/12h", datetime!(2026-06-15 09:00 UTC)),
        ] {
            let key = full_key(refill, start);
            let decoded = decode_record(&record_json(&key, now), now).unwrap();
            let mut expected = key.clone();
            expected.hashed_key = String::new();
            assert_eq!(decoded, expected, "refill {refill}");
            // And back again: the same JSON, so a remote `show --json` prints what the server sent.
            assert_eq!(record_json(&decoded, now), record_json(&key, now));
        }
    }

    #[test]
    fn a_bare_record_round_trips() {
        let now = datetime!(2026-06-15 10:00 UTC);
        let key = ApiKey::new("ak_x", String::new(), "n", datetime!(2026-01-01 00:00 UTC));
        assert_eq!(decode_record(&record_json(&key, now), now).unwrap(), key);
    }

    #[test]
    fn malformed_records_are_errors() {
        let now = datetime!(2026-06-15 10:00 UTC);
        let key = full_key("1000/day", datetime!(2026-06-15 00:00 UTC));
        let good = record_json(&key, now);
        for (field, bad) in [
            ("prefix", json!(1)),
            ("created", json!("yesterday")),
            ("scopes", json!("read")),
            ("rate_limit", json!("fast")),
            ("credits", json!({"remaining": -1})),
        ] {
            let mut value = good.clone();
            value[field] = bad;
            assert!(decode_record(&value, now).is_err(), "{field}");
        }
        assert!(decode_record(&json!([]), now).is_err());
    }
}
