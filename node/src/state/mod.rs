//! The State DB, read side: what the chain is (L2 blocks, batches and their trusted / virtual /
//! verified status). The sequencer and synchronizer write it.

pub mod batches;
pub mod blocks;

use sqlx::PgPool;

use crate::error::{NodeError, Result};

/// Reads of the `state` schema.
#[derive(Clone, Debug)]
pub struct StateStore {
    db: PgPool,
}

fn to_u64(value: Option<i64>, what: &str) -> Result<Option<u64>> {
    value
        .map(|v| u64::try_from(v).map_err(|_| NodeError::Corrupt(format!("negative {what}"))))
        .transpose()
}

impl StateStore {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }

    /// The latest L2 block number (0 before any block: the genesis block).
    pub async fn latest_block_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(block_num) FROM state.l2_block")
            .fetch_one(&self.db)
            .await?;
        Ok(to_u64(n, "block number")?.unwrap_or(0))
    }

    /// The latest batch (trusted: closed or still open), 0 before any.
    pub async fn latest_batch_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(batch_num) FROM state.batch")
            .fetch_one(&self.db)
            .await?;
        Ok(to_u64(n, "batch number")?.unwrap_or(0))
    }

    /// The latest batch sequenced on L1, 0 before any.
    pub async fn latest_virtual_batch_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(batch_num) FROM state.virtual_batch")
            .fetch_one(&self.db)
            .await?;
        Ok(to_u64(n, "batch number")?.unwrap_or(0))
    }

    /// The latest batch whose proof L1 accepted, 0 before any.
    pub async fn latest_verified_batch_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(batch_num) FROM state.verified_batch")
            .fetch_one(&self.db)
            .await?;
        Ok(to_u64(n, "batch number")?.unwrap_or(0))
    }

    /// The batch holding L2 block `block`, if the block exists.
    pub async fn batch_of_block(&self, block: u64) -> Result<Option<u64>> {
        let Ok(block) = i64::try_from(block) else {
            return Ok(None);
        };
        let n: Option<i64> =
            sqlx::query_scalar("SELECT batch_num FROM state.l2_block WHERE block_num = $1")
                .bind(block)
                .fetch_optional(&self.db)
                .await?;
        to_u64(n, "batch number")
    }

    /// The latest L2 block in a verified batch (0 before any).
    pub async fn latest_verified_block_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT max(b.block_num) FROM state.l2_block b \
             JOIN state.verified_batch v ON v.batch_num = b.batch_num",
        )
        .fetch_one(&self.db)
        .await?;
        Ok(to_u64(n, "block number")?.unwrap_or(0))
    }

    /// The latest L2 block in a virtual batch (0 before any).
    pub async fn latest_virtual_block_number(&self) -> Result<u64> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT max(b.block_num) FROM state.l2_block b \
             WHERE b.batch_num <= (SELECT max(batch_num) FROM state.virtual_batch)",
        )
        .fetch_one(&self.db)
        .await?;
        Ok(to_u64(n, "block number")?.unwrap_or(0))
    }
}
