//! State DB records into the JSON shapes Ethereum clients parse (alloy's RPC types, whose serde
//! follows the execution API spec).

use alloy_consensus::{
    Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxType,
};
use alloy_primitives::{logs_bloom, B256, U256};
use alloy_rpc_types_eth::{Block, BlockTransactions, Log, Transaction, TransactionReceipt};

use crate::state::blocks::{IncludedLog, IncludedTransaction, StoredReceipt};

pub fn header(inner: Header, hash: B256) -> alloy_rpc_types_eth::Header {
    alloy_rpc_types_eth::Header {
        hash,
        inner,
        // No proof of work on L2.
        total_difficulty: Some(U256::ZERO),
        size: None,
    }
}

pub fn block(inner: Header, hash: B256, transactions: BlockTransactions<Transaction>) -> Block {
    Block {
        header: header(inner, hash),
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    }
}

pub fn transaction(tx: IncludedTransaction) -> Transaction {
    // The zkEVM has no base fee: a transaction pays its gas price (its fee cap for EIP-1559).
    let effective_gas_price = Some(tx.envelope.max_fee_per_gas());
    Transaction {
        inner: alloy_consensus::transaction::Recovered::new_unchecked(tx.envelope, tx.sender),
        block_hash: Some(tx.block_hash),
        block_number: Some(tx.block_number),
        transaction_index: Some(tx.index),
        effective_gas_price,
    }
}

pub fn log(l: IncludedLog) -> Log {
    Log {
        inner: l.log,
        block_hash: Some(l.block_hash),
        block_number: Some(l.block_number),
        block_timestamp: None,
        transaction_hash: Some(l.transaction_hash),
        transaction_index: Some(l.transaction_index),
        log_index: Some(l.log_index),
        removed: false,
    }
}

pub fn receipt(
    tx: IncludedTransaction,
    stored: StoredReceipt,
    logs: Vec<IncludedLog>,
) -> TransactionReceipt {
    let bloom = logs_bloom(stored.logs.iter());
    let inner = ReceiptWithBloom::new(
        Receipt {
            status: stored.status.into(),
            cumulative_gas_used: stored.cumulative_gas_used,
            logs: logs.into_iter().map(log).collect(),
        },
        bloom,
    );
    let envelope = match tx.envelope.tx_type() {
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(inner),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(inner),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(inner),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(inner),
        TxType::Legacy => ReceiptEnvelope::Legacy(inner),
    };
    TransactionReceipt {
        inner: envelope,
        transaction_hash: *tx.envelope.tx_hash(),
        transaction_index: Some(tx.index),
        block_hash: Some(tx.block_hash),
        block_number: Some(tx.block_number),
        gas_used: stored.gas_used,
        effective_gas_price: stored.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender,
        to: tx.envelope.to(),
        contract_address: stored.contract_address,
    }
}
