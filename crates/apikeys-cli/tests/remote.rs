//! `apikeys --server`: the real binary against a one-shot HTTP server on 127.0.0.1 that
//! answers as the admin's JSON API does.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread::JoinHandle;

use apikeys::{ApiKey, record_json};
use time::OffsetDateTime;

/// Answers one request with `status` and `body`; the thread returns the request's head.
fn answer_once(status: &'static str, body: String) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!(
        "http://{}/admin",
        listener.local_addr().expect("local address")
    );
    let thread = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut buf = vec![0; 8192];
        let n = socket.read(&mut buf).expect("read the request");
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket
            .write_all(reply.as_bytes())
            .expect("write the answer");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (url, thread)
}

fn apikeys(args: &[&str], admin_key: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_apikeys"));
    command
        .args(args)
        .env_remove("APIKEYS_STORE")
        .env_remove("APIKEYS_SERVER")
        .env_remove("APIKEYS_ADMIN_KEY");
    if let Some(key) = admin_key {
        command.env("APIKEYS_ADMIN_KEY", key);
    }
    command.output().expect("run apikeys")
}

#[test]
fn show_over_server_prints_the_remote_record_like_a_local_one() {
    let mut key = ApiKey::new("ak_remote", "", "billing", OffsetDateTime::now_utc());
    key.rate_limit = Some("100/s".parse().unwrap());
    let (url, server) = answer_once(
        "200 OK",
        record_json(&key, OffsetDateTime::now_utc()).to_string(),
    );
    let out = apikeys(
        &["--server", &url, "show", "ak_remote"],
        Some("ak_admin.s3cret"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("billing") && stdout.contains("100/s"),
        "{stdout}"
    );
    let request = server.join().unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("get /admin/api/keys/ak_remote "),
        "{request}"
    );
    assert!(
        request.contains("authorization: api-key ak_admin.s3cret"),
        "{request}"
    );
}

/// Answers one request per answer, in order, one connection each; the thread returns the
/// requests' heads.
fn answer_each(answers: Vec<(&'static str, String)>) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!(
        "http://{}/admin",
        listener.local_addr().expect("local address")
    );
    let thread = std::thread::spawn(move || {
        answers
            .into_iter()
            .map(|(status, body)| {
                let (mut socket, _) = listener.accept().expect("accept");
                let mut buf = vec![0; 8192];
                let n = socket.read(&mut buf).expect("read the request");
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(reply.as_bytes()).expect("write the answer");
                String::from_utf8_lossy(&buf[..n]).into_owned()
            })
            .collect()
    });
    (url, thread)
}

#[test]
fn disable_over_server_posts_to_the_admin_and_says_so() {
    let now = OffsetDateTime::now_utc();
    let mut key = ApiKey::new("ak_remote", "", "billing", now);
    let active = record_json(&key, now).to_string();
    key.disabled = true;
    let disabled = record_json(&key, now).to_string();
    let (url, server) = answer_each(vec![("200 OK", active), ("200 OK", disabled.clone())]);
    let out = apikeys(&["--server", &url, "disable", "ak_remote"], Some("k"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "disabled key ak_remote (billing)\n"
    );
    let requests = server.join().unwrap();
    assert!(
        requests[0].starts_with("GET /admin/api/keys/ak_remote "),
        "{requests:?}"
    );
    assert!(
        requests[1].starts_with("POST /admin/api/keys/ak_remote/disable "),
        "{requests:?}"
    );

    // Already disabled: one look, no change.
    let (url, server) = answer_each(vec![("200 OK", disabled)]);
    let out = apikeys(&["--server", &url, "disable", "ak_remote"], Some("k"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("was already disabled"));
    assert_eq!(server.join().unwrap().len(), 1);
}

#[test]
fn revoke_and_delete_over_server_with_yes() {
    let now = OffsetDateTime::now_utc();
    let key = ApiKey::new("ak_remote", "", "billing", now);
    let record = record_json(&key, now);
    let revoked = serde_json::json!({"record": record, "already_revoked": false}).to_string();
    let (url, server) = answer_each(vec![("200 OK", record.to_string()), ("200 OK", revoked)]);
    let out = apikeys(
        &["--server", &url, "revoke", "ak_remote", "--yes"],
        Some("k"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "revoked key ak_remote (billing)\n"
    );
    let requests = server.join().unwrap();
    assert!(
        requests[1].starts_with("POST /admin/api/keys/ak_remote/revoke "),
        "{requests:?}"
    );

    let (url, server) = answer_each(vec![
        ("200 OK", record.to_string()),
        ("204 No Content", String::new()),
    ]);
    let out = apikeys(
        &["--server", &url, "delete", "ak_remote", "--yes"],
        Some("k"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deleted key ak_remote (billing)\n"
    );
    let requests = server.join().unwrap();
    assert!(
        requests[1].starts_with("DELETE /admin/api/keys/ak_remote "),
        "{requests:?}"
    );
}

#[test]
fn history_over_server_of_an_unknown_key_is_not_found() {
    let (url, server) = answer_each(vec![
        ("200 OK", r#"{"events":[]}"#.into()),
        (
            "404 Not Found",
            r#"{"error":"not_found","detail":"no key ak_x"}"#.into(),
        ),
    ]);
    let out = apikeys(&["--server", &url, "history", "ak_x"], Some("k"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.join().unwrap().len(), 2);
}

#[test]
fn a_refused_admin_key_is_exit_1_and_never_printed() {
    let (url, server) = answer_once(
        "401 Unauthorized",
        r#"{"error":"denied","detail":"invalid key"}"#.into(),
    );
    let out = apikeys(&["--server", &url, "show", "ak_x"], Some("ak_wrong.s3cret"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the admin key was refused"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    server.join().unwrap();
}

#[test]
fn not_found_over_server_is_exit_1() {
    let (url, server) = answer_once(
        "404 Not Found",
        r#"{"error":"not_found","detail":"no key ak_x"}"#.into(),
    );
    let out = apikeys(&["--server", &url, "show", "ak_x"], Some("k"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    server.join().unwrap();
}

#[test]
fn server_without_admin_key_is_exit_2() {
    let out = apikeys(
        &["--server", "http://127.0.0.1:9/admin", "show", "ak_x"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("APIKEYS_ADMIN_KEY"));
}

#[test]
fn verify_over_server_is_refused_with_exit_2() {
    let out = apikeys(
        &["--server", "http://127.0.0.1:9/admin", "verify"],
        Some("k"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("application's job"));
}

#[test]
fn an_unreachable_admin_is_exit_1() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/admin", listener.local_addr().unwrap());
    drop(listener);
    let out = apikeys(&["--server", &url, "show", "ak_x"], Some("k"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the admin at {url}")),
        "{stderr}"
    );
}

#[test]
fn no_server_and_no_store_is_still_the_no_store_error() {
    let out = apikeys(&["list"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("store"));
}
