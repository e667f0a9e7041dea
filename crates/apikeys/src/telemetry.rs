//! Verification metrics through the `metrics` facade (feature `metrics`): every verification
//! counts once in `apikeys_verifications_total{outcome}` and gives one sample of
//! `apikeys_verification_seconds`. Without the feature the types here are empty and their
//! calls inline to nothing.
//!
//! The hot path costs about 1 µs, so recording must be a few atomic operations: the handles
//! are registered once, when the manager is built, with the recorder installed then (which
//! also shows every outcome at 0 from the start), and a verification picks its counter by
//! matching the outcome, without formatting or looking anything up.

#[cfg(feature = "metrics")]
use crate::verify::{Denial, VerifyError};

/// The name of the verification counter.
#[cfg(all(feature = "metrics", test))]
pub(crate) const VERIFICATIONS: &str = "apikeys_verifications_total";
/// The name of the verification latency histogram.
#[cfg(all(feature = "metrics", test))]
pub(crate) const LATENCY: &str = "apikeys_verification_seconds";

/// Every outcome code, in the order of [`index`]'s counters: `granted`, then
/// [`VerifyError::outcome`]'s codes.
#[cfg(feature = "metrics")]
const OUTCOMES: [&str; 17] = [
    "granted",
    "missing",
    "malformed",
    "not_found",
    "invalid_secret",
    "revoked",
    "disabled",
    "expired",
    "rejected",
    "insufficient_scope",
    "rate_limited",
    "usage_exceeded",
    "store_error",
    "policy_error",
    "task_error",
    "limiter_error",
    "overloaded",
];

/// One manager's metric handles.
pub(crate) struct Telemetry {
    #[cfg(feature = "metrics")]
    outcomes: [metrics::Counter; OUTCOMES.len()],
    #[cfg(feature = "metrics")]
    latency: metrics::Histogram,
}

impl Telemetry {
    /// Describes the metrics to the recorder installed now and registers them with it.
    pub(crate) fn new() -> Self {
        #[cfg(feature = "metrics")]
        {
            // quanta calibrates its clock on first use: here, not in the first request.
            let _ = quanta::Instant::now();
            metrics::describe_counter!(
                "apikeys_verifications_total",
                metrics::Unit::Count,
                "API key verifications by outcome: granted, or the refusal's reason code \
                 (rate_limited and usage_exceeded for refusals over a limit), or the error's code"
            );
            metrics::describe_histogram!(
                "apikeys_verification_seconds",
                metrics::Unit::Seconds,
                "Time of one API key verification, limits included"
            );
            Self {
                outcomes: OUTCOMES.map(
                    |code| metrics::counter!("apikeys_verifications_total", "outcome" => code),
                ),
                latency: metrics::histogram!("apikeys_verification_seconds"),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    /// Adds one to the counter of this outcome (`None`: granted).
    #[cfg(feature = "metrics")]
    fn count(&self, error: Option<&VerifyError>) {
        self.outcomes[index(error)].increment(1);
    }
}

/// One verification being timed; [`finish`](Self::finish) records it.
#[must_use]
pub(crate) struct Verification {
    #[cfg(feature = "metrics")]
    start: quanta::Instant,
}

impl Verification {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            start: quanta::Instant::now(),
        }
    }

    /// Counts the outcome and records the time since [`start`](Self::start).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn finish<T>(
        self,
        telemetry: &Telemetry,
        result: &Result<T, crate::verify::VerifyError>,
    ) {
        #[cfg(feature = "metrics")]
        {
            telemetry.count(result.as_ref().err());
            telemetry.latency.record(self.start.elapsed().as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (telemetry, result);
    }
}

/// The position of this outcome's code in [`OUTCOMES`] (`None`: granted). Exhaustive, so a
/// new outcome cannot go uncounted; the tests hold it to [`VerifyError::outcome`].
#[cfg(feature = "metrics")]
fn index(error: Option<&VerifyError>) -> usize {
    let Some(error) = error else {
        return 0;
    };
    match error {
        VerifyError::Denied(denial) | VerifyError::Limited { denial, .. } => match denial {
            Denial::Missing => 1,
            Denial::Malformed => 2,
            Denial::NotFound => 3,
            Denial::InvalidSecret => 4,
            Denial::Revoked => 5,
            Denial::Disabled => 6,
            Denial::Expired => 7,
            Denial::Rejected => 8,
            Denial::InsufficientScope => 9,
            Denial::RateLimited => 10,
            Denial::UsageExceeded => 11,
        },
        VerifyError::Store(_) => 12,
        VerifyError::Policy(_) => 13,
        VerifyError::Task(_) => 14,
        VerifyError::Limiter(_) => 15,
        VerifyError::Overloaded => 16,
    }
}

#[cfg(all(feature = "metrics", test))]
mod tests;
