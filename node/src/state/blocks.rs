//! L2 blocks, their transactions, receipts and logs in the State DB: written atomically per block by
//! the sequencer, read by the RPC.

use alloy_consensus::{Header, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{logs_bloom, Address, Bloom, Log, B256};
use sqlx::{Postgres, QueryBuilder, Row};

use super::StateStore;
use crate::error::{NodeError, Result};

/// A receipt as the executor reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReceipt {
    pub status: bool,
    pub cumulative_gas_used: u64,
    pub gas_used: u64,
    pub effective_gas_price: u128,
    pub contract_address: Option<Address>,
    pub logs: Vec<Log>,
}

/// A transaction included in a block, with its sender and receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTransaction {
    pub envelope: TxEnvelope,
    pub sender: Address,
    pub effective_percentage: u8,
    pub receipt: StoredReceipt,
}

/// An L2 block to store.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredBlock {
    pub header: Header,
    pub batch_number: u64,
    pub transactions: Vec<StoredTransaction>,
    /// The block's part of the batch's batchL2Data (its change-L2-block marker and transactions),
    /// appended to the batch's raw data in the same database transaction.
    pub batch_data: Vec<u8>,
    /// The executor's committed root after the block (see the `tree_root` column).
    pub tree_root: B256,
}

/// A transaction read back with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct IncludedTransaction {
    pub envelope: TxEnvelope,
    pub sender: Address,
    pub block_number: u64,
    pub block_hash: B256,
    pub index: u64,
}

/// A log read back with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedLog {
    pub log: Log,
    pub block_number: u64,
    pub block_hash: B256,
    pub transaction_hash: B256,
    pub transaction_index: u64,
    pub log_index: u64,
}

/// Which logs `eth_getLogs` wants: a block range, addresses (any if empty), and per topic position
/// the allowed values (any if empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub from_block: u64,
    pub to_block: u64,
    pub addresses: Vec<Address>,
    pub topics: [Vec<B256>; 4],
}

fn i64_of(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| NodeError::Corrupt(format!("{what} {value} above 2^63")))
}

fn u64_of(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| NodeError::Corrupt(format!("negative {what}")))
}

fn b256(bytes: &[u8], what: &str) -> Result<B256> {
    B256::try_from(bytes).map_err(|_| NodeError::Corrupt(format!("{what}: {} bytes", bytes.len())))
}

fn address(bytes: &[u8], what: &str) -> Result<Address> {
    Address::try_from(bytes)
        .map_err(|_| NodeError::Corrupt(format!("{what}: {} bytes", bytes.len())))
}

impl StateStore {
    /// Creates batch `number` if it does not exist yet (the sequencer opens a batch before its
    /// first block).
    pub async fn open_batch(&self, number: u64, coinbase: Address, timestamp: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO state.batch (batch_num, timestamp, coinbase) \
             VALUES ($1, to_timestamp($2), $3) ON CONFLICT (batch_num) DO NOTHING",
        )
        .bind(i64_of(number, "batch number")?)
        .bind(i64_of(timestamp, "timestamp")? as f64)
        .bind(coinbase.as_slice())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Stores a block with its transactions, receipts and logs in one database transaction;
    /// returns the block hash (keccak of the header's RLP).
    pub async fn store_block(&self, block: &StoredBlock) -> Result<B256> {
        let header = &block.header;
        let hash = header.hash_slow();
        let number = i64_of(header.number, "block number")?;
        let mut rlp = Vec::new();
        alloy_rlp::Encodable::encode(header, &mut rlp);
        let mut db = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO state.l2_block (block_num, block_hash, parent_hash, state_root, tree_root, \
             batch_num, timestamp, coinbase, gas_limit, gas_used, logs_bloom, header) \
             VALUES ($1, $2, $3, $4, $12, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(number)
        .bind(hash.as_slice())
        .bind(header.parent_hash.as_slice())
        .bind(header.state_root.as_slice())
        .bind(i64_of(block.batch_number, "batch number")?)
        .bind(i64_of(header.timestamp, "timestamp")?)
        .bind(header.beneficiary.as_slice())
        .bind(i64_of(header.gas_limit, "gas limit")?)
        .bind(i64_of(header.gas_used, "gas used")?)
        .bind(header.logs_bloom.as_slice())
        .bind(rlp)
        .bind(block.tree_root.as_slice())
        .execute(&mut *db)
        .await?;
        let mut log_index = 0i32;
        for (index, tx) in block.transactions.iter().enumerate() {
            let index = i32::try_from(index).map_err(|_| NodeError::Corrupt("tx index".into()))?;
            let tx_hash = *tx.envelope.tx_hash();
            let to = alloy_consensus::Transaction::to(&tx.envelope);
            sqlx::query(
                "INSERT INTO state.transaction (hash, block_num, tx_index, from_address, to_address, \
                 nonce, encoded, effective_percentage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tx_hash.as_slice())
            .bind(number)
            .bind(index)
            .bind(tx.sender.as_slice())
            .bind(to.as_ref().map(|a| a.as_slice().to_vec()))
            .bind(i64_of(alloy_consensus::Transaction::nonce(&tx.envelope), "nonce")?)
            .bind(tx.envelope.encoded_2718())
            .bind(i16::from(tx.effective_percentage))
            .execute(&mut *db)
            .await?;
            let receipt = &tx.receipt;
            let bloom: Bloom = logs_bloom(receipt.logs.iter());
            sqlx::query(
                "INSERT INTO state.receipt (tx_hash, tx_type, status, cumulative_gas_used, gas_used, \
                 effective_gas_price, contract_address, logs_bloom, block_num, tx_index) \
                 VALUES ($1, $2, $3, $4, $5, $6::NUMERIC, $7, $8, $9, $10)",
            )
            .bind(tx_hash.as_slice())
            .bind(i16::from(u8::from(tx.envelope.tx_type())))
            .bind(i16::from(receipt.status))
            .bind(i64_of(receipt.cumulative_gas_used, "gas")?)
            .bind(i64_of(receipt.gas_used, "gas")?)
            .bind(receipt.effective_gas_price.to_string())
            .bind(receipt.contract_address.map(|a| a.as_slice().to_vec()))
            .bind(bloom.as_slice())
            .bind(number)
            .bind(index)
            .execute(&mut *db)
            .await?;
            for log in &receipt.logs {
                let topics = log.topics();
                let topic = |i: usize| topics.get(i).map(|t| t.as_slice().to_vec());
                sqlx::query(
                    "INSERT INTO state.log (tx_hash, log_index, block_num, tx_index, address, data, \
                     topic0, topic1, topic2, topic3) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(tx_hash.as_slice())
                .bind(log_index)
                .bind(number)
                .bind(index)
                .bind(log.address.as_slice())
                .bind(log.data.data.to_vec())
                .bind(topic(0))
                .bind(topic(1))
                .bind(topic(2))
                .bind(topic(3))
                .execute(&mut *db)
                .await?;
                log_index += 1;
            }
        }
        sqlx::query(
            "UPDATE state.batch SET raw_txs_data = raw_txs_data || $2, state_root = $3 \
             WHERE batch_num = $1",
        )
        .bind(i64_of(block.batch_number, "batch number")?)
        .bind(&block.batch_data)
        .bind(block.tree_root.as_slice())
        .execute(&mut *db)
        .await?;
        // The pool learns of the inclusion in the same transaction, so a crash cannot leave a
        // transaction both in a block and pending.
        let included: Vec<Vec<u8>> = block
            .transactions
            .iter()
            .map(|t| t.envelope.tx_hash().to_vec())
            .collect();
        sqlx::query("UPDATE pool.transaction SET status = 'selected' WHERE hash = ANY($1)")
            .bind(included)
            .execute(&mut *db)
            .await?;
        db.commit().await?;
        Ok(hash)
    }

    /// Stores the genesis: batch 0 and block 0 with the genesis state root. Block 0's hash is zero,
    /// as the executor's `BLOCKHASH(0)` is (see the executor's `execution::block`). Idempotent.
    pub async fn store_genesis(&self, state_root: B256, coinbase: Address) -> Result<()> {
        let mut db = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO state.batch (batch_num, timestamp, coinbase, state_root, closed, closing_reason) \
             VALUES (0, to_timestamp(0), $1, $2, TRUE, 'genesis') ON CONFLICT (batch_num) DO NOTHING",
        )
        .bind(coinbase.as_slice())
        .bind(state_root.as_slice())
        .execute(&mut *db)
        .await?;
        let header = Header {
            state_root,
            beneficiary: coinbase,
            ommers_hash: alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH,
            base_fee_per_gas: Some(0),
            ..Default::default()
        };
        let mut rlp = Vec::new();
        alloy_rlp::Encodable::encode(&header, &mut rlp);
        sqlx::query(
            "INSERT INTO state.l2_block (block_num, block_hash, parent_hash, state_root, tree_root, \
             batch_num, timestamp, coinbase, gas_limit, gas_used, logs_bloom, header) \
             VALUES (0, $1, $1, $2, $2, 0, 0, $3, 0, 0, $4, $5) ON CONFLICT (block_num) DO NOTHING",
        )
        .bind(B256::ZERO.as_slice())
        .bind(state_root.as_slice())
        .bind(coinbase.as_slice())
        .bind(Bloom::ZERO.as_slice())
        .bind(rlp)
        .execute(&mut *db)
        .await?;
        db.commit().await?;
        Ok(())
    }

    /// The executor's tree root after block `number` (where state reads at that block go), if the
    /// block exists.
    pub async fn state_root_of(&self, number: u64) -> Result<Option<B256>> {
        let Ok(number) = i64::try_from(number) else {
            return Ok(None);
        };
        let root: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT tree_root FROM state.l2_block WHERE block_num = $1")
                .bind(number)
                .fetch_optional(&self.db)
                .await?;
        root.map(|r| b256(&r, "state root")).transpose()
    }

    /// A block's header, hash and transaction hashes, by number.
    pub async fn block_by_number(&self, number: u64) -> Result<Option<(Header, B256, Vec<B256>)>> {
        let Ok(number) = i64::try_from(number) else {
            return Ok(None);
        };
        let row = sqlx::query(&format!("{BLOCK_SELECT} block_num = $1"))
            .bind(number)
            .fetch_optional(&self.db)
            .await?;
        self.block_of(row).await
    }

    /// A block's header, hash and transaction hashes, by hash.
    pub async fn block_by_hash(&self, hash: B256) -> Result<Option<(Header, B256, Vec<B256>)>> {
        let row = sqlx::query(&format!("{BLOCK_SELECT} block_hash = $1"))
            .bind(hash.as_slice())
            .fetch_optional(&self.db)
            .await?;
        self.block_of(row).await
    }

    async fn block_of(
        &self,
        row: Option<sqlx::postgres::PgRow>,
    ) -> Result<Option<(Header, B256, Vec<B256>)>> {
        let Some(row) = row else {
            return Ok(None);
        };
        let number: i64 = row.try_get("block_num")?;
        let hash = b256(&row.try_get::<Vec<u8>, _>("block_hash")?, "block hash")?;
        let rlp: Vec<u8> = row.try_get("header")?;
        let header: Header = alloy_rlp::Decodable::decode(&mut rlp.as_slice())
            .map_err(|e| NodeError::Corrupt(format!("block header: {e}")))?;
        let hashes: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT hash FROM state.transaction WHERE block_num = $1 ORDER BY tx_index",
        )
        .bind(number)
        .fetch_all(&self.db)
        .await?;
        let hashes = hashes
            .iter()
            .map(|h| b256(h, "tx hash"))
            .collect::<Result<_>>()?;
        Ok(Some((header, hash, hashes)))
    }

    /// A transaction by hash, with its block and index.
    pub async fn transaction(&self, hash: B256) -> Result<Option<IncludedTransaction>> {
        let row = sqlx::query(
            "SELECT t.encoded, t.from_address, t.block_num, t.tx_index, b.block_hash \
             FROM state.transaction t JOIN state.l2_block b USING (block_num) WHERE t.hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.db)
        .await?;
        row.map(|row| self.included(&row)).transpose()
    }

    /// The transaction at `index` of block `number`.
    pub async fn transaction_at(
        &self,
        number: u64,
        index: u64,
    ) -> Result<Option<IncludedTransaction>> {
        let (Ok(number), Ok(index)) = (i64::try_from(number), i32::try_from(index)) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT t.encoded, t.from_address, t.block_num, t.tx_index, b.block_hash \
             FROM state.transaction t JOIN state.l2_block b USING (block_num) \
             WHERE t.block_num = $1 AND t.tx_index = $2",
        )
        .bind(number)
        .bind(index)
        .fetch_optional(&self.db)
        .await?;
        row.map(|row| self.included(&row)).transpose()
    }

    fn included(&self, row: &sqlx::postgres::PgRow) -> Result<IncludedTransaction> {
        let encoded: Vec<u8> = row.try_get("encoded")?;
        let envelope = TxEnvelope::decode_2718(&mut encoded.as_slice())
            .map_err(|e| NodeError::Corrupt(format!("stored transaction: {e}")))?;
        Ok(IncludedTransaction {
            envelope,
            sender: address(&row.try_get::<Vec<u8>, _>("from_address")?, "sender")?,
            block_number: u64_of(row.try_get("block_num")?, "block number")?,
            block_hash: b256(&row.try_get::<Vec<u8>, _>("block_hash")?, "block hash")?,
            index: u64_of(i64::from(row.try_get::<i32, _>("tx_index")?), "tx index")?,
        })
    }

    /// A receipt by transaction hash, with the transaction itself.
    pub async fn receipt(
        &self,
        hash: B256,
    ) -> Result<Option<(IncludedTransaction, StoredReceipt)>> {
        let Some(tx) = self.transaction(hash).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT status, cumulative_gas_used, gas_used, effective_gas_price::TEXT AS price, \
             contract_address FROM state.receipt WHERE tx_hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_one(&self.db)
        .await?;
        let price: String = row.try_get("price")?;
        let contract: Option<Vec<u8>> = row.try_get("contract_address")?;
        let logs = self
            .logs_where("l.tx_hash = ", hash)
            .await?
            .into_iter()
            .map(|l| l.log)
            .collect();
        let receipt = StoredReceipt {
            status: row.try_get::<i16, _>("status")? == 1,
            cumulative_gas_used: u64_of(row.try_get("cumulative_gas_used")?, "gas")?,
            gas_used: u64_of(row.try_get("gas_used")?, "gas")?,
            effective_gas_price: price
                .parse()
                .map_err(|_| NodeError::Corrupt(format!("gas price {price:?}")))?,
            contract_address: contract
                .map(|c| address(&c, "contract address"))
                .transpose()?,
            logs,
        };
        Ok(Some((tx, receipt)))
    }

    /// Logs of one transaction, in order.
    pub async fn transaction_logs(&self, hash: B256) -> Result<Vec<IncludedLog>> {
        self.logs_where("l.tx_hash = ", hash).await
    }

    async fn logs_where(&self, condition: &str, hash: B256) -> Result<Vec<IncludedLog>> {
        let mut query = QueryBuilder::<Postgres>::new(LOG_SELECT);
        query
            .push(condition)
            .push_bind(hash.to_vec())
            .push(" ORDER BY l.block_num, l.log_index");
        let rows = query.build().fetch_all(&self.db).await?;
        rows.iter().map(log_of).collect()
    }

    /// Logs matching `query`, in chain order.
    pub async fn logs(&self, filter: &LogQuery) -> Result<Vec<IncludedLog>> {
        let mut query = QueryBuilder::<Postgres>::new(LOG_SELECT);
        query
            .push("l.block_num BETWEEN ")
            .push_bind(i64_of(filter.from_block, "block")?)
            .push(" AND ")
            .push_bind(i64_of(filter.to_block, "block")?);
        if !filter.addresses.is_empty() {
            let addresses: Vec<Vec<u8>> = filter.addresses.iter().map(|a| a.to_vec()).collect();
            query
                .push(" AND l.address = ANY(")
                .push_bind(addresses)
                .push(")");
        }
        for (position, allowed) in filter.topics.iter().enumerate() {
            if !allowed.is_empty() {
                let values: Vec<Vec<u8>> = allowed.iter().map(|t| t.to_vec()).collect();
                query
                    .push(format!(" AND l.topic{position} = ANY("))
                    .push_bind(values)
                    .push(")");
            }
        }
        query.push(" ORDER BY l.block_num, l.log_index");
        let rows = query.build().fetch_all(&self.db).await?;
        rows.iter().map(log_of).collect()
    }
}

const BLOCK_SELECT: &str = "SELECT block_num, block_hash, header FROM state.l2_block WHERE";

const LOG_SELECT: &str =
    "SELECT l.tx_hash, l.log_index, l.block_num, l.tx_index, l.address, l.data, \
     l.topic0, l.topic1, l.topic2, l.topic3, b.block_hash FROM state.log l \
     JOIN state.l2_block b USING (block_num) WHERE ";

fn log_of(row: &sqlx::postgres::PgRow) -> Result<IncludedLog> {
    let mut topics = Vec::with_capacity(4);
    for column in ["topic0", "topic1", "topic2", "topic3"] {
        if let Some(bytes) = row.try_get::<Option<Vec<u8>>, _>(column)? {
            topics.push(b256(&bytes, column)?);
        }
    }
    let data: Vec<u8> = row.try_get("data")?;
    let log = Log::new(
        address(&row.try_get::<Vec<u8>, _>("address")?, "log address")?,
        topics,
        data.into(),
    )
    .ok_or_else(|| NodeError::Corrupt("a log with more than 4 topics".into()))?;
    Ok(IncludedLog {
        log,
        block_number: u64_of(row.try_get("block_num")?, "block number")?,
        block_hash: b256(&row.try_get::<Vec<u8>, _>("block_hash")?, "block hash")?,
        transaction_hash: b256(&row.try_get::<Vec<u8>, _>("tx_hash")?, "tx hash")?,
        transaction_index: u64_of(i64::from(row.try_get::<i32, _>("tx_index")?), "tx index")?,
        log_index: u64_of(i64::from(row.try_get::<i32, _>("log_index")?), "log index")?,
    })
}
