//! Key parsing for every `KeyFormat` option.

use apikeys::{FormatError, KeyFormat};
use arbitrary::Unstructured;

/// Builds a [`KeyFormat`] from the first input bytes, then parses the rest of the input as
/// a key, parses a freshly generated key, and parses that key with one byte edited.
pub fn key_format(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(format) = format_from(&mut u) else {
        return;
    };
    let edit_at = u.arbitrary::<u16>().unwrap_or(0);
    let edit_to = u.arbitrary::<u8>().unwrap_or(b'.');
    let rest = u.take_rest();

    parse_checked(&format, &String::from_utf8_lossy(rest));
    // The key may also arrive with the brand already in front (the common near miss).
    let branded = format!("{}{}", format.brand(), String::from_utf8_lossy(rest));
    parse_checked(&format, &branded);

    let key = format
        .generate()
        .expect("the OS random number generator works");
    let text = key.expose_secret();
    let parsed = format
        .parse(text)
        .unwrap_or_else(|| panic!("a generated key must parse: {format:?}"));
    assert_eq!(parsed.prefix(), key.prefix());
    parse_checked(&format, text);

    let mut edited = text.as_bytes().to_vec();
    let at = usize::from(edit_at) % edited.len();
    let original = edited[at];
    edited[at] = edit_to;
    let Ok(edited) = String::from_utf8(edited) else {
        return;
    };
    let accepted = parse_checked(&format, &edited);
    if edit_to != original {
        if format.has_checksum() {
            // CRC32 catches every error within 32 bits; a changed checksum character gives
            // a different checksum string.
            assert!(!accepted, "a one-byte edit passed the checksum: {format:?}");
        } else {
            let random_part =
                at >= format.brand().len() && at != format.brand().len() + format.prefix_len();
            assert_eq!(
                accepted,
                random_part && edit_to.is_ascii_alphanumeric(),
                "edit at {at} to {edit_to:#x}: {format:?}"
            );
        }
    }
}

/// The format the input asks for, checking that `build` refuses it exactly when a setting
/// is out of range, naming the first one (prefix length, secret length, brand). `None`
/// when the input is used up or the format is refused.
fn format_from(u: &mut Unstructured<'_>) -> Option<KeyFormat> {
    let options = u.arbitrary::<u8>().ok()?;
    let defaults = KeyFormat::default();
    let mut builder = KeyFormat::builder();
    let mut expected_error = None;
    let mut prefix_len = defaults.prefix_len();
    if options & 1 != 0 {
        prefix_len = usize::from(u.arbitrary::<u8>().ok()?);
        builder = builder.prefix_len(prefix_len);
        if !(4..=32).contains(&prefix_len) {
            expected_error.get_or_insert(FormatError::PrefixLength(prefix_len));
        }
    }
    let mut secret_len = defaults.secret_len();
    if options & 2 != 0 {
        secret_len = usize::from(u.arbitrary::<u8>().ok()?);
        builder = builder.secret_len(secret_len);
        if !(22..=128).contains(&secret_len) {
            expected_error.get_or_insert(FormatError::SecretLength(secret_len));
        }
    }
    let mut brand = String::new();
    if options & 4 != 0 {
        let len = u.int_in_range(0..=40).ok()?;
        brand = String::from_utf8_lossy(u.bytes(len).ok()?).into_owned();
        let valid = brand.len() <= 32
            && brand
                .bytes()
                .next()
                .is_none_or(|b| b.is_ascii_alphanumeric())
            && brand
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        builder = builder.brand(brand.clone());
        if !valid {
            expected_error.get_or_insert(FormatError::Brand(brand.clone()));
        }
    }
    let checksum = options & 8 != 0;
    match (builder.checksum(checksum).build(), expected_error) {
        (Ok(format), None) => {
            assert_eq!(
                (
                    format.prefix_len(),
                    format.secret_len(),
                    format.brand(),
                    format.has_checksum()
                ),
                (prefix_len, secret_len, brand.as_str(), checksum)
            );
            Some(format)
        }
        (Err(error), Some(expected)) => {
            assert_eq!(error, expected);
            None
        }
        (result, expected) => panic!("build gave {result:?}, expected error {expected:?}"),
    }
}

/// Parses `text`, checks the result against the format's shape, and says whether it parsed.
fn parse_checked(format: &KeyFormat, text: &str) -> bool {
    let brand_len = format.brand().len();
    let dot = brand_len + format.prefix_len();
    let shape_ok = text.len() == format.key_len()
        && text.starts_with(format.brand())
        && text.as_bytes()[dot] == b'.'
        && text.as_bytes()[brand_len..]
            .iter()
            .enumerate()
            .all(|(i, b)| i + brand_len == dot || b.is_ascii_alphanumeric());
    let Some(parsed) = format.parse(text) else {
        if !format.has_checksum() {
            assert!(!shape_ok, "a well-shaped key was refused: {format:?}");
        }
        return false;
    };
    assert!(shape_ok, "a malformed key was accepted: {format:?}");
    assert_eq!(parsed.expose_secret(), text);
    assert_eq!(parsed.prefix(), &text[brand_len..dot]);
    // The key's debug output names the prefix but never the secret.
    let debug = format!("{parsed:?}");
    assert!(!debug.contains(&text[dot + 1..]), "secret in Debug output");
    true
}
