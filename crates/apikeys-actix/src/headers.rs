//! actix-web's header map, as the core reads headers.

use actix_web::http::header::HeaderMap;
use apikeys::{Ambiguous, HeaderLookup};

/// actix-web has its own `HeaderMap`; the core's trait is implemented on this view of it.
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.0
            .get(name)
            .map(actix_web::http::header::HeaderValue::as_bytes)
    }

    fn single(&self, name: &str) -> Result<Option<&[u8]>, Ambiguous> {
        let mut values = self.0.get_all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Ambiguous);
        }
        Ok(first.map(actix_web::http::header::HeaderValue::as_bytes))
    }

    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        for value in self.0.get_all(name) {
            if visit(value.as_bytes()) {
                return;
            }
        }
    }
}

/// The raw query string, `None` when there is none.
pub(crate) fn query(query: &str) -> Option<&str> {
    (!query.is_empty()).then_some(query)
}
