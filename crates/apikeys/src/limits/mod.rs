//! Usage limits per key: rate limits (GCRA) and credits with refill.

mod change;
mod credits;
mod duration;
mod gcra;
mod ledger;
mod limiter;
mod rate;
mod usage;

pub use self::change::CreditsChange;
pub use self::credits::{Credits, CreditsError, MAX_CREDITS, Refill, RefillInterval, Spend};
pub use self::duration::DurationError;
pub use self::ledger::CreditLedger;
pub use self::limiter::{LimiterError, LocalLimiter, RateDecision, RateLimiter, RateState};
pub use self::rate::{RateLimit, RateLimitError};
pub use self::usage::{RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER, Usage};
