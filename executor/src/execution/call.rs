//! Read-only calls: one unsigned transaction run with revm on the tree at a committed root, as
//! `eth_call`, `eth_estimateGas` and `zkevm_estimateCounters` need. Nothing is persisted: the
//! transaction's state changes are applied to an in-memory working tree only, so its counters
//! include the tree writes a real inclusion would make, and the tree is then dropped.
//!
//! As geth's `eth_call`:
//! - the sender's nonce is not checked (a call carries none);
//! - with gas price 0 (the default) no fee is charged, but the sender must still hold the value;
//!   with a price, the sender must hold `gas × price + value` (`max fee` for an EIP-1559 call);
//! - the call's gas is not bounded by the block's gas limit (geth runs calls with an unbounded gas
//!   pool): the block environment's limit is raised to the call's gas when lower, which only shows
//!   in the `GASLIMIT` opcode for such calls.
//!
//! The block environment is the one of the block the call runs on top of (its number, timestamp,
//! coinbase and gas limit), with base fee 0 as every block of this chain.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Signature, TxKind, B256, U256};
use revm::context::result::{
    EVMError, ExecutionResult, HaltReason, InvalidTransaction, OutOfGasError, Output,
};
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::handler::MainnetContext;
use revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN;
use revm::{ExecuteEvm, MainBuilder};
use serde::{Deserialize, Serialize};

use super::counters::Counters;
use super::db::BatchState;
use super::process::decode_revert_reason;
use super::provability::{classify, TransferShape};
use super::ExecutorConfig;
use crate::batch_data::{encode_transaction, BatchTransaction, MAX_EFFECTIVE_PERCENTAGE};
use crate::error::{ExecutorError, Result};
use crate::state::{Store, EMPTY};
use crate::StateRoot;

/// The block a call runs in: the block whose post-state it reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallBlock {
    pub number: u64,
    pub timestamp: u64,
    pub coinbase: Address,
    /// The block's gas limit (the `GASLIMIT` opcode; see the module docs).
    pub gas_limit: u64,
}

/// A call: an unsigned transaction and the block it runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    /// The sender (geth's default: the zero address).
    pub from: Address,
    /// The recipient; `None` runs `data` as init code (a contract creation).
    pub to: Option<Address>,
    /// Gas limit; `None`: the block's gas limit.
    pub gas: Option<u64>,
    /// Wei per gas (the max fee of an EIP-1559 call). 0: no fee is charged.
    pub gas_price: u128,
    /// Set for an EIP-1559 call: the priority fee (the price paid, the base fee being 0).
    pub max_priority_fee_per_gas: Option<u128>,
    pub value: U256,
    pub data: Bytes,
    pub access_list: AccessList,
    pub chain_id: u64,
    pub block: CallBlock,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallStatus {
    /// Ran to completion.
    Success,
    /// Ended with REVERT: `output` is the revert data.
    Reverted,
    /// Halted (out of gas, invalid opcode…): all gas consumed.
    Halted,
    /// Did not start because the gas limit is below the intrinsic gas (EIP-7623 floor included).
    /// Kept apart from [`CallStatus::Invalid`] because gas estimation treats it as "more gas
    /// needed", as geth does, and every other invalidity as a final error.
    GasTooLow,
    /// Not executable as sent (insufficient funds, fee fields, init code too large…).
    Invalid,
}

/// The outcome of a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallResult {
    pub status: CallStatus,
    /// Return data (success) or revert data (reverted); empty otherwise.
    pub output: Bytes,
    /// Gas used after refunds, as a receipt would show it (0 when the call did not start).
    pub gas_used: u64,
    /// The refund subtracted from `gas_used` (EIP-3529 capped).
    pub gas_refunded: u64,
    /// The address a successful creation deployed to.
    pub contract_address: Option<Address>,
    /// What went wrong, in geth's words where geth has them: `execution reverted[: reason]`,
    /// `out of gas`, `insufficient funds for gas * price + value: …`.
    pub error: Option<String>,
    /// The decoded `Error(string)` of revert data.
    pub revert_reason: Option<String>,
    /// What the call would add to a batch's counters as a transaction: its signature and hashing
    /// (with a stand-in signature of the longest encoding), its batch-data bytes, its tree reads
    /// and writes, its deployed bytecode, one transaction and its gas. The block's own system
    /// accesses are not included.
    pub counters: Counters,
}

impl CallResult {
    fn not_started(status: CallStatus, error: String, counters: Counters) -> Self {
        CallResult {
            status,
            output: Bytes::new(),
            gas_used: 0,
            gas_refunded: 0,
            contract_address: None,
            error: Some(error),
            revert_reason: None,
            counters,
        }
    }
}

/// geth's text for the transaction errors clients match on; revm's own text otherwise.
fn invalid_text(error: &InvalidTransaction, from: Address) -> String {
    match error {
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => format!(
            "insufficient funds for gas * price + value: address {from} have {balance} want {fee}"
        ),
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => format!("intrinsic gas too low: have {gas_limit}, want {initial_gas}"),
        InvalidTransaction::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => {
            format!("insufficient gas for floor data gas cost: have {gas_limit}, want {gas_floor}")
        }
        InvalidTransaction::PriorityFeeGreaterThanMaxFee => {
            "max priority fee per gas higher than max fee per gas".to_string()
        }
        InvalidTransaction::RejectCallerWithCode => {
            format!("sender not an eoa: address {from}")
        }
        InvalidTransaction::CreateInitCodeSizeLimit => "max initcode size exceeded".to_string(),
        other => other.to_string(),
    }
}

/// geth's text for how an execution halted.
fn halt_text(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(OutOfGasError::Basic)
        | HaltReason::OutOfGas(OutOfGasError::Memory)
        | HaltReason::OutOfGas(OutOfGasError::MemoryLimit)
        | HaltReason::OutOfGas(OutOfGasError::Precompile)
        | HaltReason::OutOfGas(OutOfGasError::InvalidOperand)
        | HaltReason::OutOfGas(OutOfGasError::ReentrancySentry) => "out of gas".to_string(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".to_string(),
        HaltReason::InvalidJump => "invalid jump destination".to_string(),
        HaltReason::StackUnderflow => "stack underflow".to_string(),
        HaltReason::StackOverflow => "stack limit reached 1024".to_string(),
        HaltReason::OutOfOffset => "return data out of bounds".to_string(),
        HaltReason::CreateCollision => "contract address collision".to_string(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".to_string(),
        HaltReason::CreateContractStartingWithEF => {
            "invalid code: must not begin with 0xef".to_string()
        }
        HaltReason::CreateInitCodeSizeLimit => "max initcode size exceeded".to_string(),
        HaltReason::StateChangeDuringStaticCall | HaltReason::CallNotAllowedInsideStatic => {
            "write protection".to_string()
        }
        HaltReason::OutOfFunds => "insufficient balance for transfer".to_string(),
        HaltReason::NonceOverflow => "nonce uint64 overflow".to_string(),
        other => format!("execution halted: {other:?}"),
    }
}

fn is_precompile_range(address: &Address) -> bool {
    let bytes = address.as_slice();
    bytes[..19].iter().all(|&b| b == 0) && bytes[19] != 0
}

/// Adds the counters that belong to the transaction as signed and carried in batch data: its
/// signature recovery and hashes, and its batch-data bytes. The call is unsigned, so a stand-in
/// signature with 32-byte `r` and `s` (the longest encoding) takes the real one's place.
fn add_transaction_counters(
    counters: &mut Counters,
    request: &CallRequest,
    gas_limit: u64,
    nonce: u64,
) -> Result<()> {
    let kind = request.to.map_or(TxKind::Create, TxKind::Call);
    let signature = Signature::new(U256::MAX, U256::MAX, false);
    let (payload_len, envelope) = if let Some(priority) = request.max_priority_fee_per_gas {
        let tx = TxEip1559 {
            chain_id: request.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: request.gas_price,
            max_priority_fee_per_gas: priority,
            to: kind,
            value: request.value,
            access_list: request.access_list.clone(),
            input: request.data.clone(),
        };
        (
            tx.payload_len_for_signature(),
            TxEnvelope::Eip1559(tx.into_signed(signature)),
        )
    } else if !request.access_list.is_empty() {
        let tx = TxEip2930 {
            chain_id: request.chain_id,
            nonce,
            gas_price: request.gas_price,
            gas_limit,
            to: kind,
            value: request.value,
            access_list: request.access_list.clone(),
            input: request.data.clone(),
        };
        (
            tx.payload_len_for_signature(),
            TxEnvelope::Eip2930(tx.into_signed(signature)),
        )
    } else {
        let tx = TxLegacy {
            chain_id: Some(request.chain_id),
            nonce,
            gas_price: request.gas_price,
            gas_limit,
            to: kind,
            value: request.value,
            input: request.data.clone(),
        };
        (
            tx.payload_len_for_signature(),
            TxEnvelope::Legacy(tx.into_signed(signature)),
        )
    };
    counters.add_signature(payload_len, envelope.encode_2718_len());
    let mut bytes = Vec::new();
    encode_transaction(
        &BatchTransaction {
            tx: envelope,
            effective_percentage: MAX_EFFECTIVE_PERCENTAGE,
        },
        &mut bytes,
    )
    .map_err(|reason| ExecutorError::Evm(format!("cannot encode the call: {reason}")))?;
    counters.batch_bytes = counters.batch_bytes.saturating_add(bytes.len() as u64);
    Ok(())
}

/// Runs `request` on the state at `root` (see the module docs).
pub(crate) fn call(
    store: &Store,
    config: &ExecutorConfig,
    root: StateRoot,
    request: &CallRequest,
) -> Result<CallResult> {
    if root.to_hash_out().is_err() {
        return Err(ExecutorError::InvalidRequest {
            field: "state_root",
            reason: "an element is not a canonical Goldilocks element".to_string(),
        });
    }
    let snapshot = store.snapshot()?;
    if !snapshot.has_root(&root)? {
        return Err(ExecutorError::UnknownStateRoot(root));
    }
    let gas_limit = request.gas.unwrap_or(request.block.gas_limit);
    let (tx_type, gas_priority_fee) = match request.max_priority_fee_per_gas {
        Some(priority) => (2u8, Some(priority)),
        None if !request.access_list.is_empty() => (1, None),
        None => (0, None),
    };
    let tx_env = TxEnv {
        tx_type,
        caller: request.from,
        gas_limit,
        gas_price: request.gas_price,
        kind: request.to.map_or(TxKind::Create, TxKind::Call),
        value: request.value,
        data: request.data.clone(),
        nonce: 0,
        chain_id: Some(request.chain_id),
        access_list: request.access_list.clone(),
        gas_priority_fee,
        ..Default::default()
    };
    let block_env = BlockEnv {
        number: U256::from(request.block.number),
        beneficiary: request.block.coinbase,
        timestamp: U256::from(request.block.timestamp),
        gas_limit: request.block.gas_limit.max(gas_limit),
        basefee: 0,
        difficulty: U256::ZERO,
        prevrandao: Some(B256::ZERO),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
        )),
        ..Default::default()
    };

    // Recording is off: the call needs the counters, not the witness.
    let mut state = BatchState::new(&snapshot, root.0, false);
    let chain_id = request.chain_id;
    let mut evm = MainnetContext::new(&mut state, config.spec)
        .modify_cfg_chained(|cfg| {
            cfg.chain_id = chain_id;
            cfg.tx_chain_id_check = true;
            cfg.disable_nonce_check = true;
        })
        .with_block(block_env)
        .build_mainnet();
    let outcome = evm.transact(tx_env);
    let (result, diff) = match outcome {
        Ok(r) => (r.result, r.state),
        Err(EVMError::Transaction(e)) => {
            drop(evm);
            let status = match e {
                InvalidTransaction::CallGasCostMoreThanGasLimit { .. }
                | InvalidTransaction::GasFloorMoreThanGasLimit { .. } => CallStatus::GasTooLow,
                _ => CallStatus::Invalid,
            };
            let text = invalid_text(&e, request.from);
            let nonce = state
                .loaded
                .get(&request.from)
                .map_or(0, |loaded| loaded.nonce);
            let mut counters = state.counters;
            add_transaction_counters(&mut counters, request, gas_limit, nonce)?;
            return Ok(CallResult::not_started(status, text, counters));
        }
        Err(EVMError::Header(e)) => {
            return Err(ExecutorError::InvalidRequest {
                field: "block",
                reason: e.to_string(),
            })
        }
        Err(EVMError::Database(e)) => return Err(e),
        Err(EVMError::Custom(e)) => return Err(ExecutorError::Evm(e)),
        Err(EVMError::CustomAny(e)) => return Err(ExecutorError::Evm(e.to_string())),
    };
    drop(evm);

    let loaded_sender = state.loaded.get(&request.from).copied().unwrap_or_default();
    let loaded_to = request.to.and_then(|to| state.loaded.get(&to).copied());
    // Read before `apply` consumes the diff; an account revm did not change keeps its balance.
    let sender_after = diff
        .get(&request.from)
        .map_or(loaded_sender.balance, |a| a.info.balance);
    // Applied to the in-memory tree only (never committed): the writes count as they would in a
    // batch.
    let deployed = state.apply(diff)?;
    for len in deployed {
        state.counters.add_bytecode_hash(len);
    }
    let gas_used = result.tx_gas_used();
    let gas_refunded = result.gas().final_refunded();
    let (status, output, contract_address, error, revert_reason) = match result {
        ExecutionResult::Success { output, .. } => {
            let address = match &output {
                Output::Create(_, address) => *address,
                Output::Call(_) => None,
            };
            (CallStatus::Success, output.into_data(), address, None, None)
        }
        ExecutionResult::Revert { output, .. } => {
            let reason = decode_revert_reason(&output);
            let error = match &reason {
                Some(reason) => format!("execution reverted: {reason}"),
                None => "execution reverted".to_string(),
            };
            (CallStatus::Reverted, output, None, Some(error), reason)
        }
        ExecutionResult::Halt { reason, .. } => (
            CallStatus::Halted,
            Bytes::new(),
            None,
            Some(halt_text(&reason)),
            None,
        ),
    };

    let mut counters = state.counters;
    add_transaction_counters(&mut counters, request, gas_limit, loaded_sender.nonce)?;
    let provability = classify(&TransferShape {
        included: true,
        success: status == CallStatus::Success,
        has_recipient: request.to.is_some(),
        recipient_is_precompile: request.to.as_ref().is_some_and(is_precompile_range),
        calldata_len: request.data.len(),
        access_list_len: request.access_list.len(),
        sender_has_code: loaded_sender.code_hash != EMPTY,
        recipient_has_code: loaded_to.is_some_and(|l| l.code_hash != EMPTY),
        sender_is_recipient: request.to == Some(request.from),
        coinbase_is_party: request.block.coinbase == request.from
            || request.to == Some(request.block.coinbase),
        empties_sender_balance: sender_after.is_zero() && !loaded_sender.balance.is_zero(),
    });
    counters.add_executed_transaction(provability.is_provable(), gas_used);
    tracing::debug!(
        root = %root,
        from = %request.from,
        to = ?request.to,
        gas_limit,
        gas_used,
        status = ?status,
        "call executed"
    );
    Ok(CallResult {
        status,
        output,
        gas_used,
        gas_refunded,
        contract_address,
        error,
        revert_reason,
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geth_texts_for_what_clients_match() {
        let from = Address::repeat_byte(1);
        let funds = invalid_text(
            &InvalidTransaction::LackOfFundForMaxFee {
                fee: Box::new(U256::from(10)),
                balance: Box::new(U256::from(3)),
            },
            from,
        );
        assert!(
            funds.starts_with("insufficient funds for gas * price + value"),
            "{funds}"
        );
        assert!(funds.ends_with("have 3 want 10"), "{funds}");
        let gas = invalid_text(
            &InvalidTransaction::CallGasCostMoreThanGasLimit {
                initial_gas: 21_000,
                gas_limit: 20_000,
            },
            from,
        );
        assert_eq!(gas, "intrinsic gas too low: have 20000, want 21000");
        assert_eq!(
            halt_text(&HaltReason::OutOfGas(OutOfGasError::Basic)),
            "out of gas"
        );
        assert_eq!(halt_text(&HaltReason::InvalidFEOpcode), "invalid opcode");
    }

    #[test]
    fn precompile_range_is_the_low_addresses() {
        assert!(is_precompile_range(&Address::with_last_byte(1)));
        assert!(!is_precompile_range(&Address::ZERO));
        assert!(!is_precompile_range(&Address::repeat_byte(1)));
    }
}
