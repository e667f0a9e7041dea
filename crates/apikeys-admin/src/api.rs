//! The JSON API at `{mount}/api/keys`: records as `apikeys show --json` prints them
//! ([`apikeys::record_json`]), errors as `{"error": code, "detail": text}`.

use apikeys::{
    ApiKey, CreditsChange, Edit, Metadata, NewKey, RateLimit, Refill, Revocation, record_json,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::admin::Admin;
use crate::auth::Acting;
use crate::forms::{cursor_text, list_query, parse_duration};
use crate::reply::{self, AdminResponse, api_error, api_failure};
use crate::request::AdminRequest;

/// The body of `POST {mount}/api/keys`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    /// RFC 3339.
    #[serde(default)]
    expires: Option<String>,
    /// A duration from now (`30d`), instead of `expires`.
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    /// As written: `100/s`, `5000/h`, `10/s,burst=50`.
    #[serde(default)]
    rate_limit: Option<RateLimit>,
    /// Requests (of cost 1) the key may make.
    #[serde(default)]
    credits: Option<u64>,
    /// `1000/day`, `1000/month`, `500/12h`.
    #[serde(default)]
    refill: Option<Refill>,
}

/// The body of `PATCH {mount}/api/keys/{prefix}`: an [`Edit`], with the credits given as
/// a count and a refill (`null` removes either) rather than as the stored whole.
#[derive(Deserialize)]
#[allow(
    clippy::option_option,
    reason = "absent keeps, null removes, a value sets"
)]
struct PatchBody {
    #[serde(flatten)]
    edit: Edit,
    #[serde(default, deserialize_with = "double_option")]
    credits: Option<Option<u64>>,
    #[serde(default, deserialize_with = "double_option")]
    refill: Option<Option<Refill>>,
}

#[allow(clippy::option_option, reason = "absent, null and a value differ")]
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The body of `POST {mount}/api/keys/{prefix}/roll`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollBody {
    grace: String,
}

fn invalid(field: &str, detail: impl std::fmt::Display) -> AdminResponse {
    reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"error": "invalid", "detail": detail.to_string(), "field": field}),
    )
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the answer, made once per request"
)]
fn body<T: serde::de::DeserializeOwned>(request: &AdminRequest) -> Result<T, AdminResponse> {
    serde_json::from_slice(&request.body)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, "invalid_json", e))
}

fn ok(record: &ApiKey) -> AdminResponse {
    reply::json(
        StatusCode::OK,
        &record_json(record, OffsetDateTime::now_utc()),
    )
}

/// `{mount}/api/keys/…`; `rest` is the path after `keys`.
pub(crate) async fn keys(admin: &Admin, request: AdminRequest, rest: &[&str]) -> AdminResponse {
    let acting = match admin.api_admin(&request).await {
        Ok(acting) => acting,
        Err(response) => return response,
    };
    route(&acting, &request, rest)
        .await
        .unwrap_or_else(|e| match e {
            Failure::Core(e) => api_failure(&e),
            Failure::Reply(r) => r,
        })
}

async fn route(
    acting: &Acting,
    request: &AdminRequest,
    rest: &[&str],
) -> Result<AdminResponse, Failure> {
    match (&request.method, rest) {
        (&Method::GET, []) => list(acting, request).await,
        (&Method::POST, []) => create(acting, request).await,
        (&Method::GET, [prefix]) => Ok(ok(&acting.keys.get(prefix).await?)),
        (&Method::PATCH, [prefix]) => patch(acting, request, prefix).await,
        (&Method::DELETE, [prefix]) => {
            acting
                .keys
                .delete(prefix)
                .await
                .map_err(Into::into)
                .map(|()| {
                    reply::response(
                        StatusCode::NO_CONTENT,
                        "application/json",
                        bytes::Bytes::new(),
                    )
                })
        }
        (&Method::POST, [prefix, "revoke"]) => revoke(acting, prefix).await,
        (&Method::POST, [prefix, "roll"]) => roll(acting, request, prefix).await,
        (&Method::POST, [prefix, "disable"]) => Ok(ok(&acting.keys.disable(prefix).await?)),
        (&Method::POST, [prefix, "enable"]) => Ok(ok(&acting.keys.enable(prefix).await?)),
        (&Method::GET, [prefix, "history"]) => acting
            .keys
            .history(prefix)
            .await
            .map_err(Into::into)
            .map(|events| {
                let events: Vec<Value> = events
                    .iter()
                    .filter_map(|e| serde_json::to_value(e).ok())
                    .collect();
                reply::json(StatusCode::OK, &json!({ "events": events }))
            }),
        (_, [] | [_] | [_, "revoke" | "roll" | "disable" | "enable" | "history"]) => {
            Err(reply::method_not_allowed().into())
        }
        _ => Err(reply::not_found_api().into()),
    }
}

/// A route's failure: a management error, or an answer already made (bad input).
enum Failure {
    Core(apikeys::Error),
    Reply(AdminResponse),
}

impl From<apikeys::Error> for Failure {
    fn from(e: apikeys::Error) -> Self {
        Self::Core(e)
    }
}

impl From<AdminResponse> for Failure {
    fn from(r: AdminResponse) -> Self {
        Self::Reply(r)
    }
}

async fn list(acting: &Acting, request: &AdminRequest) -> Result<AdminResponse, Failure> {
    let query = list_query(&request.params()).map_err(|(param, why)| invalid(param, why))?;
    let now = query.filter().now();
    let page = acting.keys.list(&query).await?;
    let keys: Vec<Value> = page.keys.iter().map(|k| record_json(k, now)).collect();
    let mut body = json!({"keys": keys, "next": page.next.as_ref().map(cursor_text)});
    if !page.undecodable.is_empty() {
        body["undecodable"] = json!(page.undecodable);
    }
    Ok(reply::json(StatusCode::OK, &body))
}

async fn create(acting: &Acting, request: &AdminRequest) -> Result<AdminResponse, Failure> {
    let input: CreateBody = body(request)?;
    let now = OffsetDateTime::now_utc();
    let mut new = NewKey::named(input.name).scopes(input.scopes);
    if let Some(metadata) = input.metadata {
        new = new.metadata(metadata);
    }
    if let Some(owner) = input.owner {
        new = new.owner(owner);
    }
    if let Some(limit) = input.rate_limit {
        new = new.rate_limit(limit);
    }
    if let Some(credits) = input.credits {
        new = new.credits(credits);
    }
    if let Some(refill) = input.refill {
        new = new.refill(refill);
    }
    match (input.expires, input.expires_in) {
        (Some(_), Some(_)) => {
            return Err(invalid("expires", "give expires or expires_in, not both").into());
        }
        (Some(at), None) => {
            let at = OffsetDateTime::parse(&at, &Rfc3339)
                .map_err(|_| invalid("expires", "not an RFC 3339 time (2027-01-31T00:00:00Z)"))?;
            new = new.expires(at);
        }
        (None, Some(after)) => {
            let after = parse_duration(&after)
                .ok_or_else(|| invalid("expires", "not a duration (90s, 15m, 12h, 30d)"))?;
            let at = now
                .checked_add(after)
                .ok_or_else(|| invalid("expires", "too far in the future"))?;
            new = new.expires(at);
        }
        (None, None) => {}
    }
    let created = acting.keys.create(new).await?;
    let body = json!({
        "key": created.key.expose_secret(),
        "record": record_json(&created.record, now),
    });
    Ok(reply::json(StatusCode::CREATED, &body))
}

async fn patch(
    acting: &Acting,
    request: &AdminRequest,
    prefix: &str,
) -> Result<AdminResponse, Failure> {
    let PatchBody {
        mut edit,
        credits,
        refill,
    } = body(request)?;
    let change = CreditsChange {
        remaining: credits,
        refill,
    };
    if !change.is_empty() {
        // An edit replaces the credits whole: what is not asked for is kept from the key.
        let current = acting.keys.get(prefix).await?;
        edit.credits = change
            .resolve(current.credits.as_ref(), OffsetDateTime::now_utc())
            .map_err(|e| invalid("credits", e))?;
    }
    Ok(ok(&acting.keys.update(prefix, edit).await?))
}

async fn revoke(acting: &Acting, prefix: &str) -> Result<AdminResponse, Failure> {
    let now = OffsetDateTime::now_utc();
    let (record, already) = match acting.keys.revoke(prefix).await? {
        Revocation::Revoked(key) => (record_json(&key, now), false),
        Revocation::AlreadyRevoked(key) => (record_json(&key, now), true),
        // Revoked although undecodable: there is no record to show.
        _ => (Value::Null, false),
    };
    Ok(reply::json(
        StatusCode::OK,
        &json!({"record": record, "already_revoked": already}),
    ))
}

async fn roll(
    acting: &Acting,
    request: &AdminRequest,
    prefix: &str,
) -> Result<AdminResponse, Failure> {
    let input: RollBody = body(request)?;
    let grace = parse_duration(&input.grace)
        .ok_or_else(|| invalid("grace", "not a duration (0, 90s, 15m, 12h, 30d)"))?;
    let rolled = acting.keys.roll(prefix, grace).await?;
    let now = OffsetDateTime::now_utc();
    let body = json!({
        "key": rolled.successor.key.expose_secret(),
        "record": record_json(&rolled.successor.record, now),
        "old": record_json(&rolled.old, now),
    });
    Ok(reply::json(StatusCode::CREATED, &body))
}
