//! `grpc-server` as a user runs it: a real process on a loopback port over a redb file,
//! called by tonic's clients for the health and reflection services.

#[allow(dead_code)]
mod common;

use std::path::Path;

use apikeys::{ApiKeys, NewKey};
use apikeys_redb::RedbStore;
use common::Server;
use tonic::codegen::tokio_stream;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const GRPC_SERVER: &str = env!("CARGO_BIN_EXE_grpc-server");
const WATCH_SCOPE: &str = "health:watch";

struct Keys {
    plain: String,
    watcher: String,
    revoked: String,
}

/// Keys in the redb file at `path`, made (and the file closed) before the server opens it:
/// a redb file is open in one process at a time.
async fn create_keys(path: &Path) -> Keys {
    let keys = ApiKeys::new(RedbStore::open(path).expect("open store"));
    let create = async |new: NewKey| {
        let created = keys.create(new).await.expect("create");
        created.key.expose_secret().to_owned()
    };
    let plain = create(NewKey::named("plain")).await;
    let watcher = create(NewKey::named("watcher").scope(WATCH_SCOPE)).await;
    let revoked = create(NewKey::named("revoked")).await;
    let prefix = revoked.split('.').next().expect("prefix");
    keys.revoke(prefix).await.expect("revoke");
    Keys {
        plain,
        watcher,
        revoked,
    }
}

async fn channel(server: &Server) -> Channel {
    Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

fn with_key<T>(message: T, entry: Option<(&'static str, String)>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some((name, value)) = entry {
        let value = MetadataValue::try_from(value).expect("ASCII");
        request.metadata_mut().insert(name, value);
    }
    request
}

/// The default metadata entry for `key`.
fn api_key(key: &str) -> (&'static str, String) {
    ("authorization", format!("Api-Key {key}"))
}

fn whole_server() -> HealthCheckRequest {
    HealthCheckRequest {
        service: String::new(),
    }
}

async fn check(
    client: &mut HealthClient<Channel>,
    entry: Option<(&'static str, String)>,
) -> Result<ServingStatus, Status> {
    let response = client.check(with_key(whole_server(), entry)).await?;
    Ok(response.into_inner().status())
}

async fn watch(
    client: &mut HealthClient<Channel>,
    entry: Option<(&'static str, String)>,
) -> Result<ServingStatus, Status> {
    let mut stream = client
        .watch(with_key(whole_server(), entry))
        .await?
        .into_inner();
    Ok(stream.message().await?.expect("first status").status())
}

/// The service names reflection lists (a bidirectional stream).
async fn list_services(
    channel: Channel,
    entry: Option<(&'static str, String)>,
) -> Result<Vec<String>, Status> {
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let requests = with_key(tokio_stream::iter([ask]), entry);
    let mut client = ServerReflectionClient::new(channel);
    let mut answers = client.server_reflection_info(requests).await?.into_inner();
    let answer = answers.message().await?.expect("an answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => panic!("not a service list: {other:?}"),
    }
}

fn code(result: Result<ServingStatus, Status>) -> Code {
    match result {
        Ok(status) => panic!("granted ({status:?}), expected a refusal"),
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn grpc_server_serves_health_behind_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let keys = create_keys(&store).await;
    let store = store.to_str().expect("utf-8 path");
    let args = [
        "--store",
        store,
        "--addr",
        "127.0.0.1:0",
        "--create-key",
        "started",
        "--scope",
        WATCH_SCOPE,
        "--log-format",
        "json",
    ];
    let log = dir.path().join("server.log");
    let server = Server::start_logging_to(GRPC_SERVER, &args, dir.path(), &log);
    let channel = channel(&server).await;
    let mut health = HealthClient::new(channel.clone());

    assert_eq!(
        check(&mut health, Some(api_key(&keys.plain)))
            .await
            .expect("plain key"),
        ServingStatus::Serving
    );
    assert_eq!(code(check(&mut health, None).await), Code::Unauthenticated);
    assert_eq!(
        code(check(&mut health, Some(api_key(&keys.revoked))).await),
        Code::Unauthenticated
    );
    let mut wrong = keys.plain.clone();
    wrong.truncate(wrong.len() - 1);
    wrong.push(if keys.plain.ends_with('x') { 'y' } else { 'x' });
    assert_eq!(
        code(check(&mut health, Some(api_key(&wrong))).await),
        Code::Unauthenticated
    );

    // Watch streams, and needs the scope.
    assert_eq!(
        code(watch(&mut health, Some(api_key(&keys.plain))).await),
        Code::PermissionDenied
    );
    let started = server.created_key();
    for key in [&keys.watcher, &started] {
        let first = watch(&mut health, Some(api_key(key)))
            .await
            .expect("watcher");
        assert_eq!(first, ServingStatus::Serving);
    }

    // Reflection, for grpcurl, is behind keys too.
    let services = list_services(channel.clone(), Some(api_key(&keys.plain)))
        .await
        .expect("reflection");
    assert!(
        services.iter().any(|s| s == "grpc.health.v1.Health"),
        "{services:?}"
    );
    let refused = list_services(channel, None).await.expect_err("no key");
    assert_eq!(refused.code(), Code::Unauthenticated);
    drop(server);
    check_refusals_logged(&log, &keys, &wrong, &started);
}

/// One `gRPC call refused` line per refused call, with its reason, the key's prefix and
/// the gRPC code; never a secret.
fn check_refusals_logged(log: &Path, keys: &Keys, wrong: &str, started: &str) {
    let text = std::fs::read_to_string(log).expect("read log");
    let refused: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
        .filter(|event| event["fields"]["message"] == "gRPC call refused")
        .map(|event| event["fields"].clone())
        .collect();
    let prefix = |key: &str| key.split('.').next().map(str::to_owned);
    for (reason, prefix) in [
        ("missing", None),
        ("revoked", prefix(&keys.revoked)),
        ("invalid_secret", prefix(wrong)),
        ("insufficient_scope", prefix(&keys.plain)),
    ] {
        assert!(
            refused.iter().any(|fields| fields["reason"] == reason
                && fields["prefix"].as_str() == prefix.as_deref()
                && fields["path"]
                    .as_str()
                    .is_some_and(|path| path.starts_with("/grpc."))),
            "no {reason} line in {text}"
        );
    }
    assert_eq!(refused.len(), 5, "one line per refused call: {text}");
    for key in [&keys.plain, &keys.watcher, &keys.revoked, wrong, started] {
        let (_, secret) = key.rsplit_once('.').expect("prefix.secret");
        assert!(!text.contains(secret), "a secret is in the log: {text}");
    }
}

#[tokio::test]
async fn grpc_server_reads_the_configured_key_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("keys.redb");
    let keys = create_keys(&store).await;
    let store = store.to_str().expect("utf-8 path");
    let args = [
        "--store",
        store,
        "--addr",
        "127.0.0.1:0",
        "--key-header",
        "X-Api-Key",
    ];
    let server = Server::start(GRPC_SERVER, &args, dir.path());
    let mut health = HealthClient::new(channel(&server).await);

    let in_header = Some(("x-api-key", keys.plain.clone()));
    assert_eq!(
        check(&mut health, in_header).await.expect("x-api-key"),
        ServingStatus::Serving
    );
    assert_eq!(
        code(check(&mut health, Some(api_key(&keys.plain))).await),
        Code::Unauthenticated
    );
}
