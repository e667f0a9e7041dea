//! The admin conformance suite: the same HTTP-level checks against every framework mount.
//!
//! A mount's test hands [`run_all`] a function that serves an [`Admin`] on 127.0.0.1 and
//! returns its address; the suite then talks plain HTTP/1.1 to it (auth, sessions, CSRF,
//! every route, bad input, and that no page but the one-time page shows a key).

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use apikeys::{ApiKeys, MemoryStore, NewKey};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::admin::{Admin, DEFAULT_SCOPE};

/// Usage limits through the API and on the pages.
mod limits;

/// Where every suite admin is mounted.
pub const MOUNT: &str = "/admin";

/// An answer, read off the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[(end + 4 + size).min(body.len())..];
    }
    out
}

/// One HTTP/1.1 request (`Connection: close`) and its whole answer.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    // Like browsers and curl: no content-length on a request without a body.
    if !body.is_empty() || !matches!(method, "GET" | "HEAD" | "DELETE") {
        let _ = write!(head, "content-length: {}\r\n", body.len());
    }
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A client of the suite's server: the JSON API with a key, or a browser with a cookie.
#[derive(Debug, Clone)]
pub struct Client {
    /// The server.
    pub addr: SocketAddr,
    /// `Authorization: Api-Key …` sent with every request, when set.
    pub key: Option<String>,
    /// The session cookie (`name=value`), once logged in.
    pub cookie: Option<String>,
    /// Every body this client received, to look for secrets afterwards.
    pub seen: Vec<(String, String)>,
}

impl Client {
    /// A client without key or session.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            key: None,
            cookie: None,
            seen: Vec::new(),
        }
    }

    /// A JSON API client with `key`.
    pub fn with_key(addr: SocketAddr, key: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            ..Self::new(addr)
        }
    }

    /// Any request; `path` is under [`MOUNT`].
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let auth = self.key.as_ref().map(|k| format!("Api-Key {k}"));
        let mut headers = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("authorization", auth.as_str()));
        }
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let full = format!("{MOUNT}{path}");
        let reply = send(self.addr, method, &full, &headers, body).await;
        self.seen.push((full, reply.body.clone()));
        reply
    }

    /// `GET`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.request("GET", path, None, b"").await
    }

    /// A JSON request.
    pub async fn json(&mut self, method: &str, path: &str, body: &Value) -> Reply {
        self.request(
            method,
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
        .await
    }

    /// A form `POST` of `fields`.
    pub async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
        .await
    }

    /// Logs in with `key` and keeps the session cookie; the login answer.
    pub async fn login(&mut self, key: &str) -> Reply {
        let reply = self.form("/login", &[("key", key)]).await;
        if let Some(set) = reply.header("set-cookie") {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        reply
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "GET {path}: {}", page.body);
        csrf_of(&page.body).expect("a CSRF token on the page")
    }
}

/// The value of the first `name="csrf"` input of a page.
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().map(str::to_owned)
}

/// The text of the element with `id` (first text up to the next tag).
pub fn element_text<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let start = page.find(&format!("id=\"{id}\""))?;
    let open_end = start + page[start..].find('>')? + 1;
    let close = open_end + page[open_end..].find('<')?;
    Some(&page[open_end..close])
}

/// The suite's keys: an admin key (scope [`DEFAULT_SCOPE`]) and a key without it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The application's manager, over a [`MemoryStore`] (it keeps history).
    pub keys: ApiKeys,
    /// A key holding the admin scope.
    pub admin_key: String,
    /// A valid key without the admin scope.
    pub plain_key: String,
}

impl Fixture {
    /// Fresh keys in a fresh store.
    pub async fn new() -> Self {
        let keys = ApiKeys::builder(MemoryStore::new())
            .without_last_used()
            .build();
        let admin = keys
            .create(NewKey::named("suite admin").scope(DEFAULT_SCOPE))
            .await
            .expect("create");
        let plain = keys
            .create(NewKey::named("suite plain").scope("heroes:read"))
            .await
            .expect("create");
        Self {
            keys,
            admin_key: admin.key.expose_secret().to_owned(),
            plain_key: plain.key.expose_secret().to_owned(),
        }
    }

    /// An admin at [`MOUNT`] over these keys.
    pub fn admin(&self) -> Admin {
        Admin::builder(self.keys.clone()).mount(MOUNT).build()
    }
}

/// Every check, each against a fresh server from `serve`.
pub async fn run_all<F, Fut>(serve: F)
where
    F: Fn(Admin) -> Fut,
    Fut: Future<Output = SocketAddr>,
{
    let fixture = Fixture::new().await;
    let addr = serve(fixture.admin()).await;
    api_refuses_without_the_admin_scope(addr, &fixture).await;
    api_manages_a_key_through_its_life(addr, &fixture).await;
    api_rejects_bad_input(addr, &fixture).await;
    api_lists_with_filters_and_paging(addr, &fixture).await;
    limits::api_sets_usage_limits(addr, &fixture).await;
    openapi_describes_the_api(addr).await;
    pages_need_a_session(addr, &fixture).await;
    browser_session_manages_keys(addr, &fixture).await;
    revoking_the_admin_key_ends_its_sessions(addr, &fixture).await;

    let fixture = Fixture::new().await;
    let limited = Admin::builder(fixture.keys.clone())
        .mount(MOUNT)
        .login_rate_limit(3, Duration::from_secs(60))
        .idle_timeout(Duration::from_millis(300))
        .secure_cookies(true)
        .build();
    let addr = serve(limited).await;
    failed_logins_are_rate_limited(addr, &fixture).await;
}

/// The security headers every admin answer carries.
pub fn assert_security_headers(reply: &Reply, what: &str) {
    let csp = reply
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{what}: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        reply.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
}

async fn api_refuses_without_the_admin_scope(addr: SocketAddr, f: &Fixture) {
    let none = Client::new(addr).get("/api/keys").await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.header("www-authenticate").is_some());
    let wrong = Client::with_key(addr, "AbCdEfGh.notavalidsecretnotavalidsecret12")
        .get("/api/keys")
        .await;
    assert_eq!(wrong.status, 401);
    let plain = Client::with_key(addr, &f.plain_key).get("/api/keys").await;
    assert_eq!(plain.status, 403, "{}", plain.body);
    let admin = Client::with_key(addr, &f.admin_key).get("/api/keys").await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_security_headers(&admin, "GET /api/keys");
    assert!(!admin.body.contains(&f.admin_key) && !admin.body.contains(&f.plain_key));
}

/// The record fields, exactly as `apikeys show --json` prints them.
const RECORD_FIELDS: [&str; 15] = [
    "created",
    "credits",
    "disabled",
    "expired",
    "expires",
    "last_used",
    "metadata",
    "name",
    "owner",
    "predecessor",
    "prefix",
    "rate_limit",
    "revoked",
    "scopes",
    "successor",
];

fn assert_record(value: &Value) {
    let mut fields: Vec<&str> = value
        .as_object()
        .expect("a record")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, RECORD_FIELDS, "{value}");
    assert!(value.get("hashed_key").is_none());
}

#[allow(clippy::too_many_lines, reason = "one key's whole life, in order")]
async fn api_manages_a_key_through_its_life(addr: SocketAddr, f: &Fixture) {
    let mut api = Client::with_key(addr, &f.admin_key);
    let created = api
        .json(
            "POST",
            "/api/keys",
            &serde_json::json!({
                "name": "billing", "scopes": ["invoices:read"], "owner": "org-1",
                "metadata": {"team": "billing"}, "expires_in": "30d"
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let body = created.json();
    let key = body["key"].as_str().expect("the full key").to_owned();
    assert_record(&body["record"]);
    let prefix = body["record"]["prefix"]
        .as_str()
        .expect("prefix")
        .to_owned();
    assert!(key.starts_with(&prefix));
    assert_eq!(body["record"]["owner"], "org-1");
    assert!(f.keys.verify(&key).await.is_ok());

    let shown = api.get(&format!("/api/keys/{prefix}")).await;
    assert_eq!(shown.status, 200);
    assert_record(&shown.json());
    assert!(!shown.body.contains(&key), "a key shown after creation");

    let renamed = api
        .json(
            "PATCH",
            &format!("/api/keys/{prefix}"),
            &serde_json::json!({"name": "billing v2", "owner": null}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json()["name"], "billing v2");
    assert_eq!(renamed.json()["owner"], Value::Null);

    let disabled = api
        .request("POST", &format!("/api/keys/{prefix}/disable"), None, b"")
        .await;
    assert_eq!(disabled.json()["disabled"], true, "{}", disabled.body);
    assert!(
        f.keys.verify(&key).await.is_err(),
        "a disabled key verified"
    );
    let enabled = api
        .request("POST", &format!("/api/keys/{prefix}/enable"), None, b"")
        .await;
    assert_eq!(enabled.json()["disabled"], false);
    assert!(f.keys.verify(&key).await.is_ok());

    let rolled = api
        .json(
            "POST",
            &format!("/api/keys/{prefix}/roll"),
            &serde_json::json!({"grace": "1h"}),
        )
        .await;
    assert_eq!(rolled.status, 201, "{}", rolled.body);
    assert_eq!(rolled.header("cache-control"), Some("no-store"));
    let rolled = rolled.json();
    let successor_key = rolled["key"].as_str().expect("successor key").to_owned();
    let successor = rolled["record"]["prefix"]
        .as_str()
        .expect("prefix")
        .to_owned();
    assert_eq!(rolled["old"]["successor"], successor.as_str());
    assert_eq!(rolled["record"]["predecessor"], prefix.as_str());
    assert!(f.keys.verify(&successor_key).await.is_ok());
    assert!(
        f.keys.verify(&key).await.is_ok(),
        "the old key works in its grace period"
    );
    let again = api
        .json(
            "POST",
            &format!("/api/keys/{prefix}/roll"),
            &serde_json::json!({"grace": "1h"}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.json()["error"], "refused");

    let revoked = api
        .request("POST", &format!("/api/keys/{prefix}/revoke"), None, b"")
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["record"]["revoked"], true);
    assert_eq!(revoked.json()["already_revoked"], false);
    assert!(f.keys.verify(&key).await.is_err(), "a revoked key verified");
    let enable_revoked = api
        .request("POST", &format!("/api/keys/{prefix}/enable"), None, b"")
        .await;
    assert_eq!(enable_revoked.status, 409);

    let history = api.get(&format!("/api/keys/{prefix}/history")).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let events = history.json()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "created", "updated", "disabled", "enabled", "rolled", "revoked"
        ]
    );
    let admin_prefix = f.admin_key.split('.').next().unwrap_or_default();
    assert!(
        events[1..].iter().all(|e| e["actor"] == admin_prefix),
        "{events:?}"
    );

    let deleted = api
        .request("DELETE", &format!("/api/keys/{successor}"), None, b"")
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let gone = api.get(&format!("/api/keys/{successor}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error"], "not_found");
    assert!(gone.json()["detail"].is_string());
    for (path, body) in &api.seen {
        let one_time =
            path.ends_with("/roll") || (path.ends_with("/api/keys") && body.contains("\"key\""));
        if !one_time {
            assert!(
                !body.contains(&key) && !body.contains(&successor_key),
                "{path} shows a key"
            );
        }
        assert!(!body.contains(&f.admin_key), "{path} shows the admin key");
    }
}

async fn api_rejects_bad_input(addr: SocketAddr, f: &Fixture) {
    let mut api = Client::with_key(addr, &f.admin_key);
    let cases = [
        (serde_json::json!({"name": "x".repeat(51)}), "name"),
        (
            serde_json::json!({"name": "ok", "scopes": ["has space"]}),
            "scope",
        ),
        (
            serde_json::json!({"name": "ok", "expires": "tomorrow"}),
            "expires",
        ),
        (
            serde_json::json!({"name": "ok", "expires_in": "soon"}),
            "expires",
        ),
        (serde_json::json!({"name": "ok", "metadata": [1]}), ""),
        (serde_json::json!({"nom": "ok"}), ""),
    ];
    for (body, field) in cases {
        let reply = api.json("POST", "/api/keys", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        let error = reply.json();
        assert!(
            error["error"].is_string() && error["detail"].is_string(),
            "{}",
            reply.body
        );
        if !field.is_empty() {
            assert_eq!(error["field"], field, "{}", reply.body);
        }
    }
    let not_json = api
        .request("POST", "/api/keys", Some("application/json"), b"{")
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["error"], "invalid_json");
    let bad_grace = api
        .json(
            "POST",
            "/api/keys/AbCdEfGh/roll",
            &serde_json::json!({"grace": "ages"}),
        )
        .await;
    assert_eq!(bad_grace.status, 400);
    let missing = api
        .request("POST", "/api/keys/NoSuchPx/revoke", None, b"")
        .await;
    assert_eq!(missing.status, 404);
    let wrong_method = api.request("PUT", "/api/keys", None, b"").await;
    assert_eq!(wrong_method.status, 405);
    let no_route = api.get("/api/keys/a/b/c").await;
    assert_eq!(no_route.status, 404);
}

async fn api_lists_with_filters_and_paging(addr: SocketAddr, f: &Fixture) {
    let mut api = Client::with_key(addr, &f.admin_key);
    for i in 0..5 {
        let owner = if i % 2 == 0 { "org-even" } else { "org-odd" };
        let reply = api
            .json(
                "POST",
                "/api/keys",
                &serde_json::json!({"name": format!("paged {i}"), "owner": owner}),
            )
            .await;
        assert_eq!(reply.status, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/keys?search=paged&limit=2".to_owned();
    loop {
        let page = api.get(&path).await.json();
        let keys = page["keys"].as_array().cloned().unwrap_or_default();
        assert!(keys.len() <= 2);
        keys.iter().for_each(assert_record);
        seen.extend(
            keys.iter()
                .filter_map(|k| k["name"].as_str().map(str::to_owned)),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/keys?search=paged&limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["paged 4", "paged 3", "paged 2", "paged 1", "paged 0"]
    );
    let even = api.get("/api/keys?owner=org-even").await.json();
    assert_eq!(even["keys"].as_array().map(Vec::len), Some(3));
    let revoked = api
        .get("/api/keys?status=revoked&search=paged")
        .await
        .json();
    assert_eq!(revoked["keys"].as_array().map(Vec::len), Some(0));
    for bad in ["status=gone", "limit=0", "limit=x", "cursor=nonsense"] {
        let reply = api.get(&format!("/api/keys?{bad}")).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["error"], "invalid");
    }
}

async fn openapi_describes_the_api(addr: SocketAddr) {
    let doc = Client::new(addr).get("/api/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/keys/{prefix}/roll"]["post"].is_object());
}

async fn pages_need_a_session(addr: SocketAddr, f: &Fixture) {
    let mut browser = Client::new(addr);
    for path in ["/", "/new", "/keys/AbCdEfGh"] {
        let reply = browser.get(path).await;
        assert_eq!(reply.status, 303, "{path}");
        assert_eq!(reply.header("location"), Some("/admin/login"), "{path}");
    }
    let login = browser.get("/login").await;
    assert_eq!(login.status, 200);
    assert_security_headers(&login, "login page");
    assert!(login.body.contains("name=\"key\"") && !login.body.contains("<script"));
    let css = browser.get("/style.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .is_some_and(|c| c.starts_with("text/css"))
    );
    let bad = browser
        .login("AbCdEfGh.notavalidsecretnotavalidsecret12")
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.header("set-cookie").is_none());
    let plain = browser.login(&f.plain_key).await;
    assert_eq!(plain.status, 403);
    assert!(plain.header("set-cookie").is_none());
    let forged = Client {
        cookie: Some("apikeys_admin=forged".into()),
        ..Client::new(addr)
    }
    .get("/")
    .await;
    assert_eq!(forged.status, 303);
}

#[allow(clippy::too_many_lines, reason = "one browser session, in order")]
async fn browser_session_manages_keys(addr: SocketAddr, f: &Fixture) {
    let mut browser = Client::new(addr);
    let login = browser.login(&f.admin_key).await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.header("location"), Some("/admin/"));
    let cookie = login.header("set-cookie").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "Secure over plain http without configuration: {cookie}"
    );

    let list = browser.get("/").await;
    assert_eq!(list.status, 200);
    assert_security_headers(&list, "key list");
    assert!(list.body.contains("suite admin"));
    let csrf = csrf_of(&list.body).expect("a CSRF token");

    // No token, a wrong token: 403 and nothing created.
    let fields = [
        ("name", "from the browser"),
        ("scopes", "a:b c:d"),
        ("owner", "org-9"),
    ];
    assert_eq!(browser.form("/new", &fields).await.status, 403);
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "wrong"));
    assert_eq!(browser.form("/new", &wrong).await.status, 403);
    let page = f
        .keys
        .list(&apikeys::ListQuery::new().search("from the browser"))
        .await
        .expect("list");
    assert!(page.keys.is_empty(), "a form without the CSRF token acted");

    // Bad input comes back on the form, by the field.
    let too_long = "x".repeat(51);
    let bad = browser
        .form(
            "/new",
            &[
                ("csrf", &csrf),
                ("name", &too_long),
                ("expires", "someday"),
                ("metadata", "{"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    for id in ["name-error", "expires-error", "metadata-error"] {
        assert!(
            bad.body.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            bad.body
        );
    }
    assert!(bad.body.contains(&too_long), "the input is kept");

    let mut good = fields.to_vec();
    good.push(("csrf", &csrf));
    let made = browser.form("/new", &good).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let location = made.header("location").expect("location").to_owned();
    let one_time_path = location
        .strip_prefix(MOUNT)
        .expect("under the mount")
        .to_owned();
    let shown = browser.get(&one_time_path).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let key = element_text(&shown.body, "new-key")
        .expect("#new-key")
        .to_owned();
    assert!(f.keys.verify(&key).await.is_ok(), "the shown key works");
    assert!(shown.body.contains("only once"));
    let again = browser.get(&one_time_path).await;
    assert!(
        !again.body.contains(&key) && !again.body.contains("id=\"new-key\""),
        "the key was shown twice"
    );
    let prefix = key.split('.').next().expect("prefix").to_owned();

    let searched = browser.get("/?search=from+the&status=active").await;
    assert!(
        searched.body.contains(&prefix) && !searched.body.contains("suite admin"),
        "{}",
        searched.body
    );
    let by_owner = browser.get("/?owner=org-9").await;
    assert!(by_owner.body.contains(&prefix));
    assert_eq!(browser.get("/?status=nonsense").await.status, 400);

    let page = browser.get(&format!("/keys/{prefix}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"history\"") && page.body.contains("created"));
    assert_eq!(browser.get("/keys/NoSuchPx").await.status, 404);

    let edited = browser
        .form(
            &format!("/keys/{prefix}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "renamed in browser"),
                ("scopes", "a:b"),
                ("owner", ""),
                ("expires", ""),
                ("metadata", ""),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    let record = f.keys.get(&prefix).await.expect("record");
    assert_eq!(record.name, "renamed in browser");
    assert_eq!(record.owner, None);
    let bad_edit = browser
        .form(
            &format!("/keys/{prefix}/edit"),
            &[("csrf", &csrf), ("name", ""), ("scopes", "bad\u{1}")],
        )
        .await;
    assert_eq!(bad_edit.status, 422);

    assert_eq!(
        browser
            .form(&format!("/keys/{prefix}/disable"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert!(f.keys.get(&prefix).await.expect("record").disabled);
    assert_eq!(
        browser
            .form(&format!("/keys/{prefix}/enable"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert!(!f.keys.get(&prefix).await.expect("record").disabled);

    let bad_grace = browser
        .form(
            &format!("/keys/{prefix}/roll"),
            &[("csrf", &csrf), ("grace", "forever")],
        )
        .await;
    assert_eq!(bad_grace.status, 422);
    let rolled = browser
        .form(
            &format!("/keys/{prefix}/roll"),
            &[("csrf", &csrf), ("grace", "1h")],
        )
        .await;
    assert_eq!(rolled.status, 303, "{}", rolled.body);
    let path = rolled
        .header("location")
        .and_then(|l| l.strip_prefix(MOUNT))
        .expect("location")
        .to_owned();
    let successor_page = browser.get(&path).await;
    let successor_key = element_text(&successor_page.body, "new-key")
        .expect("#new-key")
        .to_owned();
    assert!(f.keys.verify(&successor_key).await.is_ok());
    assert!(!browser.get(&path).await.body.contains(&successor_key));

    let confirm = browser.get(&format!("/keys/{prefix}/revoke")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"confirm-revoke\""));
    assert!(
        !f.keys.get(&prefix).await.expect("record").revoked,
        "the confirmation page acted"
    );
    assert_eq!(
        browser
            .form(&format!("/keys/{prefix}/revoke"), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        browser
            .form(&format!("/keys/{prefix}/revoke"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert!(f.keys.get(&prefix).await.expect("record").revoked);
    assert!(f.keys.verify(&key).await.is_err());
    assert!(f.keys.verify(&successor_key).await.is_ok());

    // No page but the two one-time pages ever showed a key.
    for (path, body) in &browser.seen {
        assert!(!body.contains(&f.admin_key), "{path} shows the admin key");
        if !path.ends_with("/created") {
            assert!(
                !body.contains(&key) && !body.contains(&successor_key),
                "{path} shows a key"
            );
        }
    }

    let logout = browser.form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(logout.status, 303);
    assert!(
        logout
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(
        browser.get("/").await.status,
        303,
        "the session outlived logout"
    );
}

async fn revoking_the_admin_key_ends_its_sessions(addr: SocketAddr, f: &Fixture) {
    let second = f
        .keys
        .create(NewKey::named("second admin").scope(DEFAULT_SCOPE))
        .await
        .expect("create");
    let mut browser = Client::new(addr);
    assert_eq!(browser.login(second.key.expose_secret()).await.status, 303);
    assert_eq!(browser.get("/").await.status, 200);
    let mut api = Client::with_key(addr, &f.admin_key);
    let revoke = api
        .request(
            "POST",
            &format!("/api/keys/{}/revoke", second.record.prefix),
            None,
            b"",
        )
        .await;
    assert_eq!(revoke.status, 200);
    let after = browser.get("/").await;
    assert_eq!(after.status, 303, "a revoked admin key kept its session");
    assert!(
        after
            .header("location")
            .is_some_and(|l| l.starts_with("/admin/login"))
    );
}

async fn failed_logins_are_rate_limited(addr: SocketAddr, f: &Fixture) {
    let mut browser = Client::new(addr);
    let secure = browser.login(&f.admin_key).await;
    assert!(
        secure
            .header("set-cookie")
            .is_some_and(|c| c.contains("; Secure")),
        "configured Secure"
    );
    // Idle expiry.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        browser.get("/").await.status,
        303,
        "an idle session lived on"
    );
    for _ in 0..3 {
        assert_eq!(browser.login(&f.plain_key).await.status, 403);
    }
    let limited = browser.login(&f.admin_key).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    assert!(limited.header("set-cookie").is_none());
}
