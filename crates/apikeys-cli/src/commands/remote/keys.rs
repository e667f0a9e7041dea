//! `create` and `list` over `--server`, printed as the local commands print them.

use std::process::ExitCode;

use apikeys::{ApiKey, ListQuery, StatusFilter};
use apikeys_cli::AdminClient;
use http::Method;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::{decode, no_hasher, percent_encode};
use crate::cli::{CreateArgs, ListArgs};
use crate::commands::keys::{COUNT_MORE, list_query, print_list, print_new_key, warn_if_past};
use crate::commands::{Failure, Outcome};

pub(super) async fn create(client: &AdminClient, args: CreateArgs) -> Outcome {
    no_hasher(args.hasher, "create")?;
    let now = OffsetDateTime::now_utc();
    let mut body = Map::new();
    body.insert("name".into(), json!(args.name));
    body.insert("scopes".into(), json!(args.scopes));
    if !args.meta.is_empty() {
        // Collected as the local create adds them: a field given twice keeps the last.
        let metadata: Map<String, Value> = args.meta.into_iter().collect();
        body.insert("metadata".into(), Value::Object(metadata));
    }
    if let Some(owner) = args.owner {
        body.insert("owner".into(), json!(owner));
    }
    if let Some(limit) = args.limits.rate {
        body.insert("rate_limit".into(), json!(limit.to_string()));
    }
    if let Some(credits) = args.limits.credits {
        body.insert("credits".into(), json!(credits));
    }
    if let Some(refill) = args.limits.refill {
        body.insert("refill".into(), json!(refill.to_string()));
    }
    // The expiry is worked out here, so `--expires-in` counts from the command's clock
    // and warns as locally.
    if let Some(expires) = args.expiry.at(now).map_err(apikeys::Error::from)? {
        warn_if_past(expires, now, "created");
        body.insert("expires".into(), json!(rfc3339(expires)?));
    }
    let mut answer = client
        .call(Method::POST, "", Some(&Value::Object(body)))
        .await?;
    let secret = take_secret(&mut answer)?;
    let record = decode(&answer["record"])?;
    print_new_key(&secret, &record, now, args.json, None)?;
    Ok(ExitCode::SUCCESS)
}

/// The new key out of an answer, so that no other copy of it stays in the JSON value.
pub(super) fn take_secret(answer: &mut Value) -> Result<Zeroizing<String>, Failure> {
    match answer.get_mut("key").map(Value::take) {
        Some(Value::String(key)) if !key.is_empty() => Ok(Zeroizing::new(key)),
        _ => Err("the admin's answer holds no key".to_owned().into()),
    }
}

/// A time as the admin's API reads it.
pub(super) fn rfc3339(at: OffsetDateTime) -> Result<String, Failure> {
    at.format(&Rfc3339)
        .map_err(|e| format!("cannot write the expiry {at}: {e}").into())
}

/// One page from the admin: its keys, undecodable prefixes and the next page's cursor.
struct Page {
    keys: Vec<ApiKey>,
    undecodable: Vec<String>,
    next: Option<String>,
}

async fn page(
    client: &AdminClient,
    params: &str,
    size: usize,
    cursor: Option<&str>,
) -> Result<Page, Failure> {
    let mut path = format!("?limit={size}{params}");
    if let Some(cursor) = cursor {
        path.push_str("&cursor=");
        path.push_str(&percent_encode(cursor));
    }
    let answer = client.call(Method::GET, &path, None).await?;
    let keys = answer
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "the admin sent a listing without keys".to_owned())?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?;
    let strings = |field: &str| -> Vec<String> {
        answer
            .get(field)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Page {
        keys,
        undecodable: strings("undecodable"),
        next: answer
            .get("next")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The listing's filters as query parameters (each after `&`), and whether the status
/// must be checked here: the admin's `expiring` has a window of its own, so for
/// `--expiring-within` every key comes and the window is applied on this side.
fn params(query: &ListQuery) -> (String, bool) {
    let filter = query.filter();
    let mut params = String::new();
    if let Some(search) = filter.search() {
        params.push_str("&search=");
        params.push_str(&percent_encode(search.raw()));
    }
    if let Some(owner) = filter.owner() {
        params.push_str("&owner=");
        params.push_str(&percent_encode(owner));
    }
    let (status, here) = match filter.status() {
        StatusFilter::Active => ("active", false),
        StatusFilter::Revoked => ("revoked", false),
        StatusFilter::Expired => ("expired", false),
        StatusFilter::Disabled => ("disabled", false),
        StatusFilter::ExpiringWithin(_) => ("all", true),
        _ => ("all", false),
    };
    params.push_str("&status=");
    params.push_str(status);
    (params, here)
}

pub(super) async fn list(client: &AdminClient, args: ListArgs) -> Outcome {
    let wanted = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let query = list_query(&args);
    let filter = query.filter();
    let now = filter.now();
    let (params, filter_here) = params(&query);
    // The keys asked for and up to COUNT_MORE past them, to say how many more match, as
    // the local list does with one more page.
    let enough = wanted.saturating_add(COUNT_MORE);
    let mut found = Vec::new();
    let mut undecodable = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let size = if filter_here {
            ListQuery::MAX_LIMIT
        } else {
            (enough - found.len()).min(ListQuery::MAX_LIMIT)
        };
        let page = page(client, &params, size, cursor.as_deref()).await?;
        found.extend(
            page.keys
                .into_iter()
                .filter(|k| !filter_here || filter.matches_key(k)),
        );
        undecodable.extend(page.undecodable);
        cursor = page.next;
        if cursor.is_none() || found.len() >= enough {
            break;
        }
    }
    let more = (found.len() > wanted).then(|| {
        let count = (found.len() - wanted).min(COUNT_MORE);
        (count, count == COUNT_MORE && cursor.is_some())
    });
    found.truncate(wanted);
    print_list(&found, now, args.json, more, &undecodable);
    Ok(ExitCode::SUCCESS)
}
