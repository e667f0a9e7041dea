//! How records look on stdout: a table, a detail view, JSON. Never the hash, never a key.

use std::fmt::Write as _;

use apikeys::ApiKey;
use serde_json::Value;
use time::OffsetDateTime;

pub(crate) use apikeys::rfc3339 as timestamp;

/// RFC 3339 in UTC, to the second: for tables.
fn short_timestamp(t: OffsetDateTime) -> String {
    timestamp(t.replace_nanosecond(0).unwrap_or(t))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn algorithm(key: &ApiKey) -> &str {
    key.hashed_key
        .split('$')
        .find(|s| !s.is_empty())
        .unwrap_or("unknown")
}

/// The record's JSON, the same shape the admin's JSON API serves.
pub(crate) use apikeys::record_json;

pub(crate) fn table(keys: &[ApiKey], now: OffsetDateTime) -> String {
    const HEADERS: [&str; 7] = [
        "PREFIX", "NAME", "CREATED", "EXPIRES", "EXPIRED", "REVOKED", "SCOPES",
    ];
    let rows: Vec<[String; 7]> = keys
        .iter()
        .map(|k| {
            [
                k.prefix.clone(),
                k.name.clone(),
                short_timestamp(k.created),
                k.expires.map_or_else(|| "-".to_owned(), short_timestamp),
                yes_no(k.is_expired_at(now)).to_owned(),
                yes_no(k.revoked).to_owned(),
                if k.scopes.is_empty() {
                    "-".to_owned()
                } else {
                    k.scopes.iter().cloned().collect::<Vec<_>>().join(",")
                },
            ]
        })
        .collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = width - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&HEADERS);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

pub(crate) fn details(key: &ApiKey, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(out, "{name:<9} {value}");
    };
    field("prefix", &key.prefix);
    field("name", &key.name);
    field("created", &timestamp(key.created));
    field(
        "expires",
        &key.expires.map_or_else(|| "never".into(), timestamp),
    );
    field("expired", yes_no(key.is_expired_at(now)));
    field("revoked", yes_no(key.revoked));
    let scopes: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
    field(
        "scopes",
        &if scopes.is_empty() {
            "-".into()
        } else {
            scopes.join(", ")
        },
    );
    field("metadata", &Value::Object(key.metadata.clone()).to_string());
    field("hasher", algorithm(key));
    out
}
