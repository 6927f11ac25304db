//! JSON-RPC methods: `eth_`, `net_`, `web3_` and `zkevm_`, answering as an Ethereum node (and the
//! zkEVM node) would. Quantities are 0x-hex without leading zeros; unknown blocks give `null`.

use std::sync::Arc;

use alloy_primitives::{keccak256, Bytes, B256};
use alloy_rpc_types_eth::{BlockNumberOrTag, BlockTransactions, Filter, FilterBlockOption};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde_json::Value;

use crate::config::Config;
use crate::error::NodeError;
use crate::executor::ExecutorHandle;
use crate::pool::store::{InsertError, PoolStore};
use crate::pool::validation::{self, AccountState, PoolState, Rejection, REJECTION_CODE};
use crate::state::blocks::{IncludedLog, LogQuery};
use crate::state::StateStore;

use super::convert;
use super::events::{ChainEvent, ChainEvents};
use super::filters::{FilterKind, Filters};

/// What the handlers share.
#[derive(Debug)]
pub struct RpcContext {
    pub config: Config,
    pub state: StateStore,
    pub pool: PoolStore,
    pub filters: Filters,
    pub events: Arc<ChainEvents>,
    pub executor: ExecutorHandle,
}

/// JSON-RPC error codes (EIP-1474 and the JSON-RPC 2.0 spec).
pub mod codes {
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL: i32 = -32603;
    pub const SERVER: i32 = -32000;
    pub const LIMIT_EXCEEDED: i32 = -32005;
}

pub(super) fn internal(e: NodeError) -> ErrorObjectOwned {
    tracing::warn!(error = %e, "JSON-RPC request failed");
    ErrorObject::owned(codes::INTERNAL, "internal error", None::<()>)
}

pub(super) fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(codes::INVALID_PARAMS, message.into(), None::<()>)
}

/// `0x`-hex quantity.
pub fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// Parses a block quantity or tag into a number, given the latest, safe and finalized blocks.
pub(super) fn block_number(
    value: &Value,
    latest: u64,
    safe: u64,
    finalized: u64,
) -> Result<u64, ErrorObjectOwned> {
    match value.as_str() {
        Some("latest") | Some("pending") => Ok(latest),
        Some("earliest") => Ok(0),
        Some("safe") => Ok(safe),
        Some("finalized") => Ok(finalized),
        Some(hex) => {
            let digits = hex
                .strip_prefix("0x")
                .ok_or_else(|| invalid_params("block number must be 0x-hex or a tag"))?;
            if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
                return Err(invalid_params(
                    "block number must be a 0x-hex quantity without leading zeros",
                ));
            }
            u64::from_str_radix(digits, 16).map_err(|_| invalid_params("block number out of range"))
        }
        None => Err(invalid_params("block number must be a string")),
    }
}

/// The JSON-RPC module with every method.
pub fn module(
    context: Arc<RpcContext>,
) -> Result<RpcModule<RpcContext>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::from_arc(context);

    module.register_method("eth_chainId", |_, ctx, _| {
        quantity(ctx.config.chain.chain_id)
    })?;
    module.register_method("net_version", |_, ctx, _| {
        ctx.config.chain.chain_id.to_string()
    })?;
    module.register_method("net_listening", |_, _, _| true)?;
    module.register_method("net_peerCount", |_, _, _| quantity(0))?;
    module.register_method("web3_clientVersion", |_, _, _| {
        format!(
            "zknode/v{}/{}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::ARCH
        )
    })?;
    module.register_method("web3_sha3", |params: Params, _, _| {
        let (data,): (Bytes,) = params.parse()?;
        Ok::<_, ErrorObjectOwned>(keccak256(&data))
    })?;
    // A sequencer-driven L2 node is never behind a peer it syncs from.
    module.register_method("eth_syncing", |_, _, _| false)?;
    module.register_method("eth_gasPrice", |_, ctx, _| {
        quantity(ctx.config.pool.min_gas_price)
    })?;

    module.register_async_method("eth_blockNumber", |_, ctx, _| async move {
        ctx.state
            .latest_block_number()
            .await
            .map(quantity)
            .map_err(internal)
    })?;
    module.register_async_method("zkevm_batchNumber", |_, ctx, _| async move {
        ctx.state
            .latest_batch_number()
            .await
            .map(quantity)
            .map_err(internal)
    })?;
    module.register_async_method("zkevm_virtualBatchNumber", |_, ctx, _| async move {
        ctx.state
            .latest_virtual_batch_number()
            .await
            .map(quantity)
            .map_err(internal)
    })?;
    module.register_async_method("zkevm_verifiedBatchNumber", |_, ctx, _| async move {
        ctx.state
            .latest_verified_batch_number()
            .await
            .map(quantity)
            .map_err(internal)
    })?;
    module.register_async_method("zkevm_consolidatedBlockNumber", |_, ctx, _| async move {
        ctx.state
            .latest_verified_block_number()
            .await
            .map(quantity)
            .map_err(internal)
    })?;
    module.register_async_method(
        "zkevm_batchNumberByBlockNumber",
        |params, ctx, _| async move {
            let block = requested_block(&params, &ctx).await?;
            let batch = ctx.state.batch_of_block(block).await.map_err(internal)?;
            Ok::<_, ErrorObjectOwned>(batch.map(quantity))
        },
    )?;
    module.register_async_method("zkevm_isBlockVirtualized", |params, ctx, _| async move {
        let block = requested_block(&params, &ctx).await?;
        let Some(batch) = ctx.state.batch_of_block(block).await.map_err(internal)? else {
            return Ok::<_, ErrorObjectOwned>(false);
        };
        Ok(batch
            <= ctx
                .state
                .latest_virtual_batch_number()
                .await
                .map_err(internal)?)
    })?;
    module.register_async_method("zkevm_isBlockConsolidated", |params, ctx, _| async move {
        let block = requested_block(&params, &ctx).await?;
        let Some(batch) = ctx.state.batch_of_block(block).await.map_err(internal)? else {
            return Ok::<_, ErrorObjectOwned>(false);
        };
        Ok(batch
            <= ctx
                .state
                .latest_verified_batch_number()
                .await
                .map_err(internal)?)
    })?;
    module.register_async_method("eth_getBlockByNumber", |params, ctx, _| async move {
        let (tag, full): (BlockNumberOrTag, bool) = params.parse()?;
        let number = resolve(&ctx, tag).await?;
        let found = ctx.state.block_by_number(number).await.map_err(internal)?;
        block_json(&ctx, found, full).await
    })?;
    module.register_async_method("eth_getBlockByHash", |params, ctx, _| async move {
        let (hash, full): (B256, bool) = params.parse()?;
        let found = ctx.state.block_by_hash(hash).await.map_err(internal)?;
        block_json(&ctx, found, full).await
    })?;
    module.register_async_method(
        "eth_getBlockTransactionCountByNumber",
        |params, ctx, _| async move {
            let (tag,): (BlockNumberOrTag,) = params.parse()?;
            let number = resolve(&ctx, tag).await?;
            let found = ctx.state.block_by_number(number).await.map_err(internal)?;
            Ok::<_, ErrorObjectOwned>(found.map(|(_, _, txs)| quantity(txs.len() as u64)))
        },
    )?;
    module.register_async_method(
        "eth_getBlockTransactionCountByHash",
        |params, ctx, _| async move {
            let (hash,): (B256,) = params.parse()?;
            let found = ctx.state.block_by_hash(hash).await.map_err(internal)?;
            Ok::<_, ErrorObjectOwned>(found.map(|(_, _, txs)| quantity(txs.len() as u64)))
        },
    )?;
    module.register_async_method("eth_getTransactionByHash", |params, ctx, _| async move {
        let (hash,): (B256,) = params.parse()?;
        let found = ctx.state.transaction(hash).await.map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(found.map(convert::transaction))
    })?;
    module.register_async_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |params, ctx, _| async move {
            let (tag, index): (BlockNumberOrTag, alloy_primitives::U64) = params.parse()?;
            let number = resolve(&ctx, tag).await?;
            let found = ctx
                .state
                .transaction_at(number, index.to())
                .await
                .map_err(internal)?;
            Ok::<_, ErrorObjectOwned>(found.map(convert::transaction))
        },
    )?;
    module.register_async_method(
        "eth_getTransactionByBlockHashAndIndex",
        |params, ctx, _| async move {
            let (hash, index): (B256, alloy_primitives::U64) = params.parse()?;
            let Some((header, _, _)) = ctx.state.block_by_hash(hash).await.map_err(internal)?
            else {
                return Ok::<_, ErrorObjectOwned>(None);
            };
            let found = ctx
                .state
                .transaction_at(header.number, index.to())
                .await
                .map_err(internal)?;
            Ok(found.map(convert::transaction))
        },
    )?;
    module.register_async_method("eth_getTransactionReceipt", |params, ctx, _| async move {
        let (hash,): (B256,) = params.parse()?;
        let Some((tx, receipt)) = ctx.state.receipt(hash).await.map_err(internal)? else {
            return Ok::<_, ErrorObjectOwned>(None);
        };
        let logs = ctx.state.transaction_logs(hash).await.map_err(internal)?;
        Ok(Some(convert::receipt(tx, receipt, logs)))
    })?;
    module.register_async_method("eth_getLogs", |params, ctx, _| async move {
        let (filter,): (Filter,) = params.parse()?;
        let query = log_query(&ctx, &filter).await?;
        let logs = ctx.state.logs(&query).await.map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(logs.into_iter().map(convert::log).collect::<Vec<_>>())
    })?;
    register_accounts(&mut module)?;
    register_filters(&mut module)?;
    register_subscriptions(&mut module)?;
    super::execution::register_execution(&mut module)?;
    Ok(module)
}

/// The state root after the block a tag names; `header not found` (geth's) for a missing block.
async fn root_at(
    ctx: &RpcContext,
    tag: BlockNumberOrTag,
) -> Result<zknode_executor::StateRoot, ErrorObjectOwned> {
    let number = resolve(ctx, tag).await?;
    let root = ctx
        .state
        .state_root_of(number)
        .await
        .map_err(internal)?
        .ok_or_else(|| ErrorObject::owned(codes::SERVER, "header not found", None::<()>))?;
    zknode_executor::StateRoot::from_bytes32(&root.0).map_err(|e| internal(e.into()))
}

fn rejection(r: Rejection) -> ErrorObjectOwned {
    // Bytes that are not a transaction are invalid params (as the zkEVM node's "invalid tx
    // input"); a transaction the pool refuses is a server error.
    let code = match r {
        Rejection::Malformed(_) => codes::INVALID_PARAMS,
        _ => REJECTION_CODE,
    };
    ErrorObject::owned(code, r.to_string(), None::<()>)
}

fn register_accounts(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_async_method("eth_getBalance", |params, ctx, _| async move {
        let mut seq = params.sequence();
        let address: alloy_primitives::Address = seq.next()?;
        // The block is optional (geth defaults to latest); a positional tuple would demand it.
        let tag: Option<BlockNumberOrTag> = seq.optional_next()?;
        let root = root_at(&ctx, tag.unwrap_or_default()).await?;
        let balance = ctx
            .executor
            .balance(root, address)
            .await
            .map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(balance)
    })?;
    module.register_async_method("eth_getTransactionCount", |params, ctx, _| async move {
        let mut seq = params.sequence();
        let address: alloy_primitives::Address = seq.next()?;
        // The block is optional (geth defaults to latest); a positional tuple would demand it.
        let tag: Option<BlockNumberOrTag> = seq.optional_next()?;
        let tag = tag.unwrap_or_default();
        let root = root_at(&ctx, tag).await?;
        let mut nonce = ctx.executor.nonce(root, address).await.map_err(internal)?;
        if tag == BlockNumberOrTag::Pending {
            // geth's pending nonce: the state's, plus the sender's contiguous pool transactions.
            while ctx
                .pool
                .same_nonce(address, nonce)
                .await
                .map_err(internal)?
                .is_some()
            {
                nonce += 1;
            }
        }
        Ok::<_, ErrorObjectOwned>(quantity(nonce))
    })?;
    module.register_async_method("eth_getCode", |params, ctx, _| async move {
        let mut seq = params.sequence();
        let address: alloy_primitives::Address = seq.next()?;
        // The block is optional (geth defaults to latest); a positional tuple would demand it.
        let tag: Option<BlockNumberOrTag> = seq.optional_next()?;
        let root = root_at(&ctx, tag.unwrap_or_default()).await?;
        ctx.executor.code(root, address).await.map_err(internal)
    })?;
    module.register_async_method("eth_getStorageAt", |params, ctx, _| async move {
        let mut seq = params.sequence();
        let address: alloy_primitives::Address = seq.next()?;
        let slot: alloy_primitives::U256 = seq.next()?;
        let tag: Option<BlockNumberOrTag> = seq.optional_next()?;
        let root = root_at(&ctx, tag.unwrap_or_default()).await?;
        let value = ctx
            .executor
            .storage(root, address, slot)
            .await
            .map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(B256::from(value.to_be_bytes::<32>()))
    })?;
    module.register_async_method("eth_sendRawTransaction", |params, ctx, ext| async move {
        let (raw,): (Bytes,) = params.parse()?;
        let tx = validation::decode(&raw, ctx.config.chain.chain_id, &ctx.config.pool)
            .map_err(rejection)?;
        let root = root_at(&ctx, BlockNumberOrTag::Latest).await?;
        let account = AccountState {
            nonce: ctx
                .executor
                .nonce(root, tx.sender)
                .await
                .map_err(internal)?,
            balance: ctx
                .executor
                .balance(root, tx.sender)
                .await
                .map_err(internal)?,
        };
        let pool_state = PoolState {
            pending: ctx.pool.pending_count().await.map_err(internal)?,
            sender_blocked: ctx.pool.is_blocked(tx.sender).await.map_err(internal)?,
            same_nonce: ctx
                .pool
                .same_nonce(tx.sender, alloy_consensus::Transaction::nonce(&tx.tx))
                .await
                .map_err(internal)?,
        };
        let provability = provability(&ctx, root, &tx).await?;
        validation::check(
            &tx,
            account,
            &pool_state,
            provability.clone(),
            ctx.config.sequencer.block_gas_limit,
            &ctx.config.pool,
        )
        .map_err(rejection)?;
        let ip = ext.get::<std::net::IpAddr>().map(|ip| ip.to_string());
        match ctx
            .pool
            .insert(&tx, provability.is_ok(), ip.as_deref())
            .await
        {
            Ok(_) => Ok::<_, ErrorObjectOwned>(tx.hash),
            Err(InsertError::Rejected(r)) => Err(rejection(r)),
            Err(InsertError::Node(e)) => Err(internal(e)),
        }
    })?;
    module.register_async_method("txpool_content", |_, ctx, _| async move {
        let pending = ctx.pool.pending(10_000).await.map_err(internal)?;
        let mut by_sender: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, Value>,
        > = Default::default();
        for entry in pending {
            let Ok(envelope) =
                alloy_eips::eip2718::Decodable2718::decode_2718(&mut entry.encoded.as_slice())
            else {
                continue;
            };
            let envelope: alloy_consensus::TxEnvelope = envelope;
            let tx = alloy_rpc_types_eth::Transaction {
                inner: alloy_consensus::transaction::Recovered::new_unchecked(
                    envelope,
                    entry.sender,
                ),
                block_hash: None,
                block_number: None,
                transaction_index: None,
                effective_gas_price: None,
            };
            let value =
                serde_json::to_value(tx).map_err(|e| internal(NodeError::Rpc(e.to_string())))?;
            by_sender
                .entry(entry.sender.to_checksum(None))
                .or_default()
                .insert(entry.nonce.to_string(), value);
        }
        Ok::<_, ErrorObjectOwned>(serde_json::json!({ "pending": by_sender, "queued": {} }))
    })?;
    Ok(())
}

/// The executor's verdict for the pool: whether the batch AIR can prove the transaction, judged
/// on its shape against the latest state (a queued transaction cannot be executed yet).
async fn provability(
    ctx: &RpcContext,
    root: zknode_executor::StateRoot,
    tx: &validation::DecodedTx,
) -> Result<Result<(), String>, ErrorObjectOwned> {
    use alloy_consensus::Transaction;
    use zknode_executor::execution::provability::{classify, TransferShape};
    let recipient = tx.tx.to();
    let sender_code = ctx.executor.code(root, tx.sender).await.map_err(internal)?;
    let recipient_code = match recipient {
        Some(to) => ctx.executor.code(root, to).await.map_err(internal)?,
        None => Bytes::new(),
    };
    let shape = TransferShape {
        included: true,
        success: true,
        has_recipient: recipient.is_some(),
        recipient_is_precompile: recipient
            .is_some_and(|a| a.0[..19].iter().all(|b| *b == 0) && (1..=0x11).contains(&a.0[19])),
        calldata_len: tx.tx.input().len(),
        access_list_len: tx.tx.access_list().map_or(0, |l| l.len()),
        sender_has_code: !sender_code.is_empty(),
        recipient_has_code: !recipient_code.is_empty(),
        sender_is_recipient: recipient == Some(tx.sender),
        // The configured sequencer's coinbase (an unparsable one stops the sequencer at start, so
        // no batch would carry it).
        coinbase_is_party: ctx
            .config
            .sequencer
            .coinbase
            .parse::<alloy_primitives::Address>()
            .is_ok_and(|coinbase| coinbase == tx.sender || recipient == Some(coinbase)),
        // Depends on the effective gas price the sequencer picks, unknown before execution: the
        // executor judges it when the transaction runs.
        empties_sender_balance: false,
    };
    Ok(match classify(&shape) {
        zknode_executor::execution::Provability::Provable => Ok(()),
        zknode_executor::execution::Provability::NotProvable { reason } => {
            Err(reason.description().to_string())
        }
    })
}

fn filter_not_found() -> ErrorObjectOwned {
    ErrorObject::owned(codes::SERVER, "filter not found", None::<()>)
}

fn filter_id(params: &Params<'_>) -> Result<u64, ErrorObjectOwned> {
    let (id,): (alloy_primitives::U64,) = params.parse()?;
    Ok(id.to())
}

fn register_filters(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_async_method("eth_newBlockFilter", |_, ctx, _| async move {
        let latest = ctx.state.latest_block_number().await.map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(quantity(ctx.filters.install(FilterKind::Blocks, latest, 0)))
    })?;
    module.register_async_method("eth_newPendingTransactionFilter", |_, ctx, _| async move {
        let arrival = ctx.pool.latest_arrival().await.map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(quantity(ctx.filters.install(
            FilterKind::PendingTransactions,
            0,
            arrival,
        )))
    })?;
    module.register_async_method("eth_newFilter", |params, ctx, _| async move {
        let (filter,): (Filter,) = params.parse()?;
        // Validate now (tags, range order) so a bad filter fails at install, not at every poll.
        log_query(&ctx, &filter).await?;
        let latest = ctx.state.latest_block_number().await.map_err(internal)?;
        Ok::<_, ErrorObjectOwned>(quantity(ctx.filters.install(
            FilterKind::Logs(Box::new(filter)),
            latest,
            0,
        )))
    })?;
    module.register_method("eth_uninstallFilter", |params, ctx, _| {
        let id = filter_id(&params)?;
        Ok::<_, ErrorObjectOwned>(ctx.filters.uninstall(id))
    })?;
    module.register_async_method("eth_getFilterChanges", |params, ctx, _| async move {
        let id = filter_id(&params)?;
        let filter = ctx.filters.get(id).ok_or_else(filter_not_found)?;
        let latest = ctx.state.latest_block_number().await.map_err(internal)?;
        let changes = match &filter.kind {
            FilterKind::Blocks => {
                let mut hashes = Vec::new();
                for number in filter.last_block + 1..=latest {
                    if let Some((_, hash, _)) =
                        ctx.state.block_by_number(number).await.map_err(internal)?
                    {
                        hashes.push(hash);
                    }
                }
                ctx.filters.advance(id, latest, 0);
                serde_json::to_value(hashes)
            }
            FilterKind::PendingTransactions => {
                let arrivals = ctx
                    .pool
                    .arrivals_after(filter.last_arrival, 10_000)
                    .await
                    .map_err(internal)?;
                if let Some((seq, _)) = arrivals.last() {
                    ctx.filters.advance(id, 0, *seq);
                }
                serde_json::to_value(arrivals.into_iter().map(|(_, h)| h).collect::<Vec<_>>())
            }
            FilterKind::Logs(log_filter) => {
                let mut query = log_query(&ctx, log_filter).await?;
                query.from_block = query.from_block.max(filter.last_block + 1);
                query.to_block = query.to_block.min(latest);
                let logs = if query.from_block > query.to_block {
                    Vec::new()
                } else {
                    ctx.state.logs(&query).await.map_err(internal)?
                };
                ctx.filters.advance(id, latest, 0);
                serde_json::to_value(logs.into_iter().map(convert::log).collect::<Vec<_>>())
            }
        };
        changes.map_err(|e| internal(NodeError::Rpc(e.to_string())))
    })?;
    module.register_async_method("eth_getFilterLogs", |params, ctx, _| async move {
        let id = filter_id(&params)?;
        let filter = ctx.filters.get(id).ok_or_else(filter_not_found)?;
        let FilterKind::Logs(log_filter) = &filter.kind else {
            return Err(filter_not_found());
        };
        let query = log_query(&ctx, log_filter).await?;
        let logs = ctx.state.logs(&query).await.map_err(internal)?;
        Ok(logs.into_iter().map(convert::log).collect::<Vec<_>>())
    })?;
    Ok(())
}

/// Whether `log` passes a subscription's address and topic criteria.
fn matches(filter: &Filter, log: &IncludedLog) -> bool {
    (filter.address.is_empty() || filter.address.iter().any(|a| *a == log.log.address))
        && filter.topics.iter().enumerate().all(|(i, allowed)| {
            allowed.is_empty()
                || log
                    .log
                    .topics()
                    .get(i)
                    .is_some_and(|t| allowed.iter().any(|a| a == t))
        })
}

fn register_subscriptions(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, _| async move {
            let mut sequence = params.sequence();
            let kind: String = match sequence.next() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let log_filter: Option<Filter> = if kind == "logs" {
                match sequence.optional_next() {
                    Ok(filter) => filter,
                    Err(e) => {
                        pending.reject(e).await;
                        return Ok(());
                    }
                }
            } else {
                None
            };
            if !matches!(
                kind.as_str(),
                "newHeads" | "logs" | "newPendingTransactions"
            ) {
                pending
                    .reject(invalid_params(format!("unknown subscription {kind:?}")))
                    .await;
                return Ok(());
            }
            let mut events = ctx.events.subscribe();
            let sink = pending.accept().await?;
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    _ = sink.closed() => break,
                };
                let event = match event {
                    Ok(event) => event,
                    // A slow subscriber missed some events: carry on with the next ones.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let mut items = Vec::new();
                match (&event, kind.as_str()) {
                    (ChainEvent::NewHead { header, hash, .. }, "newHeads") => {
                        items.push(serde_json::value::to_raw_value(&convert::header(
                            (**header).clone(),
                            *hash,
                        ))?);
                    }
                    (ChainEvent::NewHead { logs, .. }, "logs") => {
                        for log in logs.iter() {
                            if log_filter.as_ref().is_none_or(|f| matches(f, log)) {
                                items.push(serde_json::value::to_raw_value(&convert::log(
                                    log.clone(),
                                ))?);
                            }
                        }
                    }
                    (ChainEvent::PendingTransaction(hash), "newPendingTransactions") => {
                        items.push(serde_json::value::to_raw_value(hash)?);
                    }
                    _ => {}
                }
                for item in items {
                    if sink.send(item).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// A block number or tag as a number (safe = last virtual block, finalized = last verified).
pub(super) async fn resolve(
    ctx: &RpcContext,
    tag: BlockNumberOrTag,
) -> Result<u64, ErrorObjectOwned> {
    Ok(match tag {
        BlockNumberOrTag::Number(n) => n,
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => {
            ctx.state.latest_block_number().await.map_err(internal)?
        }
        BlockNumberOrTag::Safe => ctx
            .state
            .latest_virtual_block_number()
            .await
            .map_err(internal)?,
        BlockNumberOrTag::Finalized => ctx
            .state
            .latest_verified_block_number()
            .await
            .map_err(internal)?,
    })
}

pub(super) async fn block_json(
    ctx: &RpcContext,
    found: Option<(alloy_consensus::Header, B256, Vec<B256>)>,
    full: bool,
) -> Result<Option<alloy_rpc_types_eth::Block>, ErrorObjectOwned> {
    let Some((header, hash, hashes)) = found else {
        return Ok(None);
    };
    let transactions = if full {
        let mut txs = Vec::with_capacity(hashes.len());
        for tx_hash in hashes {
            if let Some(tx) = ctx.state.transaction(tx_hash).await.map_err(internal)? {
                txs.push(convert::transaction(tx));
            }
        }
        BlockTransactions::Full(txs)
    } else {
        BlockTransactions::Hashes(hashes)
    };
    Ok(Some(convert::block(header, hash, transactions)))
}

/// The `eth_getLogs` filter as a query, its range resolved and checked against the limit.
async fn log_query(ctx: &RpcContext, filter: &Filter) -> Result<LogQuery, ErrorObjectOwned> {
    let (from_block, to_block) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let Some((header, _, _)) = ctx.state.block_by_hash(hash).await.map_err(internal)?
            else {
                return Err(ErrorObject::owned(
                    codes::SERVER,
                    "unknown block",
                    None::<()>,
                ));
            };
            (header.number, header.number)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => (
            resolve(ctx, from_block.unwrap_or_default()).await?,
            resolve(ctx, to_block.unwrap_or_default()).await?,
        ),
    };
    if from_block > to_block {
        return Err(invalid_params("fromBlock is after toBlock"));
    }
    let limit = ctx.config.rpc.max_log_block_range;
    if to_block - from_block >= limit {
        return Err(ErrorObject::owned(
            codes::LIMIT_EXCEEDED,
            format!("query returned more than the limit: block range above {limit}"),
            None::<()>,
        ));
    }
    let topics = std::array::from_fn(|i| filter.topics[i].iter().copied().collect());
    Ok(LogQuery {
        from_block,
        to_block,
        addresses: filter.address.iter().copied().collect(),
        topics,
    })
}

/// The first parameter as a block number (tags resolved: safe = virtual, finalized = verified).
async fn requested_block(
    params: &Params<'static>,
    ctx: &RpcContext,
) -> Result<u64, ErrorObjectOwned> {
    let (value,): (Value,) = params.parse()?;
    let latest = ctx.state.latest_block_number().await.map_err(internal)?;
    // safe/finalized need the virtual/verified block; they are only looked up when asked for.
    let (safe, finalized) = match value.as_str() {
        Some("safe") | Some("finalized") => {
            let finalized = ctx
                .state
                .latest_verified_block_number()
                .await
                .map_err(internal)?;
            (
                ctx.state
                    .latest_virtual_block_number()
                    .await
                    .map_err(internal)?,
                finalized,
            )
        }
        _ => (latest, latest),
    };
    block_number(&value, latest, safe, finalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_numbers_and_tags() {
        let n = |v: &str| block_number(&Value::String(v.into()), 10, 7, 5);
        assert_eq!(n("latest"), Ok(10));
        assert_eq!(n("pending"), Ok(10));
        assert_eq!(n("safe"), Ok(7));
        assert_eq!(n("finalized"), Ok(5));
        assert_eq!(n("earliest"), Ok(0));
        assert_eq!(n("0x0"), Ok(0));
        assert_eq!(n("0x1f"), Ok(31));
        for bad in ["0x", "0x01", "12", "0xzz", "0x1ffffffffffffffff"] {
            assert!(n(bad).is_err(), "{bad}");
        }
        assert!(block_number(&Value::from(5), 10, 7, 5).is_err());
        assert_eq!(quantity(0), "0x0");
        assert_eq!(quantity(255), "0xff");
    }
}
