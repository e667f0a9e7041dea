//! Reading the layer's verified key in a tonic handler.

use apikeys::{Denial, VerifiedKey};
use tonic::{Request, Status};

use crate::status::denial_status;

/// The key that [`ApiKeyLayer`](crate::ApiKeyLayer) verified for this call; `None` when the
/// service is not behind the layer.
///
/// ```
/// use tonic::{Request, Response, Status};
///
/// fn whoami(request: Request<()>) -> Result<Response<String>, Status> {
///     let key = apikeys_tonic::verified_key(&request)
///         .ok_or_else(|| Status::unauthenticated("no API key"))?;
///     Ok(Response::new(key.prefix().to_owned()))
/// }
/// ```
pub fn verified_key<T>(request: &Request<T>) -> Option<&VerifiedKey> {
    request.extensions().get::<VerifiedKey>()
}

/// The layer's verified key, re-checked for `scopes`: for a method that needs more than
/// the layer required. A call without a verified key (the service is not behind the layer)
/// is refused with `UNAUTHENTICATED`, a key lacking a scope with `PERMISSION_DENIED`; both
/// are logged.
///
/// ```
/// use tonic::{Request, Response, Status};
///
/// fn delete_hero(request: Request<String>) -> Result<Response<()>, Status> {
///     let key = apikeys_tonic::require_key(&request, &["heroes:write"])?;
///     println!("{} deletes {}", key.name(), request.get_ref());
///     Ok(Response::new(()))
/// }
/// ```
pub fn require_key<'r, T>(
    request: &'r Request<T>,
    scopes: &[&str],
) -> Result<&'r VerifiedKey, Status> {
    let Some(key) = verified_key(request) else {
        // A deployment mistake rather than a client's: say so where operators look.
        tracing::warn!("gRPC handler asked for an API key, but no ApiKeyLayer verified one");
        return Err(denial_status(&Denial::Missing.into()));
    };
    key.require_scopes(scopes)
        .map(|()| key)
        .map_err(|error| denial_status(&error))
}
