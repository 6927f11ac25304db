//! Node configuration: TOML with defaults for every key, overridden by environment variables
//! `ZKNODE_<SECTION>_<KEY>` and then by command-line flags `--<section>.<key>` (dashes or underscores).
//!
//! The flags and variables are derived from the configuration's own keys, so a new key needs no
//! extra wiring; a value is parsed as the type its default has (integer, float, boolean or string).

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{NodeError, Result};

/// The whole node configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub chain: ChainConfig,
    pub database: DatabaseConfig,
    pub rpc: RpcConfig,
    pub pool: PoolConfig,
    pub sequencer: SequencerConfig,
    pub executor: ExecutorConfig,
    pub metrics: MetricsConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    pub chain_id: u64,
    pub fork_id: u64,
    /// A JSON array of genesis accounts (`[{"address", "balance", "nonce", "code", "storage"}]`,
    /// the format of `zknode-executor genesis`), written when the State DB has no genesis yet.
    /// Empty: the chain must already have one.
    pub genesis_file: String,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            chain_id: 1001,
            fork_id: 9,
            genesis_file: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of the State DB and Pool DB (two schemas of one database).
    pub url: String,
    pub max_connections: u32,
    /// Seconds to wait for a free connection before a request fails.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "postgres://127.0.0.1:5432/zknode".into(),
            max_connections: 20,
            acquire_timeout_secs: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    pub http_listen: SocketAddr,
    pub ws_listen: SocketAddr,
    /// Most calls in one JSON-RPC batch request.
    pub max_batch_requests: u32,
    /// Widest block range of one eth_getLogs call.
    pub max_log_block_range: u64,
    /// Requests per second per client IP (0: unlimited).
    pub rate_limit_per_ip: u32,
    /// Seconds a filter lives without being polled.
    pub filter_timeout_secs: u64,
    /// How often (milliseconds) the server looks for new blocks and pool arrivals to push to
    /// subscribers.
    pub events_poll_ms: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8545)),
            ws_listen: SocketAddr::from(([127, 0, 0, 1], 8546)),
            max_batch_requests: 100,
            max_log_block_range: 10_000,
            rate_limit_per_ip: 0,
            filter_timeout_secs: 300,
            events_poll_ms: 250,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Lowest gas price accepted, in wei.
    pub min_gas_price: u64,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_bytes: u32,
    /// Transactions per sender ahead of its next nonce.
    pub account_queue: u64,
    /// Pending transactions in the whole pool.
    pub global_queue: u64,
    /// Accept transactions the prover cannot prove yet (for chains run without proofs).
    pub accept_unprovable: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            min_gas_price: 1_000_000_000,
            max_tx_bytes: 100_000,
            account_queue: 64,
            global_queue: 1024,
            accept_unprovable: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerConfig {
    pub coinbase: String,
    /// An L2 block closes after this many milliseconds.
    pub block_interval_ms: u64,
    pub batch_max_txs: u32,
    pub batch_max_bytes: u32,
    /// A batch closes after this many milliseconds even if not full.
    pub batch_max_time_ms: u64,
    /// A batch closes when any executor counter is within this percentage of its limit.
    pub counters_margin_percent: u32,
    pub block_gas_limit: u64,
    /// Rows of the prover's largest trace: the executor's counters must stay below it per batch.
    pub max_trace_rows: u64,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            coinbase: "0x0000000000000000000000000000000000000000".into(),
            block_interval_ms: 1_000,
            batch_max_txs: 300,
            batch_max_bytes: 120_000,
            batch_max_time_ms: 10_000,
            counters_margin_percent: 10,
            block_gas_limit: 30_000_000,
            max_trace_rows: 1 << 20,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// The executor's gRPC address when it runs apart; empty: in this process.
    pub url: String,
    /// The state tree's directory when the executor runs in this process.
    pub db_path: String,
    pub listen: SocketAddr,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            db_path: "./zknode-data/executor".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 50071)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
        }
    }
}

/// One `section.key` of the configuration with its default, as a flag and a variable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub section: String,
    pub key: String,
}

impl Key {
    /// `--section.key` with dashes (`--rpc.http-listen`).
    pub fn flag(&self) -> String {
        format!("{}.{}", self.section, self.key).replace('_', "-")
    }
    /// `ZKNODE_SECTION_KEY`.
    pub fn env(&self) -> String {
        format!("ZKNODE_{}_{}", self.section, self.key).to_uppercase()
    }
}

impl Config {
    /// Every `section.key` of the configuration, in file order.
    pub fn keys() -> Vec<Key> {
        let Ok(toml::Value::Table(root)) = toml::Value::try_from(Config::default()) else {
            return Vec::new();
        };
        root.iter()
            .filter_map(|(section, value)| value.as_table().map(|t| (section, t)))
            .flat_map(|(section, table)| {
                table.keys().map(move |key| Key {
                    section: section.clone(),
                    key: key.clone(),
                })
            })
            .collect()
    }

    /// Defaults, then the TOML file (if any), then `env`, then `overrides` (`(key, value)` pairs
    /// from flags). `env` is a lookup so tests need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(Key, String)],
    ) -> Result<Config> {
        Self::load_over(Config::default(), file, env, overrides)
    }

    /// [`Config::load`] starting from `base` instead of the defaults (`zknode dev` starts from
    /// its single-host settings, which the file, variables and flags still override).
    pub fn load_over(
        base: Config,
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(Key, String)],
    ) -> Result<Config> {
        let mut root = toml::Value::try_from(base)
            .map_err(|e| NodeError::Config(format!("base config: {e}")))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
            let from_file: toml::Value = toml::from_str(&text)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
            merge(&mut root, from_file);
        }
        for key in Self::keys() {
            if let Some(value) = env(&key.env()) {
                set(&mut root, &key, &value, &key.env())?;
            }
        }
        for (key, value) in overrides {
            set(&mut root, key, value, &format!("--{}", key.flag()))?;
        }
        root.try_into()
            .map_err(|e: toml::de::Error| NodeError::Config(e.to_string()))
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(base), toml::Value::Table(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Sets `key` to `text` parsed as the type of its current value.
fn set(root: &mut toml::Value, key: &Key, text: &str, source: &str) -> Result<()> {
    let slot = root
        .get_mut(&key.section)
        .and_then(|s| s.get_mut(&key.key))
        .ok_or_else(|| NodeError::Config(format!("{source}: unknown key")))?;
    let bad = |what: &str| NodeError::Config(format!("{source}={text:?}: expected {what}"));
    *slot = match slot {
        toml::Value::Integer(_) => {
            toml::Value::Integer(text.trim().parse().map_err(|_| bad("an integer"))?)
        }
        toml::Value::Float(_) => {
            toml::Value::Float(text.trim().parse().map_err(|_| bad("a number"))?)
        }
        toml::Value::Boolean(_) => {
            toml::Value::Boolean(text.trim().parse().map_err(|_| bad("true or false"))?)
        }
        _ => toml::Value::String(text.to_string()),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(section: &str, key: &str) -> Key {
        Key {
            section: section.into(),
            key: key.into(),
        }
    }

    #[test]
    fn every_section_has_flags_and_variables() {
        let keys = Config::keys();
        assert!(keys.contains(&key("rpc", "http_listen")));
        assert_eq!(key("rpc", "http_listen").flag(), "rpc.http-listen");
        assert_eq!(
            key("pool", "min_gas_price").env(),
            "ZKNODE_POOL_MIN_GAS_PRICE"
        );
        for section in [
            "chain",
            "database",
            "rpc",
            "pool",
            "sequencer",
            "executor",
            "metrics",
        ] {
            assert!(keys.iter().any(|k| k.section == section), "{section}");
        }
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = std::env::temp_dir().join(format!("zknode-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("node.toml");
        std::fs::write(
            &path,
            "[pool]\nmin_gas_price = 7\naccount_queue = 5\n[chain]\nchain_id = 10\n",
        )
        .expect("write");
        let env = |name: &str| (name == "ZKNODE_POOL_ACCOUNT_QUEUE").then(|| "6".to_string());
        let config = Config::load(Some(&path), env, &[(key("chain", "chain_id"), "11".into())])
            .expect("loads");
        assert_eq!(config.pool.min_gas_price, 7);
        assert_eq!(config.pool.account_queue, 6);
        assert_eq!(config.chain.chain_id, 11);
        assert_eq!(config.rpc, RpcConfig::default());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_values_name_their_source() {
        let env =
            |name: &str| (name == "ZKNODE_RPC_MAX_BATCH_REQUESTS").then(|| "many".to_string());
        let err = Config::load(None, env, &[]).expect_err("not a number");
        assert!(
            err.to_string().contains("ZKNODE_RPC_MAX_BATCH_REQUESTS"),
            "{err}"
        );
        let err = Config::load(
            None,
            |_| None,
            &[(key("rpc", "http_listen"), "nowhere".into())],
        )
        .expect_err("not an address");
        assert!(
            err.to_string().contains("http_listen") || err.to_string().contains("address"),
            "{err}"
        );
    }
}
