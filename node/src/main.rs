//! `zknode`: the node binary (roles are added as they land).

use anyhow::Context;
use clap::{Arg, ArgAction, Command};
use zknode_node::config::{Config, Key};

fn cli() -> Command {
    let mut command = Command::new("zknode")
        .about("A zkEVM node: JSON-RPC, pool, sequencer, executor, aggregator")
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .global(true)
                .help("TOML configuration file"),
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

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let matches = cli().get_matches();
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
    let config = Config::load(file.as_deref(), |name| std::env::var(name).ok(), &overrides)?;
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    match matches.subcommand() {
        Some(("config", _)) => {
            let text = toml::to_string_pretty(&config).context("serialising the configuration")?;
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())?;
            Ok(())
        }
        Some(("migrate", _)) => runtime.block_on(async {
            let pool = zknode_node::db::connect(&config.database).await?;
            zknode_node::db::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }),
        _ => {
            cli().print_help()?;
            Ok(())
        }
    }
}
