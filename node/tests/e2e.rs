//! The node end to end with a real client: genesis-funded accounts send transfers through ethers-rs
//! over HTTP; the sequencer executes them through the in-process executor and closes blocks and
//! batches; receipts, balances, blocks and batches read back; a WebSocket subscriber sees the new
//! heads; and each pool rejection is provoked once with the error message clients expect.

mod common;

use std::time::Duration;

use alloy_primitives::{Address, U256};
use common::{TestDatabase, CHAIN_ID};
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider, StreamExt, Ws};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{TransactionRequest, H160, U256 as EU256};
use zknode_executor::execution::{CounterLimits, GenesisAccount};
use zknode_node::config::Config;
use zknode_node::pool::store::PoolStore;
use zknode_node::rpc::RpcServer;
use zknode_node::sequencer::Sequencer;
use zknode_node::state::StateStore;

fn wallet(byte: u8) -> LocalWallet {
    LocalWallet::from_bytes(&[byte; 32])
        .expect("key")
        .with_chain_id(CHAIN_ID)
}

fn address(wallet: &LocalWallet) -> Address {
    Address::from_slice(wallet.address().as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_flow_from_ethers_to_blocks_and_batches() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let database = TestDatabase::new("e2e").await;
    let db = database.pool().await;
    let executor = common::executor("e2e");
    let (alice, bob) = (wallet(0xa1), wallet(0xb2));
    let coinbase = Address::repeat_byte(0xc0);
    let mut config = Config::default();
    config.chain.chain_id = CHAIN_ID;
    config.rpc.http_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.ws_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.events_poll_ms = 50;
    config.sequencer.block_interval_ms = 100;
    config.sequencer.batch_max_txs = 4;
    config.sequencer.coinbase = coinbase.to_string();
    config.pool.min_gas_price = 1_000;

    let state = StateStore::new(db.clone());
    let funding = U256::from(10u64).pow(U256::from(18));
    zknode_node::genesis::ensure_genesis(
        &state,
        &executor,
        vec![
            GenesisAccount {
                address: address(&alice),
                balance: funding,
                ..Default::default()
            },
            GenesisAccount {
                address: address(&bob),
                balance: funding,
                ..Default::default()
            },
        ],
        coinbase,
    )
    .await
    .expect("genesis");
    let server = RpcServer::start(config.clone(), db.clone(), executor.clone())
        .await
        .expect("rpc");
    let sequencer = Sequencer::new(
        config.clone(),
        state.clone(),
        PoolStore::new(db.clone()),
        executor.clone(),
        CounterLimits::with_max_trace_rows(1 << 20),
    )
    .expect("sequencer");
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let sequencing = tokio::spawn(sequencer.run(stop_rx));

    let provider = Provider::<Http>::try_from(format!("http://{}", server.http_addr))
        .expect("provider")
        .interval(Duration::from_millis(50));
    let ws = Provider::<Ws>::connect(format!("ws://{}", server.ws_addr))
        .await
        .expect("ws");
    let mut heads = ws.subscribe_blocks().await.expect("newHeads");
    let client = SignerMiddleware::new(provider.clone(), alice.clone());
    let recipient = H160::repeat_byte(0x77);

    // Five transfers: more than one batch (max 4 transactions).
    let mut receipts = Vec::new();
    for i in 0..5u64 {
        let tx = TransactionRequest::pay(recipient, 1_000 + i)
            .gas_price(2_000)
            .gas(21_000);
        let pending = client.send_transaction(tx, None).await.expect("accepted");
        let receipt = tokio::time::timeout(Duration::from_secs(20), pending)
            .await
            .expect("mined in time")
            .expect("receipt query")
            .expect("a receipt");
        assert_eq!(receipt.status.map(|s| s.as_u64()), Some(1));
        receipts.push(receipt);
    }
    let balance = provider
        .get_balance(recipient, None)
        .await
        .expect("balance");
    assert_eq!(balance, EU256::from(5_000 + 10));
    let alice_nonce = provider
        .get_transaction_count(alice.address(), None)
        .await
        .expect("nonce");
    assert_eq!(alice_nonce.as_u64(), 5);
    let spent = EU256::from(21_000u64 * 2_000 * 5 + 5_010);
    let alice_balance = provider
        .get_balance(alice.address(), None)
        .await
        .expect("balance");
    assert_eq!(
        alice_balance,
        EU256::from_dec_str(&funding.to_string()).expect("u256") - spent
    );
    let coinbase_balance = provider
        .get_balance(H160::from_slice(coinbase.as_slice()), None)
        .await
        .expect("coinbase");
    assert_eq!(coinbase_balance, EU256::from(21_000u64 * 2_000 * 5));

    let last = receipts
        .last()
        .and_then(|r| r.block_number)
        .expect("block")
        .as_u64();
    let block = provider
        .get_block(last)
        .await
        .expect("block")
        .expect("exists");
    assert!(block.transactions.contains(&receipts[4].transaction_hash));
    let batch: String = provider
        .request("zkevm_batchNumber", ())
        .await
        .expect("batch");
    assert!(
        u64::from_str_radix(batch.trim_start_matches("0x"), 16).expect("hex") >= 2,
        "{batch}"
    );
    let head = tokio::time::timeout(Duration::from_secs(10), heads.next())
        .await
        .expect("a head in time")
        .expect("a head");
    assert!(head.number.expect("number").as_u64() >= 1);

    // Each pool rejection, once, as a client sees it.
    let bob_client = SignerMiddleware::new(provider.clone(), bob.clone());
    let reject = |message: &'static str| {
        move |e: String| assert!(e.contains(message), "expected {message:?} in {e:?}")
    };
    let send = |tx: TransactionRequest, who: &SignerMiddleware<Provider<Http>, LocalWallet>| {
        let who = who.clone();
        async move {
            who.send_transaction(tx, None)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let base = || {
        TransactionRequest::pay(recipient, 1u64)
            .gas(21_000)
            .gas_price(2_000)
    };
    reject("nonce too low")(
        send(base().nonce(0u64), &client)
            .await
            .expect_err("nonce too low"),
    );
    reject("nonce too high")(
        send(base().nonce(1_000u64), &client)
            .await
            .expect_err("too high"),
    );
    reject("gas price too low")(
        send(base().gas_price(10u64), &bob_client)
            .await
            .expect_err("cheap"),
    );
    reject("intrinsic gas too low")(
        send(base().gas(20_000u64), &bob_client)
            .await
            .expect_err("gas"),
    );
    reject("insufficient funds")(
        send(
            base().value(funding.to_string().parse::<EU256>().expect("u256")),
            &bob_client,
        )
        .await
        .expect_err("funds"),
    );
    reject("not provable")(
        send(base().data(vec![1u8, 2, 3]).gas(30_000u64), &bob_client)
            .await
            .expect_err("data"),
    );
    reject("invalid chain id")(
        send(
            base(),
            &SignerMiddleware::new(provider.clone(), wallet(0xb2).with_chain_id(7u64)),
        )
        .await
        .expect_err("chain"),
    );

    stop.send(true).expect("stop");
    sequencing.await.expect("joins").expect("sequencer ran");
    drop(heads);
    drop(ws);
    server.stop().await;
    database.drop().await;
}
