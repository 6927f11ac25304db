//! Blocks, transactions, receipts and logs stored in the State DB, read through the JSON-RPC server
//! with ethers-rs: what a wallet or an explorer sees.

mod common;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bloom, Bytes, Log, B256};
use alloy_signer_local::PrivateKeySigner;
use common::TestDatabase;
use ethers::providers::{Http, Middleware, Provider};
use ethers::types::{BlockNumber, Filter as EthersFilter, H160, H256};
use zknode_node::config::Config;
use zknode_node::rpc::RpcServer;
use zknode_node::state::blocks::{StoredBlock, StoredReceipt, StoredTransaction};
use zknode_node::state::StateStore;

use common::CHAIN_ID;

use common::signed;

fn h256(b: B256) -> H256 {
    H256::from_slice(b.as_slice())
}

fn h160(a: Address) -> H160 {
    H160::from_slice(a.as_slice())
}

#[tokio::test]
async fn ethers_reads_blocks_transactions_receipts_and_logs() {
    let database = TestDatabase::new("rpc_blocks").await;
    let db = database.pool().await;
    let state = StateStore::new(db.clone());
    let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).expect("key");
    let emitter = Address::repeat_byte(0xcc);
    let topic = B256::repeat_byte(0xee);
    let log = Log::new(
        emitter,
        vec![topic, B256::repeat_byte(1)],
        Bytes::from_static(b"hello"),
    )
    .expect("a log");

    state
        .open_batch(1, Address::repeat_byte(0xaa), 1_700_000_000)
        .await
        .expect("batch");
    let transactions = vec![
        StoredTransaction {
            envelope: signed(&signer, false, 0),
            sender: signer.address(),
            effective_percentage: 255,
            receipt: StoredReceipt {
                status: true,
                cumulative_gas_used: 21_000,
                gas_used: 21_000,
                effective_gas_price: 2_000,
                contract_address: None,
                logs: vec![],
            },
        },
        StoredTransaction {
            envelope: signed(&signer, true, 1),
            sender: signer.address(),
            effective_percentage: 255,
            receipt: StoredReceipt {
                status: false,
                cumulative_gas_used: 51_000,
                gas_used: 30_000,
                effective_gas_price: 3_000,
                contract_address: None,
                logs: vec![log.clone()],
            },
        },
    ];
    let header = Header {
        number: 1,
        parent_hash: B256::repeat_byte(0x01),
        beneficiary: Address::repeat_byte(0xaa),
        state_root: B256::repeat_byte(0x5a),
        gas_limit: 30_000_000,
        gas_used: 51_000,
        timestamp: 1_700_000_001,
        logs_bloom: alloy_primitives::logs_bloom([&log]),
        ..Default::default()
    };
    let block_hash = state
        .store_block(&StoredBlock {
            header,
            batch_number: 1,
            transactions: transactions.clone(),
            batch_data: Vec::new(),
            tree_root: B256::repeat_byte(0x5b),
        })
        .await
        .expect("stores");

    let mut config = Config::default();
    config.chain.chain_id = CHAIN_ID;
    config.rpc.http_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.ws_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.max_log_block_range = 100;
    let server = RpcServer::start(config, db, common::executor("rpc"))
        .await
        .expect("starts");
    let client =
        Provider::<Http>::try_from(format!("http://{}", server.http_addr)).expect("provider");

    assert_eq!(client.get_block_number().await.expect("number").as_u64(), 1);
    let block = client
        .get_block(1u64)
        .await
        .expect("block")
        .expect("exists");
    assert_eq!(block.hash, Some(h256(block_hash)));
    assert_eq!(block.number.map(|n| n.as_u64()), Some(1));
    assert_eq!(block.gas_used.as_u64(), 51_000);
    let hashes: Vec<H256> = transactions
        .iter()
        .map(|t| h256(*t.envelope.tx_hash()))
        .collect();
    assert_eq!(block.transactions, hashes);
    let by_hash = client
        .get_block(h256(block_hash))
        .await
        .expect("block")
        .expect("exists");
    assert_eq!(by_hash.number, block.number);
    let full = client
        .get_block_with_txs(1u64)
        .await
        .expect("block")
        .expect("exists");
    assert_eq!(full.transactions.len(), 2);
    assert_eq!(full.transactions[0].from, h160(signer.address()));
    assert!(client.get_block(2u64).await.expect("query").is_none());

    let tx = client
        .get_transaction(hashes[1])
        .await
        .expect("tx")
        .expect("exists");
    assert_eq!(tx.block_hash, Some(h256(block_hash)));
    assert_eq!(tx.transaction_index.map(|i| i.as_u64()), Some(1));
    assert_eq!(tx.nonce.as_u64(), 1);
    assert_eq!(tx.transaction_type.map(|t| t.as_u64()), Some(2));
    // The signature survives the round trip: ethers recovers the same sender.
    assert_eq!(tx.recover_from().expect("recovers"), h160(signer.address()));

    let receipt = client
        .get_transaction_receipt(hashes[1])
        .await
        .expect("receipt")
        .expect("exists");
    assert_eq!(receipt.status.map(|s| s.as_u64()), Some(0));
    assert_eq!(receipt.gas_used.map(|g| g.as_u64()), Some(30_000));
    assert_eq!(receipt.cumulative_gas_used.as_u64(), 51_000);
    assert_eq!(receipt.logs.len(), 1);
    assert_eq!(receipt.logs[0].address, h160(emitter));
    assert_eq!(receipt.logs[0].log_index.map(|i| i.as_u64()), Some(0));
    let bloom = Bloom::from_slice(receipt.logs_bloom.as_bytes());
    assert!(bloom.contains_input(alloy_primitives::BloomInput::Raw(emitter.as_slice())));
    let first = client
        .get_transaction_receipt(hashes[0])
        .await
        .expect("receipt")
        .expect("exists");
    assert_eq!(first.status.map(|s| s.as_u64()), Some(1));

    let filter = EthersFilter::new()
        .from_block(BlockNumber::Earliest)
        .to_block(BlockNumber::Latest)
        .address(h160(emitter))
        .topic0(h256(topic));
    let logs = client.get_logs(&filter).await.expect("logs");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].data.to_vec(), b"hello".to_vec());
    assert_eq!(logs[0].transaction_hash, Some(hashes[1]));
    let none = client
        .get_logs(
            &EthersFilter::new()
                .from_block(0u64)
                .to_block(1u64)
                .topic0(H256::zero()),
        )
        .await
        .expect("logs");
    assert!(none.is_empty());
    let too_wide = client
        .get_logs(&EthersFilter::new().from_block(0u64).to_block(500u64))
        .await
        .expect_err("range limit");
    assert!(too_wide.to_string().contains("limit"), "{too_wide}");

    server.stop().await;
    database.drop().await;
}
