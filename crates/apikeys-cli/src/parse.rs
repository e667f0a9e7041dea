//! Parsers for command-line values: times, durations, metadata.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// An RFC 3339 time, e.g. `2027-01-31T00:00:00Z`.
pub(crate) fn parse_timestamp(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("{text:?} is not an RFC 3339 time like 2027-01-31T00:00:00Z"))
}

/// A duration: a positive whole number and a unit, `s`, `m`, `h` or `d` (`90s`, `15m`,
/// `12h`, `30d`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like 90s, 15m, 12h or 30d");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at_checked(split).ok_or_else(bad)?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let number: i64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let seconds = number.checked_mul(seconds_per_unit).ok_or_else(bad)?;
    if seconds == 0 {
        return Err(format!("{text:?}: a duration must be positive"));
    }
    // Beyond year 9999 nothing can be represented anyway.
    if seconds > 10_000 * 366 * 86_400 {
        return Err(format!("{text:?} is too long"));
    }
    Ok(Duration::seconds(seconds))
}

/// A grace period: a duration as [`parse_duration`] reads it, or zero (`0`, `0s`, `0h`, …),
/// which revokes the old key at once.
pub(crate) fn parse_grace(text: &str) -> Result<Duration, String> {
    let digits = text.trim_end_matches(['s', 'm', 'h', 'd']);
    let unit_len = text.len() - digits.len();
    if unit_len <= 1 && !digits.is_empty() && digits.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

/// A metadata field, `KEY=VALUE`: the value is read as JSON when it is valid JSON
/// (`org=42`, `beta=true`, `tags=["a"]`) and as a string otherwise (`plan=gold`).
pub(crate) fn parse_meta(text: &str) -> Result<(String, serde_json::Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("{text:?}: the metadata key is empty"));
    }
    let value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        for bad in [
            "",
            "d",
            "30",
            "-5d",
            "5 d",
            "5w",
            "1.5h",
            "0s",
            "99999999999999999d",
            "３d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn graces() {
        for zero in ["0", "0s", "00h", "0d"] {
            assert_eq!(parse_grace(zero), Ok(Duration::ZERO), "{zero:?}");
        }
        assert_eq!(parse_grace("24h"), Ok(Duration::hours(24)));
        for bad in ["", "s", "0x", "0ss", "-1h", "1.5h"] {
            assert!(parse_grace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2027-01-31T00:00:00Z").expect("parse");
        assert_eq!(t.year(), 2027);
        assert!(parse_timestamp("2027-01-31T00:00:00+02:00").is_ok());
        for bad in ["2027-01-31", "tomorrow", "2027-13-01T00:00:00Z"] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metadata() {
        assert_eq!(parse_meta("org=42"), Ok(("org".into(), 42.into())));
        assert_eq!(parse_meta("plan=gold"), Ok(("plan".into(), "gold".into())));
        assert_eq!(parse_meta("note="), Ok(("note".into(), "".into())));
        assert_eq!(parse_meta("eq=a=b"), Ok(("eq".into(), "a=b".into())));
        assert!(parse_meta("noequals").is_err());
        assert!(parse_meta("=x").is_err());
    }
}
