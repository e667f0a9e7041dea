//! The `WWW-Authenticate` challenge a 401 sends, derived from the configured key sources.

use crate::extract::{KeySource, KeySourceKind};

/// The keyword of the challenge for sources that have no scheme of their own (a custom
/// header, a cookie, the query string), and of the default source.
const API_KEY: &str = "Api-Key";

/// The challenges for `sources`, as one `WWW-Authenticate` value (a comma-separated list,
/// RFC 9110 §11.6.1), in the order of the sources.
///
/// - Each `Authorization` source is challenged by its scheme: `Bearer`, `Api-Key`, ….
/// - The other sources have no auth scheme, yet a 401 must carry at least one challenge
///   (RFC 9110 §15.5.2). They share one `Api-Key` challenge whose parameters name where the
///   key goes (`header="x-api-key"`, `cookie="…"`, `query="…"`), so a client reading the
///   401 can find out; no `realm`, since nothing here partitions a protection space. When
///   `Authorization: Api-Key` is a source too, its challenge carries those parameters,
///   rather than naming the scheme twice.
/// - A scheme that is not an HTTP token cannot be written in a challenge and is left out;
///   with nothing left, the challenge is plain `Api-Key`, never empty.
pub(crate) fn challenge(sources: &[KeySource]) -> String {
    let mut schemes: Vec<&str> = Vec::new();
    // Where the shared `Api-Key` challenge is, once there is one.
    let mut api_key: Option<usize> = None;
    let mut params: [(&str, Vec<&str>); 3] = [
        ("header", Vec::new()),
        ("cookie", Vec::new()),
        ("query", Vec::new()),
    ];
    for source in sources {
        let (slot, name) = match source.kind() {
            KeySourceKind::Authorization { scheme } => {
                if is_token(scheme) && !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
                    if scheme.eq_ignore_ascii_case(API_KEY) {
                        api_key = Some(schemes.len());
                    }
                    schemes.push(scheme);
                }
                continue;
            }
            KeySourceKind::Header { name } => (0, name),
            KeySourceKind::Cookie { name } => (1, name),
            KeySourceKind::Query { name } => (2, name),
        };
        if api_key.is_none() {
            api_key = Some(schemes.len());
            schemes.push(API_KEY);
        }
        params[slot].1.push(name);
    }
    if schemes.is_empty() {
        return API_KEY.to_owned();
    }
    let mut out = String::new();
    for (at, scheme) in schemes.iter().enumerate() {
        if at > 0 {
            out.push_str(", ");
        }
        out.push_str(scheme);
        if Some(at) == api_key {
            let mut first = true;
            for (param, names) in &params {
                if names.is_empty() {
                    continue;
                }
                out.push_str(if first { " " } else { ", " });
                first = false;
                out.push_str(param);
                out.push('=');
                quoted(&mut out, &names.join(" "));
            }
        }
    }
    out
}

/// RFC 9110's `token`: what an auth scheme must be.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `value` as a quoted-string. Anything but visible ASCII and spaces is dropped: the names
/// are a hint to the client, and a header value must stay valid in every framework.
fn quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '!'..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(sources: impl IntoIterator<Item = KeySource>) -> String {
        challenge(&sources.into_iter().collect::<Vec<_>>())
    }

    #[test]
    fn authorization_schemes_are_their_own_challenges() {
        assert_eq!(of([KeySource::authorization("Api-Key")]), "Api-Key");
        assert_eq!(of([KeySource::authorization("Bearer")]), "Bearer");
        assert_eq!(
            of([
                KeySource::authorization("Bearer"),
                KeySource::authorization("Api-Key"),
                KeySource::authorization("bearer"),
            ]),
            "Bearer, Api-Key"
        );
    }

    #[test]
    fn other_sources_share_one_api_key_challenge_naming_them() {
        assert_eq!(
            of([KeySource::header("X-Api-Key")]),
            r#"Api-Key header="x-api-key""#
        );
        assert_eq!(
            of([
                KeySource::authorization("Bearer"),
                KeySource::query("api_key"),
                KeySource::header("X-Key"),
                KeySource::cookie("k"),
                KeySource::header("X-Other"),
            ]),
            r#"Bearer, Api-Key header="x-key x-other", cookie="k", query="api_key""#
        );
        // Api-Key in Authorization takes the parameters instead of a second Api-Key.
        assert_eq!(
            of([KeySource::query("k"), KeySource::authorization("api-key")]),
            r#"Api-Key query="k""#
        );
        assert_eq!(
            of([KeySource::authorization("api-key"), KeySource::query("k")]),
            r#"api-key query="k""#
        );
    }

    #[test]
    fn invalid_names_cannot_break_the_header() {
        assert_eq!(of([]), "Api-Key");
        assert_eq!(of([KeySource::authorization("Two words")]), "Api-Key");
        assert_eq!(of([KeySource::authorization("")]), "Api-Key");
        assert_eq!(
            of([KeySource::query("a\"b\\c\r\nd\u{e9}")]),
            r#"Api-Key query="a\"b\\cd""#
        );
    }
}
