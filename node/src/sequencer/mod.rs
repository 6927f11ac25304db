//! The sequencer: takes pool transactions by price (keeping each sender's nonce order), executes
//! them through the executor, closes an L2 block every `sequencer.block_interval_ms`, and closes the
//! batch on max transactions, max bytes, the executor's counters (the prover's capacity, within
//! `counters_margin_percent`) or max time.
//!
//! Each block is executed twice: a dry run (`update_tree = false`) finds the transactions the
//! executor refuses (they leave the pool as `invalid` with the reason), then the survivors run with
//! `update_tree = true`. The block, its receipts and logs, the batch's raw data and the pool's
//! `selected` marks are then written in ONE database transaction. A crash between the executor's
//! commit and that write leaves the executor's tree ahead of the State DB: harmless, because the tree
//! keeps every root and the sequencer always continues from the State DB's tip, re-executing the
//! still-pending transactions.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use alloy_consensus::{Transaction as _, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use zknode_executor::batch_data::{encode_batch, BatchTransaction, DecodedBatch, L2BlockData};
use zknode_executor::execution::block::{header, HeaderFields};
use zknode_executor::execution::{
    CounterLimits, Counters, ProcessBatchRequest, ProcessBatchResponse, TxStatus,
};
use zknode_executor::StateRoot;

use crate::config::Config;
use crate::error::{NodeError, Result};
use crate::executor::ExecutorHandle;
use crate::metrics::{NodeMetrics, OutcomeLabels, ReasonLabels};
use crate::pool::store::{PoolStatus, PoolStore, PoolTransaction};
use crate::state::blocks::{StoredBlock, StoredReceipt, StoredTransaction};
use crate::state::StateStore;

/// Every pending transaction the sequencer considers per block.
const CANDIDATES: u32 = 2_000;

/// What closing one block did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block stored, if any transaction was included.
    pub block: Option<(u64, B256)>,
    /// Transactions refused by the executor, with the reason.
    pub refused: Vec<(B256, String)>,
    /// The batch closed after this block, and why.
    pub closed_batch: Option<(u64, String)>,
}

/// The sequencer of one node.
#[derive(Debug)]
pub struct Sequencer {
    config: Config,
    coinbase: Address,
    state: StateStore,
    pool: PoolStore,
    executor: ExecutorHandle,
    limits: CounterLimits,
    /// Counters of the open batch so far; `None` when unknown (after a restart), which closes the
    /// open batch before anything else goes into it.
    batch_counters: Option<(u64, Counters)>,
    metrics: std::sync::Arc<NodeMetrics>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Sequencer {
    pub fn new(
        config: Config,
        state: StateStore,
        pool: PoolStore,
        executor: ExecutorHandle,
        limits: CounterLimits,
    ) -> Result<Self> {
        let coinbase: Address = config
            .sequencer
            .coinbase
            .parse()
            .map_err(|e| NodeError::Config(format!("sequencer.coinbase: {e}")))?;
        Ok(Self {
            config,
            coinbase,
            state,
            pool,
            executor,
            limits,
            batch_counters: None,
            metrics: std::sync::Arc::new(NodeMetrics::new()),
        })
    }

    /// Records into `metrics` (the process's registry) instead of a private one.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<NodeMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Closes blocks every `block_interval_ms` until `stop` turns true.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<()> {
        let interval = Duration::from_millis(self.config.sequencer.block_interval_ms.max(1));
        let mut ticker = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            let started = std::time::Instant::now();
            let closed = self.close_block().await;
            self.metrics
                .sequencer_block_seconds
                .observe(started.elapsed().as_secs_f64());
            match closed {
                Ok(outcome) => {
                    if let Some((number, hash)) = outcome.block {
                        tracing::info!(number, %hash, refused = outcome.refused.len(), "L2 block closed");
                    }
                }
                // A database or executor hiccup: log and try again at the next tick.
                Err(e) => tracing::warn!(error = %e, "closing a block failed"),
            }
        }
        Ok(())
    }

    /// Selects, executes and stores one block (nothing when no transaction is ready).
    pub async fn close_block(&mut self) -> Result<BlockOutcome> {
        let mut outcome = BlockOutcome::default();
        let tip = self
            .state
            .tip()
            .await?
            .ok_or_else(|| NodeError::Sequencer("the chain has no genesis".into()))?;
        let root = StateRoot::from_bytes32(&tip.state_root.0)?;

        // The open batch (a new one if none); one of unknown counters is closed first.
        let mut batch = match self.state.open_batch_info().await? {
            Some(batch) => batch,
            None => self.open_next_batch(tip.batch_number).await?,
        };
        let known = matches!(self.batch_counters, Some((n, _)) if n == batch.number);
        if !known {
            if batch.transactions > 0 {
                self.state.close_batch(batch.number, "restart").await?;
                self.metrics
                    .sequencer_batches_closed
                    .get_or_create(&ReasonLabels {
                        reason: "restart".into(),
                    })
                    .inc();
                outcome.closed_batch = Some((batch.number, "restart".into()));
                batch = self.open_next_batch(batch.number).await?;
            }
            self.batch_counters = Some((batch.number, Counters::default()));
        }
        let seq = &self.config.sequencer;
        if batch.transactions > 0
            && now_secs().saturating_sub(batch.opened_at) * 1000 >= seq.batch_max_time_ms
        {
            self.close(batch.number, "max time", &mut outcome).await?;
            return Ok(outcome);
        }

        let room_txs = u64::from(seq.batch_max_txs).saturating_sub(batch.transactions);
        let room_bytes = u64::from(seq.batch_max_bytes).saturating_sub(batch.data_len);
        let mut chosen = self.select(root, room_txs, room_bytes).await?;
        if chosen.is_empty() {
            return Ok(outcome);
        }
        let timestamp = now_secs().max(tip.timestamp);
        let delta = u32::try_from(timestamp - tip.timestamp)
            .map_err(|_| NodeError::Sequencer("more than 2^32 s since the last block".into()))?;

        // Dry run: drop what the executor refuses.
        let dry = self
            .execute(root, delta, &chosen, timestamp, false)
            .await?
            .1;
        let refused: HashSet<B256> = dry
            .blocks
            .iter()
            .flat_map(|b| &b.transactions)
            .filter(|t| t.status == TxStatus::Invalid)
            .map(|t| t.hash)
            .collect();
        for result in dry.blocks.iter().flat_map(|b| &b.transactions) {
            if result.status == TxStatus::Invalid {
                let reason = result.error.clone().unwrap_or_else(|| "invalid".into());
                self.metrics
                    .sequencer_transactions
                    .get_or_create(&OutcomeLabels {
                        outcome: "refused".into(),
                    })
                    .inc();
                self.pool
                    .set_status(result.hash, PoolStatus::Invalid, Some(&reason))
                    .await?;
                outcome.refused.push((result.hash, reason));
            }
        }
        chosen.retain(|(_, envelope)| !refused.contains(envelope.tx_hash()));
        if chosen.is_empty() {
            return Ok(outcome);
        }

        let (chunk, response) = self.execute(root, delta, &chosen, timestamp, true).await?;
        let block = response
            .blocks
            .first()
            .ok_or_else(|| NodeError::Sequencer("the executor returned no block".into()))?;
        if block
            .transactions
            .iter()
            .any(|t| t.status == TxStatus::Invalid)
        {
            // The dry run and the real run disagree: the state moved under us. Nothing is stored;
            // the next tick starts again from the State DB's tip.
            return Err(NodeError::Sequencer(
                "the executor refused a transaction the dry run accepted".into(),
            ));
        }
        let envelopes: HashMap<B256, TxEnvelope> =
            chosen.into_iter().map(|(_, e)| (*e.tx_hash(), e)).collect();
        let mut transactions = Vec::with_capacity(block.transactions.len());
        for result in &block.transactions {
            let envelope = envelopes.get(&result.hash).cloned().ok_or_else(|| {
                NodeError::Sequencer("the executor returned an unknown transaction".into())
            })?;
            let sender = result.from.ok_or_else(|| {
                NodeError::Sequencer("an included transaction without sender".into())
            })?;
            transactions.push(StoredTransaction {
                envelope,
                sender,
                effective_percentage: result.effective_percentage,
                receipt: StoredReceipt {
                    status: result.status == TxStatus::Success,
                    cumulative_gas_used: result
                        .receipt
                        .as_ref()
                        .map(|r| r.cumulative_gas_used())
                        .unwrap_or(result.gas_used),
                    gas_used: result.gas_used,
                    effective_gas_price: result.effective_gas_price,
                    contract_address: result.contract_address,
                    logs: result.logs.clone(),
                },
            });
        }
        let block_header = header(&HeaderFields {
            parent_hash: block.parent_hash,
            coinbase: block.coinbase,
            state_root: block.state_root,
            transactions_root: block.transactions_root,
            receipts_root: block.receipts_root,
            logs_bloom: block.logs_bloom,
            number: block.number,
            gas_limit: block.gas_limit,
            gas_used: block.gas_used,
            timestamp: block.timestamp,
        });
        let hash = self
            .state
            .store_block(&StoredBlock {
                header: block_header,
                batch_number: batch.number,
                transactions,
                batch_data: chunk,
                tree_root: B256::from(response.new_state_root.to_bytes32()),
            })
            .await?;
        if hash != block.hash {
            return Err(NodeError::Sequencer(format!(
                "stored block hash {hash} differs from the executor's {}",
                block.hash
            )));
        }
        outcome.block = Some((block.number, hash));
        self.metrics.sequencer_blocks.inc();
        self.metrics
            .chain_block_number
            .set(i64::try_from(block.number).unwrap_or(i64::MAX));
        self.metrics
            .chain_open_batch
            .set(i64::try_from(batch.number).unwrap_or(i64::MAX));
        self.metrics
            .sequencer_transactions
            .get_or_create(&OutcomeLabels {
                outcome: "included".into(),
            })
            .inc_by(block.transactions.len() as u64);

        // Close the batch when it is full.
        let mut total = self.batch_counters.map(|(_, c)| c).unwrap_or_default();
        total += response.counters;
        self.batch_counters = Some((batch.number, total));
        let reason = if batch.transactions + block.transactions.len() as u64
            >= u64::from(seq.batch_max_txs)
        {
            Some("max transactions".to_string())
        } else if let Err(overflow) = self.limits.check_with_margin(
            &total,
            u8::try_from(seq.counters_margin_percent.min(100)).unwrap_or(100),
        ) {
            Some(format!("counter {} near its limit", overflow.counter))
        } else if total.batch_bytes + 1_000 >= u64::from(seq.batch_max_bytes) {
            Some("max bytes".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            self.close(batch.number, &reason, &mut outcome).await?;
        }
        Ok(outcome)
    }

    async fn open_next_batch(&mut self, after: u64) -> Result<crate::state::batches::OpenBatch> {
        self.state.open_batch_now(after + 1, self.coinbase).await?;
        self.batch_counters = Some((after + 1, Counters::default()));
        self.state
            .open_batch_info()
            .await?
            .ok_or_else(|| NodeError::Sequencer("the batch just opened is missing".into()))
    }

    async fn close(&mut self, number: u64, reason: &str, outcome: &mut BlockOutcome) -> Result<()> {
        self.state.close_batch(number, reason).await?;
        self.batch_counters = None;
        tracing::info!(batch = number, reason, "batch closed");
        // Counter names make reasons like "counter keccak_rows near its limit": a fixed set.
        self.metrics
            .sequencer_batches_closed
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
        outcome.closed_batch = Some((number, reason.to_string()));
        Ok(())
    }

    /// Pending transactions in price order whose nonces follow each sender's next nonce at `root`,
    /// within the room left in the batch.
    async fn select(
        &self,
        root: StateRoot,
        room_txs: u64,
        room_bytes: u64,
    ) -> Result<Vec<(PoolTransaction, TxEnvelope)>> {
        let candidates = self.pool.pending(CANDIDATES).await?;
        let mut next_nonce: HashMap<Address, u64> = HashMap::new();
        let mut taken = vec![false; candidates.len()];
        let mut chosen = Vec::new();
        let mut bytes = 0u64;
        // Passes until nothing more fits: a sender's later nonces become ready once earlier ones
        // are taken, whatever their price order.
        loop {
            let mut progress = false;
            for (i, candidate) in candidates.iter().enumerate() {
                if taken[i] || chosen.len() as u64 >= room_txs {
                    continue;
                }
                let expected = match next_nonce.get(&candidate.sender) {
                    Some(n) => *n,
                    None => {
                        let n = self.executor.nonce(root, candidate.sender).await?;
                        next_nonce.insert(candidate.sender, n);
                        n
                    }
                };
                if candidate.nonce < expected {
                    // Its nonce was used (by an included transaction): it can never be included.
                    self.pool
                        .set_status(candidate.hash, PoolStatus::Invalid, Some("nonce too low"))
                        .await?;
                    taken[i] = true;
                    continue;
                }
                let size = candidate.encoded.len() as u64 + 66;
                if candidate.nonce != expected || bytes + size > room_bytes {
                    continue;
                }
                let envelope = match TxEnvelope::decode_2718(&mut candidate.encoded.as_slice()) {
                    Ok(envelope) => envelope,
                    Err(e) => {
                        let reason = format!("undecodable pool entry: {e}");
                        self.pool
                            .set_status(candidate.hash, PoolStatus::Invalid, Some(&reason))
                            .await?;
                        taken[i] = true;
                        continue;
                    }
                };
                debug_assert_eq!(envelope.nonce(), candidate.nonce);
                taken[i] = true;
                bytes += size;
                next_nonce.insert(candidate.sender, expected + 1);
                chosen.push((candidate.clone(), envelope));
                progress = true;
            }
            if !progress {
                break;
            }
        }
        Ok(chosen)
    }

    async fn execute(
        &self,
        root: StateRoot,
        delta_timestamp: u32,
        chosen: &[(PoolTransaction, TxEnvelope)],
        timestamp: u64,
        update_tree: bool,
    ) -> Result<(Vec<u8>, ProcessBatchResponse)> {
        let chunk = encode_batch(&DecodedBatch {
            blocks: vec![L2BlockData {
                delta_timestamp,
                l1_info_index: 0,
                transactions: chosen
                    .iter()
                    .map(|(_, envelope)| BatchTransaction {
                        tx: envelope.clone(),
                        effective_percentage: 255,
                    })
                    .collect(),
            }],
        })?;
        let response = self
            .executor
            .process_batch(ProcessBatchRequest {
                old_state_root: root,
                batch_data: chunk.clone(),
                chain_id: self.config.chain.chain_id,
                fork_id: self.config.chain.fork_id,
                timestamp_limit: timestamp,
                coinbase: self.coinbase,
                update_tree,
                include_witness: false,
            })
            .await?;
        Ok((chunk, response))
    }
}
