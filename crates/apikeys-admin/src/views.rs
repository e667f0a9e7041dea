//! The pages' HTML, as maud templates (checked when the crate compiles). No script, no
//! inline style: the strict Content-Security-Policy allows neither.

use apikeys::{ApiKey, AuditEvent, Cursor};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;

use crate::forms::{EXPIRING_SOON, FieldErrors, KeyForm, cursor_text};
use crate::session::Flash;

/// What every signed-in page needs: links under the mount, the CSRF token for its forms.
pub(crate) struct Ctx<'a> {
    pub(crate) mount: &'a str,
    pub(crate) csrf: &'a str,
}

fn when(t: OffsetDateTime) -> String {
    apikeys::rfc3339(t.replace_nanosecond(0).unwrap_or(t))
}

fn maybe(t: Option<OffsetDateTime>, none: &str) -> String {
    t.map_or_else(|| none.to_owned(), when)
}

/// The key's credits as at `now` (a refill that is due counts): `950 left`, then the refill
/// and when it comes; `-` for a key whose requests are not counted.
fn credits_text(key: &ApiKey, now: OffsetDateTime, long: bool) -> String {
    let Some(mut credits) = key.credits.clone() else {
        return "-".to_owned();
    };
    credits.refresh(now);
    let refill = match (long, credits.refill) {
        (true, Some(refill)) => {
            let next = credits
                .next_refill()
                .map(|next| format!(", next on {}", when(next)));
            format!(", refilled to {refill}{}", next.unwrap_or_default())
        }
        _ => String::new(),
    };
    format!("{} left{refill}", credits.remaining)
}

/// A key's status, the most final first.
pub(crate) fn status(key: &ApiKey, now: OffsetDateTime) -> &'static str {
    if key.revoked {
        "revoked"
    } else if key.disabled {
        "disabled"
    } else if key.is_expired_at(now) {
        "expired"
    } else if key.expires.is_some_and(|at| at <= now + EXPIRING_SOON) {
        "expiring"
    } else {
        "active"
    }
}

fn csrf(ctx: &Ctx<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// The frame of every page; `ctx` is `None` before login.
pub(crate) fn page(ctx: Option<&Ctx<'_>>, title: &str, content: Markup) -> Markup {
    let mount = ctx.map_or("", |c| c.mount);
    layout(mount, ctx, title, content)
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "templates take the markup they embed"
)]
fn layout(mount: &str, ctx: Option<&Ctx<'_>>, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · API keys admin" }
                link rel="stylesheet" href={ (mount) "/style.css" };
            }
            body {
                header {
                    a.brand href={ (mount) "/" } { "API keys" }
                    @if let Some(ctx) = ctx {
                        nav {
                            a href={ (mount) "/" } { "Keys" }
                            a href={ (mount) "/new" } { "New key" }
                            form.inline method="post" action={ (mount) "/logout" } {
                                (csrf(ctx))
                                button.link type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

pub(crate) fn notice(text: &str) -> Markup {
    html! { p.notice { (text) } }
}

/// A page outside a session (errors before login).
pub(crate) fn message(mount: &str, title: &str, text: &str) -> Markup {
    layout(mount, None, title, notice(text))
}

pub(crate) fn login(mount: &str, error: Option<&str>) -> Markup {
    layout(
        mount,
        None,
        "Log in",
        html! {
            p { "Paste an API key that holds the admin scope. It is kept on the server for this session only." }
            @if let Some(error) = error { p.error id="login-error" { (error) } }
            form method="post" action={ (mount) "/login" } {
                label for="key" { "Admin key" }
                input #key type="password" name="key" autocomplete="off" required autofocus;
                button type="submit" { "Log in" }
            }
        },
    )
}

/// The key list's filters, as given, to fill the search form and the paging links.
#[derive(Default)]
pub(crate) struct Filters {
    search: String,
    status: String,
    owner: String,
    limit: String,
}

impl Filters {
    pub(crate) fn from_params(params: &[(String, String)]) -> Self {
        let mut filters = Self::default();
        for (name, value) in params {
            match name.as_str() {
                "search" => filters.search.clone_from(value),
                "status" => filters.status.clone_from(value),
                "owner" => filters.owner.clone_from(value),
                "limit" => filters.limit.clone_from(value),
                _ => {}
            }
        }
        filters
    }

    fn next_link(&self, mount: &str, cursor: &Cursor) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("search", &self.search),
            ("status", &self.status),
            ("owner", &self.owner),
            ("limit", &self.limit),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("cursor", &cursor_text(cursor));
        format!("{mount}/?{}", query.finish())
    }
}

const STATUSES: [(&str, &str); 6] = [
    ("", "any status"),
    ("active", "active"),
    ("expiring", "expiring soon"),
    ("expired", "expired"),
    ("disabled", "disabled"),
    ("revoked", "revoked"),
];

pub(crate) fn key_list(
    ctx: &Ctx<'_>,
    filters: &Filters,
    keys: &[ApiKey],
    next: Option<&Cursor>,
    now: OffsetDateTime,
    error: Option<&str>,
) -> Markup {
    let m = ctx.mount;
    page(
        Some(ctx),
        "Keys",
        html! {
            form.search method="get" action={ (m) "/" } {
                label for="search" { "Name or prefix" }
                input #search type="search" name="search" value=(filters.search);
                label for="owner" { "Owner" }
                input #owner type="text" name="owner" value=(filters.owner);
                label for="status" { "Status" }
                select #status name="status" {
                    @for (value, label) in STATUSES {
                        option value=(value) selected[filters.status == value] { (label) }
                    }
                }
                button type="submit" { "Search" }
            }
            @if let Some(error) = error { p.error { (error) } }
            @if keys.is_empty() {
                p.notice { "No keys match." }
            } @else {
                table #keys {
                    thead { tr {
                        th { "Prefix" } th { "Name" } th { "Owner" } th { "Scopes" }
                        th { "Created" } th { "Expires" } th { "Last used" } th { "Credits" } th { "Status" }
                    } }
                    tbody {
                        @for key in keys {
                            @let status = status(key, now);
                            tr {
                                td { a.prefix href={ (m) "/keys/" (key.prefix) } { (key.prefix) } }
                                td { (key.name) }
                                td { (key.owner.as_deref().unwrap_or("-")) }
                                td { @for scope in &key.scopes { span.scope { (scope) } " " } }
                                td { (when(key.created)) }
                                td { (maybe(key.expires, "never")) }
                                td { (maybe(key.last_used, "never")) }
                                td.credits { (credits_text(key, now, false)) }
                                td { span class={ "status " (status) } { (status) } }
                            }
                        }
                    }
                }
            }
            p.paging {
                @if filters_paged(filters) { a href={ (m) "/" } { "First page" } " " }
                @if let Some(next) = next { a #next href=(filters.next_link(m, next)) { "Next page" } }
            }
        },
    )
}

fn filters_paged(filters: &Filters) -> bool {
    !(filters.search.is_empty() && filters.status.is_empty() && filters.owner.is_empty())
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "templates take the markup they embed"
)]
fn field_row(label: &str, value: Markup) -> Markup {
    html! { tr { th { (label) } td { (value) } } }
}

fn event_text(event: &AuditEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| match v {
            serde_json::Value::Object(mut map) => {
                for k in ["at", "prefix", "actor", "action"] {
                    map.remove(k);
                }
                (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
            }
            _ => None,
        })
        .unwrap_or_default()
}

pub(crate) fn key_page(
    ctx: &Ctx<'_>,
    key: &ApiKey,
    history: &Result<Vec<AuditEvent>, String>,
    now: OffsetDateTime,
) -> Markup {
    let m = ctx.mount;
    let p = &key.prefix;
    let status = status(key, now);
    page(
        Some(ctx),
        &format!("Key {p}"),
        html! {
            table.fields #fields {
                (field_row("Prefix", html! { code { (p) } }))
                (field_row("Name", html! { (key.name) }))
                (field_row("Status", html! { span #status class={ "status " (status) } { (status) } }))
                (field_row("Owner", html! { (key.owner.as_deref().unwrap_or("-")) }))
                (field_row("Scopes", html! { @for scope in &key.scopes { span.scope { (scope) } " " } }))
                (field_row("Created", html! { (when(key.created)) }))
                (field_row("Expires", html! { (maybe(key.expires, "never")) }))
                (field_row("Last used", html! { (maybe(key.last_used, "never")) }))
                (field_row("Rate limit", html! { span #rate-limit { (key.rate_limit.map_or_else(|| "-".to_owned(), |l| l.to_string())) } }))
                (field_row("Credits", html! { span #credits { (credits_text(key, now, true)) } }))
                (field_row("Metadata", html! { code { (serde_json::Value::Object(key.metadata.clone())) } }))
                @if let Some(pred) = &key.predecessor {
                    (field_row("Replaces", html! { a href={ (m) "/keys/" (pred) } { (pred) } }))
                }
                @if let Some(succ) = &key.successor {
                    (field_row("Replaced by", html! { a #successor href={ (m) "/keys/" (succ) } { (succ) } }))
                }
            }
            @if !key.revoked {
                section.actions {
                    a.button #edit href={ (m) "/keys/" (p) "/edit" } { "Edit" }
                    @if key.successor.is_none() && !key.is_expired_at(now) {
                        form #roll method="post" action={ (m) "/keys/" (p) "/roll" } {
                            (csrf(ctx))
                            label for="grace" { "Grace period for the old key" }
                            input #grace type="text" name="grace" value="24h" required;
                            button type="submit" { "Roll" }
                        }
                    }
                    @if key.disabled {
                        form method="post" action={ (m) "/keys/" (p) "/enable" } {
                            (csrf(ctx)) button #enable type="submit" { "Enable" }
                        }
                    } @else {
                        form method="post" action={ (m) "/keys/" (p) "/disable" } {
                            (csrf(ctx)) button #disable type="submit" { "Disable" }
                        }
                    }
                    a.button.danger #revoke href={ (m) "/keys/" (p) "/revoke" } { "Revoke…" }
                }
            }
            h2 { "History" }
            @match history {
                Ok(events) if events.is_empty() => p.notice { "No events." },
                Ok(events) => table #history {
                    thead { tr { th { "When" } th { "Action" } th { "By" } th { "Details" } } }
                    tbody { @for e in events { tr {
                        td { (when(e.at)) }
                        td { (e.action.name()) }
                        td { (e.actor.as_deref().unwrap_or("-")) }
                        td { code { (event_text(e)) } }
                    } } }
                },
                Err(why) => p.notice { (why) },
            }
        },
    )
}

/// The create and edit forms differ only in their title, target and button.
pub(crate) struct KeyFormPage {
    title: String,
    action: String,
    submit: &'static str,
}

impl KeyFormPage {
    pub(crate) fn create() -> Self {
        Self {
            title: "New key".into(),
            action: "/new".into(),
            submit: "Create key",
        }
    }

    pub(crate) fn edit(key: &ApiKey) -> Self {
        Self {
            title: format!("Edit key {}", key.prefix),
            action: format!("/keys/{}/edit", key.prefix),
            submit: "Save",
        }
    }
}

fn input_row(
    name: &str,
    label: &str,
    hint: &str,
    value: &str,
    errors: &FieldErrors,
    textarea: bool,
) -> Markup {
    let error = errors.get(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(name) { (label) }
            @if textarea {
                textarea id=(name) name=(name) rows="3" { (value) }
            } @else {
                input id=(name) type="text" name=(name) value=(value);
            }
            small { (hint) }
            @if let Some(error) = error { p.error id={ (name) "-error" } { (error) } }
        }
    }
}

pub(crate) fn key_form(
    ctx: &Ctx<'_>,
    target: &KeyFormPage,
    form: &KeyForm,
    errors: &FieldErrors,
) -> Markup {
    page(
        Some(ctx),
        &target.title,
        html! {
            @if !errors.is_empty() { p.error { "Please correct the fields marked below." } }
            form.key method="post" action={ (ctx.mount) (target.action) } {
                (csrf(ctx))
                (input_row("name", "Name", "1 to 50 characters.", &form.name, errors, false))
                (input_row("scopes", "Scopes", "Separated by spaces or commas, e.g. invoices:read invoices:write.", &form.scopes, errors, false))
                (input_row("expires", "Expires", "Empty for never; RFC 3339 (2027-01-31T00:00:00Z) or a duration from now (30d).", &form.expires, errors, false))
                (input_row("owner", "Owner", "Optional: the organisation or customer the key belongs to.", &form.owner, errors, false))
                (input_row("metadata", "Metadata", "Optional: a JSON object.", &form.metadata, errors, true))
                button type="submit" { (target.submit) }
            }
        },
    )
}

/// The one-time page: the new key, if the session still holds it; else a page saying it
/// is gone.
pub(crate) fn one_time(ctx: &Ctx<'_>, prefix: &str, flash: Option<&Flash>) -> Markup {
    let m = ctx.mount;
    match flash {
        Some(flash) => page(
            Some(ctx),
            "Your new key",
            html! {
                p.warning #warning { "Copy this key now: it is shown only once and cannot be shown again." }
                pre #new-key { (flash.key.as_str()) }
                @if let Some(old) = &flash.rolled_from {
                    p { "It replaces " a href={ (m) "/keys/" (old) } { (old) } "." }
                }
                p { a href={ (m) "/keys/" (prefix) } { "Go to key " (prefix) } }
            },
        ),
        None => page(
            Some(ctx),
            "Key no longer shown",
            html! {
                p.notice #gone { "A key is shown only once, right after it was made. Roll the key if it was lost." }
                p { a href={ (m) "/keys/" (prefix) } { "Go to key " (prefix) } }
            },
        ),
    }
}

pub(crate) fn revoke_confirm(ctx: &Ctx<'_>, key: &ApiKey) -> Markup {
    let m = ctx.mount;
    let p = &key.prefix;
    page(
        Some(ctx),
        &format!("Revoke key {p}?"),
        html! {
            p.warning { "Revoking " strong { (key.name) } " (" code { (p) } ") is final: every request with it is refused from now on, and nothing un-revokes it." }
            form method="post" action={ (m) "/keys/" (p) "/revoke" } {
                (csrf(ctx))
                button.danger #confirm-revoke type="submit" { "Revoke for good" }
                " "
                a href={ (m) "/keys/" (p) } { "Cancel" }
            }
        },
    )
}
