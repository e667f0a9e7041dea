//! `Usage`: where a key stands against its limits after a request, and the HTTP headers
//! that tell the client (draft-ietf-httpapi-ratelimit-headers, and `Retry-After`).

use std::fmt::Write as _;
use std::time::Duration;

use time::OffsetDateTime;

use super::credits::{RefillInterval, Spend};
use super::limiter::RateState;

/// The `RateLimit-Policy` header: the limits that apply.
pub const RATELIMIT_POLICY: &str = "RateLimit-Policy";
/// The `RateLimit` header: what is left of them.
pub const RATELIMIT: &str = "RateLimit";
/// The `Retry-After` header, in seconds, on a refusal that will pass later.
pub const RETRY_AFTER: &str = "Retry-After";

/// A key's standing against its rate limit and credits after a request: on the verified
/// key for its handler, and on a refusal for the 429's headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The rate limit's state, when the key has one and the limiter could tell.
    pub rate: Option<RateState>,
    /// The credits after this request, when the key has credits.
    pub credits: Option<Spend>,
}

impl Usage {
    /// Whether there is anything to report.
    pub fn is_empty(&self) -> bool {
        self.rate.is_none() && self.credits.is_none()
    }

    /// Seconds a refused client should wait: rounded up, at least 1; `None` when waiting
    /// will not help (credits with no refill scheduled) or nothing was refused.
    pub fn retry_after_at(&self, now: OffsetDateTime) -> Option<u64> {
        if let Some(rate) = &self.rate
            && !rate.retry_after().is_zero()
        {
            return Some(ceil_secs(rate.retry_after()).max(1));
        }
        let credits = self.credits.filter(|c| !c.granted)?;
        Some(until(credits.next_refill?, now).max(1))
    }

    /// The headers for a response at `now`: `RateLimit-Policy` and `RateLimit` whenever
    /// there is a state to report, and `Retry-After` per [`retry_after_at`](Self::retry_after_at).
    pub fn headers_at(&self, now: OffsetDateTime) -> Vec<(&'static str, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut policy = String::new();
        let mut state = String::new();
        if let Some(rate) = &self.rate {
            let limit = rate.limit();
            item(&mut policy, "rate");
            let _ = write!(
                policy,
                ";q={};w={}",
                limit.count(),
                ceil_secs(limit.period()).max(1)
            );
            item(&mut state, "rate");
            let _ = write!(
                state,
                ";r={};t={}",
                rate.remaining(),
                ceil_secs(rate.reset())
            );
        }
        if let Some(credits) = &self.credits {
            if let Some(refill) = credits.refill {
                item(&mut policy, "credits");
                let _ = write!(policy, ";q={}", refill.amount);
                let window = match refill.interval {
                    RefillInterval::Daily => Some(86_400),
                    RefillInterval::Every(d) => Some(d.as_secs()),
                    // Months differ in length; the reset time says when.
                    RefillInterval::Monthly => None,
                };
                if let Some(w) = window {
                    let _ = write!(policy, ";w={w}");
                }
            }
            item(&mut state, "credits");
            let _ = write!(state, ";r={}", credits.remaining);
            if let Some(next) = credits.next_refill {
                let _ = write!(state, ";t={}", until(next, now));
            }
        }
        let mut headers = Vec::with_capacity(3);
        if !policy.is_empty() {
            headers.push((RATELIMIT_POLICY, policy));
        }
        if !state.is_empty() {
            headers.push((RATELIMIT, state));
        }
        if let Some(secs) = self.retry_after_at(now) {
            headers.push((RETRY_AFTER, secs.to_string()));
        }
        headers
    }

    /// [`headers_at`](Self::headers_at) now.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.headers_at(OffsetDateTime::now_utc())
    }
}

fn item(list: &mut String, name: &str) {
    if !list.is_empty() {
        list.push_str(", ");
    }
    let _ = write!(list, "\"{name}\"");
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn until(then: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let d = then - now;
    u64::try_from(d.whole_seconds()).unwrap_or(0) + u64::from(d.subsec_nanoseconds() > 0)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::limits::credits::Refill;
    use crate::limits::rate::RateLimit;

    #[test]
    fn rate_headers() {
        let limit: RateLimit = "100/m,burst=10".parse().unwrap();
        let now = datetime!(2027-01-01 0:00 UTC);
        let granted = Usage {
            rate: Some(RateState::new(
                limit,
                7,
                Duration::from_millis(1800),
                Duration::ZERO,
            )),
            credits: None,
        };
        assert_eq!(
            granted.headers_at(now),
            [
                (RATELIMIT_POLICY, r#""rate";q=100;w=60"#.to_owned()),
                (RATELIMIT, r#""rate";r=7;t=2"#.to_owned()),
            ]
        );
        let limited = Usage {
            rate: Some(RateState::new(
                limit,
                0,
                Duration::from_secs(6),
                Duration::from_millis(100),
            )),
            credits: None,
        };
        assert_eq!(limited.retry_after_at(now), Some(1));
        assert_eq!(limited.headers_at(now)[2], (RETRY_AFTER, "1".to_owned()));
        assert!(Usage::default().headers_at(now).is_empty());
    }

    #[test]
    fn credit_headers() {
        let now = datetime!(2027-01-01 23:00 UTC);
        let refill: Refill = "1000/day".parse().unwrap();
        let exhausted = Usage {
            rate: Some(RateState::new(
                "10/s".parse().unwrap(),
                9,
                Duration::from_millis(100),
                Duration::ZERO,
            )),
            credits: Some(Spend {
                granted: false,
                remaining: 0,
                refill: Some(refill),
                next_refill: Some(datetime!(2027-01-02 0:00 UTC)),
            }),
        };
        assert_eq!(
            exhausted.headers_at(now),
            [
                (
                    RATELIMIT_POLICY,
                    r#""rate";q=10;w=1, "credits";q=1000;w=86400"#.to_owned()
                ),
                (
                    RATELIMIT,
                    r#""rate";r=9;t=1, "credits";r=0;t=3600"#.to_owned()
                ),
                (RETRY_AFTER, "3600".to_owned()),
            ]
        );
        let never = Usage {
            rate: None,
            credits: Some(Spend {
                granted: false,
                remaining: 0,
                refill: None,
                next_refill: None,
            }),
        };
        assert_eq!(
            never.retry_after_at(now),
            None,
            "no refill: waiting will not help"
        );
        assert_eq!(
            never.headers_at(now),
            [(RATELIMIT, r#""credits";r=0"#.to_owned())]
        );
    }
}
