//! Conversions between the crate's types and the wire messages ([`super::proto`]), both ways.
//!
//! Every byte field read from the wire is length-checked and named in the error when wrong. The
//! conversions destructure the crate's structs exhaustively, so a field added to a result type
//! fails to compile here until it is carried over the wire too.

use alloy_consensus::ReceiptEnvelope;
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, Bloom, Bytes, Log, B256, U256};
use prost::Message;

use super::proto;
use crate::error::{ExecutorError, Result};
use crate::execution::{
    BatchWitness, BlockResult, CallBlock, CallRequest, CallResult, CallStatus, Counters,
    NotProvableReason, ProcessBatchRequest, ProcessBatchResponse, Provability, TxResult, TxStatus,
};
use crate::StateRoot;

/// A wire field that cannot be what it claims: which one, and why.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }

    /// As the error of a request the server refuses.
    pub fn into_request_error(self) -> ExecutorError {
        ExecutorError::InvalidRequest {
            field: self.field,
            reason: self.reason,
        }
    }

    /// As the error of a response the client cannot read.
    pub fn into_response_error(self) -> ExecutorError {
        ExecutorError::Service(format!(
            "malformed response from the executor service: field `{}`: {}",
            self.field, self.reason
        ))
    }
}

type FieldResult<T> = std::result::Result<T, FieldError>;

fn fixed<const N: usize>(bytes: &[u8], field: &'static str) -> FieldResult<[u8; N]> {
    <[u8; N]>::try_from(bytes)
        .map_err(|_| FieldError::new(field, format!("expected {N} bytes, got {}", bytes.len())))
}

fn state_root(bytes: &[u8], field: &'static str) -> FieldResult<StateRoot> {
    let bytes = fixed::<32>(bytes, field)?;
    StateRoot::from_bytes32(&bytes).map_err(|e| FieldError::new(field, e.to_string()))
}

fn address(bytes: &[u8], field: &'static str) -> FieldResult<Address> {
    Ok(Address::from(fixed::<20>(bytes, field)?))
}

/// Empty means absent.
fn optional_address(bytes: &[u8], field: &'static str) -> FieldResult<Option<Address>> {
    if bytes.is_empty() {
        Ok(None)
    } else {
        address(bytes, field).map(Some)
    }
}

fn b256(bytes: &[u8], field: &'static str) -> FieldResult<B256> {
    Ok(B256::from(fixed::<32>(bytes, field)?))
}

fn u256(bytes: &[u8], field: &'static str) -> FieldResult<U256> {
    Ok(U256::from_be_bytes(fixed::<32>(bytes, field)?))
}

fn u128_from(bytes: &[u8], field: &'static str) -> FieldResult<u128> {
    Ok(u128::from_be_bytes(fixed::<16>(bytes, field)?))
}

fn u256_bytes(value: U256) -> Vec<u8> {
    value.to_be_bytes::<32>().to_vec()
}

fn optional_address_bytes(value: Option<Address>) -> Vec<u8> {
    value.map(|a| a.to_vec()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// The wire form of a ProcessBatch request.
pub(crate) fn process_batch_request_to_proto(
    request: &ProcessBatchRequest,
) -> proto::ProcessBatchRequest {
    let ProcessBatchRequest {
        old_state_root,
        batch_data,
        chain_id,
        fork_id,
        timestamp_limit,
        coinbase,
        update_tree,
        include_witness,
    } = request;
    proto::ProcessBatchRequest {
        old_state_root: old_state_root.to_bytes32().to_vec(),
        batch_l2_data: batch_data.clone(),
        chain_id: *chain_id,
        fork_id: *fork_id,
        timestamp_limit: *timestamp_limit,
        coinbase: coinbase.to_vec(),
        update_tree: *update_tree,
        include_witness: *include_witness,
    }
}

/// A ProcessBatch request read from the wire.
pub(crate) fn process_batch_request_from_proto(
    request: proto::ProcessBatchRequest,
) -> FieldResult<ProcessBatchRequest> {
    let proto::ProcessBatchRequest {
        old_state_root,
        batch_l2_data,
        chain_id,
        fork_id,
        timestamp_limit,
        coinbase,
        update_tree,
        include_witness,
    } = request;
    Ok(ProcessBatchRequest {
        old_state_root: state_root(&old_state_root, "old_state_root")?,
        batch_data: batch_l2_data,
        chain_id,
        fork_id,
        timestamp_limit,
        coinbase: address(&coinbase, "coinbase")?,
        update_tree,
        include_witness,
    })
}

/// The root and address of a state read.
pub(crate) fn account_request_from_proto(
    request: &proto::AccountRequest,
) -> FieldResult<(StateRoot, Address)> {
    Ok((
        state_root(&request.state_root, "state_root")?,
        address(&request.address, "address")?,
    ))
}

pub(crate) fn account_request_to_proto(root: StateRoot, address: Address) -> proto::AccountRequest {
    proto::AccountRequest {
        state_root: root.to_bytes32().to_vec(),
        address: address.to_vec(),
    }
}

/// The root, address and slot of a storage read.
pub(crate) fn storage_request_from_proto(
    request: &proto::StorageRequest,
) -> FieldResult<(StateRoot, Address, U256)> {
    Ok((
        state_root(&request.state_root, "state_root")?,
        address(&request.address, "address")?,
        u256(&request.slot, "slot")?,
    ))
}

pub(crate) fn storage_request_to_proto(
    root: StateRoot,
    address: Address,
    slot: U256,
) -> proto::StorageRequest {
    proto::StorageRequest {
        state_root: root.to_bytes32().to_vec(),
        address: address.to_vec(),
        slot: u256_bytes(slot),
    }
}

pub(crate) fn u256_to_proto(value: U256) -> Vec<u8> {
    u256_bytes(value)
}

pub(crate) fn u256_from_proto(bytes: &[u8], field: &'static str) -> FieldResult<U256> {
    u256(bytes, field)
}

// ---------------------------------------------------------------------------------------------
// ProcessBatch responses.

/// The wire form of a ProcessBatch response; fails only if the witness cannot be serialised.
pub(crate) fn process_batch_response_to_proto(
    response: &ProcessBatchResponse,
) -> Result<proto::ProcessBatchResponse> {
    let ProcessBatchResponse {
        old_state_root,
        new_state_root,
        blocks,
        counters,
        committed,
        witness,
    } = response;
    let witness_json = match witness {
        Some(witness) => serde_json::to_vec(witness)
            .map_err(|e| ExecutorError::Service(format!("cannot serialise the witness: {e}")))?,
        None => Vec::new(),
    };
    Ok(proto::ProcessBatchResponse {
        old_state_root: old_state_root.to_bytes32().to_vec(),
        new_state_root: new_state_root.to_bytes32().to_vec(),
        blocks: blocks.iter().map(block_to_proto).collect(),
        counters: Some(counters_to_proto(counters)),
        committed: *committed,
        witness_json,
    })
}

/// A ProcessBatch response read from the wire.
pub(crate) fn process_batch_response_from_proto(
    response: proto::ProcessBatchResponse,
) -> FieldResult<ProcessBatchResponse> {
    let proto::ProcessBatchResponse {
        old_state_root,
        new_state_root,
        blocks,
        counters,
        committed,
        witness_json,
    } = response;
    let witness = if witness_json.is_empty() {
        None
    } else {
        let witness: BatchWitness = serde_json::from_slice(&witness_json)
            .map_err(|e| FieldError::new("witness_json", e.to_string()))?;
        Some(witness)
    };
    Ok(ProcessBatchResponse {
        old_state_root: state_root(&old_state_root, "old_state_root")?,
        new_state_root: state_root(&new_state_root, "new_state_root")?,
        blocks: blocks
            .into_iter()
            .map(block_from_proto)
            .collect::<FieldResult<_>>()?,
        counters: counters_from_proto(
            counters.ok_or_else(|| FieldError::new("counters", "missing"))?,
        ),
        committed,
        witness,
    })
}

fn block_to_proto(block: &BlockResult) -> proto::BlockResult {
    let BlockResult {
        number,
        timestamp,
        l1_info_index,
        parent_hash,
        hash,
        coinbase,
        gas_limit,
        gas_used,
        state_root,
        transactions_root,
        receipts_root,
        logs_bloom,
        transactions,
    } = block;
    proto::BlockResult {
        number: *number,
        timestamp: *timestamp,
        l1_info_index: *l1_info_index,
        parent_hash: parent_hash.to_vec(),
        hash: hash.to_vec(),
        coinbase: coinbase.to_vec(),
        gas_limit: *gas_limit,
        gas_used: *gas_used,
        state_root: state_root.to_bytes32().to_vec(),
        transactions_root: transactions_root.to_vec(),
        receipts_root: receipts_root.to_vec(),
        logs_bloom: logs_bloom.to_vec(),
        transactions: transactions.iter().map(tx_to_proto).collect(),
    }
}

fn block_from_proto(block: proto::BlockResult) -> FieldResult<BlockResult> {
    let proto::BlockResult {
        number,
        timestamp,
        l1_info_index,
        parent_hash,
        hash,
        coinbase,
        gas_limit,
        gas_used,
        state_root: root,
        transactions_root,
        receipts_root,
        logs_bloom,
        transactions,
    } = block;
    Ok(BlockResult {
        number,
        timestamp,
        l1_info_index,
        parent_hash: b256(&parent_hash, "blocks.parent_hash")?,
        hash: b256(&hash, "blocks.hash")?,
        coinbase: address(&coinbase, "blocks.coinbase")?,
        gas_limit,
        gas_used,
        state_root: state_root(&root, "blocks.state_root")?,
        transactions_root: b256(&transactions_root, "blocks.transactions_root")?,
        receipts_root: b256(&receipts_root, "blocks.receipts_root")?,
        logs_bloom: Bloom::from(fixed::<256>(&logs_bloom, "blocks.logs_bloom")?),
        transactions: transactions
            .into_iter()
            .map(tx_from_proto)
            .collect::<FieldResult<_>>()?,
    })
}

fn tx_status_to_proto(status: TxStatus) -> proto::TxStatus {
    match status {
        TxStatus::Success => proto::TxStatus::Success,
        TxStatus::Reverted => proto::TxStatus::Reverted,
        TxStatus::Halted => proto::TxStatus::Halted,
        TxStatus::Invalid => proto::TxStatus::Invalid,
    }
}

fn tx_status_from_proto(status: i32) -> FieldResult<TxStatus> {
    match proto::TxStatus::try_from(status) {
        Ok(proto::TxStatus::Success) => Ok(TxStatus::Success),
        Ok(proto::TxStatus::Reverted) => Ok(TxStatus::Reverted),
        Ok(proto::TxStatus::Halted) => Ok(TxStatus::Halted),
        Ok(proto::TxStatus::Invalid) => Ok(TxStatus::Invalid),
        Ok(proto::TxStatus::Unspecified) | Err(_) => Err(FieldError::new(
            "blocks.transactions.status",
            format!("unknown transaction status {status}"),
        )),
    }
}

fn reason_to_proto(reason: NotProvableReason) -> proto::NotProvableReason {
    match reason {
        NotProvableReason::NotIncluded => proto::NotProvableReason::NotIncluded,
        NotProvableReason::ContractCreation => proto::NotProvableReason::ContractCreation,
        NotProvableReason::HasCalldata => proto::NotProvableReason::HasCalldata,
        NotProvableReason::RecipientHasCode => proto::NotProvableReason::RecipientHasCode,
        NotProvableReason::SenderHasCode => proto::NotProvableReason::SenderHasCode,
        NotProvableReason::HasAccessList => proto::NotProvableReason::HasAccessList,
        NotProvableReason::NotSuccessful => proto::NotProvableReason::NotSuccessful,
        NotProvableReason::RecipientIsPrecompile => proto::NotProvableReason::RecipientIsPrecompile,
        NotProvableReason::SenderIsRecipient => proto::NotProvableReason::SenderIsRecipient,
        NotProvableReason::CoinbaseIsParty => proto::NotProvableReason::CoinbaseIsParty,
        NotProvableReason::EmptiesBalance => proto::NotProvableReason::EmptiesBalance,
    }
}

fn reason_from_proto(reason: i32) -> FieldResult<NotProvableReason> {
    use proto::NotProvableReason as P;
    Ok(match P::try_from(reason) {
        Ok(P::NotIncluded) => NotProvableReason::NotIncluded,
        Ok(P::ContractCreation) => NotProvableReason::ContractCreation,
        Ok(P::HasCalldata) => NotProvableReason::HasCalldata,
        Ok(P::RecipientHasCode) => NotProvableReason::RecipientHasCode,
        Ok(P::SenderHasCode) => NotProvableReason::SenderHasCode,
        Ok(P::HasAccessList) => NotProvableReason::HasAccessList,
        Ok(P::NotSuccessful) => NotProvableReason::NotSuccessful,
        Ok(P::RecipientIsPrecompile) => NotProvableReason::RecipientIsPrecompile,
        Ok(P::SenderIsRecipient) => NotProvableReason::SenderIsRecipient,
        Ok(P::CoinbaseIsParty) => NotProvableReason::CoinbaseIsParty,
        Ok(P::EmptiesBalance) => NotProvableReason::EmptiesBalance,
        Ok(P::Unspecified) | Err(_) => {
            return Err(FieldError::new(
                "blocks.transactions.provability.reason",
                format!("unknown reason {reason}"),
            ))
        }
    })
}

fn provability_to_proto(provability: Provability) -> proto::Provability {
    match provability {
        Provability::Provable => proto::Provability {
            provable: true,
            reason: proto::NotProvableReason::Unspecified as i32,
            description: String::new(),
        },
        Provability::NotProvable { reason } => proto::Provability {
            provable: false,
            reason: reason_to_proto(reason) as i32,
            description: reason.description().to_string(),
        },
    }
}

fn provability_from_proto(provability: Option<proto::Provability>) -> FieldResult<Provability> {
    let provability =
        provability.ok_or_else(|| FieldError::new("blocks.transactions.provability", "missing"))?;
    if provability.provable {
        Ok(Provability::Provable)
    } else {
        Ok(Provability::NotProvable {
            reason: reason_from_proto(provability.reason)?,
        })
    }
}

fn log_to_proto(log: &Log) -> proto::Log {
    proto::Log {
        address: log.address.to_vec(),
        topics: log.data.topics().iter().map(|t| t.to_vec()).collect(),
        data: log.data.data.to_vec(),
    }
}

fn log_from_proto(log: proto::Log) -> FieldResult<Log> {
    let address = address(&log.address, "blocks.transactions.logs.address")?;
    let topics = log
        .topics
        .iter()
        .map(|t| b256(t, "blocks.transactions.logs.topics"))
        .collect::<FieldResult<Vec<_>>>()?;
    Log::new(address, topics, Bytes::from(log.data))
        .ok_or_else(|| FieldError::new("blocks.transactions.logs.topics", "more than 4 topics"))
}

fn tx_to_proto(tx: &TxResult) -> proto::TransactionResult {
    let TxResult {
        hash,
        from,
        to,
        nonce,
        gas_limit,
        effective_percentage,
        effective_gas_price,
        status,
        gas_used,
        output,
        contract_address,
        logs,
        receipt,
        error,
        provability,
    } = tx;
    proto::TransactionResult {
        hash: hash.to_vec(),
        from: optional_address_bytes(*from),
        to: optional_address_bytes(*to),
        nonce: *nonce,
        gas_limit: *gas_limit,
        effective_percentage: u32::from(*effective_percentage),
        effective_gas_price: effective_gas_price.to_be_bytes().to_vec(),
        status: tx_status_to_proto(*status) as i32,
        gas_used: *gas_used,
        output: output.to_vec(),
        contract_address: optional_address_bytes(*contract_address),
        logs: logs.iter().map(log_to_proto).collect(),
        receipt: receipt
            .as_ref()
            .map(|r| r.encoded_2718())
            .unwrap_or_default(),
        error: error.clone(),
        provability: Some(provability_to_proto(*provability)),
    }
}

fn tx_from_proto(tx: proto::TransactionResult) -> FieldResult<TxResult> {
    let proto::TransactionResult {
        hash,
        from,
        to,
        nonce,
        gas_limit,
        effective_percentage,
        effective_gas_price,
        status,
        gas_used,
        output,
        contract_address,
        logs,
        receipt,
        error,
        provability,
    } = tx;
    let receipt = if receipt.is_empty() {
        None
    } else {
        let mut buf = receipt.as_slice();
        let envelope = ReceiptEnvelope::<Log>::decode_2718(&mut buf)
            .map_err(|e| FieldError::new("blocks.transactions.receipt", e.to_string()))?;
        if !buf.is_empty() {
            return Err(FieldError::new(
                "blocks.transactions.receipt",
                "trailing bytes",
            ));
        }
        Some(envelope)
    };
    Ok(TxResult {
        hash: b256(&hash, "blocks.transactions.hash")?,
        from: optional_address(&from, "blocks.transactions.from")?,
        to: optional_address(&to, "blocks.transactions.to")?,
        nonce,
        gas_limit,
        effective_percentage: u8::try_from(effective_percentage).map_err(|_| {
            FieldError::new("blocks.transactions.effective_percentage", "above 255")
        })?,
        effective_gas_price: u128_from(
            &effective_gas_price,
            "blocks.transactions.effective_gas_price",
        )?,
        status: tx_status_from_proto(status)?,
        gas_used,
        output: Bytes::from(output),
        contract_address: optional_address(
            &contract_address,
            "blocks.transactions.contract_address",
        )?,
        logs: logs
            .into_iter()
            .map(log_from_proto)
            .collect::<FieldResult<_>>()?,
        receipt,
        error,
        provability: provability_from_proto(provability)?,
    })
}

fn counters_to_proto(counters: &Counters) -> proto::Counters {
    let Counters {
        poseidon_rows,
        smt_rows,
        keccak_rows,
        signatures,
        transfer_rows,
        transactions,
        gas_used,
        batch_bytes,
        smt_reads,
        smt_writes,
    } = *counters;
    proto::Counters {
        poseidon_rows,
        smt_rows,
        keccak_rows,
        signatures,
        transfer_rows,
        transactions,
        gas_used,
        batch_bytes,
        smt_reads,
        smt_writes,
    }
}

fn counters_from_proto(counters: proto::Counters) -> Counters {
    let proto::Counters {
        poseidon_rows,
        smt_rows,
        keccak_rows,
        signatures,
        transfer_rows,
        transactions,
        gas_used,
        batch_bytes,
        smt_reads,
        smt_writes,
    } = counters;
    Counters {
        poseidon_rows,
        smt_rows,
        keccak_rows,
        signatures,
        transfer_rows,
        transactions,
        gas_used,
        batch_bytes,
        smt_reads,
        smt_writes,
    }
}

// ---------------------------------------------------------------------------------------------
// Calls.

/// Empty means zero (the proto's documented default for optional amounts).
fn u256_or_zero(bytes: &[u8], field: &'static str) -> FieldResult<U256> {
    if bytes.is_empty() {
        Ok(U256::ZERO)
    } else {
        u256(bytes, field)
    }
}

fn u128_or_zero(bytes: &[u8], field: &'static str) -> FieldResult<u128> {
    if bytes.is_empty() {
        Ok(0)
    } else {
        u128_from(bytes, field)
    }
}

/// The wire form of a call at `root`.
pub(crate) fn call_request_to_proto(root: StateRoot, request: &CallRequest) -> proto::CallRequest {
    let CallRequest {
        from,
        to,
        gas,
        gas_price,
        max_priority_fee_per_gas,
        value,
        data,
        access_list,
        chain_id,
        block,
    } = request;
    let CallBlock {
        number,
        timestamp,
        coinbase,
        gas_limit,
    } = *block;
    proto::CallRequest {
        state_root: root.to_bytes32().to_vec(),
        from: from.to_vec(),
        to: optional_address_bytes(*to),
        gas: *gas,
        gas_price: gas_price.to_be_bytes().to_vec(),
        max_priority_fee_per_gas: max_priority_fee_per_gas.map(|p| p.to_be_bytes().to_vec()),
        value: u256_bytes(*value),
        data: data.to_vec(),
        access_list: access_list
            .iter()
            .map(|item| proto::AccessListItem {
                address: item.address.to_vec(),
                storage_keys: item.storage_keys.iter().map(|k| k.to_vec()).collect(),
            })
            .collect(),
        chain_id: *chain_id,
        block: Some(proto::CallBlock {
            number,
            timestamp,
            coinbase: coinbase.to_vec(),
            gas_limit,
        }),
    }
}

/// A call read from the wire: its root and request.
pub(crate) fn call_request_from_proto(
    request: proto::CallRequest,
) -> FieldResult<(StateRoot, CallRequest)> {
    let proto::CallRequest {
        state_root: root,
        from,
        to,
        gas,
        gas_price,
        max_priority_fee_per_gas,
        value,
        data,
        access_list,
        chain_id,
        block,
    } = request;
    let block = block.ok_or_else(|| FieldError::new("block", "missing"))?;
    let access_list = access_list
        .into_iter()
        .map(|item| {
            Ok(alloy_eips::eip2930::AccessListItem {
                address: address(&item.address, "access_list.address")?,
                storage_keys: item
                    .storage_keys
                    .iter()
                    .map(|k| b256(k, "access_list.storage_keys"))
                    .collect::<FieldResult<_>>()?,
            })
        })
        .collect::<FieldResult<Vec<_>>>()?;
    Ok((
        state_root(&root, "state_root")?,
        CallRequest {
            from: optional_address(&from, "from")?.unwrap_or(Address::ZERO),
            to: optional_address(&to, "to")?,
            gas,
            gas_price: u128_or_zero(&gas_price, "gas_price")?,
            max_priority_fee_per_gas: max_priority_fee_per_gas
                .map(|p| u128_from(&p, "max_priority_fee_per_gas"))
                .transpose()?,
            value: u256_or_zero(&value, "value")?,
            data: Bytes::from(data),
            access_list: alloy_eips::eip2930::AccessList(access_list),
            chain_id,
            block: CallBlock {
                number: block.number,
                timestamp: block.timestamp,
                coinbase: address(&block.coinbase, "block.coinbase")?,
                gas_limit: block.gas_limit,
            },
        },
    ))
}

fn call_status_to_proto(status: CallStatus) -> proto::CallStatus {
    match status {
        CallStatus::Success => proto::CallStatus::Success,
        CallStatus::Reverted => proto::CallStatus::Reverted,
        CallStatus::Halted => proto::CallStatus::Halted,
        CallStatus::GasTooLow => proto::CallStatus::GasTooLow,
        CallStatus::Invalid => proto::CallStatus::Invalid,
    }
}

fn call_status_from_proto(status: i32) -> FieldResult<CallStatus> {
    match proto::CallStatus::try_from(status) {
        Ok(proto::CallStatus::Success) => Ok(CallStatus::Success),
        Ok(proto::CallStatus::Reverted) => Ok(CallStatus::Reverted),
        Ok(proto::CallStatus::Halted) => Ok(CallStatus::Halted),
        Ok(proto::CallStatus::GasTooLow) => Ok(CallStatus::GasTooLow),
        Ok(proto::CallStatus::Invalid) => Ok(CallStatus::Invalid),
        Ok(proto::CallStatus::Unspecified) | Err(_) => Err(FieldError::new(
            "status",
            format!("unknown call status {status}"),
        )),
    }
}

/// The wire form of a call's result.
pub(crate) fn call_result_to_proto(result: &CallResult) -> proto::CallResponse {
    let CallResult {
        status,
        output,
        gas_used,
        gas_refunded,
        contract_address,
        error,
        revert_reason,
        counters,
    } = result;
    proto::CallResponse {
        status: call_status_to_proto(*status) as i32,
        output: output.to_vec(),
        gas_used: *gas_used,
        gas_refunded: *gas_refunded,
        contract_address: optional_address_bytes(*contract_address),
        error: error.clone(),
        revert_reason: revert_reason.clone(),
        counters: Some(counters_to_proto(counters)),
    }
}

/// A call's result read from the wire.
pub(crate) fn call_result_from_proto(response: proto::CallResponse) -> FieldResult<CallResult> {
    let proto::CallResponse {
        status,
        output,
        gas_used,
        gas_refunded,
        contract_address,
        error,
        revert_reason,
        counters,
    } = response;
    Ok(CallResult {
        status: call_status_from_proto(status)?,
        output: Bytes::from(output),
        gas_used,
        gas_refunded,
        contract_address: optional_address(&contract_address, "contract_address")?,
        error,
        revert_reason,
        counters: counters_from_proto(
            counters.ok_or_else(|| FieldError::new("counters", "missing"))?,
        ),
    })
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// The gRPC status of a failed request: the code by the error's class, the error as message, and an
/// [`proto::ExecutorErrorDetail`] as binary details.
pub(crate) fn status_from_error(error: &ExecutorError) -> tonic::Status {
    let (code, kind) = if error.is_not_found() {
        // The match below names the kind (today the only not-found error is an unknown root).
        (tonic::Code::NotFound, proto::ErrorKind::Unspecified)
    } else if error.is_invalid_argument() {
        (
            tonic::Code::InvalidArgument,
            proto::ErrorKind::InvalidArgument,
        )
    } else {
        (tonic::Code::Internal, proto::ErrorKind::Internal)
    };
    let mut detail = proto::ExecutorErrorDetail {
        kind: kind as i32,
        message: error.to_string(),
        ..Default::default()
    };
    match error {
        ExecutorError::MalformedBatchData { offset, reason } => {
            detail.kind = proto::ErrorKind::MalformedBatchData as i32;
            detail.offset = *offset as u64;
            detail.reason = reason.clone();
        }
        ExecutorError::UnknownStateRoot(root) => {
            detail.kind = proto::ErrorKind::UnknownStateRoot as i32;
            detail.state_root = root.to_bytes32().to_vec();
        }
        ExecutorError::TimestampOverLimit {
            block_index,
            timestamp,
            limit,
        } => {
            detail.kind = proto::ErrorKind::TimestampOverLimit as i32;
            detail.block_index = *block_index as u64;
            detail.timestamp = *timestamp;
            detail.limit = *limit;
        }
        _ => {}
    }
    tonic::Status::with_details(code, error.to_string(), detail.encode_to_vec().into())
}

/// The crate error for a non-OK status: the specific variant when the details name one, else
/// [`ExecutorError::Rpc`] with the code and message.
pub(crate) fn error_from_status(status: &tonic::Status) -> ExecutorError {
    let generic = || ExecutorError::Rpc {
        code: status.code(),
        message: status.message().to_string(),
    };
    let Ok(detail) = proto::ExecutorErrorDetail::decode(status.details()) else {
        return generic();
    };
    match proto::ErrorKind::try_from(detail.kind) {
        Ok(proto::ErrorKind::MalformedBatchData) => match usize::try_from(detail.offset) {
            Ok(offset) => ExecutorError::MalformedBatchData {
                offset,
                reason: detail.reason,
            },
            Err(_) => generic(),
        },
        Ok(proto::ErrorKind::UnknownStateRoot) => {
            match state_root(&detail.state_root, "state_root") {
                Ok(root) => ExecutorError::UnknownStateRoot(root),
                Err(_) => generic(),
            }
        }
        Ok(proto::ErrorKind::TimestampOverLimit) => match usize::try_from(detail.block_index) {
            Ok(block_index) => ExecutorError::TimestampOverLimit {
                block_index,
                timestamp: detail.timestamp,
                limit: detail.limit,
            },
            Err(_) => generic(),
        },
        _ => generic(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_not_provable_reason_survives_the_proto_round_trip() {
        for reason in NotProvableReason::ALL {
            let wire = reason_to_proto(reason) as i32;
            assert_eq!(reason_from_proto(wire).unwrap(), reason);
        }
    }

    #[test]
    fn batch_level_errors_survive_the_status_round_trip() {
        let errors = [
            ExecutorError::MalformedBatchData {
                offset: 17,
                reason: "bad v".to_string(),
            },
            ExecutorError::UnknownStateRoot(StateRoot([1, 2, 3, 4])),
            ExecutorError::TimestampOverLimit {
                block_index: 2,
                timestamp: 10,
                limit: 9,
            },
        ];
        for error in errors {
            let status = status_from_error(&error);
            let back = error_from_status(&status);
            assert_eq!(back.to_string(), error.to_string());
            assert_eq!(back.is_invalid_argument(), error.is_invalid_argument());
            assert_eq!(back.is_not_found(), error.is_not_found());
        }
        let status = status_from_error(&ExecutorError::Store("disk on fire".to_string()));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(matches!(
            error_from_status(&status),
            ExecutorError::Rpc {
                code: tonic::Code::Internal,
                ..
            }
        ));
        let status = status_from_error(&ExecutorError::InvalidRequest {
            field: "coinbase",
            reason: "expected 20 bytes".to_string(),
        });
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(error_from_status(&status).is_invalid_argument());
    }

    #[test]
    fn calls_survive_the_wire_and_bad_fields_are_named() {
        let request = CallRequest {
            from: Address::repeat_byte(1),
            to: Some(Address::repeat_byte(2)),
            gas: Some(50_000),
            gas_price: 7,
            max_priority_fee_per_gas: Some(3),
            value: U256::from(9),
            data: Bytes::from_static(&[1, 2, 3]),
            access_list: alloy_eips::eip2930::AccessList(vec![
                alloy_eips::eip2930::AccessListItem {
                    address: Address::repeat_byte(3),
                    storage_keys: vec![B256::repeat_byte(4)],
                },
            ]),
            chain_id: 1001,
            block: CallBlock {
                number: 5,
                timestamp: 6,
                coinbase: Address::repeat_byte(5),
                gas_limit: 1 << 30,
            },
        };
        let root = StateRoot([1, 2, 3, 4]);
        let wire = call_request_to_proto(root, &request);
        let (back_root, back) = call_request_from_proto(wire.clone()).unwrap();
        assert_eq!((back_root, back), (root, request));

        // Empty amounts and sender read as zero; a creation has no recipient.
        let mut sparse = wire.clone();
        sparse.from.clear();
        sparse.to.clear();
        sparse.value.clear();
        sparse.gas_price.clear();
        let (_, read) = call_request_from_proto(sparse).unwrap();
        assert_eq!(read.from, Address::ZERO);
        assert_eq!(read.to, None);
        assert_eq!((read.value, read.gas_price), (U256::ZERO, 0));

        let mut bad = wire.clone();
        bad.value = vec![0; 31];
        assert_eq!(call_request_from_proto(bad).unwrap_err().field, "value");
        let mut bad = wire.clone();
        bad.access_list[0].storage_keys[0].pop();
        assert_eq!(
            call_request_from_proto(bad).unwrap_err().field,
            "access_list.storage_keys"
        );
        let mut bad = wire.clone();
        bad.max_priority_fee_per_gas = Some(vec![0; 17]);
        assert_eq!(
            call_request_from_proto(bad).unwrap_err().field,
            "max_priority_fee_per_gas"
        );
        let mut bad = wire;
        bad.block = None;
        assert_eq!(call_request_from_proto(bad).unwrap_err().field, "block");

        let result = CallResult {
            status: CallStatus::Reverted,
            output: Bytes::from_static(&[0xde, 0xad]),
            gas_used: 30_000,
            gas_refunded: 100,
            contract_address: None,
            error: Some("execution reverted".to_string()),
            revert_reason: None,
            counters: Counters {
                poseidon_rows: 3,
                ..Counters::default()
            },
        };
        assert_eq!(
            call_result_from_proto(call_result_to_proto(&result)).unwrap(),
            result
        );
        let mut unknown = call_result_to_proto(&result);
        unknown.status = 99;
        assert_eq!(call_result_from_proto(unknown).unwrap_err().field, "status");
    }

    #[test]
    fn wire_fields_are_length_checked() {
        let mut request = process_batch_request_to_proto(&ProcessBatchRequest::default());
        assert!(process_batch_request_from_proto(request.clone()).is_ok());
        request.coinbase.pop();
        let err = process_batch_request_from_proto(request.clone()).unwrap_err();
        assert_eq!(err.field, "coinbase");
        request.coinbase.push(0);
        request.old_state_root = vec![0xff; 32];
        let err = process_batch_request_from_proto(request).unwrap_err();
        assert_eq!(err.field, "old_state_root");
        assert!(account_request_from_proto(&proto::AccountRequest {
            state_root: vec![0; 31],
            address: vec![0; 20]
        })
        .is_err());
        assert!(storage_request_from_proto(&proto::StorageRequest {
            state_root: vec![0; 32],
            address: vec![0; 20],
            slot: vec![0; 33],
        })
        .is_err());
    }
}
