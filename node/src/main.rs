//! `zknode`: the node binary.
//!
//! ```text
//! zknode dev                                   # the whole chain on this host, defaults
//! zknode run --components rpc,sequencer        # any set of roles, from config/env/flags
//! zknode run --components executor             # the executor's gRPC service alone
//! zknode migrate | config                      # apply migrations | print the effective config
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
