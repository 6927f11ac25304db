//! ProcessBatch: decode, execute block by block, seal blocks, commit.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, SignableTransaction, Transaction,
    TxEnvelope,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bloom, Bytes, Log, TxKind, U256};
use revm::context::result::{EVMError, ExecutionResult, Output};
use revm::context::{BlockEnv, ContextTr, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::handler::MainnetContext;
use revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN;
use revm::{ExecuteEvm, MainBuilder};

use super::block::{self, HeaderFields, LastBlock, SYSTEM_ADDRESS};
use super::db::BatchState;
use super::provability::{classify, TransferShape};
use super::witness::{AccessOrigin, BatchWitness, TxWitness};
use super::{
    BlockResult, ExecutorConfig, ProcessBatchRequest, ProcessBatchResponse, TxResult, TxStatus,
};
use crate::batch_data::{decode_batch, BatchTransaction};
use crate::error::{ExecutorError, Result};
use crate::state::{CommitSet, LeafKind, Store};
use crate::StateRoot;

/// Effective gas price: `price × (pct + 1) / 256`, or `None` on overflow.
pub fn apply_effective_percentage(price: u128, pct: u8) -> Option<u128> {
    price.checked_mul(u128::from(pct) + 1).map(|p| p / 256)
}

/// Decodes Solidity's `Error(string)` revert data.
pub fn decode_revert_reason(output: &[u8]) -> Option<String> {
    let body = output.strip_prefix(&[0x08, 0xc3, 0x79, 0xa0])?;
    let word = |at: usize| -> Option<usize> {
        let bytes = body.get(at..at.checked_add(32)?)?;
        if bytes[..24].iter().any(|&b| b != 0) {
            return None;
        }
        Some(u64::from_be_bytes(bytes[24..].try_into().ok()?) as usize)
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let start = offset.checked_add(32)?;
    let text = body.get(start..start.checked_add(len)?)?;
    String::from_utf8(text.to_vec()).ok()
}

/// What a transaction is before execution.
struct Prepared {
    tx_env: TxEnv,
    effective_gas_price: u128,
    to: Option<Address>,
}

fn prepare(tx: &BatchTransaction, sender: Address) -> Result<Prepared, String> {
    let pct = tx.effective_percentage;
    let scale = |price: u128, what: &str| {
        apply_effective_percentage(price, pct).ok_or_else(|| format!("{what} overflows"))
    };
    let envelope = &tx.tx;
    let (tx_type, gas_price, priority_fee) = match envelope {
        TxEnvelope::Legacy(_) => (0u8, scale(envelope.max_fee_per_gas(), "gas price")?, None),
        TxEnvelope::Eip2930(_) => (1, scale(envelope.max_fee_per_gas(), "gas price")?, None),
        TxEnvelope::Eip1559(_) => (
            2,
            scale(envelope.max_fee_per_gas(), "max fee per gas")?,
            Some(scale(
                envelope.max_priority_fee_per_gas().unwrap_or(0),
                "priority fee",
            )?),
        ),
        other => {
            return Err(format!(
                "unsupported transaction type {}",
                other.tx_type() as u8
            ))
        }
    };
    // With base fee 0 the price paid is the priority fee capped by the max fee; scaling both by the
    // same monotone map keeps min(scaled) = scaled(min).
    let effective_gas_price = priority_fee.map_or(gas_price, |p| p.min(gas_price));
    let tx_env = TxEnv {
        tx_type,
        caller: sender,
        gas_limit: envelope.gas_limit(),
        gas_price,
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: priority_fee,
        ..Default::default()
    };
    let to = match envelope.kind() {
        TxKind::Call(to) => Some(to),
        TxKind::Create => None,
    };
    Ok(Prepared {
        tx_env,
        effective_gas_price,
        to,
    })
}

fn signing_payload_len(envelope: &TxEnvelope) -> usize {
    match envelope {
        TxEnvelope::Legacy(t) => t.tx().payload_len_for_signature(),
        TxEnvelope::Eip2930(t) => t.tx().payload_len_for_signature(),
        TxEnvelope::Eip1559(t) => t.tx().payload_len_for_signature(),
        TxEnvelope::Eip4844(t) => t.tx().payload_len_for_signature(),
        TxEnvelope::Eip7702(t) => t.tx().payload_len_for_signature(),
    }
}

fn invalid(tx: &BatchTransaction, from: Option<Address>, reason: String) -> TxResult {
    let envelope = &tx.tx;
    TxResult {
        hash: *envelope.tx_hash(),
        from,
        to: envelope.to(),
        nonce: envelope.nonce(),
        gas_limit: envelope.gas_limit(),
        effective_percentage: tx.effective_percentage,
        effective_gas_price: 0,
        status: TxStatus::Invalid,
        gas_used: 0,
        output: Bytes::new(),
        contract_address: None,
        logs: Vec::new(),
        receipt: None,
        error: Some(reason),
        provability: classify(&TransferShape {
            included: false,
            success: false,
            has_recipient: false,
            recipient_is_precompile: false,
            calldata_len: 0,
            access_list_len: 0,
            sender_has_code: false,
            recipient_has_code: false,
            sender_is_recipient: false,
            coinbase_is_party: false,
            empties_sender_balance: false,
        }),
    }
}

fn is_precompile_range(address: &Address) -> bool {
    let bytes = address.as_slice();
    bytes[..19].iter().all(|&b| b == 0) && bytes[19] != 0
}

pub(crate) fn process_batch(
    store: &Store,
    config: &ExecutorConfig,
    request: &ProcessBatchRequest,
) -> Result<ProcessBatchResponse> {
    if !config.fork_ids.contains(&request.fork_id) {
        return Err(ExecutorError::InvalidRequest {
            field: "fork_id",
            reason: format!(
                "fork id {} not supported ({}..={})",
                request.fork_id,
                config.fork_ids.start(),
                config.fork_ids.end()
            ),
        });
    }
    if request.old_state_root.to_hash_out().is_err() {
        return Err(ExecutorError::InvalidRequest {
            field: "old_state_root",
            reason: "an element is not a canonical Goldilocks element".to_string(),
        });
    }
    let snapshot = store.snapshot()?;
    if !snapshot.has_root(&request.old_state_root)? {
        return Err(ExecutorError::UnknownStateRoot(request.old_state_root));
    }
    let batch = decode_batch(&request.batch_data)?;
    // Signature recovery is the costliest step per transaction and independent of the state:
    // recover every sender up front on all cores.
    let senders: Vec<std::result::Result<Address, String>> = {
        use rayon::prelude::*;
        let all: Vec<&BatchTransaction> = batch
            .blocks
            .iter()
            .flat_map(|b| b.transactions.iter())
            .collect();
        all.par_iter()
            .map(|tx| {
                tx.tx
                    .recover_signer()
                    .map_err(|e| format!("invalid signature: {e}"))
            })
            .collect()
    };
    let mut senders = senders.into_iter();

    let mut state = BatchState::new(&snapshot, request.old_state_root.0, request.include_witness);
    state.counters.batch_bytes = request.batch_data.len() as u64;
    let mut last: Option<LastBlock> = None;
    let mut blocks = Vec::with_capacity(batch.blocks.len());
    let mut tx_witnesses = Vec::new();
    let mut tx_index: u32 = 0;

    for (block_index, block_data) in batch.blocks.iter().enumerate() {
        let block_index_u32 =
            u32::try_from(block_index).map_err(|_| ExecutorError::InvalidRequest {
                field: "batch_data",
                reason: "too many blocks".into(),
            })?;
        state.origin = AccessOrigin::Block {
            block_index: block_index_u32,
        };
        let previous = match last {
            Some(previous) => previous,
            None => state.last_block()?,
        };
        let number = previous
            .number
            .checked_add(1)
            .ok_or_else(|| ExecutorError::Corrupted("L2 block number overflows".to_string()))?;
        let timestamp = previous
            .timestamp
            .saturating_add(u64::from(block_data.delta_timestamp));
        if timestamp > request.timestamp_limit {
            return Err(ExecutorError::TimestampOverLimit {
                block_index,
                timestamp,
                limit: request.timestamp_limit,
            });
        }
        state.write(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::LAST_BLOCK_NUMBER_SLOT,
            U256::from(number),
        )?;
        state.write(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::LAST_TIMESTAMP_SLOT,
            U256::from(timestamp),
        )?;

        let block_env = BlockEnv {
            number: U256::from(number),
            beneficiary: request.coinbase,
            timestamp: U256::from(timestamp),
            gas_limit: config.block_gas_limit,
            basefee: 0,
            difficulty: U256::ZERO,
            prevrandao: Some(alloy_primitives::B256::ZERO),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
            )),
            ..Default::default()
        };
        let chain_id = request.chain_id;
        let mut evm = MainnetContext::new(&mut state, config.spec)
            .modify_cfg_chained(|cfg| {
                cfg.chain_id = chain_id;
                cfg.tx_chain_id_check = true;
            })
            .with_block(block_env)
            .build_mainnet();

        let mut results: Vec<TxResult> = Vec::with_capacity(block_data.transactions.len());
        let mut receipts: Vec<ReceiptEnvelope<Log>> = Vec::new();
        let mut included: Vec<&TxEnvelope> = Vec::new();
        let mut cumulative_gas: u64 = 0;
        let mut block_bloom = Bloom::default();

        for batch_tx in &block_data.transactions {
            let envelope = &batch_tx.tx;
            let this_tx = tx_index;
            tx_index = tx_index
                .checked_add(1)
                .ok_or_else(|| ExecutorError::InvalidRequest {
                    field: "batch_data",
                    reason: "too many transactions".into(),
                })?;
            {
                let db = evm.ctx.db_mut();
                db.origin = AccessOrigin::Transaction { tx_index: this_tx };
                db.counters
                    .add_signature(signing_payload_len(envelope), envelope.encode_2718_len());
            }
            let recovered = senders.next().ok_or_else(|| {
                ExecutorError::Evm("sender list shorter than the batch".to_string())
            })?;
            let sender = match recovered {
                Ok(sender) => sender,
                Err(reason) => {
                    results.push(invalid(batch_tx, None, reason));
                    continue;
                }
            };
            let prepared = match prepare(batch_tx, sender) {
                Ok(p) => p,
                Err(reason) => {
                    results.push(invalid(batch_tx, Some(sender), reason));
                    continue;
                }
            };
            if cumulative_gas.saturating_add(prepared.tx_env.gas_limit) > config.block_gas_limit {
                results.push(invalid(
                    batch_tx,
                    Some(sender),
                    "transaction gas limit exceeds the block's remaining gas".to_string(),
                ));
                continue;
            }
            let access_start = evm.ctx.db_mut().accesses.len();
            let outcome = evm.transact(prepared.tx_env.clone());
            let (result, diff) = match outcome {
                Ok(r) => (r.result, r.state),
                Err(EVMError::Transaction(e)) => {
                    evm.ctx.db_mut().loaded.clear();
                    results.push(invalid(batch_tx, Some(sender), e.to_string()));
                    continue;
                }
                Err(EVMError::Header(e)) => {
                    return Err(ExecutorError::Evm(format!(
                        "invalid block environment: {e}"
                    )))
                }
                Err(EVMError::Database(e)) => return Err(e),
                Err(EVMError::Custom(e)) => return Err(ExecutorError::Evm(e)),
                Err(EVMError::CustomAny(e)) => return Err(ExecutorError::Evm(e.to_string())),
            };
            let db = evm.ctx.db_mut();
            let loaded_sender = db.loaded.get(&sender).copied().unwrap_or_default();
            let loaded_to = prepared.to.and_then(|to| db.loaded.get(&to).copied());
            let loaded_coinbase = db
                .loaded
                .get(&request.coinbase)
                .copied()
                .unwrap_or_default();
            let after = |address: &Address, before: alloy_primitives::U256| {
                diff.get(address).map_or(before, |a| a.info.balance)
            };
            let sender_after = after(&sender, loaded_sender.balance);
            let to_after = prepared
                .to
                .map(|to| after(&to, loaded_to.unwrap_or_default().balance))
                .unwrap_or_default();
            let coinbase_after = after(&request.coinbase, loaded_coinbase.balance);
            let deployed = db.apply(diff)?;
            for len in deployed {
                db.counters.add_bytecode_hash(len);
            }
            let access_end = db.accesses.len();

            let gas_used = result.tx_gas_used();
            cumulative_gas = cumulative_gas.saturating_add(gas_used);
            let (status, output, contract_address, error) = match &result {
                ExecutionResult::Success { output, .. } => {
                    let address = match output {
                        Output::Create(_, address) => *address,
                        Output::Call(_) => None,
                    };
                    (TxStatus::Success, output.data().clone(), address, None)
                }
                ExecutionResult::Revert { output, .. } => {
                    let reason = decode_revert_reason(output).map_or_else(
                        || "execution reverted".to_string(),
                        |r| format!("execution reverted: {r}"),
                    );
                    (TxStatus::Reverted, output.clone(), None, Some(reason))
                }
                ExecutionResult::Halt { reason, .. } => (
                    TxStatus::Halted,
                    Bytes::new(),
                    None,
                    Some(format!("halted: {reason:?}")),
                ),
            };
            let logs = result.into_logs();
            let receipt = Receipt {
                status: Eip658Value::Eip658(status == TxStatus::Success),
                cumulative_gas_used: cumulative_gas,
                logs: logs.clone(),
            };
            let with_bloom: ReceiptWithBloom<Receipt<Log>> = receipt.into();
            block_bloom.accrue_bloom(&with_bloom.logs_bloom);
            let envelope_receipt = match envelope {
                TxEnvelope::Legacy(_) => ReceiptEnvelope::Legacy(with_bloom),
                TxEnvelope::Eip2930(_) => ReceiptEnvelope::Eip2930(with_bloom),
                _ => ReceiptEnvelope::Eip1559(with_bloom),
            };
            let provability = classify(&TransferShape {
                included: true,
                success: status == TxStatus::Success,
                has_recipient: prepared.to.is_some(),
                recipient_is_precompile: prepared.to.as_ref().is_some_and(is_precompile_range),
                calldata_len: envelope.input().len(),
                access_list_len: envelope.access_list().map_or(0, |l| l.len()),
                sender_has_code: loaded_sender.code_hash != crate::state::EMPTY,
                recipient_has_code: loaded_to.is_some_and(|l| l.code_hash != crate::state::EMPTY),
                sender_is_recipient: prepared.to == Some(sender),
                coinbase_is_party: request.coinbase == sender
                    || prepared.to == Some(request.coinbase),
                // The balance the witness reports after the transaction (revm's diff), against the
                // one loaded before it: `db.apply` writes the leaf only when these differ, so this
                // is exactly "a write sets the sender's balance leaf to zero".
                empties_sender_balance: sender_after.is_zero() && !loaded_sender.balance.is_zero(),
            });
            db.counters
                .add_executed_transaction(provability.is_provable(), gas_used);
            tx_witnesses.push(TxWitness {
                tx_index: this_tx,
                block_index: block_index_u32,
                hash: *envelope.tx_hash(),
                sender,
                recipient: prepared.to,
                nonce: envelope.nonce(),
                value: envelope.value(),
                gas_limit: envelope.gas_limit(),
                gas_used,
                effective_gas_price: prepared.effective_gas_price,
                effective_percentage: batch_tx.effective_percentage,
                coinbase: request.coinbase,
                sender_balance_before: loaded_sender.balance,
                sender_balance_after: sender_after,
                recipient_balance_before: loaded_to.unwrap_or_default().balance,
                recipient_balance_after: to_after,
                coinbase_balance_before: loaded_coinbase.balance,
                coinbase_balance_after: coinbase_after,
                accesses: (access_start as u32, access_end as u32),
                provability,
            });
            receipts.push(envelope_receipt.clone());
            included.push(envelope);
            results.push(TxResult {
                hash: *envelope.tx_hash(),
                from: Some(sender),
                to: prepared.to,
                nonce: envelope.nonce(),
                gas_limit: envelope.gas_limit(),
                effective_percentage: batch_tx.effective_percentage,
                effective_gas_price: prepared.effective_gas_price,
                status,
                gas_used,
                output,
                contract_address,
                logs,
                receipt: Some(envelope_receipt),
                error,
                provability,
            });
        }
        drop(evm);

        let state_root = StateRoot(state.tree.root());
        let transactions_root = alloy_consensus::proofs::calculate_transaction_root(&included);
        let receipts_root = alloy_consensus::proofs::calculate_receipt_root(&receipts);
        let header = block::header(&HeaderFields {
            parent_hash: previous.hash,
            coinbase: request.coinbase,
            state_root,
            transactions_root,
            receipts_root,
            logs_bloom: block_bloom,
            number,
            gas_limit: config.block_gas_limit,
            gas_used: cumulative_gas,
            timestamp,
        });
        let hash = header.hash_slow();
        state.origin = AccessOrigin::Block {
            block_index: block_index_u32,
        };
        state.write(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::block_hash_slot(number),
            U256::from_be_bytes(hash.0),
        )?;
        last = Some(LastBlock {
            number,
            timestamp,
            hash,
        });
        blocks.push(BlockResult {
            number,
            timestamp,
            l1_info_index: block_data.l1_info_index,
            parent_hash: previous.hash,
            hash,
            coinbase: request.coinbase,
            gas_limit: config.block_gas_limit,
            gas_used: cumulative_gas,
            state_root,
            transactions_root,
            receipts_root,
            logs_bloom: block_bloom,
            transactions: results,
        });
    }

    let new_state_root = StateRoot(state.tree.root());
    if request.update_tree {
        let mut bytecode: Vec<_> = state
            .new_code
            .iter()
            .map(|(h, c)| (*h, c.clone()))
            .collect();
        bytecode.sort_by_key(|(h, _)| *h);
        let set = CommitSet {
            nodes: state.tree.new_nodes(),
            bytecode,
        };
        store.commit(&set, new_state_root)?;
    }
    tracing::debug!(
        old_root = %request.old_state_root,
        new_root = %new_state_root,
        blocks = blocks.len(),
        transactions = state.counters.transactions,
        committed = request.update_tree,
        "batch processed"
    );
    let witness = request.include_witness.then(|| BatchWitness {
        old_state_root: request.old_state_root,
        new_state_root,
        chain_id: request.chain_id,
        coinbase: request.coinbase,
        accesses: std::mem::take(&mut state.accesses),
        transactions: tx_witnesses,
    });
    Ok(ProcessBatchResponse {
        old_state_root: request.old_state_root,
        new_state_root,
        blocks,
        counters: state.counters,
        committed: request.update_tree,
        witness,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_percentage_matches_the_zkevm_formula() {
        assert_eq!(apply_effective_percentage(1000, 255), Some(1000));
        assert_eq!(apply_effective_percentage(1000, 0), Some(3)); // 1000 / 256
        assert_eq!(apply_effective_percentage(1000, 127), Some(500));
        assert_eq!(apply_effective_percentage(u128::MAX, 1), None);
    }

    #[test]
    fn revert_reasons_decode_and_garbage_does_not() {
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        data.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(2).to_be_bytes::<32>());
        let mut text = [0u8; 32];
        text[..2].copy_from_slice(b"no");
        data.extend_from_slice(&text);
        assert_eq!(decode_revert_reason(&data).as_deref(), Some("no"));
        assert_eq!(decode_revert_reason(&data[..40]), None);
        let mut huge = data.clone();
        huge[4 + 32..4 + 64].copy_from_slice(&[0xff; 32]);
        assert_eq!(decode_revert_reason(&huge), None);
    }
}
