//! The JSON-RPC server: HTTP on `rpc.http_listen` and WebSocket on `rpc.ws_listen`, one method set.
//!
//! Our own accept loop (rather than jsonrpsee's) so each connection knows its client address: the
//! per-IP limit ([`limiter`]) takes a token per HTTP request and per WebSocket upgrade, and answers
//! 429 with a JSON-RPC error when the bucket is empty. JSON-RPC batches are capped at
//! `rpc.max_batch_requests` calls. Stopping the [`RpcServer`] finishes in-flight requests first.

pub mod convert;
pub mod events;
mod execution;
pub mod filters;
pub mod limiter;
pub mod methods;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, BatchRequestConfig, ServerConfig, ServerHandle,
    StopHandle,
};
use jsonrpsee::Methods;
use tokio::net::TcpListener;
use tower::Service;

use self::limiter::IpLimiter;
pub use self::methods::RpcContext;
use crate::error::{NodeError, Result};
use crate::metrics::{NodeMetrics, RpcMetricsService, TransportLabels};

/// A running JSON-RPC server.
#[derive(Debug)]
pub struct RpcServer {
    pub http_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    handle: ServerHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop_events: tokio::sync::watch::Sender<bool>,
}

/// Which protocol a listener serves.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Http,
    WebSocket,
}

impl RpcServer {
    /// Binds both listeners and starts serving from the database `db`, with metrics of its own.
    pub async fn start(
        config: crate::Config,
        db: sqlx::PgPool,
        executor: crate::executor::ExecutorHandle,
    ) -> Result<Self> {
        Self::start_with_metrics(config, db, executor, Arc::new(NodeMetrics::new())).await
    }

    /// [`RpcServer::start`] recording into the process's `metrics`.
    pub async fn start_with_metrics(
        config: crate::Config,
        db: sqlx::PgPool,
        executor: crate::executor::ExecutorHandle,
        metrics: Arc<NodeMetrics>,
    ) -> Result<Self> {
        let state = crate::state::StateStore::new(db.clone());
        let pool = crate::pool::store::PoolStore::new(db);
        let (stop_events, stop_rx) = tokio::sync::watch::channel(false);
        let (events, events_task) = events::ChainEvents::start(
            state.clone(),
            pool.clone(),
            std::time::Duration::from_millis(config.rpc.events_poll_ms.max(10)),
            stop_rx,
        )
        .await?;
        let filters = filters::Filters::new(std::time::Duration::from_secs(
            config.rpc.filter_timeout_secs,
        ));
        let context = Arc::new(RpcContext {
            config,
            state,
            pool,
            filters,
            events,
            executor,
        });
        let rpc = context.config.rpc.clone();
        let methods: Methods = methods::module(context)
            .map_err(|e| NodeError::Rpc(e.to_string()))?
            .into();
        let known_methods: Arc<HashSet<String>> =
            Arc::new(methods.method_names().map(str::to_string).collect());
        let limiter = Arc::new(IpLimiter::new(rpc.rate_limit_per_ip));
        let batch = BatchRequestConfig::Limit(rpc.max_batch_requests);
        let (stop, handle) = stop_channel();
        let mut tasks = vec![events_task];
        let mut addrs = Vec::new();
        for (listen, transport) in [
            (rpc.http_listen, Transport::Http),
            (rpc.ws_listen, Transport::WebSocket),
        ] {
            let listener = TcpListener::bind(listen)
                .await
                .map_err(|e| NodeError::Rpc(format!("binding {listen}: {e}")))?;
            addrs.push(
                listener
                    .local_addr()
                    .map_err(|e| NodeError::Rpc(e.to_string()))?,
            );
            let config = match transport {
                Transport::Http => ServerConfig::builder().http_only(),
                Transport::WebSocket => ServerConfig::builder().ws_only(),
            }
            .set_batch_request_config(batch)
            .set_id_provider(HexIdProvider::default())
            .build();
            tasks.push(tokio::spawn(accept_loop(
                listener,
                transport,
                config,
                methods.clone(),
                limiter.clone(),
                Metered {
                    metrics: metrics.clone(),
                    known_methods: known_methods.clone(),
                },
                stop.clone(),
            )));
        }
        tracing::info!(http = %addrs[0], ws = %addrs[1], "JSON-RPC server listening");
        Ok(Self {
            http_addr: addrs[0],
            ws_addr: addrs[1],
            handle,
            tasks,
            stop_events,
        })
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the listeners to close.
    pub async fn stop(self) {
        // Already stopped is fine: stopping is idempotent from the caller's view.
        let _ = self.handle.stop();
        let _ = self.stop_events.send(true);
        self.handle.stopped().await;
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// What the accept loop needs to meter calls and connections.
#[derive(Clone, Debug)]
struct Metered {
    metrics: Arc<NodeMetrics>,
    known_methods: Arc<HashSet<String>>,
}

async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    config: ServerConfig,
    methods: Methods,
    limiter: Arc<IpLimiter>,
    metered: Metered,
    stop: StopHandle,
) {
    let middleware_metrics = metered.clone();
    let builder = jsonrpsee::server::Server::builder()
        .set_config(config)
        .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |service| {
            RpcMetricsService::new(
                service,
                middleware_metrics.metrics.clone(),
                middleware_metrics.known_methods.clone(),
            )
        }))
        .to_service_builder();
    let transport_label = TransportLabels {
        transport: match transport {
            Transport::Http => "http",
            Transport::WebSocket => "ws",
        }
        .to_string(),
    };
    loop {
        let (socket, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a JSON-RPC connection failed");
                    continue;
                }
            },
            _ = stop.clone().shutdown() => break,
        };
        metered
            .metrics
            .rpc_connections
            .get_or_create(&transport_label)
            .inc();
        let service = builder.clone().build(methods.clone(), stop.clone());
        let limiter = limiter.clone();
        let rate_limited = metered.metrics.rpc_rate_limited.clone();
        let ip = remote.ip();
        let per_request =
            tower::service_fn(move |mut request: jsonrpsee::server::HttpRequest<_>| {
                // Handlers see the client's address (the pool records it).
                request.extensions_mut().insert(ip);
                let mut service = service.clone();
                let allowed = limiter.allow(ip);
                if !allowed {
                    rate_limited.inc();
                }
                async move {
                    if !allowed {
                        return Ok(jsonrpsee::server::http::response::too_many_requests());
                    }
                    // jsonrpsee answers 500 only when it cannot read the request body (bad chunked
                    // encoding, a connection cut mid-body): the client's fault, so 400 and a parse
                    // error, not a server error.
                    match service.call(request).await {
                        Ok(response) if response.status().as_u16() == 500 => {
                            Ok(jsonrpsee::server::http::response::malformed())
                        }
                        other => other,
                    }
                }
            });
        tokio::spawn(serve_with_graceful_shutdown(
            socket,
            per_request,
            stop.clone().shutdown(),
        ));
    }
}

/// Subscription ids as Ethereum nodes write them (`0x` and 32 hex digits), which clients such as
/// ethers parse; jsonrpsee's default is a JSON integer. Ids are a counter run through a bijective
/// mix (so distinct), started at a time-derived offset.
#[derive(Debug)]
struct HexIdProvider {
    next: std::sync::atomic::AtomicU64,
}

impl Default for HexIdProvider {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self {
            next: std::sync::atomic::AtomicU64::new(seed),
        }
    }
}

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // splitmix64: a bijection, so distinct counters give distinct ids.
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        jsonrpsee::types::SubscriptionId::Str(format!("0x{z:016x}{n:016x}").into())
    }
}
