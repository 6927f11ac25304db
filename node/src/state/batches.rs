//! Batches as the sequencer keeps them: the open batch, its size so far, and closing it.

use alloy_primitives::{Address, B256};
use sqlx::Row;

use super::StateStore;
use crate::error::{NodeError, Result};

/// The batch the sequencer is filling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenBatch {
    pub number: u64,
    /// Bytes of batchL2Data so far.
    pub data_len: u64,
    /// Transactions so far.
    pub transactions: u64,
    /// When it was opened (unix seconds).
    pub opened_at: u64,
}

/// The chain's tip as the sequencer continues it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tip {
    pub block_number: u64,
    pub block_hash: B256,
    /// The executor's tree root after the tip (where the next block starts).
    pub state_root: B256,
    pub timestamp: u64,
    pub batch_number: u64,
}

impl StateStore {
    /// The latest block (the genesis before any other), if the chain has a genesis.
    pub async fn tip(&self) -> Result<Option<Tip>> {
        let row = sqlx::query(
            "SELECT block_num, block_hash, tree_root AS state_root, timestamp, batch_num FROM state.l2_block \
             ORDER BY block_num DESC LIMIT 1",
        )
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let number: i64 = row.try_get("block_num")?;
        let timestamp: i64 = row.try_get("timestamp")?;
        let batch: i64 = row.try_get("batch_num")?;
        let bytes = |column: &str| -> Result<B256> {
            let raw: Vec<u8> = row.try_get(column)?;
            B256::try_from(raw.as_slice()).map_err(|_| NodeError::Corrupt(column.to_string()))
        };
        Ok(Some(Tip {
            block_number: u64::try_from(number).map_err(|_| NodeError::Corrupt("block".into()))?,
            block_hash: bytes("block_hash")?,
            state_root: bytes("state_root")?,
            timestamp: u64::try_from(timestamp)
                .map_err(|_| NodeError::Corrupt("timestamp".into()))?,
            batch_number: u64::try_from(batch).map_err(|_| NodeError::Corrupt("batch".into()))?,
        }))
    }

    /// The open (not yet closed) batch, if any.
    pub async fn open_batch_info(&self) -> Result<Option<OpenBatch>> {
        let row = sqlx::query(
            "SELECT b.batch_num, length(b.raw_txs_data)::BIGINT AS len, \
             extract(epoch FROM b.timestamp)::BIGINT AS opened, \
             (SELECT count(*) FROM state.transaction t JOIN state.l2_block l USING (block_num) \
              WHERE l.batch_num = b.batch_num) AS txs \
             FROM state.batch b WHERE NOT b.closed ORDER BY b.batch_num DESC LIMIT 1",
        )
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let get = |column: &str| -> Result<u64> {
            let v: i64 = row.try_get(column)?;
            u64::try_from(v).map_err(|_| NodeError::Corrupt(column.to_string()))
        };
        Ok(Some(OpenBatch {
            number: get("batch_num")?,
            data_len: get("len")?,
            transactions: get("txs")?,
            opened_at: get("opened")?,
        }))
    }

    /// Closes batch `number` for `reason`.
    pub async fn close_batch(&self, number: u64, reason: &str) -> Result<()> {
        let number = i64::try_from(number).map_err(|_| NodeError::Corrupt("batch".into()))?;
        sqlx::query(
            "UPDATE state.batch SET closed = TRUE, closing_reason = $2 WHERE batch_num = $1",
        )
        .bind(number)
        .bind(reason)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Opens batch `number` now with `coinbase` (no-op if it exists).
    pub async fn open_batch_now(&self, number: u64, coinbase: Address) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.open_batch(number, coinbase, now).await
    }
}

/// A batch as `zkevm_getBatchByNumber` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchDetails {
    pub number: u64,
    pub coinbase: Address,
    /// The executor's root after the batch's last block so far (`None` before its first block).
    pub state_root: Option<B256>,
    pub global_exit_root: B256,
    pub local_exit_root: Option<B256>,
    pub acc_input_hash: Option<B256>,
    /// Unix seconds: the timestamp of its last L2 block (what the zkEVM sequences on L1), or when
    /// the batch was opened while it has no block.
    pub timestamp: u64,
    pub closed: bool,
    /// Its batchL2Data so far.
    pub batch_l2_data: Vec<u8>,
    /// The L1 transaction that sequenced it, once virtual.
    pub send_sequences_tx_hash: Option<B256>,
    /// The L1 transaction that verified it, once verified.
    pub verify_batch_tx_hash: Option<B256>,
    /// Its L2 blocks (number, hash), in order.
    pub blocks: Vec<(u64, B256)>,
    /// Its transactions' hashes, in chain order.
    pub transactions: Vec<B256>,
}

/// What `eth_feeHistory` needs of one L2 block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockFees {
    pub number: u64,
    pub gas_used: u64,
    pub gas_limit: u64,
    /// The header's base fee (0 when it has none).
    pub base_fee: u64,
    /// (gas used, effective gas price) of each transaction, in block order.
    pub transactions: Vec<(u64, u128)>,
}

fn hash32(bytes: &[u8], what: &str) -> Result<B256> {
    B256::try_from(bytes).map_err(|_| NodeError::Corrupt(format!("{what}: {} bytes", bytes.len())))
}

fn non_negative(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| NodeError::Corrupt(format!("negative {what}")))
}

impl StateStore {
    /// Batch `number` with its blocks, transactions and L1 status, if it exists.
    pub async fn batch_details(&self, number: u64) -> Result<Option<BatchDetails>> {
        let Ok(number) = i64::try_from(number) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT b.batch_num, b.coinbase, b.state_root, b.global_exit_root, b.local_exit_root, \
             b.acc_input_hash, extract(epoch FROM b.timestamp)::BIGINT AS opened, b.closed, \
             b.raw_txs_data, v.tx_hash AS virtual_tx, f.tx_hash AS verified_tx, \
             (SELECT max(l.timestamp) FROM state.l2_block l WHERE l.batch_num = b.batch_num) \
             AS last_block_time \
             FROM state.batch b \
             LEFT JOIN state.virtual_batch v ON v.batch_num = b.batch_num \
             LEFT JOIN state.verified_batch f ON f.batch_num = b.batch_num \
             WHERE b.batch_num = $1",
        )
        .bind(number)
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let optional_hash = |column: &str| -> Result<Option<B256>> {
            row.try_get::<Option<Vec<u8>>, _>(column)?
                .map(|bytes| hash32(&bytes, column))
                .transpose()
        };
        let coinbase: Vec<u8> = row.try_get("coinbase")?;
        let opened: i64 = row.try_get("opened")?;
        let last_block_time: Option<i64> = row.try_get("last_block_time")?;
        let blocks: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT block_num, block_hash FROM state.l2_block WHERE batch_num = $1 \
             ORDER BY block_num",
        )
        .bind(number)
        .fetch_all(&self.db)
        .await?;
        let transactions: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT t.hash FROM state.transaction t JOIN state.l2_block l USING (block_num) \
             WHERE l.batch_num = $1 ORDER BY t.block_num, t.tx_index",
        )
        .bind(number)
        .fetch_all(&self.db)
        .await?;
        Ok(Some(BatchDetails {
            number: non_negative(row.try_get("batch_num")?, "batch number")?,
            coinbase: Address::try_from(coinbase.as_slice())
                .map_err(|_| NodeError::Corrupt("batch coinbase".into()))?,
            state_root: optional_hash("state_root")?,
            global_exit_root: hash32(
                &row.try_get::<Vec<u8>, _>("global_exit_root")?,
                "global exit root",
            )?,
            local_exit_root: optional_hash("local_exit_root")?,
            acc_input_hash: optional_hash("acc_input_hash")?,
            timestamp: non_negative(last_block_time.unwrap_or(opened), "batch timestamp")?,
            closed: row.try_get("closed")?,
            batch_l2_data: row.try_get("raw_txs_data")?,
            send_sequences_tx_hash: optional_hash("virtual_tx")?,
            verify_batch_tx_hash: optional_hash("verified_tx")?,
            blocks: blocks
                .iter()
                .map(|(n, hash)| {
                    Ok((
                        non_negative(*n, "block number")?,
                        hash32(hash, "block hash")?,
                    ))
                })
                .collect::<Result<_>>()?,
            transactions: transactions
                .iter()
                .map(|hash| hash32(hash, "transaction hash"))
                .collect::<Result<_>>()?,
        }))
    }

    /// Gas and fees of blocks `from..=to` (the ones that exist), in order.
    pub async fn block_fees(&self, from: u64, to: u64) -> Result<Vec<BlockFees>> {
        let (Ok(from), Ok(to)) = (i64::try_from(from), i64::try_from(to)) else {
            return Ok(Vec::new());
        };
        let blocks: Vec<(i64, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT block_num, gas_used, gas_limit, header FROM state.l2_block \
             WHERE block_num BETWEEN $1 AND $2 ORDER BY block_num",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.db)
        .await?;
        let receipts: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT block_num, gas_used, effective_gas_price::TEXT FROM state.receipt \
             WHERE block_num BETWEEN $1 AND $2 ORDER BY block_num, tx_index",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.db)
        .await?;
        let mut by_block: std::collections::HashMap<i64, Vec<(u64, u128)>> =
            std::collections::HashMap::new();
        for (block, gas_used, price) in receipts {
            let price: u128 = price
                .parse()
                .map_err(|_| NodeError::Corrupt(format!("effective gas price {price:?}")))?;
            by_block
                .entry(block)
                .or_default()
                .push((non_negative(gas_used, "gas used")?, price));
        }
        blocks
            .into_iter()
            .map(|(number, gas_used, gas_limit, rlp)| {
                let header: alloy_consensus::Header =
                    alloy_rlp::Decodable::decode(&mut rlp.as_slice())
                        .map_err(|e| NodeError::Corrupt(format!("block header: {e}")))?;
                Ok(BlockFees {
                    number: non_negative(number, "block number")?,
                    gas_used: non_negative(gas_used, "gas used")?,
                    gas_limit: non_negative(gas_limit, "gas limit")?,
                    base_fee: header.base_fee_per_gas.unwrap_or(0),
                    transactions: by_block.remove(&number).unwrap_or_default(),
                })
            })
            .collect()
    }
}
