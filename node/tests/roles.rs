//! Each role in its own process, as a multi-host deployment runs them: the executor's gRPC service
//! alone (it writes the genesis into its tree), a sequencer and two JSON-RPC servers that use it
//! remotely and share one PostgreSQL database. A transfer sent to one RPC server is sequenced and
//! visible through the other; every process stops cleanly on SIGTERM.

// A failed unwrap is a failed test, with the error in the panic message.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use serde_json::json;

use common::binary::{flags, quantity, rpc, start};
use common::{TestDatabase, CHAIN_ID};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_run_apart_and_share_the_database_and_the_executor() {
    let database = TestDatabase::new("roles").await;
    let dir = common::scratch("roles");
    let alice = PrivateKeySigner::from_slice(&[0x11; 32]).unwrap();
    let funding = U256::from(10u64).pow(U256::from(18));
    let genesis_file = dir.join("genesis.json");
    std::fs::write(
        &genesis_file,
        serde_json::to_vec(&json!([{"address": alice.address(), "balance": funding, "nonce": 0, "code": "0x", "storage": []}]))
            .unwrap(),
    )
    .unwrap();
    let common_flags = |extra: &[(&str, String)]| {
        let mut pairs = vec![
            ("chain.chain-id", CHAIN_ID.to_string()),
            ("chain.genesis-file", genesis_file.display().to_string()),
            ("metrics.enabled", "false".to_string()),
            ("rpc.http-listen", "127.0.0.1:0".to_string()),
            ("rpc.ws-listen", "127.0.0.1:0".to_string()),
            ("pool.min-gas-price", "1000".to_string()),
            ("sequencer.block-interval-ms", "50".to_string()),
        ];
        pairs.extend(extra.iter().cloned());
        flags(&pairs)
    };

    let mut executor = start(
        "executor",
        &common_flags(&[
            ("executor.listen", "127.0.0.1:0".into()),
            (
                "executor.db-path",
                dir.join("executor").display().to_string(),
            ),
        ]),
    );
    let executor_url = format!("http://{}", executor.endpoint("executor.grpc"));
    let remote = [
        ("executor.url", executor_url),
        ("database.url", database.config.url.clone()),
    ];
    let mut sequencer = start("sequencer", &common_flags(&remote));
    let mut rpc_a = start("rpc", &common_flags(&remote));
    let mut rpc_b = start("rpc", &common_flags(&remote));
    assert!(!sequencer.endpoints.contains_key("rpc.http"));

    let client = reqwest::Client::new();
    let tx = common::signed(&alice, false, 0);
    let raw = format!("0x{}", alloy_primitives::hex::encode(tx.encoded_2718()));
    let hash = rpc(
        &client,
        rpc_a.http(),
        "eth_sendRawTransaction",
        json!([raw]),
    )
    .await;
    assert_eq!(hash.as_str().unwrap(), tx.tx_hash().to_string());

    let deadline = Instant::now() + Duration::from_secs(60);
    let receipt = loop {
        let receipt = rpc(
            &client,
            rpc_b.http(),
            "eth_getTransactionReceipt",
            json!([hash]),
        )
        .await;
        if !receipt.is_null() {
            break receipt;
        }
        assert!(Instant::now() < deadline, "not sequenced in 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(receipt["status"], "0x1");
    let fee = quantity(&receipt["gasUsed"]) * quantity(&receipt["effectiveGasPrice"]);
    // The read goes through rpc_b's remote executor at the block's state root.
    let balance = quantity(
        &rpc(
            &client,
            rpc_b.http(),
            "eth_getBalance",
            json!([alice.address(), "latest"]),
        )
        .await,
    );
    assert_eq!(balance, funding - fee - U256::from(12_345u64));
    let bb = quantity(
        &rpc(
            &client,
            rpc_a.http(),
            "eth_getBalance",
            json!([Address::repeat_byte(0xbb), "latest"]),
        )
        .await,
    );
    assert_eq!(bb, U256::from(12_345u64));

    // Stop the users of the executor first, then the executor itself.
    for (name, node) in [
        ("rpc a", &mut rpc_a),
        ("rpc b", &mut rpc_b),
        ("sequencer", &mut sequencer),
        ("executor", &mut executor),
    ] {
        let exit = node.terminate();
        assert!(exit.success(), "{name} after SIGTERM: {exit}");
    }
    database.drop().await;
}
