//! The Pool DB: accepted transactions, durable before `eth_sendRawTransaction` returns, shared by
//! every RPC instance and the sequencer.
//!
//! Concurrency: the unique index on (sender, nonce) over live rows arbitrates between RPC instances.
//! An insert reads the live row for its (sender, nonce) `FOR UPDATE`, applies the replacement rule,
//! marks the loser `replaced` and inserts, all in one transaction; a unique violation (another
//! instance won the race) re-runs the decision once against the winner.

use alloy_primitives::{Address, B256};
use sqlx::{PgPool, Row};

use super::validation::{DecodedTx, Rejection};
use crate::error::{NodeError, Result};

/// Status of a pool transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolStatus {
    /// Waiting for the sequencer.
    Pending,
    /// Taken by the sequencer into an open block.
    Selected,
    /// Executed and failed in a way that excludes it (see `failed_reason`).
    Failed,
    /// Can never be included (e.g. its nonce was used by another transaction).
    Invalid,
    /// Superseded by a transaction with the same sender and nonce and a higher price.
    Replaced,
}

impl PoolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolStatus::Pending => "pending",
            PoolStatus::Selected => "selected",
            PoolStatus::Failed => "failed",
            PoolStatus::Invalid => "invalid",
            PoolStatus::Replaced => "replaced",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "pending" => PoolStatus::Pending,
            "selected" => PoolStatus::Selected,
            "failed" => PoolStatus::Failed,
            "invalid" => PoolStatus::Invalid,
            "replaced" => PoolStatus::Replaced,
            other => return Err(NodeError::Corrupt(format!("pool status {other:?}"))),
        })
    }
}

/// A transaction as the pool stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolTransaction {
    pub hash: B256,
    pub encoded: Vec<u8>,
    pub sender: Address,
    pub nonce: u64,
    pub gas_price: u128,
    pub gas_limit: u64,
    pub status: PoolStatus,
    pub is_provable: bool,
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// It replaced the transaction with this hash.
    Replaced(B256),
}

/// The pool tables.
#[derive(Clone, Debug)]
pub struct PoolStore {
    db: PgPool,
}

const LIVE: &str = "status IN ('pending', 'selected')";

impl PoolStore {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }

    /// Pending transactions in the whole pool.
    pub async fn pending_count(&self) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pool.transaction WHERE status = 'pending'")
                .fetch_one(&self.db)
                .await?;
        Ok(count.max(0) as u64)
    }

    pub async fn is_blocked(&self, address: Address) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pool.blocked_address WHERE address = $1")
                .bind(address.as_slice())
                .fetch_optional(&self.db)
                .await?;
        Ok(found.is_some())
    }

    /// The live transaction with this sender and nonce: its hash and price.
    pub async fn same_nonce(&self, sender: Address, nonce: u64) -> Result<Option<(B256, u128)>> {
        let row = sqlx::query(&format!(
            "SELECT hash, gas_price::TEXT AS price FROM pool.transaction \
             WHERE from_address = $1 AND nonce = $2 AND {LIVE}"
        ))
        .bind(sender.as_slice())
        .bind(nonce as i64)
        .fetch_optional(&self.db)
        .await?;
        row.map(|row| Ok((hash_of(&row, "hash")?, price_of(&row, "price")?)))
            .transpose()
    }

    /// Stores an accepted transaction durably (committed when this returns `Ok`), replacing the live
    /// one with the same sender and nonce when it pays at least 10% more.
    pub async fn insert(
        &self,
        tx: &DecodedTx,
        is_provable: bool,
        ip: Option<&str>,
    ) -> std::result::Result<Inserted, InsertError> {
        for attempt in 0..2 {
            match self.try_insert(tx, is_provable, ip).await {
                Err(InsertError::Node(NodeError::Database(sqlx::Error::Database(e))))
                    if attempt == 0 && e.is_unique_violation() =>
                {
                    continue
                }
                other => return other,
            }
        }
        Err(InsertError::Rejected(Rejection::ReplacementUnderpriced))
    }

    async fn try_insert(
        &self,
        tx: &DecodedTx,
        is_provable: bool,
        ip: Option<&str>,
    ) -> std::result::Result<Inserted, InsertError> {
        use alloy_consensus::Transaction;
        let mut db = self.db.begin().await.map_err(NodeError::from)?;
        let nonce = tx.tx.nonce();
        // Validation bounds nonces by the account's plus the window, far below 2^63.
        let nonce_db = i64::try_from(nonce).map_err(|_| {
            InsertError::Rejected(Rejection::NonceTooHigh {
                next: 0,
                nonce,
                window: 0,
            })
        })?;
        let existing = sqlx::query(&format!(
            "SELECT hash, gas_price::TEXT AS price FROM pool.transaction \
             WHERE from_address = $1 AND nonce = $2 AND {LIVE} FOR UPDATE"
        ))
        .bind(tx.sender.as_slice())
        .bind(nonce_db)
        .fetch_optional(&mut *db)
        .await
        .map_err(NodeError::from)?;
        let mut outcome = Inserted::New;
        if let Some(row) = existing {
            let (hash, price) = (hash_of(&row, "hash")?, price_of(&row, "price")?);
            if hash == tx.hash {
                return Err(InsertError::Rejected(Rejection::AlreadyKnown));
            }
            if tx.gas_price() < price.saturating_add(price / 10) {
                return Err(InsertError::Rejected(Rejection::ReplacementUnderpriced));
            }
            sqlx::query("UPDATE pool.transaction SET status = 'replaced' WHERE hash = $1")
                .bind(hash.as_slice())
                .execute(&mut *db)
                .await
                .map_err(NodeError::from)?;
            outcome = Inserted::Replaced(hash);
        }
        let known: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pool.transaction WHERE hash = $1")
                .bind(tx.hash.as_slice())
                .fetch_optional(&mut *db)
                .await
                .map_err(NodeError::from)?;
        if known.is_some() {
            return Err(InsertError::Rejected(Rejection::AlreadyKnown));
        }
        sqlx::query(
            "INSERT INTO pool.transaction (hash, encoded, from_address, nonce, gas_price, gas_limit, \
             cost, size, status, is_provable, ip) \
             VALUES ($1, $2, $3, $4, $5::NUMERIC, $6, $7::NUMERIC, $8, 'pending', $9, $10)",
        )
        .bind(tx.hash.as_slice())
        .bind(alloy_eips::eip2718::Encodable2718::encoded_2718(&tx.tx))
        .bind(tx.sender.as_slice())
        .bind(nonce_db)
        .bind(tx.gas_price().to_string())
        .bind(i64::try_from(tx.tx.gas_limit()).unwrap_or(i64::MAX))
        .bind(tx.cost().to_string())
        .bind(i32::try_from(tx.encoded_len).unwrap_or(i32::MAX))
        .bind(is_provable)
        .bind(ip)
        .execute(&mut *db)
        .await
        .map_err(NodeError::from)?;
        db.commit().await.map_err(NodeError::from)?;
        Ok(outcome)
    }

    /// Pending transactions, highest price first (ties: oldest first), at most `limit`. The
    /// sequencer keeps per-sender nonce order itself.
    pub async fn pending(&self, limit: u32) -> Result<Vec<PoolTransaction>> {
        let rows = sqlx::query(
            "SELECT hash, encoded, from_address, nonce, gas_price::TEXT AS price, gas_limit, status, \
             is_provable FROM pool.transaction WHERE status = 'pending' \
             ORDER BY gas_price DESC, received_at, nonce LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(row_to_tx).collect()
    }

    /// One transaction by hash, whatever its status.
    pub async fn get(&self, hash: B256) -> Result<Option<PoolTransaction>> {
        let row = sqlx::query(
            "SELECT hash, encoded, from_address, nonce, gas_price::TEXT AS price, gas_limit, status, \
             is_provable FROM pool.transaction WHERE hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.db)
        .await?;
        row.as_ref().map(row_to_tx).transpose()
    }

    /// Sets the status (and the reason, for failures) of a transaction.
    pub async fn set_status(
        &self,
        hash: B256,
        status: PoolStatus,
        reason: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE pool.transaction SET status = $2, failed_reason = $3 WHERE hash = $1")
            .bind(hash.as_slice())
            .bind(status.as_str())
            .bind(reason)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Hashes of transactions that arrived after arrival number `after`, with their numbers, oldest
    /// first, at most `limit`.
    pub async fn arrivals_after(&self, after: i64, limit: u32) -> Result<Vec<(i64, B256)>> {
        let rows = sqlx::query(
            "SELECT seq, hash FROM pool.transaction WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64, _>("seq")?, hash_of(row, "hash")?)))
            .collect()
    }

    /// The latest arrival number (0 before any).
    pub async fn latest_arrival(&self) -> Result<i64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM pool.transaction")
            .fetch_one(&self.db)
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// Blocks a sender: its transactions are refused from now on.
    pub async fn block(&self, address: Address) -> Result<()> {
        sqlx::query(
            "INSERT INTO pool.blocked_address (address) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(address.as_slice())
        .execute(&self.db)
        .await?;
        Ok(())
    }
}

/// Why an insert did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error(transparent)]
    Rejected(Rejection),
    #[error(transparent)]
    Node(#[from] NodeError),
}

fn hash_of(row: &sqlx::postgres::PgRow, column: &str) -> Result<B256> {
    let bytes: Vec<u8> = row.try_get(column)?;
    B256::try_from(bytes.as_slice())
        .map_err(|_| NodeError::Corrupt(format!("{column}: {} bytes", bytes.len())))
}

fn price_of(row: &sqlx::postgres::PgRow, column: &str) -> Result<u128> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| NodeError::Corrupt(format!("{column}: {text:?}")))
}

fn row_to_tx(row: &sqlx::postgres::PgRow) -> Result<PoolTransaction> {
    let sender: Vec<u8> = row.try_get("from_address")?;
    let nonce: i64 = row.try_get("nonce")?;
    let status: String = row.try_get("status")?;
    let gas_limit: i64 = row.try_get("gas_limit")?;
    Ok(PoolTransaction {
        hash: hash_of(row, "hash")?,
        encoded: row.try_get("encoded")?,
        sender: Address::try_from(sender.as_slice())
            .map_err(|_| NodeError::Corrupt("sender address".into()))?,
        nonce: u64::try_from(nonce).map_err(|_| NodeError::Corrupt("negative nonce".into()))?,
        gas_price: price_of(row, "price")?,
        gas_limit: u64::try_from(gas_limit).map_err(|_| NodeError::Corrupt("gas limit".into()))?,
        status: PoolStatus::parse(&status)?,
        is_provable: row.try_get("is_provable")?,
    })
}
