//! Reading what admins type: durations, expiries, scopes, metadata, list filters and
//! cursors, shared by the pages and the JSON API so both accept the same input.

use std::collections::BTreeSet;

use apikeys::{
    ApiKey, Cursor, Edit, ListQuery, Metadata, NewKey, StatusFilter, validate_metadata,
    validate_name, validate_owner, validate_scope,
};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// How far ahead "expiring soon" looks.
pub(crate) const EXPIRING_SOON: Duration = Duration::days(7);
/// Rows per page of the key list unless asked otherwise.
pub(crate) const PAGE_SIZE: usize = 50;

/// `90s`, `15m`, `12h`, `30d` (or `0`).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    if number < 0 {
        return None;
    }
    let seconds = match unit {
        's' => Some(number),
        'm' => number.checked_mul(60),
        'h' => number.checked_mul(3600),
        'd' => number.checked_mul(86_400),
        _ => None,
    }?;
    Some(Duration::seconds(seconds))
}

/// An expiry: empty is none; a duration is from now; else RFC 3339, or a browser's
/// `datetime-local` value / a bare date, read as UTC.
pub(crate) fn parse_expiry(
    text: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(d) = parse_duration(text) {
        return now
            .checked_add(d)
            .map(Some)
            .ok_or_else(|| "that is too far in the future".to_owned());
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(Some(at));
    }
    let local = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    if let Ok(at) = PrimitiveDateTime::parse(text, local) {
        return Ok(Some(at.assume_utc()));
    }
    let day = format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, day) {
        return Ok(Some(date.midnight().assume_utc()));
    }
    Err("not a date: use RFC 3339 (2027-01-31T00:00:00Z) or a duration (30d)".to_owned())
}

/// Scopes separated by commas or blanks.
pub(crate) fn parse_scopes(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A JSON object; empty is `{}`.
pub(crate) fn parse_metadata(text: &str) -> Result<Metadata, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Metadata::new());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("must be a JSON object, like {\"team\": \"billing\"}".to_owned()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// `all`, `active`, `expiring`, `expired`, `disabled`, `revoked`.
pub(crate) fn parse_status(text: &str) -> Option<StatusFilter> {
    Some(match text {
        "" | "all" => StatusFilter::All,
        "active" => StatusFilter::Active,
        "expiring" => StatusFilter::ExpiringWithin(EXPIRING_SOON),
        "expired" => StatusFilter::Expired,
        "disabled" => StatusFilter::Disabled,
        "revoked" => StatusFilter::Revoked,
        _ => return None,
    })
}

/// A cursor as text: the creation time in Unix nanoseconds, `_`, the prefix.
pub(crate) fn cursor_text(cursor: &Cursor) -> String {
    format!(
        "{}_{}",
        cursor.created.unix_timestamp_nanos(),
        cursor.prefix
    )
}

pub(crate) fn parse_cursor(text: &str) -> Option<Cursor> {
    let (nanos, prefix) = text.split_once('_')?;
    let created = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some(Cursor {
        created,
        prefix: prefix.to_owned(),
    })
}

/// The list filters of a query string; `Err((parameter, why))` for a bad one.
pub(crate) fn list_query(params: &[(String, String)]) -> Result<ListQuery, (&'static str, String)> {
    let mut query = ListQuery::new().limit(PAGE_SIZE);
    for (name, value) in params {
        match name.as_str() {
            "search" if !value.trim().is_empty() => query = query.search(value.trim()),
            "owner" if !value.trim().is_empty() => query = query.owner(value.trim()),
            "status" => {
                let status = parse_status(value).ok_or(("status", format!(
                    "unknown status {value:?}: use all, active, expiring, expired, disabled or revoked"
                )))?;
                query = query.status(status);
            }
            "limit" => {
                let limit: usize = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=ListQuery::MAX_LIMIT).contains(n))
                    .ok_or((
                        "limit",
                        format!("must be a number from 1 to {}", ListQuery::MAX_LIMIT),
                    ))?;
                query = query.limit(limit);
            }
            "cursor" if !value.is_empty() => {
                let cursor = parse_cursor(value)
                    .ok_or(("cursor", "not a cursor this admin gave out".to_owned()))?;
                query = query.after(cursor);
            }
            _ => {}
        }
    }
    Ok(query)
}

/// A key's fields as typed into the create or edit form, kept to show them again.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyForm {
    pub(crate) name: String,
    pub(crate) scopes: String,
    pub(crate) expires: String,
    pub(crate) owner: String,
    pub(crate) metadata: String,
}

/// Messages by field name (`name`, `scopes`, `expires`, `owner`, `metadata`).
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(pub(crate) Vec<(&'static str, String)>);

impl FieldErrors {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The checked fields of a form.
struct Checked {
    name: String,
    scopes: BTreeSet<String>,
    expires: Option<OffsetDateTime>,
    owner: Option<String>,
    metadata: Metadata,
}

impl KeyForm {
    pub(crate) fn from_body(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "name" => &mut form.name,
                "scopes" => &mut form.scopes,
                "expires" => &mut form.expires,
                "owner" => &mut form.owner,
                "metadata" => &mut form.metadata,
                _ => continue,
            };
            *slot = value.into_owned();
        }
        form
    }

    /// The form as the record now is, for editing.
    pub(crate) fn of(key: &ApiKey) -> Self {
        Self {
            name: key.name.clone(),
            scopes: key.scopes.iter().cloned().collect::<Vec<_>>().join(" "),
            expires: key.expires.map(apikeys::rfc3339).unwrap_or_default(),
            owner: key.owner.clone().unwrap_or_default(),
            metadata: if key.metadata.is_empty() {
                String::new()
            } else {
                serde_json::Value::Object(key.metadata.clone()).to_string()
            },
        }
    }

    /// Every field checked, every problem reported at once.
    fn check(&self, now: OffsetDateTime) -> Result<Checked, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_owned();
        if let Err(e) = validate_name(&name) {
            errors.add("name", e.to_string());
        }
        let scopes = parse_scopes(&self.scopes);
        for scope in &scopes {
            if let Err(e) = validate_scope(scope) {
                errors.add("scopes", format!("{scope:?}: {e}"));
            }
        }
        let expires = parse_expiry(&self.expires, now).unwrap_or_else(|e| {
            errors.add("expires", e);
            None
        });
        if let Some(Err(e)) = expires.map(apikeys::validate_expiry) {
            errors.add("expires", e.to_string());
        }
        let owner = Some(self.owner.trim().to_owned()).filter(|o| !o.is_empty());
        if let Some(Err(e)) = owner.as_deref().map(validate_owner) {
            errors.add("owner", e.to_string());
        }
        let metadata = parse_metadata(&self.metadata).unwrap_or_else(|e| {
            errors.add("metadata", e);
            Metadata::new()
        });
        if let Err(e) = validate_metadata(&metadata) {
            errors.add("metadata", e.to_string());
        }
        if errors.is_empty() {
            Ok(Checked {
                name,
                scopes,
                expires,
                owner,
                metadata,
            })
        } else {
            Err(errors)
        }
    }

    pub(crate) fn new_key(&self, now: OffsetDateTime) -> Result<NewKey, FieldErrors> {
        let c = self.check(now)?;
        let mut new = NewKey::named(c.name).scopes(c.scopes).metadata(c.metadata);
        if let Some(at) = c.expires {
            new = new.expires(at);
        }
        if let Some(owner) = c.owner {
            new = new.owner(owner);
        }
        Ok(new)
    }

    /// An edit setting only the fields that differ from `current`.
    pub(crate) fn edit(&self, current: &ApiKey, now: OffsetDateTime) -> Result<Edit, FieldErrors> {
        let c = self.check(now)?;
        let mut edit = Edit::new();
        if c.name != current.name {
            edit = edit.name(c.name);
        }
        if c.scopes != current.scopes {
            edit = edit.scopes(c.scopes);
        }
        if c.metadata != current.metadata {
            edit = edit.metadata(c.metadata);
        }
        // The form shows the stored expiry to the microsecond, so an untouched field
        // compares equal.
        if c.expires != current.expires {
            edit = match c.expires {
                Some(at) => edit.expires(at),
                None => edit.no_expiry(),
            };
        }
        if c.owner != current.owner {
            edit = match c.owner {
                Some(owner) => edit.owner(owner),
                None => edit.no_owner(),
            };
        }
        Ok(edit)
    }
}

/// A form field's value from a urlencoded body.
pub(crate) fn field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_duration("24h"), Some(Duration::hours(24)));
        assert_eq!(parse_duration("30d"), Some(Duration::days(30)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "h", "-1h", "1w", "1.5h", "99999999999999999d", "é"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiries() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(parse_expiry("", now), Ok(None));
        assert_eq!(parse_expiry("1d", now), Ok(Some(now + Duration::days(1))));
        let at = parse_expiry("2027-01-31T00:00:00Z", now).unwrap().unwrap();
        assert_eq!(at.year(), 2027);
        assert_eq!(
            parse_expiry("2027-01-31T10:30", now)
                .unwrap()
                .unwrap()
                .hour(),
            10
        );
        assert_eq!(parse_expiry("2027-01-31", now).unwrap().unwrap().day(), 31);
        assert!(parse_expiry("tomorrow", now).is_err());
        assert!(parse_expiry("2027-02-31", now).is_err());
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            created: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap(),
            prefix: "acme_AbC".into(),
        };
        assert_eq!(parse_cursor(&cursor_text(&cursor)), Some(cursor));
        assert_eq!(parse_cursor("nope"), None);
        assert_eq!(parse_cursor("x_y"), None);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let form = KeyForm {
            name: "x".repeat(51),
            scopes: "ok bad\u{7}".into(),
            expires: "someday".into(),
            owner: String::new(),
            metadata: "[1]".into(),
        };
        let errors = form.new_key(OffsetDateTime::now_utc()).unwrap_err();
        for field in ["name", "scopes", "expires", "metadata"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        assert!(errors.get("owner").is_none());
    }
}
