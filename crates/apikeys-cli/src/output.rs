//! How records look on stdout: a table, a detail view, JSON. Never the hash, never a key.

use std::fmt::Write as _;

use apikeys::{ApiKey, AuditAction, AuditEvent, Retirement};
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

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

/// The credits as at `now` (a refill that is due counts): the remaining count, or `-` for
/// a key whose requests are not counted.
fn credits_now(key: &ApiKey, now: OffsetDateTime) -> Option<apikeys::Credits> {
    let mut credits = key.credits.clone()?;
    credits.refresh(now);
    Some(credits)
}

/// Where a key stands in a rotation: `from A`, `to B`, `from A to B`, or `-`.
fn rotation(key: &ApiKey) -> String {
    match (&key.predecessor, &key.successor) {
        (None, None) => "-".to_owned(),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("to {to}"),
        (Some(from), Some(to)) => format!("from {from} to {to}"),
    }
}

pub(crate) fn table(keys: &[ApiKey], now: OffsetDateTime) -> String {
    const HEADERS: [&str; 12] = [
        "PREFIX",
        "NAME",
        "OWNER",
        "CREATED",
        "EXPIRES",
        "LAST_USED",
        "EXPIRED",
        "REVOKED",
        "DISABLED",
        "CREDITS",
        "ROTATION",
        "SCOPES",
    ];
    let rows: Vec<[String; 12]> = keys
        .iter()
        .map(|k| {
            [
                k.prefix.clone(),
                k.name.clone(),
                or_dash(k.owner.as_deref()),
                short_timestamp(k.created),
                k.expires.map_or_else(|| "-".to_owned(), short_timestamp),
                k.last_used.map_or_else(|| "-".to_owned(), short_timestamp),
                yes_no(k.is_expired_at(now)).to_owned(),
                yes_no(k.revoked).to_owned(),
                yes_no(k.disabled).to_owned(),
                credits_now(k, now).map_or_else(|| "-".to_owned(), |c| c.remaining.to_string()),
                rotation(k),
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
        let _ = writeln!(out, "{name:<11} {value}");
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
    field("disabled", yes_no(key.disabled));
    field("owner", &or_dash(key.owner.as_deref()));
    field(
        "last used",
        &key.last_used.map_or_else(|| "never".into(), timestamp),
    );
    field("predecessor", &or_dash(key.predecessor.as_deref()));
    field("successor", &or_dash(key.successor.as_deref()));
    let scopes: Vec<&str> = key.scopes.iter().map(String::as_str).collect();
    field(
        "scopes",
        &if scopes.is_empty() {
            "-".into()
        } else {
            scopes.join(", ")
        },
    );
    field(
        "rate limit",
        &key.rate_limit.map_or_else(|| "-".into(), |l| l.to_string()),
    );
    match credits_now(key, now) {
        Some(credits) => {
            field("credits", &credits.remaining.to_string());
            field(
                "refill",
                &credits.refill.map_or_else(|| "-".into(), |r| r.to_string()),
            );
            field(
                "next refill",
                &credits.next_refill().map_or_else(|| "-".into(), timestamp),
            );
        }
        None => field("credits", "-"),
    }
    field("metadata", &Value::Object(key.metadata.clone()).to_string());
    field("hasher", algorithm(key));
    out
}

pub(crate) fn events_json(events: &[AuditEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect(),
    )
}

/// What an event changed, in words (never a secret or a hash: events hold none).
fn what(action: &AuditAction) -> String {
    match action {
        AuditAction::Updated { changes } => {
            let mut parts = Vec::new();
            if let Some(name) = &changes.name {
                parts.push(format!("name={}", Value::String(name.clone())));
            }
            if let Some(scopes) = &changes.scopes {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                parts.push(format!("scopes=[{}]", scopes.join(",")));
            }
            if let Some(metadata) = &changes.metadata {
                parts.push(format!("metadata={}", Value::Object(metadata.clone())));
            }
            if let Some(expires) = &changes.expires {
                parts.push(format!(
                    "expires={}",
                    expires.map_or_else(|| "never".into(), timestamp)
                ));
            }
            if let Some(owner) = &changes.owner {
                parts.push(format!("owner={}", owner.as_deref().unwrap_or("none")));
            }
            parts.join(" ")
        }
        AuditAction::Rolled { successor, retire } => match retire {
            Retirement::RevokeNow => format!("successor {successor}; old key revoked"),
            Retirement::ExpireAt(at) => format!(
                "successor {successor}; old key works until {} at the latest",
                timestamp(*at)
            ),
        },
        AuditAction::HashUpgraded { algorithm } => format!("to {algorithm}"),
        _ => String::new(),
    }
}

pub(crate) fn events_table(events: &[AuditEvent]) -> String {
    let mut rows = vec![[
        "AT".to_owned(),
        "KEY".to_owned(),
        "ACTOR".to_owned(),
        "ACTION".to_owned(),
        "DETAILS".to_owned(),
    ]];
    rows.extend(events.iter().map(|e| {
        [
            timestamp(e.at),
            e.prefix.clone(),
            or_dash(e.actor.as_deref()),
            e.action.name().to_owned(),
            what(&e.action),
        ]
    }));
    let mut widths = [0; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut text = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                let pad = width - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}
