//! One GCRA step, pure: the state is a single number, the theoretical arrival time (TAT).
//!
//! A request at `now` is allowed when `max(tat, now) + interval - now <= tolerance`; it then
//! moves the TAT by one interval. A TAT at or before `now` means a full burst is available,
//! which is the same as no state at all: that is why idle keys' state can be dropped.
//! The Redis script in `apikeys-redis` is this function in Lua.

use super::rate::RateLimit;

/// The result of one step, in nanoseconds relative to `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) allowed: bool,
    /// The TAT to store (unchanged when refused).
    pub(crate) tat: u64,
    /// Requests that could still come at once after this one.
    pub(crate) remaining: u32,
    /// Until the full burst is back.
    pub(crate) reset_ns: u64,
    /// Until this request would have been allowed (0 when allowed).
    pub(crate) retry_after_ns: u64,
}

pub(crate) fn step(tat: u64, now: u64, limit: &RateLimit) -> Step {
    let interval = limit.interval_ns();
    let tolerance = limit.tolerance_ns();
    let base = tat.max(now);
    let new_tat = base.saturating_add(interval);
    let used = new_tat - now;
    if used <= tolerance {
        Step {
            allowed: true,
            tat: new_tat,
            remaining: remaining(tolerance - used, interval),
            reset_ns: used,
            retry_after_ns: 0,
        }
    } else {
        Step {
            allowed: false,
            tat,
            remaining: remaining(tolerance.saturating_sub(base - now), interval),
            reset_ns: base - now,
            retry_after_ns: used - tolerance,
        }
    }
}

fn remaining(slack: u64, interval: u64) -> u32 {
    u32::try_from(slack / interval).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn limit(s: &str) -> RateLimit {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        // 10/s with a burst of 3: three at once, then one every 100 ms.
        let l = limit("10/s,burst=3");
        let mut tat = 0;
        let now = 1_000 * MS;
        for left in [2, 1, 0] {
            let s = step(tat, now, &l);
            assert!(s.allowed);
            assert_eq!(s.remaining, left);
            tat = s.tat;
        }
        let refused = step(tat, now, &l);
        assert!(!refused.allowed);
        assert_eq!(refused.tat, tat, "a refusal spends nothing");
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_ns, 100 * MS);
        assert_eq!(refused.reset_ns, 300 * MS);
        // 99 ms later: still refused, 1 ms to wait; at 100 ms: allowed.
        assert_eq!(step(tat, now + 99 * MS, &l).retry_after_ns, MS);
        let later = step(tat, now + 100 * MS, &l);
        assert!(later.allowed);
        assert_eq!(later.remaining, 0);
        // After a quiet second the full burst is back.
        assert_eq!(step(later.tat, now + 2_000 * MS, &l).remaining, 2);
    }

    #[test]
    fn never_more_than_the_rate_over_time() {
        let l = limit("100/s,burst=10");
        let mut tat = 0;
        let mut granted = 0;
        // A request every millisecond for 10 s: 10 s × 100/s plus the burst of 10.
        for ms in 0..10_000 {
            let s = step(tat, ms * MS, &l);
            if s.allowed {
                granted += 1;
                tat = s.tat;
            }
        }
        assert!((1_000..=1_010).contains(&granted), "{granted}");
    }

    #[test]
    fn no_overflow_at_the_ends() {
        let l = limit("1/366d");
        let s = step(u64::MAX - 1, 0, &l);
        assert!(!s.allowed);
        let s = step(0, u64::MAX - 1, &l);
        assert!(s.allowed);
    }
}
