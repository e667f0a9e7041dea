//! The standard gRPC health service, `grpc.health.v1.Health`, behind API keys:
//! `grpc-server --store keys.redb [--addr 127.0.0.1:50051]`. Every call needs a key; `Watch`
//! also needs the scope `health:watch`. Server reflection (behind keys too) lets grpcurl
//! call it without the `.proto` file.

use std::process::ExitCode;

use apikeys_examples::{ServerArgs, prepare_and_bind};
use apikeys_tonic::ApiKeyLayer;
use clap::CommandFactory;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

/// The scope a key needs to `Watch` (streaming), on top of being valid.
const WATCH_SCOPE: &str = "health:watch";

#[tokio::main]
async fn main() -> ExitCode {
    let args = parse_args();
    let (keys, listener) = match prepare_and_bind("grpc-server", &args).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (_reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let reflection = match reflection {
        Ok(reflection) => reflection,
        Err(error) => {
            eprintln!("grpc-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let layer = ApiKeyLayer::new(keys).method_scopes("/grpc.health.v1.Health/Watch", [WATCH_SCOPE]);
    let served = Server::builder()
        .layer(layer)
        .add_service(health)
        .add_service(reflection)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            // Without a signal handler the server simply runs until killed.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Err(error) = served {
        eprintln!("grpc-server: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The shared command line, with this server's description and gRPC's customary port.
fn parse_args() -> ServerArgs {
    let command = ServerArgs::command()
        .name("grpc-server")
        .about("An example gRPC server: grpc.health.v1.Health behind API keys (Watch needs scope health:watch).")
        .mut_arg("addr", |addr| addr.default_value("127.0.0.1:50051"));
    ServerArgs::parse_with(command)
}
