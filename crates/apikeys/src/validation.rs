//! What a key's fields may hold, checked the same way at creation and at every edit.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::record::Metadata;

/// Longest key name, in characters (djangorestframework-api-key's limit).
pub const MAX_NAME_CHARS: usize = 50;
/// Longest scope, in characters.
pub const MAX_SCOPE_CHARS: usize = 100;
/// Longest owner id, in characters.
pub const MAX_OWNER_CHARS: usize = 100;
/// Deepest nesting of metadata (objects and arrays), counting the top-level object as 1.
///
/// serde_json refuses to read back documents nested ~128 levels deep, so a store could hold
/// a record it cannot decode; the bound keeps every accepted record readable.
pub const MAX_METADATA_DEPTH: usize = 32;
/// Largest metadata, in bytes of compact JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The field of a key that failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The key's name.
    Name,
    /// One of the key's scopes.
    Scope,
    /// The application's metadata.
    Metadata,
    /// The expiry.
    Expires,
    /// The owner (an organisation or customer id).
    Owner,
    /// The credits.
    Credits,
}

impl Field {
    /// The field's name as the command line and the JSON API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Scope => "scope",
            Self::Metadata => "metadata",
            Self::Expires => "expires",
            Self::Owner => "owner",
            Self::Credits => "credits",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of a new or edited key that cannot be stored, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The field is empty or blank.
    #[error("invalid {field}: must not be empty")]
    Empty {
        /// Which field.
        field: Field,
    },
    /// The field is longer than allowed.
    #[error("invalid {field}: must be at most {max} characters, got {actual}")]
    TooLong {
        /// Which field.
        field: Field,
        /// The limit, in characters.
        max: usize,
        /// The length given, in characters.
        actual: usize,
    },
    /// The field holds a character it may not (a control or bidirectional-override
    /// character, whitespace in a scope, a comma in a scope).
    #[error("invalid {field}: must not contain {what}")]
    ForbiddenCharacter {
        /// Which field.
        field: Field,
        /// What kind of character.
        what: &'static str,
    },
    /// The metadata is not a JSON object.
    #[error("invalid metadata: must be a JSON object")]
    MetadataNotAnObject,
    /// The metadata nests deeper than [`MAX_METADATA_DEPTH`].
    #[error("invalid metadata: nested deeper than {max} levels")]
    MetadataTooDeep {
        /// The limit.
        max: usize,
    },
    /// The metadata is larger than [`MAX_METADATA_BYTES`] as compact JSON.
    #[error("invalid metadata: larger than {max} bytes")]
    MetadataTooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The application's value could not be turned into JSON.
    #[error("invalid metadata: not serializable as JSON")]
    MetadataNotSerializable(#[source] Arc<serde_json::Error>),
    /// The expiry is outside the years 1 to 9999 in UTC, or `now + duration` overflows.
    #[error("invalid expiry: outside the years 1 to 9999 (UTC)")]
    ExpiryOutOfRange,
    /// More credits than [`MAX_CREDITS`](crate::MAX_CREDITS).
    #[error("invalid credits: at most 2^53 - 1")]
    CreditsOutOfRange,
}

impl ValidationError {
    /// The field that failed.
    pub fn field(&self) -> Field {
        match self {
            Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::ForbiddenCharacter { field, .. } => *field,
            Self::MetadataNotAnObject
            | Self::MetadataTooDeep { .. }
            | Self::MetadataTooLarge { .. }
            | Self::MetadataNotSerializable(_) => Field::Metadata,
            Self::ExpiryOutOfRange => Field::Expires,
            Self::CreditsOutOfRange => Field::Credits,
        }
    }
}

/// Unicode's bidirectional formatting characters: they can make a name display as something
/// else than it is (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a key name: 1 to 50 characters, not blank, no control or bidi-override characters.
pub fn validate_name(name: &str) -> Result<(), ValidationError> {
    let field = Field::Name;
    let actual = name.chars().count();
    if name.trim().is_empty() {
        Err(ValidationError::Empty { field })
    } else if actual > MAX_NAME_CHARS {
        Err(ValidationError::TooLong {
            field,
            max: MAX_NAME_CHARS,
            actual,
        })
    } else if name.chars().any(char::is_control) {
        Err(ValidationError::ForbiddenCharacter {
            field,
            what: "control characters",
        })
    } else if name.chars().any(is_bidi_control) {
        Err(ValidationError::ForbiddenCharacter {
            field,
            what: "bidirectional formatting characters",
        })
    } else {
        Ok(())
    }
}

/// Checks an owner id: 1 to 100 characters, not blank, no control or bidi-override
/// characters (it is shown to people and matched exactly by listings).
pub fn validate_owner(owner: &str) -> Result<(), ValidationError> {
    let field = Field::Owner;
    let actual = owner.chars().count();
    if owner.trim().is_empty() {
        Err(ValidationError::Empty { field })
    } else if actual > MAX_OWNER_CHARS {
        Err(ValidationError::TooLong {
            field,
            max: MAX_OWNER_CHARS,
            actual,
        })
    } else if owner.chars().any(char::is_control) {
        Err(ValidationError::ForbiddenCharacter {
            field,
            what: "control characters",
        })
    } else if owner.chars().any(is_bidi_control) {
        Err(ValidationError::ForbiddenCharacter {
            field,
            what: "bidirectional formatting characters",
        })
    } else {
        Ok(())
    }
}

/// Checks a scope: 1 to 100 characters, no whitespace, control characters or commas (lists
/// of scopes are written with commas).
pub fn validate_scope(scope: &str) -> Result<(), ValidationError> {
    let field = Field::Scope;
    let actual = scope.chars().count();
    let forbidden = |what| Err(ValidationError::ForbiddenCharacter { field, what });
    if actual == 0 {
        Err(ValidationError::Empty { field })
    } else if actual > MAX_SCOPE_CHARS {
        Err(ValidationError::TooLong {
            field,
            max: MAX_SCOPE_CHARS,
            actual,
        })
    } else if scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
        forbidden("whitespace or control characters")
    } else if scope.contains(',') {
        forbidden("commas")
    } else if scope.chars().any(is_bidi_control) {
        forbidden("bidirectional formatting characters")
    } else {
        Ok(())
    }
}

/// Checks metadata: at most [`MAX_METADATA_DEPTH`] levels and [`MAX_METADATA_BYTES`] bytes.
pub fn validate_metadata(metadata: &Metadata) -> Result<(), ValidationError> {
    // Depth first, iteratively: measuring the size serializes, which recurses.
    let mut stack: Vec<(&serde_json::Value, usize)> = metadata.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match value {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > MAX_METADATA_DEPTH {
            return Err(ValidationError::MetadataTooDeep {
                max: MAX_METADATA_DEPTH,
            });
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    let mut counter = ByteCounter(0);
    // Writing into a counter cannot fail but on a serializer bug; treat that as too large.
    if serde_json::to_writer(&mut counter, metadata).is_err() || counter.0 > MAX_METADATA_BYTES {
        return Err(ValidationError::MetadataTooLarge {
            max: MAX_METADATA_BYTES,
        });
    }
    Ok(())
}

/// Checks an expiry and brings it to the precision stores keep (UTC, microseconds).
pub fn validate_expiry(at: OffsetDateTime) -> Result<OffsetDateTime, ValidationError> {
    let utc = at
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or(ValidationError::ExpiryOutOfRange)?;
    Ok(to_stored_precision(utc))
}

/// Truncates to microseconds, the precision every store keeps (PostgreSQL's `timestamptz`).
pub(crate) fn to_stored_precision(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
    t.replace_microsecond(t.microsecond()).unwrap_or(t)
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("billing").is_ok());
        assert!(validate_name(&"é".repeat(50)).is_ok());
        assert!(validate_name("日本語のキー 🔑").is_ok());
        for bad in [
            "",
            "   ",
            "line\nbreak",
            "tab\there",
            "evil\u{202E}gnp.exe",
            "a\u{2066}b",
        ] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.field(), Field::Name, "{bad:?}");
        }
        let err = validate_name(&"x".repeat(51)).unwrap_err();
        assert!(matches!(
            err,
            ValidationError::TooLong {
                max: 50,
                actual: 51,
                ..
            }
        ));
        assert!(err.to_string().contains("at most 50"), "{err}");
    }

    #[test]
    fn owners() {
        assert!(validate_owner("org_42").is_ok());
        assert!(validate_owner(&"o".repeat(100)).is_ok());
        for bad in ["", "  ", "a\nb", "x\u{202E}", &"o".repeat(101)] {
            assert_eq!(
                validate_owner(bad).unwrap_err().field(),
                Field::Owner,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn scopes() {
        assert!(validate_scope("heroes:read").is_ok());
        for bad in ["", "a b", &"s".repeat(101), "a,b", "x\u{202E}"] {
            assert_eq!(
                validate_scope(bad).unwrap_err().field(),
                Field::Scope,
                "{bad:?}"
            );
        }
        assert!(
            validate_scope("a,b")
                .unwrap_err()
                .to_string()
                .contains("commas")
        );
    }

    fn nested(depth: usize) -> Metadata {
        let mut value = json!(1);
        for _ in 1..depth {
            value = json!({ "n": value });
        }
        json!({ "n": value }).as_object().cloned().expect("object")
    }

    #[test]
    fn metadata_depth_and_size_are_bounded() {
        // `nested(d)` is `d` levels of objects, the top-level one included.
        assert!(validate_metadata(&nested(MAX_METADATA_DEPTH)).is_ok());
        assert!(matches!(
            validate_metadata(&nested(MAX_METADATA_DEPTH + 1)),
            Err(ValidationError::MetadataTooDeep { .. })
        ));
        assert!(matches!(
            validate_metadata(&nested(200)),
            Err(ValidationError::MetadataTooDeep { .. })
        ));
        let mut arrays = json!([]);
        for _ in 0..40 {
            arrays = json!([arrays]);
        }
        let deep_arrays = json!({ "a": arrays }).as_object().cloned().expect("object");
        assert!(validate_metadata(&deep_arrays).is_err());

        let big = json!({ "blob": "x".repeat(MAX_METADATA_BYTES) });
        assert!(matches!(
            validate_metadata(big.as_object().expect("object")),
            Err(ValidationError::MetadataTooLarge { .. })
        ));
        let fits = json!({ "blob": "x".repeat(MAX_METADATA_BYTES - 20) });
        assert!(validate_metadata(fits.as_object().expect("object")).is_ok());
    }

    #[test]
    fn expiries_out_of_range_are_refused() {
        let late = time::macros::datetime!(9999-12-31 23:00:00 -02:00);
        assert!(matches!(
            validate_expiry(late),
            Err(ValidationError::ExpiryOutOfRange)
        ));
        let fine = time::macros::datetime!(2030-01-01 00:00:00.123456789 +02:00);
        let stored = validate_expiry(fine).unwrap();
        assert_eq!(stored.offset(), time::UtcOffset::UTC);
        assert_eq!(stored.nanosecond(), 123_456_000);
    }
}
