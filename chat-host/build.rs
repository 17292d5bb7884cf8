//! Compiles `proto/chat.proto` into the gRPC server and client code of `chat_host::grpc::proto`.
//!
//! `protox` parses the file in pure Rust (with `google/protobuf/*.proto` built in), so a build needs no
//! `protoc` and no network.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["chat.proto"], ["proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}
