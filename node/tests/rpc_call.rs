//! Execution methods over a real socket: eth_call, eth_estimateGas and eth_feeHistory through
//! ethers-rs, zkevm_getBatchByNumber and zkevm_estimateCounters as raw JSON, on contracts deployed
//! through the pool and the sequencer.

#![allow(clippy::unwrap_used)]

mod common;

use alloy_primitives::{Address, U256};
use common::{TestDatabase, CHAIN_ID};
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider, RpcError};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::transaction::eip2718::TypedTransaction;
use ethers::types::{
    BlockId, BlockNumber, Bytes as EBytes, TransactionReceipt, TransactionRequest, H160, H256,
    U256 as EU256,
};
use serde_json::{json, Value};
use zknode_executor::execution::{CounterLimits, GenesisAccount};
use zknode_node::config::Config;
use zknode_node::pool::store::PoolStore;
use zknode_node::rpc::RpcServer;
use zknode_node::sequencer::Sequencer;
use zknode_node::state::StateStore;

const GAS_PRICE: u64 = 2_000;

/// Runtime of a one-slot store: empty calldata returns slot 0, otherwise the first calldata word is
/// stored in slot 0.
///
/// ```text
/// 00 CALLDATASIZE          36
/// 01 PUSH1 0x0c            60 0c
/// 03 JUMPI                 57
/// 04 PUSH0 SLOAD           5f 54
/// 06 PUSH0 MSTORE          5f 52
/// 08 PUSH1 0x20 PUSH0      60 20 5f
/// 0b RETURN                f3
/// 0c JUMPDEST              5b
/// 0d PUSH0 CALLDATALOAD    5f 35
/// 0f PUSH0 SSTORE STOP     5f 55 00
/// ```
const STORE_RUNTIME: &[u8] = &[
    0x36, 0x60, 0x0c, 0x57, 0x5f, 0x54, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3, 0x5b, 0x5f, 0x35, 0x5f,
    0x55, 0x00,
];

/// Constructor of the store: `PUSH1 0x2a PUSH0 SSTORE` (slot 0 = 42).
const STORE_CONSTRUCTOR: &[u8] = &[0x60, 0x2a, 0x5f, 0x55];

/// Init code: `constructor ‖ PUSH1 len PUSH1 offset PUSH0 CODECOPY PUSH1 len PUSH0 RETURN ‖
/// runtime` (offset = the runtime's position, after these 10 bytes).
fn initcode(constructor: &[u8], runtime: &[u8]) -> Vec<u8> {
    let len = u8::try_from(runtime.len()).unwrap();
    let offset = u8::try_from(constructor.len() + 10).unwrap();
    let mut code = constructor.to_vec();
    code.extend_from_slice(&[0x60, len, 0x60, offset, 0x5f, 0x39, 0x60, len, 0x5f, 0xf3]);
    code.extend_from_slice(runtime);
    code
}

/// ABI `Error(string)` for `text` (at most 32 bytes): selector, offset, length, padded text.
fn error_string(text: &str) -> Vec<u8> {
    let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
    data.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(text.len()).to_be_bytes::<32>());
    let mut padded = [0u8; 32];
    padded[..text.len()].copy_from_slice(text.as_bytes());
    data.extend_from_slice(&padded);
    data
}

/// Runtime that always reverts with `Error("nope")`: the 100 revert bytes follow the code.
///
/// ```text
/// PUSH1 100 PUSH1 0x0a PUSH0 CODECOPY   60 64 60 0a 5f 39   ; mem[0..100] = code[10..110]
/// PUSH1 100 PUSH0 REVERT                60 64 5f fd
/// <Error("nope") ABI encoding>
/// ```
fn reverter_runtime() -> Vec<u8> {
    let mut code = vec![0x60, 0x64, 0x60, 0x0a, 0x5f, 0x39, 0x60, 0x64, 0x5f, 0xfd];
    code.extend_from_slice(&error_string("nope"));
    code
}

fn word(n: u64) -> Vec<u8> {
    U256::from(n).to_be_bytes::<32>().to_vec()
}

fn wallet(byte: u8) -> LocalWallet {
    LocalWallet::from_bytes(&[byte; 32])
        .unwrap()
        .with_chain_id(CHAIN_ID)
}

async fn post(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

struct Node {
    database: TestDatabase,
    server: RpcServer,
    sequencer: Sequencer,
    provider: Provider<Http>,
    client: SignerMiddleware<Provider<Http>, LocalWallet>,
    url: String,
}

impl Node {
    async fn start() -> Node {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let database = TestDatabase::new("rpc_call").await;
        let db = database.pool().await;
        let executor = common::executor("rpc_call");
        let alice = wallet(0xa1);
        let coinbase = Address::repeat_byte(0xc0);
        let mut config = Config::default();
        config.chain.chain_id = CHAIN_ID;
        config.rpc.http_listen = "127.0.0.1:0".parse().unwrap();
        config.rpc.ws_listen = "127.0.0.1:0".parse().unwrap();
        config.sequencer.coinbase = coinbase.to_string();
        config.sequencer.batch_max_txs = 3;
        // Blocks are closed by hand: only the transaction count closes the batch.
        config.sequencer.batch_max_time_ms = 3_600_000;
        config.pool.min_gas_price = 1_000;
        // Contracts are deployed and called: not provable by today's batch AIR.
        config.pool.accept_unprovable = true;
        let state = StateStore::new(db.clone());
        zknode_node::genesis::ensure_genesis(
            &state,
            &executor,
            vec![GenesisAccount {
                address: Address::from_slice(alice.address().as_bytes()),
                balance: U256::from(10u64).pow(U256::from(18)),
                ..Default::default()
            }],
            coinbase,
        )
        .await
        .unwrap();
        let server = RpcServer::start(config.clone(), db.clone(), executor.clone())
            .await
            .unwrap();
        let sequencer = Sequencer::new(
            config,
            state,
            PoolStore::new(db),
            executor,
            CounterLimits::with_max_trace_rows(1 << 20),
        )
        .unwrap();
        let url = format!("http://{}", server.http_addr);
        let provider = Provider::<Http>::try_from(url.as_str()).unwrap();
        let client = SignerMiddleware::new(provider.clone(), alice);
        Node {
            database,
            server,
            sequencer,
            provider,
            client,
            url,
        }
    }

    /// Sends `tx` from alice through the pool, closes one block, and returns the receipt.
    async fn include(&mut self, tx: TransactionRequest) -> TransactionReceipt {
        let pending = self
            .client
            .send_transaction(tx.gas_price(GAS_PRICE), None)
            .await
            .unwrap();
        let hash = pending.tx_hash();
        let outcome = self.sequencer.close_block().await.unwrap();
        assert!(outcome.block.is_some(), "{outcome:?}");
        self.provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .unwrap()
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        post(&self.url, method, params).await
    }

    async fn stop(self) {
        self.server.stop().await;
        self.database.drop().await;
    }
}

fn call_to(to: H160, data: Vec<u8>) -> TypedTransaction {
    TransactionRequest::new().to(to).data(data).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_estimates_fees_batches_and_counters() {
    let mut node = Node::start().await;
    let alice = node.client.address();

    // A call to an account without code returns nothing; a plain transfer estimates 21000.
    let nobody = H160::repeat_byte(0x99);
    let empty = node
        .provider
        .call(&call_to(nobody, vec![]), None)
        .await
        .unwrap();
    assert!(empty.is_empty(), "{empty}");
    let transfer: TypedTransaction = TransactionRequest::pay(nobody, 5u64).from(alice).into();
    assert_eq!(
        node.provider.estimate_gas(&transfer, None).await.unwrap(),
        EU256::from(21_000)
    );

    // Deploy the store and the reverter through the pool and the sequencer.
    let store_receipt = node
        .include(
            TransactionRequest::new()
                .data(initcode(STORE_CONSTRUCTOR, STORE_RUNTIME))
                .gas(200_000u64),
        )
        .await;
    assert_eq!(store_receipt.status.map(|s| s.as_u64()), Some(1));
    let store = store_receipt.contract_address.unwrap();
    let deployed_at = store_receipt.block_number.unwrap().as_u64();
    let reverter_receipt = node
        .include(
            TransactionRequest::new()
                .data(initcode(&[], &reverter_runtime()))
                .gas(200_000u64),
        )
        .await;
    let reverter = reverter_receipt.contract_address.unwrap();

    // The store returns its slot; before its block it has no code, so the call returns nothing,
    // by number and by EIP-1898 block hash.
    let read = node
        .provider
        .call(&call_to(store, vec![]), None)
        .await
        .unwrap();
    assert_eq!(read, EBytes::from(word(42)));
    let before = node
        .provider
        .call(
            &call_to(store, vec![]),
            Some(BlockId::Number(BlockNumber::Number(
                (deployed_at - 1).into(),
            ))),
        )
        .await
        .unwrap();
    assert!(before.is_empty());
    let at_hash = node
        .provider
        .call(
            &call_to(store, vec![]),
            Some(BlockId::Hash(store_receipt.block_hash.unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(at_hash, EBytes::from(word(42)));

    // A revert is code 3 with the reason and the revert data, as geth gives it.
    let reverted = node
        .provider
        .call(&call_to(reverter, vec![]), None)
        .await
        .unwrap_err();
    let error = reverted.as_error_response().unwrap();
    assert_eq!(error.code, 3);
    assert_eq!(error.message, "execution reverted: nope");
    let data = format!("0x{}", alloy_primitives::hex::encode(error_string("nope")));
    assert_eq!(error.data, Some(Value::String(data)));
    let estimate_revert = node
        .provider
        .estimate_gas(&call_to(reverter, vec![]), None)
        .await
        .unwrap_err();
    assert_eq!(estimate_revert.as_error_response().unwrap().code, 3);

    // Insufficient funds for the value is a server error in geth's words.
    let poor = node
        .rpc(
            "eth_call",
            json!([{"from": format!("{:?}", H160::repeat_byte(0x42)), "to": format!("{store:?}"), "value": "0x1"}]),
        )
        .await;
    assert_eq!(poor["error"]["code"], -32000, "{poor}");
    assert!(
        poor["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("insufficient funds for gas * price + value"),
        "{poor}"
    );

    // The open batch holds both deployments.
    let open = node.rpc("zkevm_getBatchByNumber", json!(["latest"])).await;
    let batch = &open["result"];
    assert_eq!(batch["number"], "0x1", "{open}");
    assert_eq!(batch["closed"], false);
    assert_eq!(batch["transactions"].as_array().unwrap().len(), 2);
    assert_eq!(
        batch["transactions"][0],
        json!(format!("{:?}", store_receipt.transaction_hash))
    );
    assert_eq!(
        batch["blocks"],
        json!([
            format!("{:?}", store_receipt.block_hash.unwrap()),
            format!("{:?}", reverter_receipt.block_hash.unwrap())
        ])
    );
    assert_ne!(batch["stateRoot"], json!(format!("{:?}", H256::zero())));
    assert!(batch["batchL2Data"].as_str().unwrap().len() > 2 + 2 * 200);
    assert_eq!(batch["sendSequencesTxHash"], Value::Null);
    assert_eq!(batch["verifyBatchTxHash"], Value::Null);
    assert_eq!(
        batch["coinbase"].as_str().unwrap().to_lowercase(),
        format!("{:?}", H160::repeat_byte(0xc0))
    );
    for key in [
        "globalExitRoot",
        "mainnetExitRoot",
        "rollupExitRoot",
        "localExitRoot",
        "accInputHash",
        "timestamp",
    ] {
        assert!(batch[key].is_string(), "{key}: {open}");
    }

    // Gas for a store: the estimate is what the executed transaction then uses, and one less fails.
    let set = call_to(store, word(77));
    let mut set_from_alice = set.clone();
    set_from_alice.set_from(alice);
    let estimate = node
        .provider
        .estimate_gas(&set_from_alice, None)
        .await
        .unwrap()
        .as_u64();
    assert!(estimate > 21_000);
    let short = node
        .rpc(
            "eth_call",
            json!([{"from": format!("{alice:?}"), "to": format!("{store:?}"), "data": format!("0x{}", alloy_primitives::hex::encode(word(77))), "gas": format!("{:#x}", estimate - 1)}]),
        )
        .await;
    assert_eq!(short["error"]["code"], -32000, "{short}");
    assert_eq!(short["error"]["message"], "out of gas", "{short}");

    // zkEVM counters of that call.
    let counters = node
        .rpc(
            "zkevm_estimateCounters",
            json!([{"from": format!("{alice:?}"), "to": format!("{store:?}"), "data": format!("0x{}", alloy_primitives::hex::encode(word(77)))}]),
        )
        .await;
    let used = &counters["result"]["countersUsed"];
    let quantity =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(quantity(&used["gasUsed"]), estimate, "{counters}");
    assert!(quantity(&used["usedKeccakHashes"]) > 0, "{counters}");
    assert!(quantity(&used["usedPoseidonHashes"]) > 0, "{counters}");
    let limits = &counters["result"]["countersLimit"];
    assert!(quantity(&limits["maxPoseidonHashes"]) > quantity(&used["usedPoseidonHashes"]));
    assert_eq!(counters["result"].get("revert"), None);
    assert_eq!(counters["result"].get("oocError"), None);
    let reverting = node
        .rpc(
            "zkevm_estimateCounters",
            json!([{"to": format!("{reverter:?}")}]),
        )
        .await;
    assert_eq!(
        reverting["result"]["revert"]["message"], "execution reverted: nope",
        "{reverting}"
    );

    // The third transaction fills the batch (3 transactions): it closes.
    let set_receipt = node
        .include(
            TransactionRequest::new()
                .to(store)
                .data(word(77))
                .gas(estimate),
        )
        .await;
    assert_eq!(set_receipt.status.map(|s| s.as_u64()), Some(1));
    assert_eq!(set_receipt.gas_used.unwrap().as_u64(), estimate);
    assert_eq!(
        node.provider
            .call(&call_to(store, vec![]), None)
            .await
            .unwrap(),
        EBytes::from(word(77))
    );
    let closed = node
        .rpc("zkevm_getBatchByNumber", json!(["0x1", true]))
        .await;
    let batch = &closed["result"];
    assert_eq!(batch["closed"], true, "{closed}");
    let txs = batch["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 3);
    assert_eq!(
        txs[2]["hash"],
        json!(format!("{:?}", set_receipt.transaction_hash))
    );
    assert_eq!(
        txs[2]["from"].as_str().unwrap().to_lowercase(),
        format!("{alice:?}")
    );
    assert_eq!(
        batch["blocks"][2]["hash"],
        json!(format!("{:?}", set_receipt.block_hash.unwrap()))
    );
    let genesis = node
        .rpc("zkevm_getBatchByNumber", json!(["earliest"]))
        .await;
    assert_eq!(genesis["result"]["number"], "0x0");
    assert_eq!(genesis["result"]["closed"], true);
    let missing = node.rpc("zkevm_getBatchByNumber", json!(["0x2"])).await;
    assert_eq!(missing["result"], Value::Null, "{missing}");

    // Fee history over the three blocks with a transaction (and the genesis before them).
    let latest = node.provider.get_block_number().await.unwrap().as_u64();
    let history = node
        .provider
        .fee_history(4u64, BlockNumber::Latest, &[25.0, 75.0])
        .await
        .unwrap();
    assert_eq!(history.oldest_block.as_u64(), latest - 3);
    assert_eq!(history.base_fee_per_gas, vec![EU256::zero(); 5]);
    assert_eq!(history.gas_used_ratio.len(), 4);
    assert_eq!(history.gas_used_ratio[0], 0.0);
    assert!(history.gas_used_ratio[1..].iter().all(|r| *r > 0.0));
    assert_eq!(history.reward[0], vec![EU256::zero(); 2]);
    for block in &history.reward[1..] {
        // One transaction a block, paying its full gas price (effective percentage 255).
        assert_eq!(block, &vec![EU256::from(GAS_PRICE); 2]);
    }
    let capped = node
        .rpc("eth_feeHistory", json!(["0x10000", "latest", []]))
        .await;
    assert_eq!(capped["result"]["oldestBlock"], "0x0", "{capped}");
    assert_eq!(
        capped["result"]["baseFeePerGas"].as_array().unwrap().len() as u64,
        latest + 2
    );
    assert_eq!(capped["result"].get("reward"), None);

    // Bad parameters are -32602.
    for (method, params) in [
        ("eth_call", json!([])),
        ("eth_call", json!([{"to": "0x12"}])),
        ("eth_call", json!([{"to": format!("{store:?}")}, "later"])),
        (
            "eth_call",
            json!([{"to": format!("{store:?}"), "chainId": "0x1"}]),
        ),
        (
            "eth_estimateGas",
            json!([{"to": format!("{store:?}"), "gasPrice": "0x1", "maxFeePerGas": "0x1"}]),
        ),
        ("eth_feeHistory", json!(["0x2", "latest", [50.0, 10.0]])),
        ("eth_feeHistory", json!(["0x2", "latest", [101.0]])),
        ("eth_feeHistory", json!(["zz", "latest", []])),
        ("zkevm_getBatchByNumber", json!(["0x01"])),
        ("zkevm_getBatchByNumber", json!([true])),
        ("zkevm_estimateCounters", json!(["nope"])),
    ] {
        let reply = node.rpc(method, params.clone()).await;
        assert_eq!(reply["error"]["code"], -32602, "{method} {params}: {reply}");
    }
    // A block that does not exist is geth's "header not found".
    let future = node
        .rpc(
            "eth_call",
            json!([{"to": format!("{store:?}")}, format!("{:#x}", latest + 10)]),
        )
        .await;
    assert_eq!(future["error"]["message"], "header not found", "{future}");

    node.stop().await;
}
