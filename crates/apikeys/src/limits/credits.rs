//! Credits: a count of requests a key may still make, optionally refilled on a schedule.
//!
//! Pure: the spending rule every store applies atomically in its own way (a lock in
//! memory, one conditional `UPDATE` in SQL, one script call in Redis).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use super::duration::{DurationError, format_duration, parse_duration};

/// The most credits a key may hold: 2^53 − 1, exact in JSON numbers and in Redis's Lua.
pub const MAX_CREDITS: u64 = (1 << 53) - 1;

/// A key's credits: how many requests it may still make, and how they come back.
///
/// Each granted request spends its route's cost (1 unless the route names another); a request
/// costing more than what remains is refused and spends nothing. With a [`Refill`], the
/// remaining count is set back to the refill's amount (not added to) at each boundary: every
/// midnight UTC, every first of the month at midnight UTC, or every interval after
/// `period_start`.
///
/// ```
/// use apikeys::{Credits, Refill};
/// use apikeys::time::macros::datetime;
///
/// let set = datetime!(2027-01-31 10:00 UTC);
/// let mut credits = Credits::new(2, set)?.with_refill("1000/month".parse::<Refill>()?);
/// assert!(credits.spend(1, set).granted);
/// assert!(credits.spend(1, set).granted);
/// let refused = credits.spend(1, set);
/// assert!(!refused.granted);
/// assert_eq!(refused.next_refill, Some(datetime!(2027-02-01 0:00 UTC)));
/// // On the first of the month the key has its 1000 again.
/// assert_eq!(credits.spend(1, datetime!(2027-02-01 0:00 UTC)).remaining, 999);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credits {
    /// Requests (of cost 1) the key may still make in this period.
    pub remaining: u64,
    /// How the remaining count comes back, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
    /// When the current period began: when the credits were set or last refilled.
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
}

/// Refilling credits: back to `amount` on every boundary of `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refill {
    /// The remaining count after a refill.
    pub amount: u64,
    /// How often.
    pub interval: RefillInterval,
}

/// How often credits are refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefillInterval {
    /// Every midnight UTC.
    Daily,
    /// Every first of the month, at midnight UTC.
    Monthly,
    /// Every so many whole seconds after the period's start.
    Every(Duration),
}

/// Why credits or a refill are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreditsError {
    /// Not of the form `N/day`, `N/month` or `N/<duration>` (like `500/12h`).
    #[error("a refill is written like 1000/day, 1000/month or 500/12h")]
    Syntax,
    /// More than [`MAX_CREDITS`].
    #[error("credits may be at most 2^53 - 1")]
    TooMany,
    /// A refill of no credits (a key that may never be used again is a revoked key).
    #[error("a refill must give at least 1 credit")]
    Zero,
    /// A refill asked for a key whose credits are being removed (or that has none, when
    /// the refill itself is being removed).
    #[error("a refill needs credits: give a count, or keep the key's credits")]
    RefillWithoutCredits,
    /// The refill interval is not a valid duration.
    #[error("the refill interval is invalid")]
    Interval(#[source] DurationError),
}

/// The outcome of spending credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    /// Whether the cost was spent (the request may proceed).
    pub granted: bool,
    /// What is left after this request (or before it, when refused).
    pub remaining: u64,
    /// The refill schedule, when there is one.
    pub refill: Option<Refill>,
    /// When the next refill happens, if one is scheduled.
    pub next_refill: Option<OffsetDateTime>,
}

impl Credits {
    /// `remaining` credits from `now` on, never refilled.
    pub fn new(remaining: u64, now: OffsetDateTime) -> Result<Self, CreditsError> {
        if remaining > MAX_CREDITS {
            return Err(CreditsError::TooMany);
        }
        Ok(Self {
            remaining,
            refill: None,
            period_start: now.to_offset(UtcOffset::UTC),
        })
    }

    /// The same credits, refilled per `refill`.
    #[must_use]
    pub fn with_refill(mut self, refill: Refill) -> Self {
        self.refill = Some(refill);
        self
    }

    /// Whether the counts are within [`MAX_CREDITS`] (for records read from a store).
    pub fn validate(&self) -> Result<(), CreditsError> {
        let amount = self.refill.map_or(0, |r| r.amount);
        if self.remaining.max(amount) > MAX_CREDITS {
            return Err(CreditsError::TooMany);
        }
        if self.refill.is_some_and(|r| r.amount == 0) {
            return Err(CreditsError::Zero);
        }
        Ok(())
    }

    /// When the next refill after the current period's start happens; `None` without a
    /// refill (or past year 9999).
    pub fn next_refill(&self) -> Option<OffsetDateTime> {
        self.refill?.interval.next_after(self.period_start)
    }

    /// The start of the period `now` falls in: the last refill boundary at or before `now`,
    /// or the current `period_start` when no refill is due. A store that keeps the count
    /// elsewhere (Redis) compares its own period with this one to know whether to refill.
    pub fn period_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        match (self.refill, self.next_refill()) {
            (Some(refill), Some(next)) if now >= next => refill
                .interval
                .boundary_at(self.period_start, now)
                .max(next),
            _ => self.period_start,
        }
    }

    /// Applies any refill due at `now`.
    pub fn refresh(&mut self, now: OffsetDateTime) {
        let period = self.period_at(now);
        if period != self.period_start
            && let Some(refill) = self.refill
        {
            self.remaining = refill.amount;
            self.period_start = period;
        }
    }

    /// Spends `cost` at `now` if that many remain (after any refill due); a cost of 0 is
    /// always granted and spends nothing.
    pub fn spend(&mut self, cost: u64, now: OffsetDateTime) -> Spend {
        self.refresh(now);
        let granted = self.remaining >= cost;
        if granted {
            self.remaining -= cost;
        }
        Spend {
            granted,
            remaining: self.remaining,
            refill: self.refill,
            next_refill: self.next_refill(),
        }
    }
}

impl RefillInterval {
    /// The first boundary strictly after `start`.
    pub fn next_after(self, start: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = start.to_offset(UtcOffset::UTC);
        match self {
            Self::Daily => start
                .date()
                .next_day()
                .map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
            Self::Monthly => {
                let (year, month) = match start.month() {
                    Month::December => (start.year().checked_add(1)?, Month::January),
                    m => (start.year(), m.next()),
                };
                Date::from_calendar_date(year, month, 1)
                    .ok()
                    .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
            }
            Self::Every(d) => start.checked_add(time::Duration::try_from(d).ok()?),
        }
    }

    /// The last boundary at or before `now`, for a period that started at `start`.
    fn boundary_at(self, start: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
        let now = now.to_offset(UtcOffset::UTC);
        match self {
            Self::Daily => now.date().with_time(Time::MIDNIGHT).assume_utc(),
            Self::Monthly => now
                .replace_day(1)
                .map_or(now, |d| d.replace_time(Time::MIDNIGHT)),
            Self::Every(d) => {
                // Whole seconds: parsed intervals are; the grid stays anchored at `start`.
                let step = i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1);
                let elapsed = (now - start).whole_seconds().max(0);
                start + time::Duration::seconds(elapsed / step * step)
            }
        }
    }
}

impl fmt::Display for Refill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.interval {
            RefillInterval::Daily => write!(f, "{}/day", self.amount),
            RefillInterval::Monthly => write!(f, "{}/month", self.amount),
            RefillInterval::Every(d) => write!(f, "{}/{}", self.amount, format_duration(d)),
        }
    }
}

impl FromStr for Refill {
    type Err = CreditsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (amount, interval) = text.trim().split_once('/').ok_or(CreditsError::Syntax)?;
        let amount = amount.trim();
        if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CreditsError::Syntax);
        }
        let amount: u64 = amount.parse().map_err(|_| CreditsError::TooMany)?;
        if amount > MAX_CREDITS {
            return Err(CreditsError::TooMany);
        }
        if amount == 0 {
            return Err(CreditsError::Zero);
        }
        let interval = match interval.trim() {
            "day" | "daily" => RefillInterval::Daily,
            "month" | "monthly" => RefillInterval::Monthly,
            other => RefillInterval::Every(parse_duration(other).map_err(CreditsError::Interval)?),
        };
        Ok(Self { amount, interval })
    }
}

impl Serialize for Refill {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Refill {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn refill(s: &str) -> Refill {
        s.parse().unwrap()
    }

    #[test]
    fn spends_down_to_zero_then_refuses() {
        let now = datetime!(2027-03-10 12:00 UTC);
        let mut c = Credits::new(3, now).unwrap();
        assert_eq!(c.spend(2, now).remaining, 1);
        let refused = c.spend(2, now);
        assert!(!refused.granted, "a cost above what remains spends nothing");
        assert_eq!(refused.remaining, 1);
        assert!(c.spend(1, now).granted);
        assert!(!c.spend(1, now).granted);
        assert!(c.spend(0, now).granted, "a free route");
        assert_eq!(
            c.spend(1, now + time::Duration::days(400)).next_refill,
            None
        );
        assert_eq!(c.remaining, 0, "no refill, never more");
    }

    #[test]
    fn daily_refills_at_midnight_utc_to_the_amount() {
        let set = datetime!(2027-03-10 23:59 UTC);
        let mut c = Credits::new(5, set).unwrap().with_refill(refill("10/day"));
        assert_eq!(c.next_refill(), Some(datetime!(2027-03-11 0:00 UTC)));
        assert_eq!(c.spend(1, set).remaining, 4);
        // Two days later: one refill, to 10 (not 4 + 10 + 10).
        let later = datetime!(2027-03-12 08:00 UTC);
        let s = c.spend(1, later);
        assert_eq!(s.remaining, 9);
        assert_eq!(c.period_start, datetime!(2027-03-12 0:00 UTC));
        assert_eq!(s.next_refill, Some(datetime!(2027-03-13 0:00 UTC)));
        // A clock in another offset names the same instants.
        let c2 = Credits::new(5, datetime!(2027-03-11 01:30 +02:00))
            .unwrap()
            .with_refill(refill("1/day"));
        assert_eq!(c2.next_refill(), Some(datetime!(2027-03-11 0:00 UTC)));
    }

    #[test]
    fn monthly_refills_on_the_first() {
        let set = datetime!(2027-12-31 10:00 UTC);
        let mut c = Credits::new(0, set)
            .unwrap()
            .with_refill(refill("1000/month"));
        assert!(!c.spend(1, set).granted);
        assert_eq!(c.next_refill(), Some(datetime!(2028-01-01 0:00 UTC)));
        assert_eq!(c.spend(1, datetime!(2028-02-15 0:00 UTC)).remaining, 999);
        assert_eq!(c.period_start, datetime!(2028-02-01 0:00 UTC));
        assert_eq!(c.next_refill(), Some(datetime!(2028-03-01 0:00 UTC)));
    }

    #[test]
    fn intervals_stay_on_their_grid() {
        let set = datetime!(2027-01-01 10:00 UTC);
        let mut c = Credits::new(1, set).unwrap().with_refill(refill("3/12h"));
        assert_eq!(c.next_refill(), Some(datetime!(2027-01-01 22:00 UTC)));
        assert_eq!(c.period_at(datetime!(2027-01-01 21:59 UTC)), set);
        // 31 h later: the boundary at 10:00 + 24 h, not the time of the request.
        let at = datetime!(2027-01-02 17:00 UTC);
        assert_eq!(c.period_at(at), datetime!(2027-01-02 10:00 UTC));
        assert_eq!(c.spend(1, at).remaining, 2);
        assert_eq!(c.next_refill(), Some(datetime!(2027-01-02 22:00 UTC)));
        // A clock that went back does not refill or panic.
        assert_eq!(c.spend(1, set).remaining, 1);
    }

    #[test]
    fn written_forms() {
        for text in ["1000/day", "1000/month", "500/12h", "7/90s", "1/30d"] {
            assert_eq!(refill(text).to_string(), text);
        }
        assert_eq!(refill("5/daily").interval, RefillInterval::Daily);
        assert_eq!(refill("5/monthly").interval, RefillInterval::Monthly);
        assert_eq!("0/day".parse::<Refill>(), Err(CreditsError::Zero));
        assert_eq!(
            "9007199254740992/day".parse::<Refill>(),
            Err(CreditsError::TooMany)
        );
        for bad in ["", "day", "5", "x/day", "5/week", "-5/day", "5/0s"] {
            assert!(bad.parse::<Refill>().is_err(), "{bad:?}");
        }
        assert_eq!(
            Credits::new(MAX_CREDITS + 1, datetime!(2027-01-01 0:00 UTC)),
            Err(CreditsError::TooMany)
        );
        let c = Credits::new(5, datetime!(2027-01-01 0:00 UTC))
            .unwrap()
            .with_refill(refill("10/day"));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["refill"], "10/day");
        assert_eq!(serde_json::from_value::<Credits>(json).unwrap(), c);
    }
}
