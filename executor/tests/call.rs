//! Read-only calls (`Executor::call`): results against real execution of the same transaction,
//! nothing persisted, geth's fee and error rules, and the same results over the gRPC socket.

#![allow(clippy::unwrap_used)]

mod common;

use alloy_primitives::{Address, Bytes, U256};
use common::server::start;
use common::{batch_bytes, initcode, kv_call, kv_runtime, sign, TxSpec, TxType, Wallet, CHAIN_ID};
use zknode_executor::execution::{
    CallBlock, CallRequest, CallResult, CallStatus, Counters, Executor, ExecutorConfig,
    GenesisAccount, ProcessBatchRequest, TxStatus,
};
use zknode_executor::service::{proto, ExecutorClient};
use zknode_executor::{ExecutorError, StateRoot};

const GWEI: u128 = 1_000_000_000;

/// Runtime that returns storage slot 0:
/// `PUSH0 SLOAD PUSH0 MSTORE PUSH1 0x20 PUSH0 RETURN`.
const GETTER: &[u8] = &[0x5f, 0x54, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];

/// Runtime that returns the block environment as three words (number, timestamp, coinbase):
/// `NUMBER PUSH0 MSTORE TIMESTAMP PUSH1 0x20 MSTORE COINBASE PUSH1 0x40 MSTORE PUSH1 0x60 PUSH0
/// RETURN`.
const BLOCK_ENV: &[u8] = &[
    0x43, 0x5f, 0x52, 0x42, 0x60, 0x20, 0x52, 0x41, 0x60, 0x40, 0x52, 0x60, 0x60, 0x5f, 0xf3,
];

struct Chain {
    _dir: tempfile::TempDir,
    executor: Executor,
    root: StateRoot,
    alice: Wallet,
    getter: Address,
    kv: Address,
    env: Address,
}

fn chain() -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let executor = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    let alice = Wallet::from_seed(1);
    let (getter, kv, env) = (
        Address::repeat_byte(0x61),
        Address::repeat_byte(0x62),
        Address::repeat_byte(0x63),
    );
    let contract = |address, code: &[u8], storage| GenesisAccount {
        address,
        code: Bytes::copy_from_slice(code),
        storage,
        ..Default::default()
    };
    let root = executor
        .set_genesis(&[
            GenesisAccount {
                address: alice.address,
                balance: U256::from(10u128.pow(18)),
                nonce: 3,
                ..Default::default()
            },
            contract(getter, GETTER, vec![(U256::ZERO, U256::from(42))]),
            contract(kv, &kv_runtime(), vec![]),
            contract(env, BLOCK_ENV, vec![]),
        ])
        .unwrap();
    Chain {
        _dir: dir,
        executor,
        root,
        alice,
        getter,
        kv,
        env,
    }
}

fn block() -> CallBlock {
    CallBlock {
        number: 7,
        timestamp: 1_700_000_000,
        coinbase: Address::repeat_byte(0xc0),
        gas_limit: 30_000_000,
    }
}

fn call(from: Address, to: Option<Address>, data: Bytes) -> CallRequest {
    CallRequest {
        from,
        to,
        data,
        chain_id: CHAIN_ID,
        block: block(),
        ..Default::default()
    }
}

fn word(bytes: &[u8], index: usize) -> U256 {
    U256::from_be_slice(&bytes[index * 32..(index + 1) * 32])
}

#[test]
fn calls_read_state_and_the_block_and_persist_nothing() {
    let c = chain();
    let latest = c.executor.latest_root().unwrap();

    // An account without code: a plain transfer's 21000, no output.
    let plain = c
        .executor
        .call(
            c.root,
            &CallRequest {
                value: U256::from(5),
                ..call(
                    c.alice.address,
                    Some(Address::repeat_byte(0x99)),
                    Bytes::new(),
                )
            },
        )
        .unwrap();
    assert_eq!(plain.status, CallStatus::Success);
    assert_eq!(plain.gas_used, 21_000);
    assert!(plain.output.is_empty());
    assert_eq!(plain.error, None);

    let read = c
        .executor
        .call(c.root, &call(Address::ZERO, Some(c.getter), Bytes::new()))
        .unwrap();
    assert_eq!(read.status, CallStatus::Success);
    assert_eq!(word(&read.output, 0), U256::from(42));

    let env = c
        .executor
        .call(c.root, &call(Address::ZERO, Some(c.env), Bytes::new()))
        .unwrap();
    assert_eq!(word(&env.output, 0), U256::from(7));
    assert_eq!(word(&env.output, 1), U256::from(1_700_000_000u64));
    assert_eq!(
        word(&env.output, 2),
        U256::from_be_slice(Address::repeat_byte(0xc0).as_slice())
    );

    // A writing call: executed with its writes counted, none kept.
    let write = c
        .executor
        .call(
            c.root,
            &call(c.alice.address, Some(c.kv), kv_call(5, U256::from(77))),
        )
        .unwrap();
    assert_eq!(write.status, CallStatus::Success);
    assert!(write.counters.smt_writes > 0, "{:?}", write.counters);
    assert_eq!(
        c.executor.storage(c.root, c.kv, U256::from(5)).unwrap(),
        U256::ZERO
    );
    assert_eq!(c.executor.nonce(c.root, c.alice.address).unwrap(), 3);
    assert_eq!(c.executor.latest_root().unwrap(), latest);

    // A creation returns the runtime and names the address the sender's nonce gives.
    let create = c
        .executor
        .call(
            c.root,
            &call(c.alice.address, None, Bytes::from(initcode(GETTER))),
        )
        .unwrap();
    assert_eq!(create.status, CallStatus::Success);
    assert_eq!(create.output, Bytes::from_static(GETTER));
    assert_eq!(create.contract_address, Some(c.alice.address.create(3)));

    assert!(matches!(
        c.executor.call(
            StateRoot([1, 2, 3, 4]),
            &call(Address::ZERO, None, Bytes::new())
        ),
        Err(ExecutorError::UnknownStateRoot(_))
    ));
}

#[test]
fn reverts_halts_and_invalid_calls_are_results_with_geth_texts() {
    let c = chain();
    let reverted = c
        .executor
        .call(c.root, &call(c.alice.address, Some(c.kv), Bytes::new()))
        .unwrap();
    assert_eq!(reverted.status, CallStatus::Reverted);
    assert_eq!(reverted.revert_reason.as_deref(), Some("empty"));
    assert_eq!(reverted.error.as_deref(), Some("execution reverted: empty"));
    // Error(string) ABI: selector, offset, length, text.
    assert_eq!(reverted.output.len(), 100);
    assert_eq!(&reverted.output[..4], &[0x08, 0xc3, 0x79, 0xa0]);
    assert!(reverted.gas_used > 21_000);

    let out_of_gas = c
        .executor
        .call(
            c.root,
            &CallRequest {
                gas: Some(25_000),
                ..call(c.alice.address, Some(c.kv), kv_call(1, U256::from(1)))
            },
        )
        .unwrap();
    assert_eq!(out_of_gas.status, CallStatus::Halted);
    assert_eq!(out_of_gas.error.as_deref(), Some("out of gas"));
    assert_eq!(out_of_gas.gas_used, 25_000);

    let too_little = c
        .executor
        .call(
            c.root,
            &CallRequest {
                gas: Some(20_000),
                ..call(c.alice.address, Some(c.getter), Bytes::new())
            },
        )
        .unwrap();
    assert_eq!(too_little.status, CallStatus::GasTooLow);
    assert_eq!(
        too_little.error.as_deref(),
        Some("intrinsic gas too low: have 20000, want 21000")
    );

    // Without a price no fee is charged, but the value must be there.
    let broke = Address::repeat_byte(0x42);
    let free = c
        .executor
        .call(c.root, &call(broke, Some(c.getter), Bytes::new()))
        .unwrap();
    assert_eq!(free.status, CallStatus::Success);
    let no_value = c
        .executor
        .call(
            c.root,
            &CallRequest {
                value: U256::from(1),
                ..call(broke, Some(c.getter), Bytes::new())
            },
        )
        .unwrap();
    assert_eq!(no_value.status, CallStatus::Invalid);
    let text = no_value.error.unwrap();
    assert!(
        text.starts_with("insufficient funds for gas * price + value"),
        "{text}"
    );
    // With a price the sender must cover gas × price + value.
    let priced = |gas_price| CallRequest {
        gas: Some(100_000),
        gas_price,
        ..call(c.alice.address, Some(c.getter), Bytes::new())
    };
    assert_eq!(
        c.executor.call(c.root, &priced(GWEI)).unwrap().status,
        CallStatus::Success
    );
    let expensive = c.executor.call(c.root, &priced(10u128.pow(16))).unwrap();
    assert_eq!(expensive.status, CallStatus::Invalid);
    assert!(expensive
        .error
        .unwrap()
        .ends_with(&format!("want {}", 10u128.pow(21))));
}

/// The same transaction, signed and executed in a batch, uses the gas the call reported and adds
/// the same tree accesses, signatures, keccak rows and batch bytes to the counters.
#[test]
fn a_call_agrees_with_executing_the_signed_transaction() {
    let c = chain();
    let spec = TxSpec {
        tx_type: TxType::Legacy,
        nonce: 3,
        gas_price: GWEI,
        priority_fee: GWEI,
        gas_limit: 200_000,
        to: Some(c.kv),
        value: U256::ZERO,
        input: kv_call(9, U256::from(1234)),
        access_list: Default::default(),
    };
    let simulated = c
        .executor
        .call(
            c.root,
            &CallRequest {
                gas: Some(spec.gas_limit),
                gas_price: spec.gas_price,
                ..call(c.alice.address, spec.to, spec.input.clone())
            },
        )
        .unwrap();
    assert_eq!(simulated.status, CallStatus::Success);

    let run = |blocks: &[(u32, Vec<alloy_consensus::TxEnvelope>)]| {
        c.executor
            .process_batch(&ProcessBatchRequest {
                old_state_root: c.root,
                batch_data: batch_bytes(blocks),
                chain_id: CHAIN_ID,
                fork_id: 9,
                timestamp_limit: u64::MAX,
                coinbase: Address::repeat_byte(0xc0),
                update_tree: false,
                include_witness: false,
            })
            .unwrap()
    };
    let with_tx = run(&[(1, vec![sign(&c.alice, &spec)])]);
    let empty = run(&[(1, vec![])]);
    let executed = &with_tx.blocks[0].transactions[0];
    assert_eq!(executed.status, TxStatus::Success);
    assert_eq!(executed.gas_used, simulated.gas_used);

    let minus = |a: &Counters, b: &Counters| Counters {
        smt_reads: a.smt_reads - b.smt_reads,
        smt_writes: a.smt_writes - b.smt_writes,
        signatures: a.signatures - b.signatures,
        keccak_rows: a.keccak_rows - b.keccak_rows,
        batch_bytes: a.batch_bytes - b.batch_bytes,
        transactions: a.transactions - b.transactions,
        gas_used: a.gas_used - b.gas_used,
        transfer_rows: a.transfer_rows - b.transfer_rows,
        ..Counters::default()
    };
    let of_tx = minus(&with_tx.counters, &empty.counters);
    let got = &simulated.counters;
    assert_eq!(
        (
            got.smt_reads,
            got.smt_writes,
            got.signatures,
            got.keccak_rows,
            got.batch_bytes,
            got.transactions,
            got.gas_used,
            got.transfer_rows
        ),
        (
            of_tx.smt_reads,
            of_tx.smt_writes,
            of_tx.signatures,
            of_tx.keccak_rows,
            of_tx.batch_bytes,
            of_tx.transactions,
            of_tx.gas_used,
            of_tx.transfer_rows
        )
    );
    // Rows depend on proof depths, which the block's own system writes shift a little.
    assert!(got.poseidon_rows > 0 && got.smt_rows > 0, "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_a_socket_match_the_library() {
    let c = chain();
    let server = start(c.executor.clone()).await;
    let client = ExecutorClient::connect(server.url.clone()).await.unwrap();

    let requests = [
        call(Address::ZERO, Some(c.getter), Bytes::new()),
        call(c.alice.address, Some(c.kv), Bytes::new()),
        call(c.alice.address, Some(c.kv), kv_call(2, U256::from(3))),
        call(c.alice.address, None, Bytes::from(initcode(GETTER))),
        CallRequest {
            gas: Some(20_000),
            ..call(c.alice.address, Some(c.getter), Bytes::new())
        },
        CallRequest {
            value: U256::from(1),
            ..call(Address::repeat_byte(0x42), Some(c.getter), Bytes::new())
        },
        CallRequest {
            gas_price: 2 * GWEI,
            max_priority_fee_per_gas: Some(GWEI),
            access_list: common::access_list_for(c.kv, &[1, 2]),
            ..call(c.alice.address, Some(c.kv), kv_call(1, U256::from(1)))
        },
    ];
    let mut statuses = Vec::new();
    for request in &requests {
        let remote: CallResult = client.call(c.root, request).await.unwrap();
        let local = c.executor.call(c.root, request).unwrap();
        assert_eq!(remote, local);
        statuses.push(remote.status);
    }
    assert_eq!(
        statuses,
        [
            CallStatus::Success,
            CallStatus::Reverted,
            CallStatus::Success,
            CallStatus::Success,
            CallStatus::GasTooLow,
            CallStatus::Invalid,
            CallStatus::Success,
        ]
    );
    let unknown = client
        .call(StateRoot([9, 9, 9, 9]), &requests[0])
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, ExecutorError::UnknownStateRoot(_)),
        "{unknown}"
    );

    // What a peer sends is checked field by field: a bad request is INVALID_ARGUMENT naming the
    // field, never a panic, and the server goes on serving.
    let mut raw = client.raw();
    let good = proto::CallRequest {
        state_root: c.root.to_bytes32().to_vec(),
        to: c.getter.to_vec(),
        chain_id: CHAIN_ID,
        block: Some(proto::CallBlock {
            number: 1,
            timestamp: 1,
            coinbase: vec![0; 20],
            gas_limit: 1_000_000,
        }),
        ..Default::default()
    };
    let ok = raw.call(good.clone()).await.unwrap().into_inner();
    assert_eq!(ok.status, proto::CallStatus::Success as i32);
    assert_eq!(U256::from_be_slice(&ok.output), U256::from(42));
    let broken = [
        (
            proto::CallRequest {
                to: vec![1; 19],
                ..good.clone()
            },
            "to",
        ),
        (
            proto::CallRequest {
                value: vec![1; 33],
                ..good.clone()
            },
            "value",
        ),
        (
            proto::CallRequest {
                block: None,
                ..good.clone()
            },
            "block",
        ),
        (
            proto::CallRequest {
                state_root: vec![0xff; 32],
                ..good.clone()
            },
            "state_root",
        ),
        (
            proto::CallRequest {
                access_list: vec![proto::AccessListItem {
                    address: vec![1; 20],
                    storage_keys: vec![vec![0; 3]],
                }],
                ..good.clone()
            },
            "access_list.storage_keys",
        ),
    ];
    for (request, field) in broken {
        let status = raw.call(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{field}: {status:?}");
    }
    let again = raw.call(good).await.unwrap().into_inner();
    assert_eq!(again, ok);

    server.stop().await;
}
