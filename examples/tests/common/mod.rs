//! Starting an example binary on a free loopback port, and a minimal HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its address (a cold debug build is slow to start).
const STARTUP: Duration = Duration::from_secs(60);

/// A running example server, killed when dropped (also when a test fails).
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// Everything the server printed before it listened.
    pub(crate) output: Vec<String>,
}

impl Server {
    /// Runs `binary args…` in `dir` and waits for its `listening on http://ADDR` line.
    pub(crate) fn start(binary: &str, args: &[&str], dir: &Path) -> Self {
        Self::start_with_store_env(binary, args, dir, None)
    }

    /// [`start`](Self::start), with `APIKEYS_STORE` set to `store` (unset if `None`).
    pub(crate) fn start_with_store_env(
        binary: &str,
        args: &[&str],
        dir: &Path,
        store: Option<&Path>,
    ) -> Self {
        Self::spawn(binary, args, dir, store, Stdio::inherit())
    }

    /// [`start`](Self::start), with the server's stderr (its log lines) written to `log`.
    pub(crate) fn start_logging_to(binary: &str, args: &[&str], dir: &Path, log: &Path) -> Self {
        let file = std::fs::File::create(log).expect("create log file");
        Self::spawn(binary, args, dir, None, Stdio::from(file))
    }

    fn spawn(binary: &str, args: &[&str], dir: &Path, store: Option<&Path>, stderr: Stdio) -> Self {
        let mut command = Command::new(binary);
        match store {
            Some(store) => command.env("APIKEYS_STORE", store),
            None => command.env_remove("APIKEYS_STORE"),
        };
        let mut child = command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            output: Vec::new(),
        };
        loop {
            let line = incoming
                .recv_timeout(STARTUP)
                .unwrap_or_else(|_| panic!("{binary} did not start: {:?}", server.output));
            if let Some(addr) = line.strip_prefix("listening on http://") {
                server.addr = addr.parse().expect("address");
                return server;
            }
            server.output.push(line);
        }
    }

    /// The key printed at startup (`key: …`).
    pub(crate) fn created_key(&self) -> String {
        self.output
            .iter()
            .find_map(|line| line.strip_prefix("key: "))
            .unwrap_or_else(|| panic!("no key printed: {:?}", self.output))
            .to_owned()
    }

    /// `GET path` with `headers`.
    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        get(self.addr, path, headers)
    }

    /// `POST path` with `headers` and a JSON `body`.
    pub(crate) fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        send(self.addr, "POST", path, headers, Some(body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a server answered.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, so the body ends
/// with the connection).
pub(crate) fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    send(addr, "GET", path, headers, None)
}

/// One request with any method, and a JSON body when given.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.extend([*name, ": ", *value, "\r\n"]);
    }
    if let Some(body) = body {
        let length = body.len().to_string();
        request.extend([
            "Content-Type: application/json\r\nContent-Length: ",
            &length,
            "\r\n\r\n",
            body,
        ]);
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("receive");
    let raw = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// Creates a plain key and a `heroes:read` key in the redb file at `path` (before any
/// server opens it: a redb file is open in one process at a time).
pub(crate) fn create_keys(path: &Path) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let keys = apikeys::ApiKeys::new(apikeys_redb::RedbStore::open(path).expect("open store"));
        let plain = keys
            .create(apikeys::NewKey::named("plain"))
            .await
            .expect("create");
        let hero = keys
            .create(apikeys::NewKey::named("hero").scope(apikeys_examples::HEROES_SCOPE))
            .await
            .expect("create");
        (
            plain.key.expose_secret().to_owned(),
            hero.key.expose_secret().to_owned(),
        )
    })
}

/// The default `Authorization` value for `key`.
pub(crate) fn api_key(key: &str) -> String {
    format!("Api-Key {key}")
}
