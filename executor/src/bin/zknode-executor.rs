//! `zknode-executor`: the Executor & Merkle tree role as its own process.
//!
//! ```text
//! zknode-executor serve   --executor.listen 127.0.0.1:50071 --executor.db-path <dir>
//! zknode-executor genesis --executor.db-path <dir> --genesis <accounts.json>
//! ```
//!
//! Flags can also come from the environment (`ZKNODE_EXECUTOR_LISTEN`, `ZKNODE_EXECUTOR_DB_PATH`,
//! `ZKNODE_EXECUTOR_GENESIS`); logs go to stderr, filtered by `RUST_LOG` (default `info`). `serve`
//! stops gracefully on Ctrl-C or SIGTERM: it stops accepting connections, answers the requests in
//! flight and exits 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zknode_executor::execution::{Executor, ExecutorConfig, GenesisAccount};
use zknode_executor::service::{serve, DEFAULT_LISTEN};

#[derive(Debug, Parser)]
#[command(
    name = "zknode-executor",
    version,
    about = "zkNode executor: batch execution over the Poseidon state tree, served over gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the executor gRPC service until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on.
        #[arg(long = "executor.listen", env = "ZKNODE_EXECUTOR_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Directory of the state store (created if missing).
        #[arg(long = "executor.db-path", env = "ZKNODE_EXECUTOR_DB_PATH")]
        db_path: PathBuf,
    },
    /// Write genesis accounts (a JSON array of `GenesisAccount`) into an empty store and print the
    /// genesis state root.
    Genesis {
        /// Directory of the state store (created if missing).
        #[arg(long = "executor.db-path", env = "ZKNODE_EXECUTOR_DB_PATH")]
        db_path: PathBuf,
        /// JSON file: `[{"address": "0x…", "balance": "0x…", "nonce": 0, "code": "0x", "storage": []}, …]`.
        #[arg(long = "genesis", env = "ZKNODE_EXECUTOR_GENESIS")]
        genesis: PathBuf,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve { listen, db_path } => run_serve(listen, &db_path),
        Command::Genesis { db_path, genesis } => run_genesis(&db_path, &genesis),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn open(db_path: &Path) -> Result<Executor, String> {
    std::fs::create_dir_all(db_path)
        .map_err(|e| format!("cannot create {}: {e}", db_path.display()))?;
    Executor::open(db_path, ExecutorConfig::default())
        .map_err(|e| format!("cannot open the store at {}: {e}", db_path.display()))
}

fn run_serve(listen: SocketAddr, db_path: &Path) -> Result<(), String> {
    let executor = open(db_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        serve(executor, listen, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
}

/// Completes on the first Ctrl-C (SIGINT) or SIGTERM.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot install the SIGTERM handler: {e}"))?;
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            result = tokio::signal::ctrl_c() => match result {
                Ok(()) => tracing::info!("Ctrl-C: shutting down"),
                Err(e) => tracing::error!(error = %e, "cannot wait for Ctrl-C; shutting down"),
            },
            _ = terminate => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

fn run_genesis(db_path: &Path, genesis: &Path) -> Result<(), String> {
    let json =
        std::fs::read(genesis).map_err(|e| format!("cannot read {}: {e}", genesis.display()))?;
    let accounts: Vec<GenesisAccount> = serde_json::from_slice(&json).map_err(|e| {
        format!(
            "{} is not a JSON array of genesis accounts: {e}",
            genesis.display()
        )
    })?;
    let executor = open(db_path)?;
    let root = executor.set_genesis(&accounts).map_err(|e| e.to_string())?;
    print_root(root);
    Ok(())
}

/// The genesis root on stdout, for scripts (logs go to stderr).
#[allow(clippy::print_stdout)]
fn print_root(root: zknode_executor::StateRoot) {
    println!("{root}");
}
