//! Header extraction with every `KeySource` kind.

use std::borrow::Cow;

use apikeys::{Ambiguous, HeaderLookup, KeyExtractor, KeyFormat, KeySource, KeySourceKind};
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
    if let Ok(Some(key)) = &found {
        assert!(!key.is_empty(), "an empty key was extracted");
        // Whatever arrives goes on to the parser.
        let _ = KeyFormat::default().parse(key);
    }

    // Sources are tried in order: the answer is the first source's that has a key or is
    // ambiguous (its header occurs several times).
    let first = sources
        .iter()
        .map(|source| KeyExtractor::new([source.clone()]).extract(&map, query))
        .find(|answer| !matches!(answer, Ok(None)))
        .unwrap_or(Ok(None));
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
            let kind = u.int_in_range(0..=3)?;
            let name = name(u)?;
            Ok(match kind {
                0 => KeySource::authorization(name),
                // Lower-cased by construction, whatever the input's case.
                1 => KeySource::header(&name),
                2 => KeySource::cookie(name),
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
    // A key header that occurs several times is ambiguous, whatever its values.
    let single = |name: &str| -> Result<Option<&[u8]>, Ambiguous> {
        let mut values = map.get_all(name).iter();
        let first = values.next().map(HeaderValue::as_bytes);
        if values.next().is_some() {
            Err(Ambiguous)
        } else {
            Ok(first)
        }
    };
    match source.kind() {
        KeySourceKind::Authorization { scheme } => {
            let expected = single("authorization").map(|value| {
                value.and_then(|value| {
                    let head = value.get(..scheme.len())?;
                    let key = value[scheme.len()..].strip_prefix(b" ")?;
                    (head.eq_ignore_ascii_case(scheme.as_bytes()) && !key.is_empty())
                        .then(|| String::from_utf8_lossy(key))
                })
            });
            assert_eq!(found, expected, "Authorization with scheme {scheme:?}");
        }
        KeySourceKind::Header { name } => {
            assert_eq!(
                name,
                name.to_ascii_lowercase(),
                "header source not lower case"
            );
            let expected = single(name).map(|value| {
                value
                    .filter(|value| !value.is_empty())
                    .map(String::from_utf8_lossy)
            });
            assert_eq!(found, expected, "header {name:?}");
        }
        KeySourceKind::Cookie { name } => {
            let found = found.expect("cookies are never ambiguous");
            if let Some(value) = &found {
                let cookies: Vec<Cow<'_, str>> = map
                    .get_all("cookie")
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()))
                    .collect();
                assert!(
                    cookies
                        .iter()
                        .any(|c| c.contains(name) && c.contains(value.as_ref())),
                    "cookie {name:?} came from nowhere"
                );
            }
        }
        KeySourceKind::Query { .. } => {
            let found = found.expect("query parameters are never ambiguous");
            if found.is_some() {
                assert!(query.is_some(), "a query key without a query");
            }
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
