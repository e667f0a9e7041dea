//! Header extraction with every `KeySource` kind.

use std::borrow::Cow;

use apikeys::{HeaderLookup, KeyExtractor, KeyFormat, KeySource};
use arbitrary::Unstructured;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Names that make the sources and the headers meet often; the input may also bring its own.
const NAMES: &[&str] = &[
    "authorization",
    "Api-Key",
    "Bearer",
    "x-api-key",
    "X-Api-Key",
    "cookie",
    "api_key",
];

/// Builds a [`KeyExtractor`] of 1–4 sources, headers and a query string from the input, then
/// extracts with an `http::HeaderMap` and with a plain header list.
pub fn extract(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(sources) = sources(&mut u) else {
        return;
    };
    let Ok((map, plain, all_accepted)) = headers(&mut u) else {
        return;
    };
    let query = String::from_utf8_lossy(u.take_rest());
    let query = (!query.is_empty()).then_some(&*query);

    let extractor = KeyExtractor::new(sources.clone());
    let found = extractor.extract(&map, query);
    if let Some(key) = &found {
        assert!(!key.is_empty(), "an empty key was extracted");
        // Whatever arrives goes on to the parser.
        let _ = KeyFormat::default().parse(key);
    }

    // Sources are tried in order: the answer is the first source's that has one.
    let first = sources
        .iter()
        .find_map(|source| KeyExtractor::new([source.clone()]).extract(&map, query));
    assert_eq!(found, first);

    for source in &sources {
        check_source(source, &map, query);
    }

    // Another framework's header type must behave like `http`'s for the same headers.
    if all_accepted {
        assert_eq!(extractor.extract(&plain, query), found);
    }
}

fn name(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    if u.ratio(3, 4)? {
        Ok((*u.choose(NAMES)?).to_owned())
    } else {
        let len = u.int_in_range(0..=12)?;
        Ok(String::from_utf8_lossy(u.bytes(len)?).into_owned())
    }
}

fn sources(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<KeySource>> {
    let count = u.int_in_range(1..=4)?;
    (0..count)
        .map(|_| {
            let kind = u.int_in_range(0..=4)?;
            let name = name(u)?;
            Ok(match kind {
                0 => KeySource::authorization(name),
                1 => KeySource::header(&name),
                // Built directly, the name may keep upper case or be no header name at all.
                2 => KeySource::Header(name),
                3 => KeySource::cookie(name),
                _ => KeySource::query(name),
            })
        })
        .collect()
}

/// Headers as an `http::HeaderMap` (only those `http` accepts) and as a plain list, and
/// whether `http` accepted them all.
fn headers(u: &mut Unstructured<'_>) -> arbitrary::Result<(HeaderMap, PlainHeaders, bool)> {
    let count = u.int_in_range(0..=6)?;
    let mut map = HeaderMap::new();
    let mut plain = PlainHeaders(Vec::new());
    let mut all_accepted = true;
    for _ in 0..count {
        let name = name(u)?;
        let len = u.arbitrary_len::<u8>()?.min(96);
        let value = u.bytes(len)?.to_vec();
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            (Ok(header), Ok(header_value)) => {
                map.append(header, header_value);
                plain.0.push((name.to_ascii_lowercase(), value));
            }
            _ => all_accepted = false,
        }
    }
    Ok((map, plain, all_accepted))
}

/// What each kind of source must return, given what the headers hold.
fn check_source(source: &KeySource, map: &HeaderMap, query: Option<&str>) {
    let found = KeyExtractor::new([source.clone()]).extract(map, query);
    match source {
        KeySource::Authorization { scheme } => {
            let expected = map.first("authorization").and_then(|value| {
                let head = value.get(..scheme.len())?;
                let key = value[scheme.len()..].strip_prefix(b" ")?;
                (head.eq_ignore_ascii_case(scheme.as_bytes()) && !key.is_empty())
                    .then(|| String::from_utf8_lossy(key))
            });
            assert_eq!(found, expected, "Authorization with scheme {scheme:?}");
        }
        KeySource::Header(name) => {
            let expected = map
                .get(name.as_str())
                .map(HeaderValue::as_bytes)
                .filter(|value| !value.is_empty())
                .map(String::from_utf8_lossy);
            assert_eq!(found, expected, "header {name:?}");
        }
        KeySource::Cookie(name) => {
            if let Some(value) = &found {
                let cookies: Vec<Cow<'_, str>> = map
                    .get_all("cookie")
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()))
                    .collect();
                assert!(
                    cookies
                        .iter()
                        .any(|c| c.contains(name.as_str()) && c.contains(value.as_ref())),
                    "cookie {name:?} came from nowhere"
                );
            }
        }
        KeySource::Query(_) if found.is_some() => {
            assert!(query.is_some(), "a query key without a query");
        }
        _ => {}
    }
}

/// Headers as a plain list, the way a framework with its own header type might keep them.
struct PlainHeaders(Vec<(String, Vec<u8>)>);

impl PlainHeaders {
    fn matching<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        let name = name.to_owned();
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.as_slice())
    }
}

impl HeaderLookup for PlainHeaders {
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.matching(name).next()
    }

    fn each(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        for value in self.matching(name) {
            if visit(value) {
                return;
            }
        }
    }
}
