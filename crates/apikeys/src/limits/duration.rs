//! Durations as the command line writes them: `90s`, `15m`, `12h`, `30d`.

use std::time::Duration;

/// Why a duration like `90s` is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not a whole number followed by `s`, `m`, `h` or `d`.
    #[error("a duration is a whole number followed by s, m, h or d (like 90s, 15m, 12h, 30d)")]
    Syntax,
    /// Zero, or too long to represent.
    #[error("a duration must be at least 1s and fit in 64 bits of seconds")]
    OutOfRange,
}

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)];

pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let unit = text.chars().last().ok_or(DurationError::Syntax)?;
    let (_, seconds) = UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .ok_or(DurationError::Syntax)?;
    let number = &text[..text.len() - 1];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::Syntax);
    }
    let n: u64 = number.parse().map_err(|_| DurationError::OutOfRange)?;
    match n.checked_mul(*seconds) {
        Some(0) | None => Err(DurationError::OutOfRange),
        Some(total) => Ok(Duration::from_secs(total)),
    }
}

/// The largest unit that writes `duration` exactly; whole seconds only (sub-second parts,
/// which [`parse_duration`] never makes, are dropped).
pub(crate) fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (unit, size) = UNITS
        .iter()
        .find(|(_, size)| secs.is_multiple_of(*size) && secs > 0)
        .copied()
        .unwrap_or(('s', 1));
    format!("{}{unit}", secs / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("12h", 43_200),
            ("30d", 2_592_000),
        ] {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(secs)));
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(parse_duration("0s"), Err(DurationError::OutOfRange));
        for bad in ["", "s", "10", "10w", "-1s", "1.5h", "ms"] {
            assert_eq!(parse_duration(bad), Err(DurationError::Syntax), "{bad:?}");
        }
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::OutOfRange)
        );
    }
}
