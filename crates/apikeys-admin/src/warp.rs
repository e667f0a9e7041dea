//! Mounting the admin in warp: `apikeys_admin::warp::filter(admin).or(routes)`.

use warp::filters::path::FullPath;
use warp::{Filter, Rejection, Reply};

use crate::admin::Admin;
use crate::request::AdminRequest;

/// Requests under the admin's mount path, answered by the admin; others are rejected as
/// not found, so the filter combines with the application's routes by `or`.
pub fn filter(
    admin: Admin,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone + Send + Sync + 'static {
    let under_mount = {
        let mount = admin.mount().to_owned();
        warp::path::full().and_then(move |path: FullPath| {
            let under = mount.is_empty()
                || path.as_str() == mount
                || path
                    .as_str()
                    .strip_prefix(mount.as_str())
                    .is_some_and(|r| r.starts_with('/'));
            async move {
                if under {
                    Ok(path)
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
    };
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    under_mount
        .and(warp::method())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |path: FullPath, method, query: String, headers, body| {
                let admin = admin.clone();
                async move {
                    // Read up to the admin's limit, with or without a content-length (warp's
                    // own limit filter refuses a GET that sends none).
                    let Some(body) = read_limited(body).await else {
                        return into_warp(crate::reply::too_large()).await;
                    };
                    let target = if query.is_empty() {
                        path.as_str().to_owned()
                    } else {
                        format!("{}?{query}", path.as_str())
                    };
                    into_warp(
                        admin
                            .handle(AdminRequest::new(method, &target, headers, body))
                            .await,
                    )
                    .await
                }
            },
        )
}

/// The whole body, or `None` past the admin's limit or on a broken connection.
async fn read_limited<S, B>(body: S) -> Option<bytes::Bytes>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    use futures_util::StreamExt as _;
    let mut body = std::pin::pin!(body);
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.ok()?;
        if out.len() + chunk.remaining() > crate::admin::MAX_BODY {
            return None;
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            out.extend_from_slice(piece);
            let n = piece.len();
            chunk.advance(n);
        }
    }
    Some(out.freeze())
}

async fn into_warp(answer: crate::reply::AdminResponse) -> warp::reply::Response {
    let (parts, body) = answer.into_parts();
    // `Full` is one buffer already: collecting it cannot wait or fail.
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    warp::reply::Response::from_parts(parts, body.into())
}
