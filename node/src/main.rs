//! `zknode`: the node binary.
//!
//! ```text
//! zknode dev                                   # the whole chain on this host, defaults
//! zknode run --components rpc,sequencer        # any set of roles, from config/env/flags
//! zknode run --components executor             # the executor's gRPC service alone
//! zknode migrate | config                      # apply migrations | print the effective config
//! zknode prove --batches 1..3                  # prove fixture batches, aggregate, verify
//! ```
//!
//! Configuration: defaults (or `dev`'s), then `--config FILE` (TOML), then `ZKNODE_SECTION_KEY`
//! variables, then `--section.key VALUE` flags. SIGINT/SIGTERM stop the roles gracefully.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command};
use zknode_executor::execution::GenesisAccount;
use zknode_node::config::{Config, Key};
use zknode_node::supervisor::{self, Component};

fn cli() -> Command {
    let mut command = Command::new("zknode")
        .about("A zkEVM node: JSON-RPC, pool, sequencer, executor")
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .global(true)
                .help("TOML configuration file"),
        )
        .subcommand(
            Command::new("run")
                .about("Run a set of roles in this process until SIGINT/SIGTERM")
                .arg(
                    Arg::new("components")
                        .long("components")
                        .value_name("LIST")
                        .default_value("rpc,sequencer")
                        .help("Comma-separated roles: rpc, sequencer, executor"),
                ),
        )
        .subcommand(
            Command::new("dev")
                .about("Run the whole chain on this host: local PostgreSQL, funded dev accounts"),
        )
        .subcommand(
            Command::new("prove")
                .about(
                    "Prove fixture batches end to end (execute, batch STARK, batch circuit), \
                     aggregate them and verify the aggregate",
                )
                .arg(
                    Arg::new("fixture")
                        .long("fixture")
                        .value_name("FILE")
                        .help("Fixture chain (default: fixtures/batches/chain.json)"),
                )
                .arg(
                    Arg::new("batches")
                        .long("batches")
                        .value_name("FIRST..LAST|N|all")
                        .default_value("1..3")
                        .help("Batch numbers to prove, inclusive (the chain: 1, 10, 100, 1000 transfers)"),
                )
                .arg(
                    Arg::new("backend")
                        .long("backend")
                        .value_name("auto|cpu|gpu")
                        .help("Kernel backend [env: ZKNODE_BACKEND] (default auto)"),
                )
                .arg(
                    Arg::new("circuit-cache")
                        .long("circuit-cache")
                        .value_name("DIR")
                        .help("Aggregation circuit cache (default ~/.cache/zknode/circuits)"),
                )
                .arg(
                    Arg::new("proof-out")
                        .long("proof-out")
                        .value_name("FILE")
                        .help("Write the aggregate proof here"),
                ),
        )
        .subcommand(Command::new("config").about("Print the effective configuration as TOML"))
        .subcommand(Command::new("migrate").about("Apply the database migrations and exit"));
    for key in Config::keys() {
        command = command.arg(
            Arg::new(key.flag())
                .long(key.flag())
                .value_name("VALUE")
                .global(true)
                .action(ArgAction::Set)
                .help(format!("[env: {}]", key.env())),
        );
    }
    command
}

fn load_config(matches: &ArgMatches, base: Config) -> anyhow::Result<Config> {
    let overrides: Vec<(Key, String)> = Config::keys()
        .into_iter()
        .filter_map(|key| {
            let value = matches.get_one::<String>(&key.flag())?.clone();
            Some((key, value))
        })
        .collect();
    let file = matches
        .get_one::<String>("config")
        .map(std::path::PathBuf::from);
    Ok(Config::load_over(
        base,
        file.as_deref(),
        |name| std::env::var(name).ok(),
        &overrides,
    )?)
}

/// The genesis `chain.genesis_file` names, if any.
fn genesis_of(config: &Config) -> anyhow::Result<Option<Vec<GenesisAccount>>> {
    Ok(match config.chain.genesis_file.trim() {
        "" => None,
        path => Some(supervisor::read_genesis(std::path::Path::new(path))?),
    })
}

/// Starts `components` and runs them until SIGINT/SIGTERM.
async fn run(
    config: Config,
    components: &BTreeSet<Component>,
    genesis: Option<Vec<GenesisAccount>>,
) -> anyhow::Result<()> {
    let node = supervisor::start(config, components, genesis).await?;
    announce(&node.endpoints)?;
    node.run_until(async {
        if let Err(e) = supervisor::shutdown_signal().await {
            tracing::error!(error = %e, "signal handling failed; stopping");
        }
    })
    .await?;
    Ok(())
}

/// One line per endpoint on stdout, for scripts and tests that start the binary on port 0.
fn announce(endpoints: &supervisor::Endpoints) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (name, addr) in [
        ("rpc.http", endpoints.rpc_http),
        ("rpc.ws", endpoints.rpc_ws),
        ("executor.grpc", endpoints.executor_grpc),
        ("metrics", endpoints.metrics),
    ] {
        if let Some(addr) = addr {
            writeln!(out, "listening {name} {addr}")?;
        }
    }
    // Every role has started (genesis written, listeners bound).
    writeln!(out, "ready")?;
    out.flush()?;
    Ok(())
}

/// `FIRST..LAST`, `FIRST..=LAST`, `N` or `all` (no last batch: the chain's last).
fn parse_batches(text: &str) -> anyhow::Result<(u64, Option<u64>)> {
    let text = text.trim();
    if text == "all" {
        return Ok((1, None));
    }
    let (first, last) = match text.split_once("..") {
        Some((a, b)) => (a.trim(), b.trim().trim_start_matches('=')),
        None => (text, text),
    };
    let first: u64 = first
        .parse()
        .with_context(|| format!("batch number {first:?}"))?;
    let last: u64 = last
        .parse()
        .with_context(|| format!("batch number {last:?}"))?;
    Ok((first, Some(last)))
}

fn prove(sub: &ArgMatches) -> anyhow::Result<()> {
    use zknode_node::prove::{prove_fixture, ProveEvent, ProveOptions};
    let fixture = sub
        .get_one::<String>("fixture")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| zknode_fixtures::chain_path(zknode_fixtures::STANDARD_NAME));
    let batches = sub
        .get_one::<String>("batches")
        .map_or("1..3", String::as_str);
    let (first_batch, last_batch) = parse_batches(batches)?;
    let backend = match sub.get_one::<String>("backend") {
        Some(kind) => kind
            .parse()
            .map_err(|e| anyhow::anyhow!("--backend: {e}"))?,
        None => zknode_kernels::BackendKind::from_env()?,
    };
    let circuit_cache = match sub.get_one::<String>("circuit-cache") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
            .join(".cache/zknode/circuits"),
    };
    let options = ProveOptions {
        fixture,
        first_batch,
        last_batch,
        backend,
        circuit_cache,
        proof_out: sub
            .get_one::<String>("proof-out")
            .map(std::path::PathBuf::from),
    };
    let mut out = std::io::stdout().lock();
    let mut failed_write = None;
    let summary = prove_fixture(&options, |event| {
        let line = match event {
            ProveEvent::Backend(backend) => format!("backend {backend}"),
            ProveEvent::Circuits { loaded, took } => format!(
                "circuits {} in {:.2?}",
                if loaded { "loaded" } else { "built" },
                took
            ),
            ProveEvent::Executed { batch, transfers, took } => {
                format!("batch {batch}: executed {transfers} transfers in {took:.2?}")
            }
            ProveEvent::Proved {
                batch,
                transfers,
                writes,
                rows_used,
                degree_bits,
                trace,
                stark,
                batch_circuit,
            } => format!(
                "batch {batch}: proved {transfers} transfers ({writes} tree writes, {rows_used} rows \
                 of 2^{degree_bits}): trace {trace:.2?}, STARK {stark:.2?}, batch circuit \
                 {batch_circuit:.2?}"
            ),
            ProveEvent::Aggregated { batches, took } => {
                format!("aggregated {batches} batch proofs in {took:.2?}")
            }
            ProveEvent::Verified { values, took, proof_bytes } => format!(
                "verified in {took:.2?}: batches {}..={}, state root {} -> {}, acc input hash \
                 0x{}, proof {proof_bytes} bytes",
                values.old_batch_number + 1,
                values.new_batch_number,
                values.old_state_root,
                values.new_state_root,
                values
                    .new_acc_input_hash
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        };
        if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            failed_write.get_or_insert(e);
        }
    })?;
    if let Some(e) = failed_write {
        return Err(e.into());
    }
    writeln!(out, "ok in {:.2?}", summary.total)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let matches = cli().get_matches();
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    match matches.subcommand() {
        Some(("run", sub)) => {
            let config = load_config(&matches, Config::default())?;
            let list = sub
                .get_one::<String>("components")
                .map(String::as_str)
                .unwrap_or("rpc,sequencer");
            let components = supervisor::parse_components(list)?;
            let genesis = genesis_of(&config)?;
            runtime.block_on(run(config, &components, genesis))
        }
        Some(("dev", _)) => {
            let config = load_config(&matches, zknode_node::dev::dev_config())?;
            let genesis = match genesis_of(&config)? {
                Some(genesis) => genesis,
                None => zknode_node::dev::dev_genesis()?,
            };
            runtime.block_on(async {
                zknode_node::db::create_database_if_missing(&config.database)
                    .await
                    .with_context(|| {
                        format!("creating the dev database {}", config.database.url)
                    })?;
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "development accounts (10000 ETH each; their keys are public, never use them \
                     with real value):"
                )?;
                for (address, key) in zknode_node::dev::dev_accounts()? {
                    writeln!(out, "  {address}  {key}")?;
                }
                drop(out);
                let components = [Component::Rpc, Component::Sequencer].into_iter().collect();
                run(config, &components, Some(genesis)).await
            })
        }
        Some(("prove", sub)) => prove(sub),
        Some(("config", _)) => {
            let config = load_config(&matches, Config::default())?;
            let text = toml::to_string_pretty(&config).context("serialising the configuration")?;
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(())
        }
        Some(("migrate", _)) => {
            let config = load_config(&matches, Config::default())?;
            runtime.block_on(async {
                let pool = zknode_node::db::connect(&config.database).await?;
                zknode_node::db::migrate(&pool).await?;
                tracing::info!("migrations applied");
                Ok(())
            })
        }
        _ => {
            cli().print_help()?;
            Ok(())
        }
    }
}
