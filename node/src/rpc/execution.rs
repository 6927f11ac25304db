//! Methods that execute or summarise execution: `eth_call`, `eth_estimateGas`,
//! `eth_feeHistory`, `zkevm_getBatchByNumber` and `zkevm_estimateCounters`.
//!
//! Calls run in the executor (in process or over gRPC) on the tree root after the requested block
//! (the block's `tree_root` column, as every state read), with that block's number, timestamp,
//! coinbase and gas limit; nothing they do is persisted. Errors have geth's shapes: a revert is
//! code 3 `execution reverted[: reason]` with the revert data, anything else that stops a call is
//! -32000 with geth's text.

use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_rpc_types_eth::{BlockId, BlockNumberOrTag, FeeHistory, TransactionRequest};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde_json::{json, Value};
use zknode_executor::execution::{
    CallBlock, CallRequest, CallResult, CallStatus, CounterLimits, Counters,
};
use zknode_executor::StateRoot;

use super::convert;
use super::methods::{
    block_json, block_number, codes, internal, invalid_params, quantity, resolve, RpcContext,
};

/// geth's and the zkEVM node's code for a reverted call (with the revert data).
const REVERTED: i32 = 3;
/// Intrinsic gas of any transaction: the lower end of every gas search.
const TX_GAS: u64 = 21_000;
/// Gas a CALL with value hands the callee (EIP-150 stipend): geth adds it to the optimistic guess.
const CALL_STIPEND: u64 = 2_300;
/// Most blocks one `eth_feeHistory` covers (geth's limit; more are silently capped).
const MAX_FEE_HISTORY_BLOCKS: u64 = 1_024;
/// Most reward percentiles one `eth_feeHistory` takes (geth's limit).
const MAX_REWARD_PERCENTILES: usize = 100;

fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(codes::SERVER, message.into(), None::<()>)
}

/// Where a call runs: the tree root after a block, and that block's environment.
struct At {
    root: StateRoot,
    block: CallBlock,
}

/// The block a call names (a tag, a number, or EIP-1898's `{blockHash}` / `{blockNumber}`;
/// latest when absent) and its post-state root.
async fn at_block(ctx: &RpcContext, id: Option<BlockId>) -> Result<At, ErrorObjectOwned> {
    let found = match id.unwrap_or_default() {
        // Every stored block is canonical (the trusted sequencer's chain), so `requireCanonical`
        // holds whenever the hash is known.
        BlockId::Hash(hash) => ctx
            .state
            .block_by_hash(hash.block_hash)
            .await
            .map_err(internal)?
            .ok_or_else(|| server_error("header for hash not found"))?,
        BlockId::Number(tag) => {
            let number = resolve(ctx, tag).await?;
            ctx.state
                .block_by_number(number)
                .await
                .map_err(internal)?
                .ok_or_else(|| server_error("header not found"))?
        }
    };
    let header = found.0;
    let root = ctx
        .state
        .state_root_of(header.number)
        .await
        .map_err(internal)?
        .ok_or_else(|| server_error("header not found"))?;
    Ok(At {
        root: StateRoot::from_bytes32(&root.0).map_err(|e| internal(e.into()))?,
        block: CallBlock {
            number: header.number,
            timestamp: header.timestamp,
            coinbase: header.beneficiary,
            gas_limit: header.gas_limit,
        },
    })
}

/// The executor's call for a JSON-RPC transaction object. `cap` bounds the gas (geth's RPC gas
/// cap): the sequencer's block gas limit, the most the pool admits for a transaction. A `nonce` is
/// ignored: calls skip the nonce check and a creation's address follows the sender's state nonce.
fn call_request(
    ctx: &RpcContext,
    tx: &TransactionRequest,
    at: &At,
    cap: u64,
) -> Result<CallRequest, ErrorObjectOwned> {
    let data = tx.input.clone().try_into_unique_input().map_err(|_| {
        invalid_params(
            "both \"data\" and \"input\" are set and not equal. Please use \"input\" to pass \
             transaction call data",
        )
    })?;
    if tx
        .blob_versioned_hashes
        .as_ref()
        .is_some_and(|h| !h.is_empty())
        || tx.sidecar.is_some()
        || tx.authorization_list.is_some()
    {
        return Err(invalid_params("transaction type not supported"));
    }
    let chain_id = ctx.config.chain.chain_id;
    if let Some(have) = tx.chain_id.filter(|have| *have != chain_id) {
        return Err(invalid_params(format!(
            "chainId does not match node's (have={have}, want={chain_id})"
        )));
    }
    let fee_fields = tx.max_fee_per_gas.is_some() || tx.max_priority_fee_per_gas.is_some();
    if tx.gas_price.is_some() && fee_fields {
        return Err(invalid_params(
            "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified",
        ));
    }
    let (gas_price, max_priority_fee_per_gas) = if fee_fields {
        // The base fee is 0: the priority fee is the price. A missing cap defaults to it.
        let tip = tx.max_priority_fee_per_gas.unwrap_or(0);
        (tx.max_fee_per_gas.unwrap_or(tip), Some(tip))
    } else {
        (tx.gas_price.unwrap_or(0), None)
    };
    Ok(CallRequest {
        from: tx.from.unwrap_or(Address::ZERO),
        to: match tx.to {
            Some(TxKind::Call(to)) => Some(to),
            Some(TxKind::Create) | None => None,
        },
        gas: Some(tx.gas.unwrap_or(cap).min(cap)),
        gas_price,
        max_priority_fee_per_gas,
        value: tx.value.unwrap_or_default(),
        data: data.unwrap_or_default(),
        access_list: tx.access_list.clone().unwrap_or_default(),
        chain_id,
        block: at.block,
    })
}

/// The JSON-RPC error of a call that did not succeed.
fn call_error(result: &CallResult) -> ErrorObjectOwned {
    let message = result
        .error
        .clone()
        .unwrap_or_else(|| format!("call failed: {:?}", result.status));
    match result.status {
        CallStatus::Reverted => ErrorObject::owned(REVERTED, message, Some(&result.output)),
        _ => server_error(message),
    }
}

async fn run(
    ctx: &RpcContext,
    root: StateRoot,
    request: &CallRequest,
    gas: u64,
) -> Result<CallResult, ErrorObjectOwned> {
    let mut request = request.clone();
    request.gas = Some(gas);
    ctx.executor.call(root, request).await.map_err(internal)
}

/// `eth_estimateGas` as geth does it: the least gas limit with which the call succeeds, found by
/// binary search between the gas the call uses and the cap, without geth's 1.5% early stop so the
/// answer is minimal (one less fails).
async fn estimate_gas(
    ctx: &RpcContext,
    tx: &TransactionRequest,
    at: &At,
) -> Result<u64, ErrorObjectOwned> {
    let cap = ctx.config.sequencer.block_gas_limit;
    let request = call_request(ctx, tx, at, cap)?;
    let mut hi = match tx.gas {
        Some(gas) if gas >= TX_GAS => gas.min(cap),
        _ => cap,
    };
    // With a price, the sender's balance bounds the gas it can buy.
    if request.gas_price != 0 {
        let balance = ctx
            .executor
            .balance(at.root, request.from)
            .await
            .map_err(internal)?;
        let Some(available) = balance.checked_sub(request.value) else {
            return Err(server_error("insufficient funds for transfer"));
        };
        let allowance = available / U256::from(request.gas_price);
        if allowance < U256::from(hi) {
            hi = allowance.to::<u64>();
        }
    }
    // A plain transfer to an account without code costs 21000; tried (not assumed) as geth does,
    // since unusual fields could still make it fail.
    if request.data.is_empty() {
        if let Some(to) = request.to {
            let code = ctx.executor.code(at.root, to).await.map_err(internal)?;
            if code.is_empty() && hi >= TX_GAS {
                let plain = run(ctx, at.root, &request, TX_GAS).await?;
                if plain.status == CallStatus::Success {
                    return Ok(TX_GAS);
                }
            }
        }
    }
    let first = run(ctx, at.root, &request, hi).await?;
    match first.status {
        CallStatus::Success => {}
        CallStatus::Reverted | CallStatus::Invalid => return Err(call_error(&first)),
        CallStatus::Halted if first.error.as_deref() != Some("out of gas") => {
            return Err(call_error(&first))
        }
        CallStatus::Halted | CallStatus::GasTooLow => {
            return Err(server_error(format!(
                "gas required exceeds allowance ({hi})"
            )))
        }
    }
    // Less than the gas used (after refunds) cannot succeed.
    let mut lo = first.gas_used.saturating_sub(1).max(TX_GAS - 1);
    // Most calls need little more than they use: try that first (geth's optimistic guess: the
    // gas before refunds plus a call stipend, with the 1/64 that EIP-150 withholds).
    let optimistic = (first.gas_used + first.gas_refunded + CALL_STIPEND).saturating_mul(64) / 63;
    if optimistic < hi && optimistic > lo {
        if succeeds(ctx, at.root, &request, optimistic).await? {
            hi = optimistic;
        } else {
            lo = optimistic;
        }
    }
    while lo + 1 < hi {
        // Skewed low, as geth: most calls need far less than the cap.
        let mid = ((hi + lo) / 2).min(lo.saturating_mul(2));
        if succeeds(ctx, at.root, &request, mid).await? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// Whether the call succeeds with `gas`; a failure that more gas cannot fix is an error.
async fn succeeds(
    ctx: &RpcContext,
    root: StateRoot,
    request: &CallRequest,
    gas: u64,
) -> Result<bool, ErrorObjectOwned> {
    let result = run(ctx, root, request, gas).await?;
    match result.status {
        CallStatus::Success => Ok(true),
        CallStatus::Reverted | CallStatus::Halted | CallStatus::GasTooLow => Ok(false),
        CallStatus::Invalid => Err(call_error(&result)),
    }
}

/// A block count as geth reads it: a hex quantity, a decimal string or a JSON number.
fn block_count(value: &Value) -> Result<u64, ErrorObjectOwned> {
    let bad = || invalid_params("blockCount must be a quantity");
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16).map_err(|_| bad()),
            Some(_) => Err(bad()),
            None => s.parse().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// Checks reward percentiles: at most [`MAX_REWARD_PERCENTILES`], each in 0..=100, ascending.
fn check_percentiles(percentiles: &[f64]) -> Result<(), ErrorObjectOwned> {
    if percentiles.len() > MAX_REWARD_PERCENTILES {
        return Err(invalid_params(format!(
            "too many reward percentiles: {} above {MAX_REWARD_PERCENTILES}",
            percentiles.len()
        )));
    }
    for (i, p) in percentiles.iter().enumerate() {
        if !(0.0..=100.0).contains(p) {
            return Err(invalid_params(format!("invalid reward percentile: {p}")));
        }
        if i > 0 && *p < percentiles[i - 1] {
            return Err(invalid_params(format!(
                "invalid reward percentile: #{}:{} > #{i}:{p}",
                i - 1,
                percentiles[i - 1]
            )));
        }
    }
    Ok(())
}

/// A block's rewards at each percentile, as geth computes them: the transactions sorted by tip
/// (effective gas price minus base fee), each percentile the tip of the transaction at which the
/// cumulative gas used reaches that share of the block's gas used. An empty block gives zeros.
fn block_rewards(
    block_gas_used: u64,
    base_fee: u64,
    transactions: &[(u64, u128)],
    percentiles: &[f64],
) -> Vec<u128> {
    let mut sorted: Vec<(u64, u128)> = transactions
        .iter()
        .map(|(gas, price)| (*gas, price.saturating_sub(u128::from(base_fee))))
        .collect();
    if sorted.is_empty() {
        return vec![0; percentiles.len()];
    }
    sorted.sort_by_key(|(_, tip)| *tip);
    let mut index = 0;
    let mut cumulative = sorted[0].0;
    percentiles
        .iter()
        .map(|p| {
            let threshold = (block_gas_used as f64 * p / 100.0) as u64;
            while cumulative < threshold && index + 1 < sorted.len() {
                index += 1;
                cumulative = cumulative.saturating_add(sorted[index].0);
            }
            sorted[index].1
        })
        .collect()
}

async fn fee_history(
    ctx: &RpcContext,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> Result<FeeHistory, ErrorObjectOwned> {
    let percentiles = percentiles.unwrap_or_default();
    check_percentiles(&percentiles)?;
    let latest = ctx.state.latest_block_number().await.map_err(internal)?;
    let newest = resolve(ctx, newest).await?;
    if newest > latest {
        return Err(server_error(format!(
            "request beyond head block: requested {newest}, head {latest}"
        )));
    }
    let count = count.min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
    if count == 0 {
        return Ok(FeeHistory::default());
    }
    let oldest = newest + 1 - count;
    let blocks = ctx
        .state
        .block_fees(oldest, newest)
        .await
        .map_err(internal)?;
    if blocks.len() as u64 != count {
        return Err(internal(crate::error::NodeError::Corrupt(format!(
            "blocks {oldest}..={newest}: {} of {count} found",
            blocks.len()
        ))));
    }
    let mut history = FeeHistory {
        oldest_block: oldest,
        ..FeeHistory::default()
    };
    let mut rewards = Vec::with_capacity(blocks.len());
    for block in &blocks {
        history.base_fee_per_gas.push(u128::from(block.base_fee));
        history.gas_used_ratio.push(if block.gas_limit == 0 {
            0.0
        } else {
            block.gas_used as f64 / block.gas_limit as f64
        });
        // No block carries blob gas (batches hold no blob transactions).
        history.base_fee_per_blob_gas.push(0);
        history.blob_gas_used_ratio.push(0.0);
        if !percentiles.is_empty() {
            rewards.push(block_rewards(
                block.gas_used,
                block.base_fee,
                &block.transactions,
                &percentiles,
            ));
        }
    }
    // The entry for the block after the newest. The executor writes base fee 0 in every header and
    // never adjusts it (there is no EIP-1559 market on this chain), so the next block's is the
    // newest's.
    let next = blocks.last().map_or(0, |b| b.base_fee);
    history.base_fee_per_gas.push(u128::from(next));
    history.base_fee_per_blob_gas.push(0);
    if !percentiles.is_empty() {
        history.reward = Some(rewards);
    }
    Ok(history)
}

/// A batch number or tag: latest/pending = the latest batch (open or closed), safe = the latest
/// virtual batch, finalized = the latest verified batch, earliest = 0.
async fn requested_batch(ctx: &RpcContext, value: &Value) -> Result<u64, ErrorObjectOwned> {
    let latest = ctx.state.latest_batch_number().await.map_err(internal)?;
    let (safe, finalized) = match value.as_str() {
        Some("safe") | Some("finalized") => (
            ctx.state
                .latest_virtual_batch_number()
                .await
                .map_err(internal)?,
            ctx.state
                .latest_verified_batch_number()
                .await
                .map_err(internal)?,
        ),
        _ => (latest, latest),
    };
    block_number(value, latest, safe, finalized)
        .map_err(|e| invalid_params(e.message().replace("block number", "batch number")))
}

/// `zkevm_getBatchByNumber` in the zkEVM node's shape (its `jsonrpc/types.Batch`). Hashes we do not
/// have yet (exit roots, the accumulated input hash before the batch is sequenced) are zero, and
/// the L1 transactions null until they exist, as the zkEVM node gives them.
async fn batch_json(
    ctx: &RpcContext,
    number: u64,
    full: bool,
) -> Result<Option<Value>, ErrorObjectOwned> {
    let Some(batch) = ctx.state.batch_details(number).await.map_err(internal)? else {
        return Ok(None);
    };
    let mut blocks = Vec::with_capacity(batch.blocks.len());
    for (block_number, hash) in &batch.blocks {
        if full {
            let found = ctx
                .state
                .block_by_number(*block_number)
                .await
                .map_err(internal)?;
            blocks.push(json!(block_json(ctx, found, false).await?));
        } else {
            blocks.push(json!(hash));
        }
    }
    let mut transactions = Vec::with_capacity(batch.transactions.len());
    for hash in &batch.transactions {
        if full {
            let tx = ctx.state.transaction(*hash).await.map_err(internal)?;
            transactions.push(json!(tx.map(convert::transaction)));
        } else {
            transactions.push(json!(hash));
        }
    }
    Ok(Some(json!({
        "number": quantity(batch.number),
        "coinbase": batch.coinbase,
        "stateRoot": batch.state_root.unwrap_or(B256::ZERO),
        "globalExitRoot": batch.global_exit_root,
        // The L1 info tree's parts of the global exit root: not tracked yet.
        "mainnetExitRoot": B256::ZERO,
        "rollupExitRoot": B256::ZERO,
        "localExitRoot": batch.local_exit_root.unwrap_or(B256::ZERO),
        "accInputHash": batch.acc_input_hash.unwrap_or(B256::ZERO),
        "timestamp": quantity(batch.timestamp),
        "sendSequencesTxHash": batch.send_sequences_tx_hash,
        "verifyBatchTxHash": batch.verify_batch_tx_hash,
        "closed": batch.closed,
        "blocks": blocks,
        "transactions": transactions,
        "batchL2Data": Bytes::from(batch.batch_l2_data),
    })))
}

/// `zkevm_estimateCounters` in the zkEVM node's shape (`ZKCountersResponse`: `countersUsed`,
/// `countersLimit`, `revert`, `oocError`).
///
/// Our prover's resources are trace rows of its AIR tables, not the zkEVM ROM's counters, so the
/// mapping is:
/// - `gasUsed` / `maxGasUsed`: the call's gas / the sequencer's block gas limit (the most gas the
///   pool admits for one transaction, as the zkEVM's `MaxTxGasLimit`);
/// - `usedKeccakHashes` / `maxKeccakHashes`: rows of the keccak-f table (24 per permutation);
/// - `usedPoseidonHashes` / `maxPoseidonHashes`: rows of the Poseidon table (one per
///   permutation: key derivation, Merkle proofs, bytecode hashing — the zkEVM's separate
///   `PoseidonPaddings` are part of it, so `usedPoseidonPaddings` is 0);
/// - `usedSteps`, `usedMemAligns`, `usedArithmetics`, `usedBinaries`, `usedSHA256Hashes`: no such
///   table in our prover, so nothing is used; their limit is the per-table row limit every table
///   has (`sequencer.max_trace_rows`), so clients dividing used by limit see 0%.
///
/// The counters that have no zkEVM name (SMT rows, signatures, transfer rows, transactions, batch
/// bytes) are under `zknode`, with their limits. `oocError` names the first counter over its limit
/// (the same check the sequencer makes, without its closing margin).
async fn estimate_counters(
    ctx: &RpcContext,
    tx: &TransactionRequest,
    at: &At,
) -> Result<Value, ErrorObjectOwned> {
    let cap = ctx.config.sequencer.block_gas_limit;
    let request = call_request(ctx, tx, at, cap)?;
    let result = ctx
        .executor
        .call(at.root, request)
        .await
        .map_err(internal)?;
    if matches!(result.status, CallStatus::Invalid | CallStatus::GasTooLow) {
        return Err(server_error(format!(
            "failed to estimate counters: {}",
            result.error.as_deref().unwrap_or("invalid transaction")
        )));
    }
    let rows = ctx.config.sequencer.max_trace_rows;
    let limits = CounterLimits::with_max_trace_rows(rows);
    let Counters {
        poseidon_rows,
        smt_rows,
        keccak_rows,
        signatures,
        transfer_rows,
        transactions,
        gas_used,
        batch_bytes,
        smt_reads: _,
        smt_writes: _,
    } = result.counters;
    let mut response = json!({
        "countersUsed": {
            "gasUsed": quantity(gas_used),
            "usedKeccakHashes": quantity(keccak_rows),
            "usedPoseidonHashes": quantity(poseidon_rows),
            "usedPoseidonPaddings": quantity(0),
            "usedMemAligns": quantity(0),
            "usedArithmetics": quantity(0),
            "usedBinaries": quantity(0),
            "usedSteps": quantity(0),
            "usedSHA256Hashes": quantity(0),
        },
        "countersLimit": {
            "maxGasUsed": quantity(cap.min(limits.gas_used)),
            "maxKeccakHashes": quantity(limits.keccak_rows),
            "maxPoseidonHashes": quantity(limits.poseidon_rows),
            "maxPoseidonPaddings": quantity(rows),
            "maxMemAligns": quantity(rows),
            "maxArithmetics": quantity(rows),
            "maxBinaries": quantity(rows),
            "maxSteps": quantity(rows),
            "maxSHA256Hashes": quantity(rows),
        },
        "zknode": {
            "countersUsed": {
                "poseidonRows": quantity(poseidon_rows),
                "smtRows": quantity(smt_rows),
                "keccakRows": quantity(keccak_rows),
                "signatures": quantity(signatures),
                "transferRows": quantity(transfer_rows),
                "transactions": quantity(transactions),
                "gasUsed": quantity(gas_used),
                "batchBytes": quantity(batch_bytes),
            },
            "countersLimit": {
                "poseidonRows": quantity(limits.poseidon_rows),
                "smtRows": quantity(limits.smt_rows),
                "keccakRows": quantity(limits.keccak_rows),
                "signatures": quantity(limits.signatures),
                "transferRows": quantity(limits.transfer_rows),
                "transactions": quantity(limits.transactions),
                "gasUsed": quantity(cap.min(limits.gas_used)),
                "batchBytes": quantity(limits.batch_bytes),
            },
        },
    });
    if result.status == CallStatus::Reverted {
        response["revert"] = json!({
            "message": result.error.as_deref().unwrap_or("execution reverted"),
            "data": result.output,
        });
    }
    if let Err(overflow) = limits.check(&result.counters) {
        response["oocError"] = json!(overflow.to_string());
    }
    Ok(response)
}

/// The first parameter as a transaction object, the second as an optional block. Read as a
/// sequence: the block may be left out, as clients do (a tuple would require both).
fn call_params(
    params: &Params<'static>,
) -> Result<(TransactionRequest, Option<BlockId>), ErrorObjectOwned> {
    let mut sequence = params.sequence();
    let tx = sequence.next()?;
    let block = sequence.optional_next()?;
    Ok((tx, block))
}

/// Registers the methods of this module.
pub(super) fn register_execution(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_async_method("eth_call", |params, ctx, _| async move {
        let (tx, block) = call_params(&params)?;
        let at = at_block(&ctx, block).await?;
        let request = call_request(&ctx, &tx, &at, ctx.config.sequencer.block_gas_limit)?;
        let result = ctx
            .executor
            .call(at.root, request)
            .await
            .map_err(internal)?;
        match result.status {
            CallStatus::Success => Ok::<_, ErrorObjectOwned>(result.output),
            _ => Err(call_error(&result)),
        }
    })?;
    module.register_async_method("eth_estimateGas", |params, ctx, _| async move {
        let (tx, block) = call_params(&params)?;
        let at = at_block(&ctx, block).await?;
        estimate_gas(&ctx, &tx, &at).await.map(quantity)
    })?;
    module.register_async_method("eth_feeHistory", |params, ctx, _| async move {
        let mut sequence = params.sequence();
        let count: Value = sequence.next()?;
        let newest: BlockNumberOrTag = sequence.next()?;
        let percentiles: Option<Vec<f64>> = sequence.optional_next()?;
        let count = block_count(&count)?;
        fee_history(&ctx, count, newest, percentiles).await
    })?;
    module.register_async_method("zkevm_getBatchByNumber", |params, ctx, _| async move {
        let mut sequence = params.sequence();
        let number: Value = sequence.next()?;
        let full: Option<bool> = sequence.optional_next()?;
        let number = requested_batch(&ctx, &number).await?;
        batch_json(&ctx, number, full.unwrap_or(false)).await
    })?;
    module.register_async_method("zkevm_estimateCounters", |params, ctx, _| async move {
        let (tx, block) = call_params(&params)?;
        let at = at_block(&ctx, block).await?;
        estimate_counters(&ctx, &tx, &at).await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_follow_geths_weighted_percentiles() {
        // Tips 1, 2, 3 with gas 10, 60, 30 (block gas 100): sorted by tip the cumulative gas is
        // 10, 70, 100.
        let txs = [(60, 2), (10, 1), (30, 3)];
        assert_eq!(
            block_rewards(100, 0, &txs, &[0.0, 10.0, 11.0, 70.0, 71.0, 100.0]),
            vec![1, 1, 2, 2, 3, 3]
        );
        // The base fee comes off the price.
        assert_eq!(block_rewards(100, 1, &txs, &[50.0]), vec![1]);
        assert_eq!(block_rewards(0, 0, &[], &[25.0, 75.0]), vec![0, 0]);
    }

    #[test]
    fn percentiles_and_counts_are_checked() {
        assert!(check_percentiles(&[0.0, 50.0, 50.0, 100.0]).is_ok());
        for bad in [vec![-1.0], vec![100.5], vec![60.0, 40.0]] {
            let err = check_percentiles(&bad).expect_err("refused");
            assert_eq!(err.code(), codes::INVALID_PARAMS, "{bad:?}");
        }
        assert!(check_percentiles(&vec![1.0; 101]).is_err());
        assert_eq!(block_count(&json!("0x10")).ok(), Some(16));
        assert_eq!(block_count(&json!("16")).ok(), Some(16));
        assert_eq!(block_count(&json!(16)).ok(), Some(16));
        for bad in [json!("0x"), json!("zz"), json!(-1), json!(null)] {
            assert!(block_count(&bad).is_err(), "{bad}");
        }
    }
}
