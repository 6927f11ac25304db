//! Generates the gRPC code from `proto/executor.proto`.
//!
//! The proto is parsed by `protox` (a protobuf compiler written in Rust) rather than `protoc`, so
//! building needs no system package; `tonic-prost-build` then writes the prost messages and the
//! tonic client and server into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/executor.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
