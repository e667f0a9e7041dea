//! A change of a key's credits as an operator asks for it ("500 left", "refill 1000/month",
//! "no credits"), turned into the whole new [`Credits`] an [`Edit`](crate::Edit) stores.

use time::OffsetDateTime;

use super::credits::{Credits, CreditsError, Refill};

/// What an operator changes about a key's credits; each field left `None` is kept.
///
/// An [`Edit`](crate::Edit) replaces a key's credits whole (count, refill and period), so
/// the command line and the admin resolve this against the key's current credits first:
///
/// ```
/// use apikeys::{Credits, CreditsChange, Refill};
/// use apikeys::time::macros::datetime;
///
/// let now = datetime!(2027-01-31 10:00 UTC);
/// let monthly: Refill = "1000/month".parse()?;
/// let current = Credits::new(10, now)?.with_refill(monthly);
/// // A new count keeps the refill, and starts a new period.
/// let change = CreditsChange { remaining: Some(Some(500)), refill: None };
/// let new = change.resolve(Some(&current), now)?.unwrap().unwrap();
/// assert_eq!((new.remaining, new.refill), (500, Some(monthly)));
/// // A refill for a key without credits starts it at the refill's amount.
/// let change = CreditsChange { remaining: None, refill: Some(Some(monthly)) };
/// assert_eq!(change.resolve(None, now)?.unwrap().unwrap().remaining, 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreditsChange {
    /// A new remaining count (a new period starts now); `Some(None)` removes the credits:
    /// the key's requests are no longer counted.
    pub remaining: Option<Option<u64>>,
    /// A new refill; `Some(None)` stops refilling.
    pub refill: Option<Option<Refill>>,
}

impl CreditsChange {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.remaining.is_none() && self.refill.is_none()
    }

    /// The key's new credits, for [`Edit::credits`](crate::Edit::credits): `None` for no
    /// change, `Some(None)` to remove them. An error for a count or refill out of range,
    /// or for removing the credits while setting a refill.
    #[allow(
        clippy::option_option,
        reason = "unchanged, removed and set are the three cases, as in Edit"
    )]
    pub fn resolve(
        &self,
        current: Option<&Credits>,
        now: OffsetDateTime,
    ) -> Result<Option<Option<Credits>>, CreditsError> {
        let credits = match (self.remaining, self.refill) {
            (None, None) => return Ok(None),
            // Stopping the refill of a key without credits: nothing to stop.
            (None, Some(None)) if current.is_none() => return Ok(None),
            (Some(None), Some(Some(_))) => return Err(CreditsError::RefillWithoutCredits),
            (Some(None), _) => return Ok(Some(None)),
            (Some(Some(remaining)), refill) => {
                let refill = refill.unwrap_or_else(|| current.and_then(|c| c.refill));
                with_refill(Credits::new(remaining, now)?, refill)
            }
            // The count and period stay; only how they come back changes.
            (None, Some(refill)) => {
                if let Some(current) = current {
                    Credits {
                        refill,
                        ..current.clone()
                    }
                } else {
                    let refill = refill.ok_or(CreditsError::RefillWithoutCredits)?;
                    Credits::new(refill.amount, now)?.with_refill(refill)
                }
            }
        };
        credits.validate()?;
        Ok(Some(Some(credits)))
    }
}

fn with_refill(credits: Credits, refill: Option<Refill>) -> Credits {
    match refill {
        Some(refill) => credits.with_refill(refill),
        None => credits,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2027-03-15 12:00 UTC);

    fn daily() -> Refill {
        "100/day".parse().unwrap()
    }

    #[test]
    fn nothing_asked_changes_nothing() {
        let current = Credits::new(5, NOW).unwrap();
        assert!(CreditsChange::default().is_empty());
        assert_eq!(
            CreditsChange::default().resolve(Some(&current), NOW),
            Ok(None)
        );
        let stop = CreditsChange {
            remaining: None,
            refill: Some(None),
        };
        assert_eq!(stop.resolve(None, NOW), Ok(None));
    }

    #[test]
    fn removing_credits_removes_them_and_refuses_a_refill_with_it() {
        let current = Credits::new(5, NOW).unwrap();
        let remove = CreditsChange {
            remaining: Some(None),
            refill: None,
        };
        assert_eq!(remove.resolve(Some(&current), NOW), Ok(Some(None)));
        let both = CreditsChange {
            remaining: Some(None),
            refill: Some(Some(daily())),
        };
        assert_eq!(
            both.resolve(Some(&current), NOW),
            Err(CreditsError::RefillWithoutCredits)
        );
    }

    #[test]
    fn a_new_refill_keeps_the_count_and_period() {
        let earlier = datetime!(2027-03-15 08:00 UTC);
        let current = Credits::new(7, earlier).unwrap();
        let change = CreditsChange {
            remaining: None,
            refill: Some(Some(daily())),
        };
        let new = change
            .resolve(Some(&current), NOW)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((new.remaining, new.period_start), (7, earlier));
        assert_eq!(new.next_refill(), Some(datetime!(2027-03-16 0:00 UTC)));
        let stop = CreditsChange {
            remaining: None,
            refill: Some(None),
        };
        let new = stop.resolve(Some(&new), NOW).unwrap().unwrap().unwrap();
        assert_eq!((new.remaining, new.refill), (7, None));
    }

    #[test]
    fn out_of_range_counts_are_refused() {
        let change = CreditsChange {
            remaining: Some(Some(super::super::MAX_CREDITS + 1)),
            refill: None,
        };
        assert_eq!(change.resolve(None, NOW), Err(CreditsError::TooMany));
    }
}
