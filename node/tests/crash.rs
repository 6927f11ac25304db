//! The `zknode` binary killed with SIGKILL while it sequences a stream of transfers, restarted,
//! three times over: no transaction whose `eth_sendRawTransaction` returned a hash is lost, and
//! the chain it ends with is consistent (contiguous linked blocks, every accepted transfer
//! included once, balances and nonces exactly what the receipts say, no wei created). The last
//! run is stopped with SIGTERM and must exit cleanly, with its metrics endpoint serving.

// A failed unwrap is a failed test, with the error in the panic message.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use common::binary::{flags, quantity, rpc, start};
use common::{TestDatabase, CHAIN_ID};

const WALLETS: usize = 6;
const COINBASE: &str = "0x00000000000000000000000000000000000000c0";
/// The transfer `common::signed` builds: 12345 wei to 0xbb…bb at 2000 wei of gas.
const VALUE: u64 = 12_345;
const RECIPIENT: Address = Address::repeat_byte(0xbb);

fn funding() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

fn wallet(i: usize) -> PrivateKeySigner {
    let mut key = [0u8; 32];
    key[31] = 0x40 + i as u8;
    key[0] = 0x01;
    PrivateKeySigner::from_slice(&key).unwrap()
}

/// Transactions signed in advance: `(wallet, nonce) -> raw bytes`, sent in nonce order.
struct Sender {
    signers: Vec<PrivateKeySigner>,
    /// Per wallet, the next nonce to send (everything below got a hash back, or `already known`).
    next: Vec<u64>,
    accepted: HashMap<B256, (usize, u64)>,
}

impl Sender {
    /// Sends one transfer from `wallet`; true when the node accepted it (now or before).
    async fn send(
        &mut self,
        client: &reqwest::Client,
        http: std::net::SocketAddr,
        wallet: usize,
    ) -> bool {
        let nonce = self.next[wallet];
        let envelope = common::signed(&self.signers[wallet], false, nonce);
        let hash = *envelope.tx_hash();
        let raw = format!(
            "0x{}",
            alloy_primitives::hex::encode(envelope.encoded_2718())
        );
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]});
        // A connection error means the node died mid-request: the transaction may or may not be
        // stored, so the same bytes are sent again after the restart.
        let Ok(response) = client
            .post(format!("http://{http}"))
            .json(&body)
            .send()
            .await
        else {
            return false;
        };
        let Ok(response) = response.json::<Value>().await else {
            return false;
        };
        let known = response["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already known"));
        // The pool keeps at most 64 nonces ahead of the chain: when the sender outruns the
        // sequencer (a fast machine), that refusal is back-pressure, and the same nonce is sent
        // again later.
        let too_far_ahead = response["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nonce too high"));
        if too_far_ahead {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return false;
        }
        if response.get("result").is_some() || known {
            if let Some(result) = response.get("result") {
                assert_eq!(result.as_str().unwrap(), hash.to_string());
            }
            self.accepted.insert(hash, (wallet, nonce));
            self.next[wallet] += 1;
            true
        } else {
            panic!("transfer {wallet}/{nonce} refused: {response}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_sequencing_loses_no_accepted_transaction() {
    let database = TestDatabase::new("crash").await;
    let dir = common::scratch("crash");
    let signers: Vec<PrivateKeySigner> = (0..WALLETS).map(wallet).collect();
    let genesis: Vec<Value> = signers
        .iter()
        .map(|s| json!({"address": s.address(), "balance": funding(), "nonce": 0, "code": "0x", "storage": []}))
        .collect();
    let genesis_file = dir.join("genesis.json");
    std::fs::write(&genesis_file, serde_json::to_vec(&genesis).unwrap()).unwrap();
    let args = |metrics: bool| -> Vec<String> {
        flags(&[
            ("database.url", database.config.url.clone()),
            (
                "executor.db-path",
                dir.join("executor").display().to_string(),
            ),
            ("chain.chain-id", CHAIN_ID.to_string()),
            ("chain.genesis-file", genesis_file.display().to_string()),
            ("rpc.http-listen", "127.0.0.1:0".into()),
            ("rpc.ws-listen", "127.0.0.1:0".into()),
            ("metrics.enabled", metrics.to_string()),
            ("metrics.listen", "127.0.0.1:0".into()),
            ("sequencer.block-interval-ms", "40".into()),
            ("sequencer.batch-max-txs", "7".into()),
            ("sequencer.coinbase", COINBASE.into()),
            ("pool.min-gas-price", "1000".into()),
        ])
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut sender = Sender {
        signers: signers.clone(),
        next: vec![0; WALLETS],
        accepted: HashMap::new(),
    };

    // Three runs killed at a random moment while transfers stream in and blocks are sequenced.
    let (mut blocks_seen, mut runs_that_sequenced) = (0u64, 0);
    for run in 0..3 {
        let mut node = start("rpc,sequencer", &args(false));
        let kill_at = Instant::now() + Duration::from_millis(rng.gen_range(400..1200));
        while Instant::now() < kill_at {
            let wallet = rng.gen_range(0..WALLETS);
            sender.send(&client, node.http(), wallet).await;
        }
        let before_kill =
            quantity(&rpc(&client, node.http(), "eth_blockNumber", json!([])).await).to::<u64>();
        // A few more sends so the kill lands while transfers arrive and blocks close.
        for _ in 0..5 {
            let wallet = rng.gen_range(0..WALLETS);
            sender.send(&client, node.http(), wallet).await;
        }
        // SIGKILL to the pid of the child this test spawned.
        node.child.kill().unwrap();
        node.child.wait().unwrap();
        if before_kill > blocks_seen {
            runs_that_sequenced += 1;
        }
        blocks_seen = blocks_seen.max(before_kill);
        eprintln!(
            "run {run}: killed at block {before_kill}, {} accepted so far",
            sender.accepted.len()
        );
    }
    // The kills hit a sequencing node, not one idling before its first block.
    assert!(
        runs_that_sequenced >= 2,
        "{runs_that_sequenced} runs sequenced"
    );

    // The last run: resend what may have been cut off, then let it include everything.
    let mut node = start("rpc,sequencer", &args(true));
    for wallet in 0..WALLETS {
        sender.send(&client, node.http(), wallet).await;
    }
    let accepted = sender.accepted.clone();
    assert!(accepted.len() >= 3 * WALLETS, "{} accepted", accepted.len());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut receipts = HashMap::new();
    while receipts.len() < accepted.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} accepted transactions included after restarts",
            receipts.len(),
            accepted.len()
        );
        for hash in accepted.keys() {
            if receipts.contains_key(hash) {
                continue;
            }
            let receipt = rpc(
                &client,
                node.http(),
                "eth_getTransactionReceipt",
                json!([hash]),
            )
            .await;
            if !receipt.is_null() {
                receipts.insert(*hash, receipt);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Blocks 0..=latest exist, link, and hold exactly the accepted transactions, each once.
    let latest =
        quantity(&rpc(&client, node.http(), "eth_blockNumber", json!([])).await).to::<u64>();
    let mut parent = B256::ZERO;
    let mut included = Vec::new();
    for number in 0..=latest {
        let block = rpc(
            &client,
            node.http(),
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), false]),
        )
        .await;
        assert!(!block.is_null(), "block {number} missing");
        if number > 0 {
            assert_eq!(block["parentHash"].as_str().unwrap(), parent.to_string());
        }
        parent = block["hash"].as_str().unwrap().parse().unwrap();
        for tx in block["transactions"].as_array().unwrap() {
            included.push(tx.as_str().unwrap().parse::<B256>().unwrap());
        }
    }
    let mut sorted = included.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), included.len(), "a transaction included twice");
    assert_eq!(included.len(), accepted.len(), "included vs accepted");
    assert!(included.iter().all(|h| accepted.contains_key(h)));

    // Balances and nonces are what the receipts say; the coinbase holds every fee.
    let mut spent = [U256::ZERO; WALLETS];
    let mut fees = U256::ZERO;
    for (hash, receipt) in &receipts {
        assert_eq!(receipt["status"], "0x1", "{hash}");
        let fee = quantity(&receipt["gasUsed"]) * quantity(&receipt["effectiveGasPrice"]);
        spent[accepted[hash].0] += fee + U256::from(VALUE);
        fees += fee;
    }
    for (i, signer) in signers.iter().enumerate() {
        let address = signer.address();
        let balance = quantity(
            &rpc(
                &client,
                node.http(),
                "eth_getBalance",
                json!([address, "latest"]),
            )
            .await,
        );
        assert_eq!(balance, funding() - spent[i], "wallet {i}");
        let nonce = quantity(
            &rpc(
                &client,
                node.http(),
                "eth_getTransactionCount",
                json!([address, "latest"]),
            )
            .await,
        );
        assert_eq!(nonce, U256::from(sender.next[i]), "wallet {i}");
    }
    let coinbase = quantity(
        &rpc(
            &client,
            node.http(),
            "eth_getBalance",
            json!([COINBASE, "latest"]),
        )
        .await,
    );
    assert_eq!(coinbase, fees);
    let recipient = quantity(
        &rpc(
            &client,
            node.http(),
            "eth_getBalance",
            json!([RECIPIENT, "latest"]),
        )
        .await,
    );
    assert_eq!(recipient, U256::from(VALUE) * U256::from(accepted.len()));

    // Metrics are served and count what happened in this run.
    let metrics = client
        .get(format!("http://{}/metrics", node.endpoint("metrics")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("zknode_sequencer_blocks_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "zknode_rpc_calls_total{method=\"eth_getTransactionReceipt\",outcome=\"ok\"}"
        ),
        "{metrics}"
    );

    // SIGTERM: a graceful stop exits 0.
    let exit = node.terminate();
    assert!(exit.success(), "exit after SIGTERM: {exit}");
    database.drop().await;
}
