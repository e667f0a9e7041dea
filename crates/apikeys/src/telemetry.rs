//! Verification metrics through the `metrics` facade (feature `metrics`): every verification
//! counts once in `apikeys_verifications_total{outcome}` and gives one sample of
//! `apikeys_verification_seconds`. Without the feature the types here are empty and their
//! calls inline to nothing.
//!
//! The hot path costs 1–2 µs, so recording must not allocate: every counter key is a
//! `static` (the facade's macros build one when the name and labels are literals), chosen by
//! matching the outcome rather than formatting its code.

#[cfg(feature = "metrics")]
use crate::verify::{Denial, VerifyError};

/// The name of the verification counter.
#[cfg(all(feature = "metrics", test))]
pub(crate) const VERIFICATIONS: &str = "apikeys_verifications_total";
/// The name of the verification latency histogram.
#[cfg(all(feature = "metrics", test))]
pub(crate) const LATENCY: &str = "apikeys_verification_seconds";

/// One verification being timed; [`finish`](Self::finish) records it.
#[must_use]
pub(crate) struct Verification {
    #[cfg(feature = "metrics")]
    start: std::time::Instant,
}

impl Verification {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            start: std::time::Instant::now(),
        }
    }

    /// Counts the outcome and records the time since [`start`](Self::start).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn finish<T>(self, result: &Result<T, crate::verify::VerifyError>) {
        #[cfg(feature = "metrics")]
        {
            count(result.as_ref().err());
            metrics::histogram!("apikeys_verification_seconds")
                .record(self.start.elapsed().as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = result;
    }
}

/// Describes the metrics to the installed recorder (once per [`ApiKeys`](crate::ApiKeys)
/// built; recorders keep the last description).
#[inline]
pub(crate) fn describe() {
    #[cfg(feature = "metrics")]
    {
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
    }
}

/// Adds one to the counter of this outcome (`None`: granted). Each arm names a literal code,
/// so each counter key is a `static`; the test below holds them to
/// [`VerifyError::outcome`].
#[cfg(feature = "metrics")]
fn count(error: Option<&VerifyError>) {
    macro_rules! count {
        ($code:literal) => {
            metrics::counter!("apikeys_verifications_total", "outcome" => $code).increment(1)
        };
    }
    let Some(error) = error else {
        count!("granted");
        return;
    };
    match error {
        VerifyError::Denied(denial) | VerifyError::Limited { denial, .. } => match denial {
            Denial::Missing => count!("missing"),
            Denial::Malformed => count!("malformed"),
            Denial::NotFound => count!("not_found"),
            Denial::InvalidSecret => count!("invalid_secret"),
            Denial::Revoked => count!("revoked"),
            Denial::Disabled => count!("disabled"),
            Denial::Expired => count!("expired"),
            Denial::Rejected => count!("rejected"),
            Denial::InsufficientScope => count!("insufficient_scope"),
            Denial::RateLimited => count!("rate_limited"),
            Denial::UsageExceeded => count!("usage_exceeded"),
        },
        VerifyError::Store(_) => count!("store_error"),
        VerifyError::Policy(_) => count!("policy_error"),
        VerifyError::Task(_) => count!("task_error"),
        VerifyError::Limiter(_) => count!("limiter_error"),
        VerifyError::Overloaded => count!("overloaded"),
    }
}

#[cfg(all(feature = "metrics", test))]
mod tests;
