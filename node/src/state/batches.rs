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
