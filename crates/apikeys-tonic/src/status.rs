//! Turning a refused verification into the gRPC status a client decodes.

use apikeys::VerifyError;
use tonic::{Code, Status};

/// `grpc-message` of [`Code::Unauthenticated`]: no usable key.
pub const UNAUTHENTICATED_MESSAGE: &str = "A valid API key is required.";
/// `grpc-message` of [`Code::PermissionDenied`]: a valid key that may not make this call.
pub const PERMISSION_DENIED_MESSAGE: &str = "This API key is not allowed to do this.";
/// `grpc-message` of [`Code::ResourceExhausted`]: a valid key over its rate limit or out
/// of credits.
pub const RESOURCE_EXHAUSTED_MESSAGE: &str = "This API key is over its usage limit.";
/// `grpc-message` of [`Code::Unavailable`]: the key store or policy failed.
pub const UNAVAILABLE_MESSAGE: &str = "API key verification is unavailable; try again later.";

/// The status every refused call gets, with a generic message that reveals no reason (the
/// core logs the reason code):
///
/// | outcome | status |
/// |---|---|
/// | policy refusal, missing scope ([`Denial::is_forbidden`](apikeys::Denial::is_forbidden)) | `PERMISSION_DENIED` |
/// | over the rate limit, out of credits ([`Denial::is_over_limit`](apikeys::Denial::is_over_limit)) | `RESOURCE_EXHAUSTED` |
/// | any other denial: missing, malformed, unknown, wrong secret, revoked, expired, … | `UNAUTHENTICATED` |
/// | store, policy or hashing failure | `UNAVAILABLE` |
pub fn denial_status(error: &VerifyError) -> Status {
    let (code, message) = match error.denial() {
        Some(denial) if denial.is_over_limit() => {
            (Code::ResourceExhausted, RESOURCE_EXHAUSTED_MESSAGE)
        }
        Some(denial) if denial.is_forbidden() => {
            (Code::PermissionDenied, PERMISSION_DENIED_MESSAGE)
        }
        // `Denial` is non-exhaustive: a denial this crate does not know yet (e.g. a
        // suspended key) is still a refusal, and "authenticate again" is the safe answer.
        Some(_) => (Code::Unauthenticated, UNAUTHENTICATED_MESSAGE),
        // Not a denial: the store or the policy failed, and refusing would be a lie.
        None => (Code::Unavailable, UNAVAILABLE_MESSAGE),
    };
    Status::new(code, message)
}

#[cfg(test)]
mod tests {
    use apikeys::{Denial, StoreError, VerifyError};
    use tonic::Code;

    use super::denial_status;

    #[test]
    fn every_outcome_has_its_code_and_a_generic_message() {
        let unauthenticated = [
            Denial::Missing,
            Denial::Malformed,
            Denial::NotFound,
            Denial::InvalidSecret,
            Denial::Revoked,
            Denial::Expired,
        ];
        for denial in unauthenticated {
            let status = denial_status(&denial.into());
            assert_eq!(status.code(), Code::Unauthenticated, "{denial}");
            assert!(!status.message().contains(denial.code()), "{denial}");
        }
        for denial in [Denial::RateLimited, Denial::UsageExceeded] {
            assert_eq!(
                denial_status(&VerifyError::Denied(denial)).code(),
                Code::ResourceExhausted
            );
        }
        for denial in [Denial::Rejected, Denial::InsufficientScope] {
            assert_eq!(denial_status(&denial.into()).code(), Code::PermissionDenied);
        }
        let outage: VerifyError = StoreError::backend("disk on fire").into();
        let status = denial_status(&outage);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("disk"), "{status:?}");
    }
}
