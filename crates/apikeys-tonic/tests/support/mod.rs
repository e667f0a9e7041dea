//! A real tonic server on loopback behind the layer, a real tonic client, and the test
//! services and hashers the tests need.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use apikeys::{Argon2Hasher, HashError, KeyHasher};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use apikeys_tonic::ApiKeyLayer;

/// The standard health service, `grpc.health.v1.Health`, served behind `layer` on every
/// call, on a free loopback port. The server runs until the test's runtime ends.
pub async fn serve_health(layer: ApiKeyLayer) -> SocketAddr {
    let (listener, addr) = bind().await;
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

/// The health service behind `outer` and, inside it, `inner`.
pub async fn serve_health_behind_two(outer: ApiKeyLayer, inner: ApiKeyLayer) -> SocketAddr {
    let (listener, addr) = bind().await;
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        Server::builder()
            .layer(outer)
            .layer(inner)
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

/// [`KeyEcho`] served with `layer` around that one service only.
pub async fn serve_key_echo(layer: &ApiKeyLayer) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(
        Server::builder()
            .add_service(layer.protect(HealthServer::new(KeyEcho)))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

/// tonic-health's client on a fresh connection to `addr`.
pub async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    HealthClient::new(channel)
}

/// A health request for the whole server, with `authorization: Api-Key <key>` if given.
pub fn request(key: Option<&str>) -> Request<HealthCheckRequest> {
    let request = Request::new(HealthCheckRequest {
        service: String::new(),
    });
    match key {
        Some(key) => with_metadata(request, "authorization", &format!("Api-Key {key}")),
        None => request,
    }
}

/// `request` with metadata entry `name: value` added.
pub fn with_metadata<T>(mut request: Request<T>, name: &'static str, value: &str) -> Request<T> {
    let value = MetadataValue::try_from(value).expect("ASCII metadata");
    request.metadata_mut().insert(name, value);
    request
}

/// `Check` on the whole server: its serving status, or the status the call ended with.
pub async fn check(
    client: &mut HealthClient<Channel>,
    key: Option<&str>,
) -> Result<ServingStatus, Status> {
    let response = client.check(request(key)).await?;
    Ok(response.into_inner().status())
}

/// `Watch` on the whole server: the first status it streams.
pub async fn watch_first(
    client: &mut HealthClient<Channel>,
    key: Option<&str>,
) -> Result<ServingStatus, Status> {
    let mut stream = client.watch(request(key)).await?.into_inner();
    let first = stream.message().await?.expect("a first message");
    Ok(first.status())
}

/// Metadata entry in which [`KeyEcho`] answers the caller's key prefix.
pub const PREFIX_HEADER: &str = "x-key-prefix";

/// A health service of our own whose `Check` reads the caller's key the way an
/// application handler does, and answers its prefix in the response metadata.
pub struct KeyEcho;

#[tonic::async_trait]
impl Health for KeyEcho {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let key = apikeys_tonic::require_key(&request, &[])?;
        let mut response = Response::new(HealthCheckResponse {
            status: ServingStatus::Serving.into(),
        });
        let prefix = MetadataValue::try_from(key.prefix()).expect("ASCII prefix");
        response.metadata_mut().insert(PREFIX_HEADER, prefix);
        Ok(response)
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("KeyEcho does not watch"))
    }
}

/// How long a [`GatedArgon2`] verification waits for its gate before giving up.
const GATE_PATIENCE: Duration = Duration::from_secs(20);

/// Argon2id whose verifications wait until the test opens the gate: a verification that
/// is slow for as long as the test needs. If it ran on the async thread, nothing else could
/// run meanwhile, the gate would time out, and the verification would fail.
#[derive(Clone)]
pub struct GatedArgon2 {
    argon2: Argon2Hasher,
    gate: Arc<Gate>,
}

pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    entered: mpsc::UnboundedSender<()>,
}

impl GatedArgon2 {
    /// The hasher, and the receiver told each time a verification starts waiting.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<()>) {
        let (entered, waiting) = mpsc::unbounded_channel();
        let gate = Arc::new(Gate {
            open: Mutex::new(false),
            opened: Condvar::new(),
            entered,
        });
        let hasher = Self {
            argon2: Argon2Hasher::default(),
            gate,
        };
        (hasher, waiting)
    }

    /// Lets every waiting and later verification through.
    pub fn open(&self) {
        *self.gate.open.lock().expect("gate") = true;
        self.gate.opened.notify_all();
    }
}

impl KeyHasher for GatedArgon2 {
    fn algorithm(&self) -> &'static str {
        self.argon2.algorithm()
    }

    fn recognizes(&self, stored: &str) -> bool {
        self.argon2.recognizes(stored)
    }

    fn hash(&self, key: &[u8]) -> Result<String, HashError> {
        self.argon2.hash(key)
    }

    fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
        let _ = self.gate.entered.send(());
        let open = self.gate.open.lock().expect("gate");
        let (open, _) = self
            .gate
            .opened
            .wait_timeout_while(open, GATE_PATIENCE, |open| !*open)
            .expect("gate");
        if !*open {
            // Nobody opened the gate: the test could not run while this waited.
            return Ok(false);
        }
        drop(open);
        self.argon2.verify(key, stored)
    }

    fn is_expensive(&self) -> bool {
        self.argon2.is_expensive()
    }
}
