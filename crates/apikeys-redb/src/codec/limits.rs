//! The usage limits of a version 3 record: its rate limit and its credits.
//!
//! ```text
//! rate limit (limit flag 1): varint count, varint period in ns, varint burst
//! credits    (limit flag 2): varint remaining, i64 LE period_start in µs
//! refill     (limit flag 4, only with 2): varint amount, u8 interval kind:
//!            0 daily, 1 monthly, 2 every (varint seconds, varint sub-second ns),
//!            255 the core's text form (an interval kind this release does not know)
//! ```
//!
//! Binary rather than the text form, because a `RateLimit` may have a sub-second period
//! that its text form cannot say.

use std::time::Duration;

use apikeys::{Credits, RateLimit, Refill, RefillInterval};

use super::{Reader, from_micros, put_bytes, put_varint, to_micros};

pub(super) const HAS_RATE_LIMIT: u8 = 1;
pub(super) const HAS_CREDITS: u8 = 2;
pub(super) const HAS_REFILL: u8 = 4;
pub(super) const LIMIT_FLAGS: u8 = HAS_RATE_LIMIT | HAS_CREDITS | HAS_REFILL;

const DAILY: u8 = 0;
const MONTHLY: u8 = 1;
const EVERY: u8 = 2;
const TEXT: u8 = 255;

pub(super) fn flags(rate: Option<&RateLimit>, credits: Option<&Credits>) -> u8 {
    let mut flags = 0;
    if rate.is_some() {
        flags |= HAS_RATE_LIMIT;
    }
    if let Some(credits) = credits {
        flags |= HAS_CREDITS;
        if credits.refill.is_some() {
            flags |= HAS_REFILL;
        }
    }
    flags
}

pub(super) fn put(out: &mut Vec<u8>, rate: Option<&RateLimit>, credits: Option<&Credits>) {
    if let Some(rate) = rate {
        put_varint(out, u64::from(rate.count()));
        // At most 366 days: far below 2^64 ns.
        put_varint(
            out,
            u64::try_from(rate.period().as_nanos()).unwrap_or(u64::MAX),
        );
        put_varint(out, u64::from(rate.burst()));
    }
    let Some(credits) = credits else {
        return;
    };
    put_varint(out, credits.remaining);
    out.extend_from_slice(&to_micros(credits.period_start).to_le_bytes());
    if let Some(refill) = credits.refill {
        put_varint(out, refill.amount);
        match refill.interval {
            RefillInterval::Daily => out.push(DAILY),
            RefillInterval::Monthly => out.push(MONTHLY),
            RefillInterval::Every(every) => {
                out.push(EVERY);
                put_varint(out, every.as_secs());
                put_varint(out, u64::from(every.subsec_nanos()));
            }
            _ => {
                out.push(TEXT);
                put_bytes(out, refill.to_string().as_bytes());
            }
        }
    }
}

pub(super) fn read(
    r: &mut Reader<'_>,
    flags: u8,
) -> Result<(Option<RateLimit>, Option<Credits>), String> {
    if flags & HAS_REFILL != 0 && flags & HAS_CREDITS == 0 {
        return Err("a refill without credits".to_owned());
    }
    let rate = if flags & HAS_RATE_LIMIT == 0 {
        None
    } else {
        let count = small(r.varint()?, "rate limit count")?;
        let period = Duration::from_nanos(r.varint()?);
        let burst = small(r.varint()?, "rate limit burst")?;
        let rate = RateLimit::new(count, period)
            .and_then(|rate| rate.with_burst(burst))
            .map_err(|e| format!("invalid rate limit: {e}"))?;
        Some(rate)
    };
    if flags & HAS_CREDITS == 0 {
        return Ok((rate, None));
    }
    let remaining = r.varint()?;
    let period_start = from_micros(r.i64()?)?;
    let refill = if flags & HAS_REFILL == 0 {
        None
    } else {
        let amount = r.varint()?;
        let interval = match r.byte()? {
            DAILY => RefillInterval::Daily,
            MONTHLY => RefillInterval::Monthly,
            EVERY => {
                let secs = r.varint()?;
                let nanos = small(r.varint()?, "refill interval")?;
                if nanos >= 1_000_000_000 {
                    return Err("refill interval nanoseconds out of range".to_owned());
                }
                RefillInterval::Every(Duration::new(secs, nanos))
            }
            TEXT => {
                let text = r.string("refill")?;
                let refill: Refill = text
                    .parse()
                    .map_err(|e| format!("invalid refill {text:?}: {e}"))?;
                if refill.amount != amount {
                    return Err("refill amounts disagree".to_owned());
                }
                refill.interval
            }
            kind => return Err(format!("unknown refill interval kind {kind}")),
        };
        Some(Refill { amount, interval })
    };
    let credits = Credits {
        remaining,
        refill,
        period_start,
    };
    credits
        .validate()
        .map_err(|e| format!("invalid credits: {e}"))?;
    Ok((rate, Some(credits)))
}

fn small(v: u64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} too large"))
}
