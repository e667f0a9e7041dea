//! Finding the presented key in a request, the same way in every adapter.

use std::borrow::Cow;
use std::sync::Arc;

/// Read access to a request's headers. Implemented for `http::HeaderMap` (feature `http`);
/// adapters for frameworks with their own header type implement it there.
pub trait HeaderLookup {
    /// The first value of header `name` (given in lower case).
    fn first(&self, name: &str) -> Option<&[u8]>;

    /// Calls `visit` with each value of header `name` until it returns `true`.
    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool);

    /// The value of header `name` when it occurs at most once; [`Ambiguous`] when it
    /// occurs several times. Implementations may override this with a cheaper count.
    fn single(&self, name: &str) -> Result<Option<&[u8]>, Ambiguous> {
        let mut count = 0usize;
        self.each(name, &mut |_| {
            count += 1;
            count > 1
        });
        if count > 1 {
            return Err(Ambiguous);
        }
        Ok(self.first(name))
    }
}

#[cfg(feature = "http")]
impl HeaderLookup for http::HeaderMap {
    fn first(&self, name: &str) -> Option<&[u8]> {
        values(self, name)
            .iter()
            .next()
            .map(http::HeaderValue::as_bytes)
    }

    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        for value in values(self, name) {
            if visit(value.as_bytes()) {
                return;
            }
        }
    }

    fn single(&self, name: &str) -> Result<Option<&[u8]>, Ambiguous> {
        let mut values = values(self, name).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(Ambiguous);
        }
        Ok(first.map(http::HeaderValue::as_bytes))
    }
}

/// The values of header `name`. The two names every default source reads are looked up
/// by `http`'s constants: given as a string, a name is parsed (lower-cased into a buffer
/// and matched against the standard names) on every lookup, half of an extraction's time.
#[cfg(feature = "http")]
fn values<'m>(
    headers: &'m http::HeaderMap,
    name: &str,
) -> http::header::GetAll<'m, http::HeaderValue> {
    match name {
        "authorization" => headers.get_all(http::header::AUTHORIZATION),
        "cookie" => headers.get_all(http::header::COOKIE),
        other => headers.get_all(other),
    }
}

/// A request carries its key header (`Authorization` or the configured custom header)
/// several times. Which one a proxy or framework would use differs, so no value is
/// trusted: verification refuses such a request as [`Malformed`](crate::Denial::Malformed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key header occurs several times")]
pub struct Ambiguous;

/// One place a client may put its key. Build it with [`authorization`](Self::authorization),
/// [`header`](Self::header), [`cookie`](Self::cookie) or [`query`](Self::query); read it
/// back with [`kind`](Self::kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource(Repr);

/// Private, so that a header name is lower case by construction: header lookups use the
/// name as given, and `X-Api-Key` would find nothing in a map that stores `x-api-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Authorization { scheme: String },
    Header(String),
    Cookie(String),
    Query(String),
}

/// What a [`KeySource`] reads, as returned by [`KeySource::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySourceKind<'a> {
    /// `Authorization: <scheme> <key>`: the scheme matches ASCII-case-insensitively and is
    /// followed by exactly one space; the rest is the key as-is.
    Authorization {
        /// The scheme keyword, e.g. `Api-Key` or `Bearer`.
        scheme: &'a str,
    },
    /// A header whose whole value is the key; the name is in lower case.
    Header {
        /// The header name, lower case.
        name: &'a str,
    },
    /// A cookie whose value is the key.
    Cookie {
        /// The cookie name.
        name: &'a str,
    },
    /// A query-string parameter.
    Query {
        /// The parameter name.
        name: &'a str,
    },
}

/// Where the key is read from, for a log line: `Authorization: Api-Key`,
/// `header x-api-key`, `cookie api_key`, `query api_key`.
impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Authorization { scheme } => write!(f, "Authorization: {scheme}"),
            Repr::Header(name) => write!(f, "header {name}"),
            Repr::Cookie(name) => write!(f, "cookie {name}"),
            Repr::Query(name) => write!(f, "query {name}"),
        }
    }
}

impl KeySource {
    /// `Authorization: <scheme> <key>`: the scheme matches ASCII-case-insensitively and is
    /// followed by exactly one space; the rest is the key as-is.
    pub fn authorization(scheme: impl Into<String>) -> Self {
        Self(Repr::Authorization {
            scheme: scheme.into(),
        })
    }

    /// A header whose whole value is the key, e.g. `X-Api-Key` (matched in any case).
    pub fn header(name: &str) -> Self {
        Self(Repr::Header(name.to_ascii_lowercase()))
    }

    /// A cookie whose value is the key.
    pub fn cookie(name: impl Into<String>) -> Self {
        Self(Repr::Cookie(name.into()))
    }

    /// A query-string parameter. Keys in URLs end up in access logs: opt in deliberately.
    pub fn query(name: impl Into<String>) -> Self {
        Self(Repr::Query(name.into()))
    }

    /// What this source reads.
    pub fn kind(&self) -> KeySourceKind<'_> {
        match &self.0 {
            Repr::Authorization { scheme } => KeySourceKind::Authorization { scheme },
            Repr::Header(name) => KeySourceKind::Header { name },
            Repr::Cookie(name) => KeySourceKind::Cookie { name },
            Repr::Query(name) => KeySourceKind::Query { name },
        }
    }

    fn extract<'a, H: HeaderLookup + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
    ) -> Result<Option<Cow<'a, str>>, Ambiguous> {
        Ok(match &self.0 {
            Repr::Authorization { scheme } => headers
                .single("authorization")?
                .and_then(|value| after_scheme(value, scheme.as_bytes()))
                .map(utf8_lossy),
            Repr::Header(name) => headers
                .single(name)?
                .filter(|v| !v.is_empty())
                .map(utf8_lossy),
            Repr::Cookie(name) => {
                let mut found = None;
                headers.each("cookie", &mut |value| {
                    found = cookie_value(value, name);
                    found.is_some()
                });
                found.map(Cow::Owned)
            }
            Repr::Query(name) => query.and_then(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .find(|(k, v)| k == name && !v.is_empty())
                    .map(|(_, v)| Cow::Owned(v.into_owned()))
            }),
        })
    }
}

/// `String::from_utf8_lossy`, but valid text (every real key) is checked by
/// `str::from_utf8`, which tests ASCII a word at a time where the lossy decoder goes byte
/// by byte: a third of an extraction's time.
fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The credentials after `<scheme> ` in an Authorization value; `None` when the scheme
/// differs, the separator is not one space, or nothing follows.
fn after_scheme<'a>(value: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let rest = value.strip_prefix_ignore_ascii_case(scheme)?;
    rest.strip_prefix(b" ").filter(|key| !key.is_empty())
}

trait StripPrefixIgnoreCase {
    fn strip_prefix_ignore_ascii_case(&self, prefix: &[u8]) -> Option<&Self>;
}

impl StripPrefixIgnoreCase for [u8] {
    fn strip_prefix_ignore_ascii_case(&self, prefix: &[u8]) -> Option<&Self> {
        let head = self.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| &self[prefix.len()..])
    }
}

fn cookie_value(header: &[u8], name: &str) -> Option<String> {
    let header = std::str::from_utf8(header).ok()?;
    cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// The configured key sources, tried in order. Default: `Authorization: Api-Key <key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExtractor {
    sources: Vec<KeySource>,
    /// Derived from `sources` once here, not on every 401.
    challenge: Arc<str>,
}

impl Default for KeyExtractor {
    fn default() -> Self {
        Self::new([KeySource::authorization("Api-Key")])
    }
}

impl KeyExtractor {
    /// Tries `sources` in order.
    pub fn new(sources: impl IntoIterator<Item = KeySource>) -> Self {
        let sources: Vec<KeySource> = sources.into_iter().collect();
        Self {
            challenge: crate::challenge::challenge(&sources).into(),
            sources,
        }
    }

    /// The `WWW-Authenticate` value a 401 sends for these sources: each `Authorization`
    /// scheme (`Bearer`, `Api-Key`, …), and for a custom header, cookie or query source an
    /// `Api-Key` challenge naming it, e.g. `Api-Key header="x-api-key"`. Comma-separated
    /// when there are several (RFC 9110 §11.6.1).
    pub fn challenge(&self) -> &Arc<str> {
        &self.challenge
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[KeySource] {
        &self.sources
    }

    /// The key from the first source that has one (`Ok(None)`: no source has one).
    /// `query` is the raw query string. A source whose header occurs several times stops
    /// the search with [`Ambiguous`]: a later source must not win over a confused first one.
    pub fn extract<'a, H: HeaderLookup + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
    ) -> Result<Option<Cow<'a, str>>, Ambiguous> {
        for source in &self.sources {
            if let Some(key) = source.extract(headers, query)? {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use http::HeaderMap;

    use super::*;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.append(name, http::HeaderValue::from_static(value));
        headers
    }

    fn authorization(value: &'static str) -> Option<String> {
        KeyExtractor::default()
            .extract(&with("authorization", value), None)
            .expect("one Authorization header")
            .map(Cow::into_owned)
    }

    #[test]
    fn authorization_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Api-Key K", Some("K")),
            ("api-key K", Some("K")),
            ("API-KEY K", Some("K")),
            ("Api-Key  K", Some(" K")),
            ("Api-Key K L", Some("K L")),
            ("Api-Key:K", None),
            ("Api-KeyK", None),
            ("X-Key K", None),
            ("My-Special-Api-Key K", None),
            ("Bearer K", None),
            ("Api-Key", None),
            ("Api-Key ", None),
            ("", None),
        ];
        for (value, expected) in cases {
            assert_eq!(authorization(value).as_deref(), *expected, "{value:?}");
        }
    }

    #[test]
    fn custom_scheme() {
        let bearer = KeyExtractor::new([KeySource::authorization("Bearer")]);
        let headers = with("authorization", "bearer K");
        assert_eq!(
            bearer.extract(&headers, None).unwrap().as_deref(),
            Some("K")
        );
        let headers = with("authorization", "Api-Key K");
        assert_eq!(bearer.extract(&headers, None).unwrap(), None);
    }

    #[test]
    fn custom_header_cookie_and_query_in_order() {
        let extractor = KeyExtractor::new([
            KeySource::header("X-Api-Key"),
            KeySource::cookie("api_key"),
            KeySource::query("api_key"),
        ]);
        let headers = with("x-api-key", "H");
        assert_eq!(
            extractor
                .extract(&headers, Some("api_key=Q"))
                .unwrap()
                .as_deref(),
            Some("H")
        );
        let mut headers = with("cookie", "theme=dark; api_key=C");
        headers.append("cookie", http::HeaderValue::from_static("other=1"));
        assert_eq!(
            extractor
                .extract(&headers, Some("api_key=Q"))
                .unwrap()
                .as_deref(),
            Some("C")
        );
        let headers = HeaderMap::new();
        assert_eq!(
            extractor
                .extract(&headers, Some("a=1&api_key=Q%2E1"))
                .unwrap()
                .as_deref(),
            Some("Q.1")
        );
        assert_eq!(extractor.extract(&headers, Some("api_key=")).unwrap(), None);
        assert_eq!(extractor.extract(&headers, None).unwrap(), None);
        // Authorization is not a source here.
        let headers = with("authorization", "Api-Key K");
        assert_eq!(extractor.extract(&headers, None).unwrap(), None);
    }

    #[test]
    fn cookie_in_second_header() {
        let extractor = KeyExtractor::new([KeySource::cookie("k")]);
        let mut headers = with("cookie", "a=1");
        headers.append("cookie", http::HeaderValue::from_static("k=V; b=2"));
        assert_eq!(
            extractor.extract(&headers, None).unwrap().as_deref(),
            Some("V")
        );
    }

    #[test]
    fn non_utf8_values_are_not_keys() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            http::HeaderValue::from_bytes(b"Api-Key \xff\xfe").unwrap(),
        );
        let key = KeyExtractor::default()
            .extract(&headers, None)
            .unwrap()
            .unwrap();
        assert!(crate::KeyFormat::default().parse(&key).is_none());
    }

    #[test]
    fn several_key_headers_are_ambiguous() {
        let mut headers = with("authorization", "Api-Key K");
        headers.append("authorization", http::HeaderValue::from_static("Api-Key L"));
        assert_eq!(
            KeyExtractor::default().extract(&headers, None),
            Err(Ambiguous)
        );
        // Even when only one of them is an Api-Key credential.
        let mut headers = with("authorization", "Basic dTpw");
        headers.append("authorization", http::HeaderValue::from_static("Api-Key K"));
        assert_eq!(
            KeyExtractor::default().extract(&headers, None),
            Err(Ambiguous)
        );

        let custom = KeyExtractor::new([KeySource::header("X-Api-Key"), KeySource::query("k")]);
        let mut headers = with("x-api-key", "K");
        headers.append("x-api-key", http::HeaderValue::from_static("L"));
        // The confused first source is not skipped in favour of a later one.
        assert_eq!(custom.extract(&headers, Some("k=Q")), Err(Ambiguous));
        assert_eq!(
            custom
                .extract(&with("x-api-key", "K"), None)
                .unwrap()
                .as_deref(),
            Some("K")
        );
    }

    /// The trait's own `single`, as a framework adapter without an override gets it.
    #[test]
    fn default_single_counts_values() {
        struct Pairs(Vec<(&'static str, &'static [u8])>);
        impl HeaderLookup for Pairs {
            fn first(&self, name: &str) -> Option<&[u8]> {
                self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
            }
            fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
                for (_, v) in self.0.iter().filter(|(n, _)| *n == name) {
                    if visit(v) {
                        return;
                    }
                }
            }
        }
        let one = Pairs(vec![("authorization", b"Api-Key K")]);
        assert_eq!(one.single("authorization"), Ok(Some(&b"Api-Key K"[..])));
        assert_eq!(one.single("x-api-key"), Ok(None));
        let two = Pairs(vec![
            ("authorization", b"Api-Key K"),
            ("authorization", b"Api-Key L"),
        ]);
        assert_eq!(two.single("authorization"), Err(Ambiguous));
    }

    #[test]
    fn header_sources_are_lower_case_by_construction() {
        let source = KeySource::header("X-Api-Key");
        assert_eq!(source.kind(), KeySourceKind::Header { name: "x-api-key" });
        let extractor = KeyExtractor::new([source]);
        assert_eq!(
            extractor
                .extract(&with("x-api-key", "K"), None)
                .unwrap()
                .as_deref(),
            Some("K")
        );
    }
}
