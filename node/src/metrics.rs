//! Prometheus metrics of the node: one registry per process, handed explicitly to the roles that
//! record into it, and served as text on `metrics.listen` at `/metrics`.
//!
//! Label values come only from fixed sets (registered method names, batch-closing reasons), never
//! from what a peer sends: an unknown JSON-RPC method is counted as `unknown`, so a client cannot
//! grow the registry without bound.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::types::Request;
use jsonrpsee::MethodResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::{NodeError, Result};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodOutcomeLabels {
    pub method: String,
    /// `ok` or the JSON-RPC error code.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    pub transport: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

fn seconds_histogram() -> Histogram {
    // 100 µs .. ~13 s: RPC reads on the fast end, block closing with a large batch on the slow end.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// Every metric the node records.
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Registry,
    /// JSON-RPC calls by method and outcome (single calls and batch entries).
    pub rpc_calls: Family<MethodOutcomeLabels, Counter>,
    /// Latency of single JSON-RPC calls by method.
    pub rpc_call_seconds: Family<MethodLabels, Histogram>,
    /// HTTP requests and WebSocket connections accepted.
    pub rpc_connections: Family<TransportLabels, Counter>,
    /// Requests answered 429 by the per-IP limiter.
    pub rpc_rate_limited: Counter,
    /// L2 blocks the sequencer stored.
    pub sequencer_blocks: Counter,
    /// Transactions the sequencer included or refused.
    pub sequencer_transactions: Family<OutcomeLabels, Counter>,
    /// Batches closed, by reason.
    pub sequencer_batches_closed: Family<ReasonLabels, Counter>,
    /// Time to select, execute and store one block.
    pub sequencer_block_seconds: Histogram,
    /// The latest L2 block the sequencer stored.
    pub chain_block_number: Gauge,
    /// The batch the sequencer is filling.
    pub chain_open_batch: Gauge,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zknode");
        let rpc_calls = Family::<MethodOutcomeLabels, Counter>::default();
        registry.register(
            "rpc_calls",
            "JSON-RPC calls by method and outcome (ok or the error code)",
            rpc_calls.clone(),
        );
        let rpc_call_seconds =
            Family::<MethodLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "rpc_call_seconds",
            "Latency of single JSON-RPC calls by method",
            rpc_call_seconds.clone(),
        );
        let rpc_connections = Family::<TransportLabels, Counter>::default();
        registry.register(
            "rpc_connections",
            "HTTP connections and WebSocket upgrades accepted",
            rpc_connections.clone(),
        );
        let rpc_rate_limited = Counter::default();
        registry.register(
            "rpc_rate_limited",
            "Requests refused by the per-IP rate limit",
            rpc_rate_limited.clone(),
        );
        let sequencer_blocks = Counter::default();
        registry.register(
            "sequencer_blocks",
            "L2 blocks stored by the sequencer",
            sequencer_blocks.clone(),
        );
        let sequencer_transactions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sequencer_transactions",
            "Transactions the sequencer included or refused",
            sequencer_transactions.clone(),
        );
        let sequencer_batches_closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "sequencer_batches_closed",
            "Batches closed by the sequencer, by reason",
            sequencer_batches_closed.clone(),
        );
        let sequencer_block_seconds = seconds_histogram();
        registry.register(
            "sequencer_block_seconds",
            "Time to select, execute and store one L2 block",
            sequencer_block_seconds.clone(),
        );
        let chain_block_number = Gauge::default();
        registry.register(
            "chain_block_number",
            "Latest L2 block stored by this node's sequencer",
            chain_block_number.clone(),
        );
        let chain_open_batch = Gauge::default();
        registry.register(
            "chain_open_batch",
            "The batch this node's sequencer is filling",
            chain_open_batch.clone(),
        );
        Self {
            registry,
            rpc_calls,
            rpc_call_seconds,
            rpc_connections,
            rpc_rate_limited,
            sequencer_blocks,
            sequencer_transactions,
            sequencer_batches_closed,
            sequencer_block_seconds,
            chain_block_number,
            chain_open_batch,
        }
    }

    /// The registry in Prometheus' text format.
    pub fn encode(&self) -> Result<String> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| NodeError::Metrics(format!("encoding: {e}")))?;
        Ok(text)
    }
}

/// Serves `GET /metrics` on `listen` until `shutdown` turns true; returns the bound address.
pub async fn serve(
    metrics: Arc<NodeMetrics>,
    listen: SocketAddr,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::{Response, StatusCode};

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| NodeError::Metrics(format!("binding {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| NodeError::Metrics(e.to_string()))?;
    tracing::info!(listen = %local, "metrics listening");
    let task = tokio::spawn(async move {
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a metrics connection failed");
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let metrics = metrics.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let metrics = metrics.clone();
                async move {
                    let response = if request.uri().path() != "/metrics" {
                        Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"not found; try /metrics\n")))
                    } else {
                        match metrics.encode() {
                            Ok(text) => Response::builder()
                                .header(
                                    hyper::header::CONTENT_TYPE,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                )
                                .body(Full::new(Bytes::from(text))),
                            Err(e) => Response::builder()
                                .status(StatusCode::INTERNAL_SERVER_ERROR)
                                .body(Full::new(Bytes::from(e.to_string()))),
                        }
                    };
                    response
                }
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(socket);
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await
                {
                    tracing::debug!(error = %e, "metrics connection ended with an error");
                }
            });
        }
    });
    Ok((local, task))
}

/// JSON-RPC middleware counting calls per method and timing single calls.
#[derive(Clone, Debug)]
pub struct RpcMetricsService<S> {
    inner: S,
    metrics: Arc<NodeMetrics>,
    /// The registered method names: anything else is labelled `unknown`.
    known: Arc<HashSet<String>>,
}

impl<S> RpcMetricsService<S> {
    pub fn new(inner: S, metrics: Arc<NodeMetrics>, known: Arc<HashSet<String>>) -> Self {
        Self {
            inner,
            metrics,
            known,
        }
    }

    fn label(&self, method: &str) -> String {
        if self.known.contains(method) {
            method.to_string()
        } else {
            "unknown".to_string()
        }
    }
}

fn outcome(response: &MethodResponse) -> String {
    match response.as_error_code() {
        None => "ok".to_string(),
        Some(code) => code.to_string(),
    }
}

impl<S> RpcServiceT for RpcMetricsService<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl std::future::Future<Output = Self::MethodResponse> + Send + 'a {
        let method = self.label(request.method_name());
        let metrics = self.metrics.clone();
        let inner = self.inner.clone();
        async move {
            let started = Instant::now();
            let response = inner.call(request).await;
            metrics
                .rpc_call_seconds
                .get_or_create(&MethodLabels {
                    method: method.clone(),
                })
                .observe(started.elapsed().as_secs_f64());
            metrics
                .rpc_calls
                .get_or_create(&MethodOutcomeLabels {
                    method,
                    outcome: outcome(&response),
                })
                .inc();
            response
        }
    }

    fn batch<'a>(
        &self,
        requests: Batch<'a>,
    ) -> impl std::future::Future<Output = Self::BatchResponse> + Send + 'a {
        // The batch is answered as a whole: entries are counted by method, outcome `batched`.
        for entry in requests.iter() {
            let method = match entry {
                Ok(BatchEntry::Call(request)) => self.label(request.method_name()),
                Ok(BatchEntry::Notification(n)) => self.label(n.method_name()),
                Err(_) => "invalid".to_string(),
            };
            self.metrics
                .rpc_calls
                .get_or_create(&MethodOutcomeLabels {
                    method,
                    outcome: "batched".to_string(),
                })
                .inc();
        }
        self.inner.batch(requests)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl std::future::Future<Output = Self::NotificationResponse> + Send + 'a {
        self.metrics
            .rpc_calls
            .get_or_create(&MethodOutcomeLabels {
                method: self.label(n.method_name()),
                outcome: "notification".to_string(),
            })
            .inc();
        self.inner.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_family_with_the_prefix() {
        let metrics = NodeMetrics::new();
        metrics.sequencer_blocks.inc();
        metrics
            .sequencer_batches_closed
            .get_or_create(&ReasonLabels {
                reason: "max_txs".into(),
            })
            .inc();
        metrics.chain_block_number.set(7);
        let text = metrics.encode().expect("encodes");
        assert!(text.contains("zknode_sequencer_blocks_total 1"), "{text}");
        assert!(
            text.contains("zknode_sequencer_batches_closed_total{reason=\"max_txs\"} 1"),
            "{text}"
        );
        assert!(text.contains("zknode_chain_block_number 7"), "{text}");
    }
}
