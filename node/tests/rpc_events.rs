//! Filters and subscriptions: what a client polling with filters, or subscribed over WebSocket,
//! sees when a transaction enters the pool and a block with a log is stored.

mod common;

use std::time::Duration;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, Log, B256};
use alloy_signer_local::PrivateKeySigner;
use common::{signed, TestDatabase, CHAIN_ID};
use ethers::providers::{FilterKind, Http, Middleware, Provider, StreamExt, Ws};
use ethers::types::{Filter as EthersFilter, Log as EthersLog, H160, H256};
use zknode_node::config::{Config, PoolConfig};
use zknode_node::pool::store::PoolStore;
use zknode_node::pool::validation::decode;
use zknode_node::rpc::RpcServer;
use zknode_node::state::blocks::{StoredBlock, StoredReceipt, StoredTransaction};
use zknode_node::state::StateStore;

fn h256(b: B256) -> H256 {
    H256::from_slice(b.as_slice())
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[tokio::test]
async fn filters_and_subscriptions_see_pool_arrivals_and_new_blocks() {
    let database = TestDatabase::new("rpc_events").await;
    let db = database.pool().await;
    let state = StateStore::new(db.clone());
    let pool = PoolStore::new(db.clone());
    let mut config = Config::default();
    config.chain.chain_id = CHAIN_ID;
    config.rpc.http_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.ws_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.events_poll_ms = 50;
    let server = RpcServer::start(config, db, common::executor("rpc"))
        .await
        .expect("starts");
    let http =
        Provider::<Http>::try_from(format!("http://{}", server.http_addr)).expect("provider");
    let ws = Provider::<Ws>::connect(format!("ws://{}", server.ws_addr))
        .await
        .expect("ws");

    let emitter = Address::repeat_byte(0xcc);
    let mut heads = ws.subscribe_blocks().await.expect("newHeads");
    let mut logs = ws
        .subscribe_logs(&EthersFilter::new().address(H160::from_slice(emitter.as_slice())))
        .await
        .expect("logs");
    let mut pending = ws
        .subscribe_pending_txs()
        .await
        .expect("newPendingTransactions");
    let block_filter = http
        .new_filter(FilterKind::NewBlocks)
        .await
        .expect("block filter");
    let pending_filter = http
        .new_filter(FilterKind::PendingTransactions)
        .await
        .expect("pending filter");
    let log_filter = http
        .new_filter(FilterKind::Logs(
            &EthersFilter::new().address(H160::from_slice(emitter.as_slice())),
        ))
        .await
        .expect("log filter");

    // A transaction enters the pool.
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x21)).expect("key");
    let envelope = signed(&signer, true, 0);
    let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&envelope);
    let decoded = decode(&raw, CHAIN_ID, &PoolConfig::default()).expect("decodes");
    pool.insert(&decoded, true, None).await.expect("pooled");
    let tx_hash = h256(decoded.hash);
    assert_eq!(within("a pending tx", pending.next()).await, Some(tx_hash));
    let changes: Vec<H256> = http
        .get_filter_changes(pending_filter)
        .await
        .expect("changes");
    assert_eq!(changes, vec![tx_hash]);
    let again: Vec<H256> = http
        .get_filter_changes(pending_filter)
        .await
        .expect("changes");
    assert!(again.is_empty(), "changes are returned once");

    // A block with a log from the emitter is stored.
    let log = Log::new(
        emitter,
        vec![B256::repeat_byte(0xee)],
        Bytes::from_static(b"ping"),
    )
    .expect("log");
    state
        .open_batch(1, Address::ZERO, 1_700_000_000)
        .await
        .expect("batch");
    let block_hash = state
        .store_block(&StoredBlock {
            header: Header {
                number: 1,
                gas_limit: 30_000_000,
                gas_used: 60_000,
                timestamp: 1_700_000_001,
                ..Default::default()
            },
            batch_number: 1,
            batch_data: Vec::new(),
            tree_root: B256::repeat_byte(0x5b),
            transactions: vec![StoredTransaction {
                envelope,
                sender: signer.address(),
                effective_percentage: 255,
                receipt: StoredReceipt {
                    status: true,
                    cumulative_gas_used: 60_000,
                    gas_used: 60_000,
                    effective_gas_price: 3_000,
                    contract_address: None,
                    logs: vec![log],
                },
            }],
        })
        .await
        .expect("block");
    let head = within("a new head", heads.next()).await.expect("a head");
    assert_eq!(head.number.map(|n| n.as_u64()), Some(1));
    assert_eq!(head.hash, Some(h256(block_hash)));
    let pushed: EthersLog = within("a log", logs.next()).await.expect("a log");
    assert_eq!(pushed.data.to_vec(), b"ping".to_vec());
    assert_eq!(pushed.transaction_hash, Some(tx_hash));

    let blocks: Vec<H256> = http
        .get_filter_changes(block_filter)
        .await
        .expect("changes");
    assert_eq!(blocks, vec![h256(block_hash)]);
    let polled: Vec<EthersLog> = http.get_filter_changes(log_filter).await.expect("changes");
    assert_eq!(polled.len(), 1);
    let polled_again: Vec<EthersLog> = http.get_filter_changes(log_filter).await.expect("changes");
    assert!(polled_again.is_empty());
    let all: Vec<EthersLog> = http
        .request("eth_getFilterLogs", [log_filter])
        .await
        .expect("filter logs");
    assert_eq!(all.len(), 1);

    assert!(http
        .uninstall_filter(block_filter)
        .await
        .expect("uninstall"));
    assert!(!http
        .uninstall_filter(block_filter)
        .await
        .expect("uninstall again"));
    let gone = http
        .get_filter_changes::<_, H256>(block_filter)
        .await
        .expect_err("gone");
    assert!(gone.to_string().contains("filter not found"), "{gone}");

    drop((heads, logs, pending));
    drop(ws);
    server.stop().await;
    database.drop().await;
}
