//! The Pool DB against a live PostgreSQL: durability, replacement rules, ordering, and two RPC
//! instances racing for the same (sender, nonce).

mod common;

use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::TestDatabase;
use zknode_node::config::PoolConfig;
use zknode_node::pool::store::{InsertError, Inserted, PoolStatus, PoolStore};
use zknode_node::pool::validation::{decode, DecodedTx, Rejection};

const CHAIN_ID: u64 = 1001;

fn signer(byte: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).expect("a valid key")
}

fn transfer(key: u8, nonce: u64, gas_price: u128) -> DecodedTx {
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce,
        gas_price,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(9)),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let signature = signer(key)
        .sign_hash_sync(&tx.signature_hash())
        .expect("signs");
    let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    decode(&raw, CHAIN_ID, &PoolConfig::default()).expect("decodes")
}

#[tokio::test]
async fn accepted_transactions_are_durable_and_replacement_rules_hold() {
    let database = TestDatabase::new("pool_rules").await;
    let store = PoolStore::new(database.pool().await);

    let first = transfer(1, 0, 100);
    assert_eq!(
        store
            .insert(&first, true, Some("127.0.0.1"))
            .await
            .expect("stored"),
        Inserted::New
    );
    // Durable: another connection pool (another RPC instance) sees it at once.
    let other = PoolStore::new(database.pool().await);
    let stored = other
        .get(first.hash)
        .await
        .expect("reads")
        .expect("present");
    assert_eq!(stored.status, PoolStatus::Pending);
    assert_eq!(stored.sender, signer(1).address());
    assert_eq!(stored.gas_price, 100);

    assert!(matches!(
        store.insert(&first, true, None).await,
        Err(InsertError::Rejected(Rejection::AlreadyKnown))
    ));
    assert!(matches!(
        store.insert(&transfer(1, 0, 109), true, None).await,
        Err(InsertError::Rejected(Rejection::ReplacementUnderpriced))
    ));
    let better = transfer(1, 0, 110);
    assert_eq!(
        store.insert(&better, true, None).await.expect("replaces"),
        Inserted::Replaced(first.hash)
    );
    assert_eq!(
        store
            .get(first.hash)
            .await
            .expect("reads")
            .expect("kept")
            .status,
        PoolStatus::Replaced
    );
    assert_eq!(
        store
            .same_nonce(signer(1).address(), 0)
            .await
            .expect("reads"),
        Some((better.hash, 110))
    );
    // A replaced transaction cannot come back.
    assert!(matches!(
        store.insert(&first, true, None).await,
        Err(InsertError::Rejected(_))
    ));

    store
        .insert(&transfer(2, 0, 500), true, None)
        .await
        .expect("stored");
    store
        .insert(&transfer(1, 1, 110), true, None)
        .await
        .expect("stored");
    let pending = store.pending(10).await.expect("lists");
    let prices: Vec<u128> = pending.iter().map(|t| t.gas_price).collect();
    assert_eq!(prices, vec![500, 110, 110]);
    assert_eq!((pending[1].nonce, pending[2].nonce), (0, 1));
    assert_eq!(store.pending_count().await.expect("counts"), 3);

    store
        .set_status(better.hash, PoolStatus::Selected, None)
        .await
        .expect("updates");
    assert_eq!(store.pending_count().await.expect("counts"), 2);
    store.block(signer(3).address()).await.expect("blocks");
    assert!(store.is_blocked(signer(3).address()).await.expect("reads"));
    database.drop().await;
}

#[tokio::test]
async fn racing_instances_leave_one_live_transaction_per_nonce() {
    let database = TestDatabase::new("pool_race").await;
    let (a, b) = (
        PoolStore::new(database.pool().await),
        PoolStore::new(database.pool().await),
    );
    // Twenty rounds of two instances inserting different transactions for the same nonce.
    for nonce in 0..20 {
        let (x, y) = (transfer(4, nonce, 100), transfer(4, nonce, 200));
        let (rx, ry) = tokio::join!(a.insert(&x, true, None), b.insert(&y, true, None));
        assert!(rx.is_ok() || ry.is_ok(), "one of them must win");
        let live = a
            .same_nonce(signer(4).address(), nonce)
            .await
            .expect("reads");
        let (hash, _) = live.expect("one live transaction");
        assert!(hash == x.hash || hash == y.hash);
        // The cheaper one never replaces the dearer one.
        if ry.is_ok() && rx.is_ok() {
            assert_eq!(hash, y.hash, "200 may replace 100, never the reverse");
        }
    }
    assert_eq!(a.pending_count().await.expect("counts"), 20);
    database.drop().await;
}
