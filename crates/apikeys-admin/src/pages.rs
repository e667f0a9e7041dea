//! The browser pages' handlers: a live session, a CSRF token on every POST, and
//! POST-redirect-GET so that reloading never repeats an action or shows a key again.

use apikeys::{ApiKey, Error, StoreError};
use http::{Method, StatusCode};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::admin::Admin;
use crate::auth::Browser;
use crate::forms::{FieldErrors, KeyForm, field, list_query, parse_duration};
use crate::reply::{self, AdminResponse};
use crate::request::AdminRequest;
use crate::session::Flash;
use crate::views::{self, Ctx};

pub(crate) async fn dispatch(
    admin: &Admin,
    request: AdminRequest,
    segments: &[&str],
) -> AdminResponse {
    let browser = match admin.browser(&request).await {
        Ok(browser) => browser,
        Err(response) => return response,
    };
    let mount = admin.inner.mount.as_str();
    let ctx = Ctx {
        mount,
        csrf: &browser.session.csrf,
    };
    let post = request.method == Method::POST;
    if post
        && !browser
            .session
            .csrf_matches(field(&request.body, "csrf").as_deref())
    {
        return reply::html(
            StatusCode::FORBIDDEN,
            views::page(
                Some(&ctx),
                "Forbidden",
                views::notice(
                    "This form is stale or was not sent by this admin: go back, reload and try again.",
                ),
            ),
        );
    }
    let get = request.method == Method::GET;
    match segments {
        [] if get => list(&ctx, &browser, &request).await,
        ["logout"] if post => admin.logout(&request, &browser),
        ["new"] if get => reply::html(
            StatusCode::OK,
            views::key_form(
                &ctx,
                &views::KeyFormPage::create(),
                &KeyForm::default(),
                &FieldErrors::default(),
            ),
        ),
        ["new"] if post => create(&ctx, &browser, &request).await,
        ["keys", prefix] if get => key_page(&ctx, &browser, prefix).await,
        ["keys", prefix, "created"] if get => one_time(&ctx, &browser, prefix),
        ["keys", prefix, "edit"] if get => match browser.keys.get(prefix).await {
            Ok(key) => reply::html(
                StatusCode::OK,
                views::key_form(
                    &ctx,
                    &views::KeyFormPage::edit(&key),
                    &KeyForm::of(&key),
                    &FieldErrors::default(),
                ),
            ),
            Err(e) => failure(&ctx, &e),
        },
        ["keys", prefix, "edit"] if post => edit(&ctx, &browser, &request, prefix).await,
        ["keys", prefix, "roll"] if post => roll(&ctx, &browser, &request, prefix).await,
        ["keys", prefix, "disable"] if post => {
            after(&ctx, prefix, browser.keys.disable(prefix).await.map(drop))
        }
        ["keys", prefix, "enable"] if post => {
            after(&ctx, prefix, browser.keys.enable(prefix).await.map(drop))
        }
        ["keys", prefix, "revoke"] if get => match browser.keys.get(prefix).await {
            Ok(key) => reply::html(StatusCode::OK, views::revoke_confirm(&ctx, &key)),
            Err(e) => failure(&ctx, &e),
        },
        ["keys", prefix, "revoke"] if post => {
            after(&ctx, prefix, browser.keys.revoke(prefix).await.map(drop))
        }
        _ => reply::html(
            StatusCode::NOT_FOUND,
            views::page(
                Some(&ctx),
                "Not found",
                views::notice("There is no such page."),
            ),
        ),
    }
}

/// A management error as a page: 404, 409 (refused by the key's state), 501, or 503.
fn failure(ctx: &Ctx<'_>, error: &Error) -> AdminResponse {
    let (status, title) = match error {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "Not found"),
        Error::Refused { .. } => (StatusCode::CONFLICT, "Refused"),
        Error::Invalid(_) => (StatusCode::BAD_REQUEST, "Invalid"),
        Error::Store(StoreError::Unsupported(_)) => (StatusCode::NOT_IMPLEMENTED, "Not supported"),
        other => {
            tracing::error!(error = %other, "admin: key management failed");
            return reply::html(
                StatusCode::SERVICE_UNAVAILABLE,
                views::page(
                    Some(ctx),
                    "Unavailable",
                    views::notice("The key store failed; try again."),
                ),
            );
        }
    };
    reply::html(
        status,
        views::page(Some(ctx), title, views::notice(&error.to_string())),
    )
}

/// After an action on a key: back to its page, or the error.
fn after(ctx: &Ctx<'_>, prefix: &str, result: Result<(), Error>) -> AdminResponse {
    match result {
        Ok(()) => reply::redirect(&format!("{}/keys/{prefix}", ctx.mount)),
        Err(e) => failure(ctx, &e),
    }
}

async fn list(ctx: &Ctx<'_>, browser: &Browser, request: &AdminRequest) -> AdminResponse {
    let params = request.params();
    let filters = views::Filters::from_params(&params);
    let query = match list_query(&params) {
        Ok(query) => query,
        Err((param, why)) => {
            let page = views::key_list(
                ctx,
                &filters,
                &[],
                None,
                OffsetDateTime::now_utc(),
                Some(&format!("{param}: {why}")),
            );
            return reply::html(StatusCode::BAD_REQUEST, page);
        }
    };
    let now = query.filter().now();
    match browser.keys.list(&query).await {
        Ok(page) => reply::html(
            StatusCode::OK,
            views::key_list(ctx, &filters, &page.keys, page.next.as_ref(), now, None),
        ),
        Err(e) => failure(ctx, &e),
    }
}

async fn create(ctx: &Ctx<'_>, browser: &Browser, request: &AdminRequest) -> AdminResponse {
    let form = KeyForm::from_body(&request.body);
    let invalid = |errors: FieldErrors| {
        reply::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::key_form(ctx, &views::KeyFormPage::create(), &form, &errors),
        )
    };
    let new = match form.new_key(OffsetDateTime::now_utc()) {
        Ok(new) => new,
        Err(errors) => return invalid(errors),
    };
    match browser.keys.create(new).await {
        Ok(created) => {
            let prefix = created.record.prefix.clone();
            browser.keys_flash(&prefix, created.key.expose_secret(), None);
            reply::redirect(&format!("{}/keys/{prefix}/created", ctx.mount))
        }
        Err(Error::Invalid(e)) => invalid(field_error(&e)),
        Err(e) => failure(ctx, &e),
    }
}

fn field_error(e: &apikeys::ValidationError) -> FieldErrors {
    let field = match e.field() {
        apikeys::Field::Name => "name",
        apikeys::Field::Scope => "scopes",
        apikeys::Field::Expires => "expires",
        apikeys::Field::Owner => "owner",
        _ => "metadata",
    };
    FieldErrors(vec![(field, e.to_string())])
}

impl Browser {
    /// Holds the new key in the session for its one-time page.
    fn keys_flash(&self, prefix: &str, key: &str, rolled_from: Option<String>) {
        self.sessions().set_flash(
            &self.session.id,
            Flash {
                prefix: prefix.to_owned(),
                key: Zeroizing::new(key.to_owned()),
                rolled_from,
            },
        );
    }
}

fn one_time(ctx: &Ctx<'_>, browser: &Browser, prefix: &str) -> AdminResponse {
    let flash = browser.sessions().take_flash(&browser.session.id, prefix);
    reply::html(StatusCode::OK, views::one_time(ctx, prefix, flash.as_ref()))
}

async fn key_page(ctx: &Ctx<'_>, browser: &Browser, prefix: &str) -> AdminResponse {
    let key: ApiKey = match browser.keys.get(prefix).await {
        Ok(key) => key,
        Err(e) => return failure(ctx, &e),
    };
    let history = browser.keys.history(prefix).await.map_err(|e| match e {
        Error::Store(StoreError::Unsupported(_)) => "This store keeps no history.".to_owned(),
        other => {
            tracing::error!(error = %other, "admin: cannot read a key's history");
            "The history cannot be read now.".to_owned()
        }
    });
    reply::html(
        StatusCode::OK,
        views::key_page(ctx, &key, &history, OffsetDateTime::now_utc()),
    )
}

async fn edit(
    ctx: &Ctx<'_>,
    browser: &Browser,
    request: &AdminRequest,
    prefix: &str,
) -> AdminResponse {
    let current = match browser.keys.get(prefix).await {
        Ok(key) => key,
        Err(e) => return failure(ctx, &e),
    };
    let form = KeyForm::from_body(&request.body);
    let invalid = |errors: FieldErrors| {
        reply::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::key_form(ctx, &views::KeyFormPage::edit(&current), &form, &errors),
        )
    };
    let edit = match form.edit(&current, OffsetDateTime::now_utc()) {
        Ok(edit) => edit,
        Err(errors) => return invalid(errors),
    };
    if edit.is_empty() {
        return reply::redirect(&format!("{}/keys/{prefix}", ctx.mount));
    }
    match browser.keys.update(prefix, edit).await {
        Ok(_) => reply::redirect(&format!("{}/keys/{prefix}", ctx.mount)),
        Err(Error::Invalid(e)) => invalid(field_error(&e)),
        Err(e) => failure(ctx, &e),
    }
}

async fn roll(
    ctx: &Ctx<'_>,
    browser: &Browser,
    request: &AdminRequest,
    prefix: &str,
) -> AdminResponse {
    let grace = field(&request.body, "grace").unwrap_or_default();
    let Some(grace) = parse_duration(&grace) else {
        return reply::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::page(
                Some(ctx),
                "Invalid grace period",
                views::notice(
                    "The grace period must be a duration such as 0, 90s, 15m, 12h or 30d. Go back and try again.",
                ),
            ),
        );
    };
    match browser.keys.roll(prefix, grace).await {
        Ok(rolled) => {
            let successor = rolled.successor.record.prefix.clone();
            browser.keys_flash(
                &successor,
                rolled.successor.key.expose_secret(),
                Some(prefix.to_owned()),
            );
            reply::redirect(&format!("{}/keys/{successor}/created", ctx.mount))
        }
        Err(e) => failure(ctx, &e),
    }
}
