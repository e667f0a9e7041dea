//! A client for the admin's JSON API (`apikeys --server URL`), so that the command manages
//! the keys of a running server, which holds its store open. Plain HTTP only (hyper, already
//! in the workspace): put TLS in front of the admin, or reach it over loopback or a tunnel.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use zeroize::Zeroizing;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take, the answer's body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request to the admin failed. The admin key is in none of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The URL given to `--server` is not an `http://` URL.
    #[error("--server wants an http:// URL like http://127.0.0.1:3000/admin, not {0:?}")]
    Url(String),
    /// Nothing answered, or not in time.
    #[error("cannot reach the admin at {url}: {reason}")]
    Unreachable {
        /// The admin's URL.
        url: String,
        /// What went wrong (connection refused, timed out…).
        reason: String,
    },
    /// 404: no such key.
    #[error("not found: {0}")]
    NotFound(String),
    /// 400: the server refused the input.
    #[error("{0}")]
    Invalid(String),
    /// 401 or 403.
    #[error("the admin key was refused or lacks the admin scope")]
    Refused,
    /// 409: the change conflicts with the key's state.
    #[error("{0}")]
    Conflict(String),
    /// Any other status.
    #[error("the admin answered {status}: {detail}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The server's `detail`, or the body.
        detail: String,
    },
    /// A body that is not the JSON the API documents.
    #[error("the admin sent an answer that is not JSON")]
    Body(#[source] serde_json::Error),
}

impl RemoteError {
    /// The exit code: 2 for input the server refused, 1 otherwise.
    pub fn code(&self) -> u8 {
        match self {
            Self::Url(_) | Self::Invalid(_) => 2,
            _ => 1,
        }
    }
}

/// The admin's JSON API at a mount such as `http://127.0.0.1:3000/admin`.
pub struct AdminClient {
    base: String,
    key: Zeroizing<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client for the admin mounted at `url`, authenticating with `key` (sent as
    /// `Authorization: Api-Key <key>`, the admin's default key source).
    pub fn new(url: &str, key: Zeroizing<String>) -> Result<Self, RemoteError> {
        let base = url.trim_end_matches('/').to_owned();
        let uri: Uri = base.parse().map_err(|_| RemoteError::Url(url.to_owned()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(RemoteError::Url(url.to_owned()));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { base, key, client })
    }

    /// Sends `body` (if any) to `path` under `/api/keys` and returns the JSON answer
    /// (`Value::Null` for an empty one, like a 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RemoteError> {
        let uri = format!("{}/api/keys{path}", self.base);
        let unreachable = |reason: String| RemoteError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        let mut authorization = Zeroizing::new(String::from("Api-Key "));
        authorization.push_str(&self.key);
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header(http::header::AUTHORIZATION, authorization.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(payload))
            .map_err(|_| RemoteError::Url(uri.clone()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                // The connector's error says why (refused, timed out); hyper-util's own
                // Display only says "client error (Connect)".
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    reason = s.to_string();
                    source = s.source();
                }
                unreachable(reason)
            })?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            Ok::<_, RemoteError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {REQUEST_TIMEOUT:?}")))??;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(RemoteError::Body)?
        };
        if status.is_success() {
            return Ok(json);
        }
        let detail = json.get("detail").and_then(Value::as_str).map_or_else(
            || String::from_utf8_lossy(&bytes).into_owned(),
            str::to_owned,
        );
        Err(match status {
            StatusCode::NOT_FOUND => RemoteError::NotFound(detail),
            StatusCode::BAD_REQUEST => RemoteError::Invalid(detail),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RemoteError::Refused,
            StatusCode::CONFLICT => RemoteError::Conflict(detail),
            status => RemoteError::Status { status, detail },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server on 127.0.0.1 that answers one request with `status` and `body`, and hands
    /// back the request it read.
    async fn answer_once(
        status: &'static str,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/admin", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 4096];
            let n = socket.read(&mut buf).await.unwrap();
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (url, task)
    }

    fn client(url: &str) -> AdminClient {
        AdminClient::new(url, Zeroizing::new("ak_admin.secret".into())).unwrap()
    }

    #[tokio::test]
    async fn a_success_is_the_json_and_the_key_goes_in_the_header() {
        let (url, server) = answer_once("200 OK", r#"{"prefix":"ak_x"}"#).await;
        let value = client(&url).call(Method::GET, "/ak_x", None).await.unwrap();
        assert_eq!(value["prefix"], "ak_x");
        let request = server.await.unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("get /admin/api/keys/ak_x http/1.1"),
            "{request}"
        );
        assert!(
            request.contains("authorization: api-key ak_admin.secret"),
            "{request}"
        );
    }

    /// Whether an error is the expected one.
    type Check = fn(&RemoteError) -> bool;

    #[tokio::test]
    async fn statuses_map_to_errors_with_the_servers_detail() {
        let cases: [(&str, &str, Check); 4] = [
            (
                "404 Not Found",
                r#"{"error":"not_found","detail":"no key ak_x"}"#,
                |e| matches!(e, RemoteError::NotFound(d) if d == "no key ak_x"),
            ),
            (
                "400 Bad Request",
                r#"{"error":"invalid","detail":"name too long"}"#,
                |e| matches!(e, RemoteError::Invalid(d) if d == "name too long") && e.code() == 2,
            ),
            (
                "401 Unauthorized",
                r#"{"error":"denied","detail":"x"}"#,
                |e| matches!(e, RemoteError::Refused) && e.code() == 1,
            ),
            (
                "409 Conflict",
                r#"{"error":"conflict","detail":"already rolled"}"#,
                |e| matches!(e, RemoteError::Conflict(d) if d == "already rolled"),
            ),
        ];
        for (status, body, check) in cases {
            let (url, server) = answer_once(status, body).await;
            let error = client(&url)
                .call(Method::GET, "/ak_x", None)
                .await
                .unwrap_err();
            assert!(check(&error), "{status}: {error:?}");
            assert!(!error.to_string().contains("secret"));
            server.await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/admin", listener.local_addr().unwrap());
        drop(listener);
        let error = client(&url).call(Method::GET, "", None).await.unwrap_err();
        assert!(
            matches!(error, RemoteError::Unreachable { .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot reach the admin at {url}"))
        );
    }

    #[test]
    fn only_http_urls_are_taken() {
        for url in ["https://example.com/admin", "127.0.0.1:3000", "not a url"] {
            let key = Zeroizing::new(String::from("k"));
            assert!(
                matches!(AdminClient::new(url, key), Err(RemoteError::Url(_))),
                "{url}"
            );
        }
    }
}
