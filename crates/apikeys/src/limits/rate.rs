//! `RateLimit`: N requests per period with a burst, written like `100/s` or `5000/h`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::duration::{DurationError, format_duration, parse_duration};

/// The longest period a limit may have: a year is already more a quota than a rate.
const MAX_PERIOD: Duration = Duration::from_secs(366 * 86_400);

/// A rate limit: `count` requests per `period`, of which up to `burst` may come at once.
///
/// Enforced with GCRA (the generic cell rate algorithm): one request is allowed every
/// `period / count`, and a client that was quiet may spend up to `burst` at once. The burst
/// defaults to `count`, so `100/s` allows 100 requests in the same instant and then one every
/// 10 ms; `100/s,burst=10` smooths them to at most 10 at once.
///
/// ```
/// use apikeys::RateLimit;
///
/// let limit: RateLimit = "5000/h".parse()?;
/// assert_eq!(limit.count(), 5000);
/// assert_eq!(limit.period().as_secs(), 3600);
/// assert_eq!(limit.burst(), 5000);
/// assert_eq!("100/10s,burst=5".parse::<RateLimit>()?.to_string(), "100/10s,burst=5");
/// # Ok::<(), apikeys::RateLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    count: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
    // Derived once, so that a check does no division.
    interval_ns: u64,
    tolerance_ns: u64,
}

/// Why a rate limit is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// Not of the form `N/period` or `N/period,burst=B`.
    #[error("a rate limit is written like 100/s, 5000/h or 100/10s,burst=20")]
    Syntax,
    /// The count or the burst is zero (a key that may never be used is a revoked key).
    #[error("a rate limit's count and burst must be at least 1")]
    Zero,
    /// The period is not a duration like `s`, `10s`, `m`, `h`, `d`.
    #[error("the period of a rate limit is invalid")]
    Period(#[source] DurationError),
    /// The period is longer than 366 days.
    #[error("the period of a rate limit may be at most 366 days")]
    PeriodTooLong,
    /// More requests than nanoseconds in the period, or a burst window that overflows.
    #[error(
        "a rate limit may allow at most one request per nanosecond and a burst window of at most 500 years"
    )]
    OutOfRange,
}

impl RateLimit {
    /// `count` requests per `period`, with a burst of `count`.
    pub fn new(count: u32, period: Duration) -> Result<Self, RateLimitError> {
        Self::with_parts(count, period, count)
    }

    /// `count` requests per second.
    pub fn per_second(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests per minute.
    pub fn per_minute(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests per hour.
    pub fn per_hour(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(3600))
    }

    /// The same rate with at most `burst` requests at once.
    pub fn with_burst(self, burst: u32) -> Result<Self, RateLimitError> {
        Self::with_parts(self.count.get(), self.period, burst)
    }

    fn with_parts(count: u32, period: Duration, burst: u32) -> Result<Self, RateLimitError> {
        let (Some(count), Some(burst)) = (NonZeroU32::new(count), NonZeroU32::new(burst)) else {
            return Err(RateLimitError::Zero);
        };
        if period > MAX_PERIOD {
            return Err(RateLimitError::PeriodTooLong);
        }
        let period_ns = u64::try_from(period.as_nanos()).map_err(|_| RateLimitError::OutOfRange)?;
        let interval_ns = period_ns / u64::from(count.get());
        if interval_ns == 0 {
            return Err(RateLimitError::OutOfRange);
        }
        // 500 years in nanoseconds is below 2^64 (about 584 years).
        let tolerance_ns = interval_ns
            .checked_mul(u64::from(burst.get()))
            .filter(|t| *t <= 500 * 366 * 86_400 * 1_000_000_000)
            .ok_or(RateLimitError::OutOfRange)?;
        Ok(Self {
            count,
            period,
            burst,
            interval_ns,
            tolerance_ns,
        })
    }

    /// Requests per period.
    pub fn count(&self) -> u32 {
        self.count.get()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Requests allowed at once after a quiet spell.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// Time between two requests at the steady rate: `period / count`.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// The burst window: `interval × burst`, the time a full burst takes to come back.
    pub fn tolerance(&self) -> Duration {
        Duration::from_nanos(self.tolerance_ns)
    }

    pub(crate) fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    pub(crate) fn tolerance_ns(&self) -> u64 {
        self.tolerance_ns
    }

    /// Whether this limit allows fewer requests over time than `other` (or as many, with a
    /// smaller burst): the one to prefer when both apply.
    pub fn is_stricter_than(&self, other: &Self) -> bool {
        (self.interval_ns, other.burst) > (other.interval_ns, self.burst)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.count)?;
        let period = format_duration(self.period);
        // `1s` reads better as `s`: the form people write.
        f.write_str(
            period
                .strip_prefix('1')
                .filter(|u| u.len() == 1)
                .unwrap_or(&period),
        )?;
        if self.burst != self.count {
            write!(f, ",burst={}", self.burst)?;
        }
        Ok(())
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (rate, burst) = match text.split_once(',') {
            Some((rate, burst)) => {
                let burst = burst
                    .trim()
                    .strip_prefix("burst=")
                    .ok_or(RateLimitError::Syntax)?;
                (rate, Some(parse_count(burst)?))
            }
            None => (text, None),
        };
        let (count, period) = rate.split_once('/').ok_or(RateLimitError::Syntax)?;
        let count = parse_count(count)?;
        let period = period.trim();
        // `s`, `m`, `h`, `d` alone mean one of the unit.
        let period = if period.len() == 1 {
            parse_duration(&format!("1{period}"))
        } else {
            parse_duration(period)
        }
        .map_err(RateLimitError::Period)?;
        Self::with_parts(count, period, burst.unwrap_or(count))
    }
}

fn parse_count(text: &str) -> Result<u32, RateLimitError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RateLimitError::Syntax);
    }
    text.parse().map_err(|_| RateLimitError::OutOfRange)
}

impl Serialize for RateLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_written_forms() {
        let l: RateLimit = "100/s".parse().unwrap();
        assert_eq!(
            (l.count(), l.period(), l.burst()),
            (100, Duration::from_secs(1), 100)
        );
        assert_eq!(l.interval(), Duration::from_millis(10));
        assert_eq!(l.tolerance(), Duration::from_secs(1));
        let l: RateLimit = "5000/h".parse().unwrap();
        assert_eq!(l.period(), Duration::from_secs(3600));
        let l: RateLimit = " 10/15m , burst=3 ".parse().unwrap();
        assert_eq!(
            (l.count(), l.period(), l.burst()),
            (10, Duration::from_secs(900), 3)
        );
        assert_eq!(l.to_string(), "10/15m,burst=3");
        assert_eq!("7/d".parse::<RateLimit>().unwrap().to_string(), "7/d");
        assert_eq!("7/1s".parse::<RateLimit>().unwrap().to_string(), "7/s");
        assert_eq!("7/10s".parse::<RateLimit>().unwrap().to_string(), "7/10s");
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "100",
            "/s",
            "x/s",
            "-1/s",
            "1.5/s",
            "100/s,20",
            "100/s,burst=",
            "100/w",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
        assert_eq!("0/s".parse::<RateLimit>(), Err(RateLimitError::Zero));
        assert_eq!(
            "1/s,burst=0".parse::<RateLimit>(),
            Err(RateLimitError::Zero)
        );
        assert_eq!(
            "1/400d".parse::<RateLimit>(),
            Err(RateLimitError::PeriodTooLong)
        );
        assert_eq!(
            "4000000000/s".parse::<RateLimit>(),
            Err(RateLimitError::OutOfRange)
        );
        assert_eq!(
            "99999999999/s".parse::<RateLimit>(),
            Err(RateLimitError::OutOfRange)
        );
        assert_eq!(
            "1/366d,burst=4000000000".parse::<RateLimit>(),
            Err(RateLimitError::OutOfRange)
        );
    }

    #[test]
    fn strictness_compares_rates_then_bursts() {
        let p = |s: &str| s.parse::<RateLimit>().unwrap();
        assert!(p("10/s").is_stricter_than(&p("100/s")));
        assert!(!p("100/s").is_stricter_than(&p("10/s")));
        assert!(p("60/h").is_stricter_than(&p("2/m")));
        assert!(p("100/s,burst=5").is_stricter_than(&p("100/s")));
        assert!(!p("100/s").is_stricter_than(&p("100/s")));
    }

    #[test]
    fn serde_is_the_written_form() {
        let l: RateLimit = "100/s,burst=20".parse().unwrap();
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, r#""100/s,burst=20""#);
        assert_eq!(serde_json::from_str::<RateLimit>(&json).unwrap(), l);
        assert!(serde_json::from_str::<RateLimit>(r#""0/s""#).is_err());
    }
}
