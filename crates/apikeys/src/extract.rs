//! Finding the presented key in a request, the same way in every adapter.

use std::borrow::Cow;

/// Read access to a request's headers. Implemented for `http::HeaderMap` (feature `http`);
/// adapters for frameworks with their own header type implement it there.
pub trait HeaderLookup {
    /// The first value of header `name` (given in lower case).
    fn first(&self, name: &str) -> Option<&[u8]>;

    /// Calls `visit` with each value of header `name` until it returns `true`.
    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool);
}

#[cfg(feature = "http")]
impl HeaderLookup for http::HeaderMap {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }

    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        for value in self.get_all(name) {
            if visit(value.as_bytes()) {
                return;
            }
        }
    }
}

/// One place a client may put its key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// `Authorization: <scheme> <key>`: the scheme matches ASCII-case-insensitively and is
    /// followed by exactly one space; the rest is the key as-is.
    Authorization {
        /// The scheme keyword, e.g. `Api-Key` or `Bearer`.
        scheme: String,
    },
    /// A header whose whole value is the key, e.g. `X-Api-Key`.
    Header(String),
    /// A cookie whose value is the key.
    Cookie(String),
    /// A query-string parameter. Keys in URLs end up in access logs: opt in deliberately.
    Query(String),
}

impl KeySource {
    /// `Authorization: <scheme> <key>`.
    pub fn authorization(scheme: impl Into<String>) -> Self {
        Self::Authorization {
            scheme: scheme.into(),
        }
    }

    /// A custom header, e.g. `X-Api-Key`.
    pub fn header(name: &str) -> Self {
        Self::Header(name.to_ascii_lowercase())
    }

    /// A cookie.
    pub fn cookie(name: impl Into<String>) -> Self {
        Self::Cookie(name.into())
    }

    /// A query parameter.
    pub fn query(name: impl Into<String>) -> Self {
        Self::Query(name.into())
    }

    fn extract<'a, H: HeaderLookup + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        match self {
            Self::Authorization { scheme } => headers
                .first("authorization")
                .and_then(|value| after_scheme(value, scheme.as_bytes()))
                .map(utf8_lossy),
            Self::Header(name) => headers
                .first(name)
                .filter(|v| !v.is_empty())
                .map(utf8_lossy),
            Self::Cookie(name) => {
                let mut found = None;
                headers.each("cookie", &mut |value| {
                    found = cookie_value(value, name);
                    found.is_some()
                });
                found.map(Cow::Owned)
            }
            Self::Query(name) => form_urlencoded::parse(query?.as_bytes())
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| Cow::Owned(v.into_owned())),
        }
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
}

impl Default for KeyExtractor {
    fn default() -> Self {
        Self::new([KeySource::authorization("Api-Key")])
    }
}

impl KeyExtractor {
    /// Tries `sources` in order.
    pub fn new(sources: impl IntoIterator<Item = KeySource>) -> Self {
        Self {
            sources: sources.into_iter().collect(),
        }
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[KeySource] {
        &self.sources
    }

    /// The key from the first source that has one. `query` is the raw query string.
    pub fn extract<'a, H: HeaderLookup + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        self.sources.iter().find_map(|s| s.extract(headers, query))
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
        assert_eq!(bearer.extract(&headers, None).as_deref(), Some("K"));
        let headers = with("authorization", "Api-Key K");
        assert_eq!(bearer.extract(&headers, None), None);
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
            extractor.extract(&headers, Some("api_key=Q")).as_deref(),
            Some("H")
        );
        let mut headers = with("cookie", "theme=dark; api_key=C");
        headers.append("cookie", http::HeaderValue::from_static("other=1"));
        assert_eq!(
            extractor.extract(&headers, Some("api_key=Q")).as_deref(),
            Some("C")
        );
        let headers = HeaderMap::new();
        assert_eq!(
            extractor
                .extract(&headers, Some("a=1&api_key=Q%2E1"))
                .as_deref(),
            Some("Q.1")
        );
        assert_eq!(extractor.extract(&headers, Some("api_key=")), None);
        assert_eq!(extractor.extract(&headers, None), None);
        // Authorization is not a source here.
        let headers = with("authorization", "Api-Key K");
        assert_eq!(extractor.extract(&headers, None), None);
    }

    #[test]
    fn cookie_in_second_header() {
        let extractor = KeyExtractor::new([KeySource::cookie("k")]);
        let mut headers = with("cookie", "a=1");
        headers.append("cookie", http::HeaderValue::from_static("k=V; b=2"));
        assert_eq!(extractor.extract(&headers, None).as_deref(), Some("V"));
    }

    #[test]
    fn non_utf8_values_are_not_keys() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            http::HeaderValue::from_bytes(b"Api-Key \xff\xfe").unwrap(),
        );
        let key = KeyExtractor::default().extract(&headers, None).unwrap();
        assert!(crate::KeyFormat::default().parse(&key).is_none());
    }
}
