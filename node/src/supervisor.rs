//! Runs any set of the node's roles in one process: `rpc`, `sequencer` and `executor` (the
//! executor's gRPC service). Each role is the same code whether it runs alone or beside the others;
//! roles that need the executor use the in-process one (`executor.url` empty) or a remote one.
//!
//! Shutdown is graceful and ordered: the JSON-RPC server stops accepting and finishes the requests
//! in flight, the sequencer finishes the block it is closing (each block is one database
//! transaction, so there is never half a block to undo), then the executor service drains. If any
//! role fails, the others are stopped the same way and the first error is returned.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::watch;
use zknode_executor::execution::{CounterLimits, Executor, GenesisAccount};
use zknode_executor::service::ExecutorClient;

use crate::config::Config;
use crate::error::{NodeError, Result};
use crate::executor::ExecutorHandle;
use crate::metrics::NodeMetrics;
use crate::pool::store::PoolStore;
use crate::rpc::RpcServer;
use crate::sequencer::Sequencer;
use crate::state::StateStore;

/// A role the node can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The JSON-RPC server (HTTP and WebSocket) with the pool's admission.
    Rpc,
    /// The sequencer: pool → executor → L2 blocks and batches in the State DB.
    Sequencer,
    /// The executor's gRPC service, for sequencers and RPC servers on other hosts.
    Executor,
}

/// Roles of the zkEVM node architecture that later issues add; named so the error says so.
const NOT_YET: &[&str] = &[
    "synchronizer",
    "aggregator",
    "sequence-sender",
    "eth-tx-manager",
    "l2gaspricer",
];

impl Component {
    pub const ALL: [Component; 3] = [Component::Rpc, Component::Sequencer, Component::Executor];

    pub fn name(self) -> &'static str {
        match self {
            Component::Rpc => "rpc",
            Component::Sequencer => "sequencer",
            Component::Executor => "executor",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Component {
    type Err = NodeError;

    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim();
        if let Some(component) = Component::ALL.into_iter().find(|c| c.name() == name) {
            return Ok(component);
        }
        let known: Vec<&str> = Component::ALL.iter().map(|c| c.name()).collect();
        if NOT_YET.contains(&name) {
            return Err(NodeError::Config(format!(
                "component {name:?} is not part of this build yet; available: {}",
                known.join(", ")
            )));
        }
        Err(NodeError::Config(format!(
            "unknown component {name:?}; available: {}",
            known.join(", ")
        )))
    }
}

/// Parses `rpc,sequencer,...` (at least one, no repeats needed).
pub fn parse_components(list: &str) -> Result<BTreeSet<Component>> {
    let set = list
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(Component::from_str)
        .collect::<Result<BTreeSet<_>>>()?;
    if set.is_empty() {
        return Err(NodeError::Config("no component given".into()));
    }
    Ok(set)
}

/// Where the running roles listen (ports resolved when the config asked for port 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub rpc_http: Option<SocketAddr>,
    pub rpc_ws: Option<SocketAddr>,
    pub executor_grpc: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
}

/// Reads a genesis file: a JSON array of accounts.
pub fn read_genesis(path: &Path) -> Result<Vec<GenesisAccount>> {
    let bytes = std::fs::read(path)
        .map_err(|e| NodeError::Config(format!("chain.genesis_file {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        NodeError::Config(format!(
            "chain.genesis_file {} is not a JSON array of genesis accounts: {e}",
            path.display()
        ))
    })
}

fn component_error(component: Component, e: impl fmt::Display) -> NodeError {
    NodeError::Component {
        component: component.name(),
        message: e.to_string(),
    }
}

/// The node's roles, started.
#[derive(Debug)]
pub struct RunningNode {
    pub endpoints: Endpoints,
    stop: watch::Sender<bool>,
    rpc: Option<RpcServer>,
    sequencer: Option<tokio::task::JoinHandle<Result<()>>>,
    executor_service: Option<tokio::task::JoinHandle<Result<()>>>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    /// Fires when a background role ends on its own (an error; they run until stopped).
    failed: watch::Receiver<Option<(Component, String)>>,
    /// Kept so the channel stays open when no background role holds a sender (an RPC-only node):
    /// a closed channel would read as "a role ended".
    _fail_tx: Arc<watch::Sender<Option<(Component, String)>>>,
}

/// Starts `components` under `config`; `genesis` is written first if the State DB has none.
pub async fn start(
    config: Config,
    components: &BTreeSet<Component>,
    genesis: Option<Vec<GenesisAccount>>,
) -> Result<RunningNode> {
    let metrics = Arc::new(NodeMetrics::new());
    let (stop, stop_rx) = watch::channel(false);
    let (fail_tx, failed) = watch::channel(None::<(Component, String)>);
    let fail_tx = Arc::new(fail_tx);
    let mut endpoints = Endpoints::default();

    let remote = !config.executor.url.trim().is_empty();
    if remote && components.contains(&Component::Executor) {
        return Err(NodeError::Config(
            "the executor component serves the in-process executor: leave executor.url empty, \
             or drop the component to use the remote one"
                .into(),
        ));
    }
    // The executor: opened once and shared by every role of this process.
    let executor = if remote {
        let client = ExecutorClient::connect(config.executor.url.trim().to_string())
            .await
            .map_err(|e| component_error(Component::Executor, e))?;
        ExecutorHandle::Remote(client)
    } else {
        let path = Path::new(&config.executor.db_path);
        std::fs::create_dir_all(path)
            .map_err(|e| NodeError::Config(format!("executor.db_path {}: {e}", path.display())))?;
        let local = Executor::open(path, zknode_executor::execution::ExecutorConfig::default())
            .map_err(|e| component_error(Component::Executor, e))?;
        ExecutorHandle::Local(local)
    };

    let mut running = RunningNode {
        endpoints: Endpoints::default(),
        stop,
        rpc: None,
        sequencer: None,
        executor_service: None,
        metrics_task: None,
        failed,
        _fail_tx: fail_tx.clone(),
    };

    if config.metrics.enabled {
        let (addr, task) =
            crate::metrics::serve(metrics.clone(), config.metrics.listen, stop_rx.clone()).await?;
        endpoints.metrics = Some(addr);
        running.metrics_task = Some(task);
    }

    if let (Some(Component::Executor), ExecutorHandle::Local(local)) =
        (components.get(&Component::Executor), &executor)
    {
        // The executor's host writes the genesis into its tree (idempotent), so nodes using it
        // remotely find the genesis root there.
        if let Some(accounts) = &genesis {
            let root = crate::genesis::write_executor_genesis(local, accounts.clone()).await?;
            tracing::info!(%root, "genesis in the executor's tree");
        }
        let listener = tokio::net::TcpListener::bind(config.executor.listen)
            .await
            .map_err(|e| {
                component_error(
                    Component::Executor,
                    format!("binding {}: {e}", config.executor.listen),
                )
            })?;
        endpoints.executor_grpc = listener.local_addr().ok();
        let mut shutdown = stop_rx.clone();
        let local = local.clone();
        let fail = fail_tx.clone();
        running.executor_service = Some(tokio::spawn(async move {
            let result =
                zknode_executor::service::serve_with_listener(local, listener, async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                })
                .await
                .map_err(|e| component_error(Component::Executor, e));
            if let Err(e) = &result {
                let _ = fail.send(Some((Component::Executor, e.to_string())));
            }
            result
        }));
    }

    let needs_db =
        components.contains(&Component::Rpc) || components.contains(&Component::Sequencer);
    if needs_db {
        let db = crate::db::connect(&config.database).await?;
        // Every role applies the migrations: sqlx serialises concurrent runs with a lock and
        // records what ran, so nodes starting together apply each migration once.
        crate::db::migrate(&db).await?;
        let state = StateStore::new(db.clone());

        if components.contains(&Component::Sequencer) {
            let coinbase = config
                .sequencer
                .coinbase
                .parse()
                .map_err(|e| NodeError::Config(format!("sequencer.coinbase: {e}")))?;
            match (state.state_root_of(0).await?, genesis) {
                (_, Some(accounts)) => {
                    crate::genesis::ensure_genesis(&state, &executor, accounts, coinbase).await?;
                }
                (Some(_), None) => {}
                (None, None) => {
                    return Err(NodeError::Config(
                        "the State DB has no genesis: set chain.genesis_file".into(),
                    ))
                }
            }
            let sequencer = Sequencer::new(
                config.clone(),
                state.clone(),
                PoolStore::new(db.clone()),
                executor.clone(),
                CounterLimits::with_max_trace_rows(config.sequencer.max_trace_rows),
            )?
            .with_metrics(metrics.clone());
            let stop = stop_rx.clone();
            let fail = fail_tx.clone();
            running.sequencer = Some(tokio::spawn(async move {
                let result = sequencer.run(stop).await;
                if let Err(e) = &result {
                    let _ = fail.send(Some((Component::Sequencer, e.to_string())));
                }
                result
            }));
        }

        if components.contains(&Component::Rpc) {
            let server = RpcServer::start_with_metrics(
                config.clone(),
                db.clone(),
                executor.clone(),
                metrics.clone(),
            )
            .await?;
            endpoints.rpc_http = Some(server.http_addr);
            endpoints.rpc_ws = Some(server.ws_addr);
            running.rpc = Some(server);
        }
    }
    running.endpoints = endpoints;
    tracing::info!(
        components = %components.iter().map(|c| c.name()).collect::<Vec<_>>().join(","),
        "node started"
    );
    Ok(running)
}

impl RunningNode {
    /// Waits until `shutdown` completes or a role fails, then stops every role in order.
    pub async fn run_until(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        let failure = tokio::select! {
            _ = shutdown => None,
            changed = self.failed.wait_for(|f| f.is_some()) => match changed {
                Ok(failure) => failure.clone(),
                // Unreachable while `_fail_tx` lives; stop rather than spin if it ever happens.
                Err(_) => None,
            },
        };
        match &failure {
            None => tracing::info!("shutting down"),
            Some((component, e)) => {
                tracing::error!(%component, error = %e, "a role failed; shutting down")
            }
        }
        let stopped = self.stop().await;
        // The role that failed first is the error worth reporting.
        match failure {
            Some((component, message)) => Err(component_error(component, message)),
            None => stopped,
        }
    }

    /// Stops every role: RPC first (in-flight requests finish), then the sequencer (its current
    /// block finishes), then the executor service and metrics.
    pub async fn stop(mut self) -> Result<()> {
        let mut first_error = None;
        if let Some(rpc) = self.rpc.take() {
            rpc.stop().await;
        }
        let _ = self.stop.send(true);
        for (component, task) in [
            (Component::Sequencer, self.sequencer.take()),
            (Component::Executor, self.executor_service.take()),
        ] {
            let Some(task) = task else { continue };
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(component_error(component, e));
                }
            }
        }
        if let Some(task) = self.metrics_task.take() {
            let _ = task.await;
        }
        tracing::info!("node stopped");
        first_error.map_or(Ok(()), Err)
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() -> Result<()> {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| NodeError::Config(format!("cannot listen for SIGTERM: {e}")))?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => {
            result.map_err(|e| NodeError::Config(format!("cannot listen for SIGINT: {e}")))?;
        }
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_parse_with_clear_errors() {
        let set = parse_components("rpc, sequencer,rpc").expect("parses");
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            vec![Component::Rpc, Component::Sequencer]
        );
        let unknown = parse_components("rpc,bogus").expect_err("unknown");
        assert!(unknown.to_string().contains("unknown component \"bogus\""));
        let later = parse_components("aggregator").expect_err("not yet");
        assert!(later.to_string().contains("not part of this build yet"));
        assert!(parse_components(" , ").is_err());
    }
}
