//! The executor gRPC service over real loopback sockets: in-process `serve`, and the
//! `zknode-executor` binary as a child process.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEnvelope, TxLegacy};
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use zknode_executor::batch_data::{encode_batch, BatchTransaction, DecodedBatch, L2BlockData};
use zknode_executor::execution::{
    Executor, ExecutorConfig, GenesisAccount, ProcessBatchRequest, TxStatus,
};
use zknode_executor::service::proto;
use zknode_executor::service::ExecutorClient;

use common::server::start;
use zknode_executor::{ExecutorError, StateRoot};

const CHAIN_ID: u64 = 1101;
const GWEI: u128 = 1_000_000_000;

fn key(byte: u8) -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(&[byte; 32]).unwrap()
}

fn address_of(key: &k256::ecdsa::SigningKey) -> Address {
    Address::from_public_key(key.verifying_key())
}

fn sign<T: SignableTransaction<Signature>>(tx: T, key: &k256::ecdsa::SigningKey) -> Signed<T> {
    let hash = tx.signature_hash();
    let (sig, recovery_id) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    tx.into_signed(Signature::from_signature_and_parity(
        sig,
        recovery_id.is_y_odd(),
    ))
}

fn legacy(
    key: &k256::ecdsa::SigningKey,
    nonce: u64,
    to: TxKind,
    value: u64,
    input: Bytes,
) -> BatchTransaction {
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce,
        gas_price: GWEI,
        gas_limit: 200_000,
        to,
        value: U256::from(value),
        input,
    };
    BatchTransaction {
        tx: TxEnvelope::Legacy(sign(tx, key)),
        effective_percentage: 255,
    }
}

fn eip1559(key: &k256::ecdsa::SigningKey, nonce: u64, to: Address, value: u64) -> BatchTransaction {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(to),
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    BatchTransaction {
        tx: TxEnvelope::Eip1559(sign(tx, key)),
        effective_percentage: 200,
    }
}

fn genesis() -> Vec<GenesisAccount> {
    [key(0x11), key(0x22)]
        .iter()
        .map(|k| GenesisAccount {
            address: address_of(k),
            balance: U256::from(10u128.pow(21)),
            ..Default::default()
        })
        .collect()
}

/// Init code whose constructor stores 42 in slot 0 and deploys the one-byte runtime code `0x00`.
fn deployment_code() -> Bytes {
    Bytes::from_static(&[
        0x60, 0x2a, 0x60, 0x00, 0x55, // SSTORE(0, 42)
        0x60, 0x01, 0x60, 0x11, 0x60, 0x00, 0x39, // CODECOPY(0, 17, 1)
        0x60, 0x01, 0x60, 0x00, 0xf3, // RETURN(0, 1)
        0x00, // runtime code
    ])
}

/// Two blocks: a legacy transfer, an EIP-1559 transfer, a deployment, and a transaction with a
/// nonce from the future (invalid, excluded).
fn sample_batch() -> (Vec<u8>, Address) {
    let (alice, bob) = (key(0x11), key(0x22));
    let contract = address_of(&alice).create(1);
    let batch = DecodedBatch {
        blocks: vec![
            L2BlockData {
                delta_timestamp: 5,
                l1_info_index: 0,
                transactions: vec![
                    legacy(
                        &alice,
                        0,
                        TxKind::Call(address_of(&bob)),
                        1_000,
                        Bytes::new(),
                    ),
                    eip1559(&bob, 0, address_of(&alice), 7),
                ],
            },
            L2BlockData {
                delta_timestamp: 3,
                l1_info_index: 0,
                transactions: vec![
                    legacy(&alice, 1, TxKind::Create, 0, deployment_code()),
                    legacy(&bob, 9, TxKind::Call(address_of(&alice)), 1, Bytes::new()),
                ],
            },
        ],
    };
    (encode_batch(&batch).unwrap(), contract)
}

fn request(root: StateRoot, batch_data: Vec<u8>) -> ProcessBatchRequest {
    ProcessBatchRequest {
        old_state_root: root,
        batch_data,
        chain_id: CHAIN_ID,
        fork_id: 9,
        timestamp_limit: 1_000_000,
        coinbase: Address::repeat_byte(0xc0),
        update_tree: true,
        include_witness: true,
    }
}

fn executor_with_genesis(dir: &Path) -> (Executor, StateRoot) {
    let executor = Executor::open(dir, ExecutorConfig::default()).unwrap();
    let root = executor.set_genesis(&genesis()).unwrap();
    (executor, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_batch_over_a_socket_matches_the_library() {
    let served_dir = tempfile::tempdir().unwrap();
    let direct_dir = tempfile::tempdir().unwrap();
    let (served, genesis_root) = executor_with_genesis(served_dir.path());
    let (direct, direct_genesis_root) = executor_with_genesis(direct_dir.path());
    assert_eq!(genesis_root, direct_genesis_root);

    let server = start(served.clone()).await;
    let client = ExecutorClient::connect(server.url.clone()).await.unwrap();

    let (batch_data, contract) = sample_batch();
    let req = request(genesis_root, batch_data);
    let remote = client.process_batch(&req).await.unwrap();
    let local = direct.process_batch(&req).unwrap();
    // Every field — roots, blocks, receipts, logs, provability, counters, witness — survives the
    // wire unchanged.
    assert_eq!(remote, local);
    assert!(remote.committed);
    assert_ne!(remote.new_state_root, genesis_root);
    assert!(remote.witness.is_some());

    let statuses: Vec<TxStatus> = remote
        .blocks
        .iter()
        .flat_map(|b| b.transactions.iter().map(|t| t.status))
        .collect();
    assert_eq!(
        statuses,
        [
            TxStatus::Success,
            TxStatus::Success,
            TxStatus::Success,
            TxStatus::Invalid
        ]
    );
    let first = &remote.blocks[0].transactions[0];
    assert_eq!(first.gas_used, 21_000);
    assert!(first.receipt.is_some());
    assert!(first.provability.is_provable());
    assert!(!remote.blocks[1].transactions[1].provability.is_provable());
    assert!(remote.blocks[1].transactions[1].error.is_some());

    // State reads at the new root, through the service and directly.
    let root = remote.new_state_root;
    for account in genesis() {
        let a = account.address;
        assert_eq!(
            client.balance(root, a).await.unwrap(),
            direct.balance(root, a).unwrap()
        );
        assert_eq!(
            client.nonce(root, a).await.unwrap(),
            direct.nonce(root, a).unwrap()
        );
        assert!(client.code(root, a).await.unwrap().is_empty());
    }
    let alice = address_of(&key(0x11));
    assert_eq!(client.nonce(root, alice).await.unwrap(), 2);
    assert_eq!(
        client.code(root, contract).await.unwrap(),
        Bytes::from_static(&[0x00])
    );
    assert_eq!(
        client.storage(root, contract, U256::ZERO).await.unwrap(),
        U256::from(42)
    );
    assert_eq!(
        client.storage(root, contract, U256::from(1)).await.unwrap(),
        U256::ZERO
    );
    // Past roots stay readable.
    assert_eq!(
        client.balance(genesis_root, alice).await.unwrap(),
        U256::from(10u128.pow(21))
    );
    assert_eq!(client.nonce(genesis_root, alice).await.unwrap(), 0);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_right_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, genesis_root) = executor_with_genesis(dir.path());
    let server = start(executor).await;
    let client = ExecutorClient::connect(server.url.clone()).await.unwrap();
    let mut raw = client.raw();
    let alice = address_of(&key(0x11));

    // Malformed batch data: INVALID_ARGUMENT, and the typed client gets the offset back.
    let truncated = vec![0x0b, 0, 0];
    let err = client
        .process_batch(&request(genesis_root, truncated.clone()))
        .await
        .unwrap_err();
    match &err {
        ExecutorError::MalformedBatchData { offset, .. } => assert_eq!(*offset, truncated.len()),
        other => panic!("expected MalformedBatchData, got {other}"),
    }
    assert!(err.is_invalid_argument());
    let wire = proto::ProcessBatchRequest {
        old_state_root: genesis_root.to_bytes32().to_vec(),
        batch_l2_data: vec![0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f],
        coinbase: vec![0; 20],
        chain_id: CHAIN_ID,
        timestamp_limit: 1_000_000,
        ..Default::default()
    };
    let status = raw.process_batch(wire.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("byte 9"), "{}", status.message());

    // A root of the wrong length, a non-canonical root, a short coinbase: INVALID_ARGUMENT.
    for (field, bad) in [
        (
            "old_state_root",
            proto::ProcessBatchRequest {
                old_state_root: vec![0; 31],
                ..wire.clone()
            },
        ),
        (
            "old_state_root",
            proto::ProcessBatchRequest {
                old_state_root: vec![0xff; 32],
                ..wire.clone()
            },
        ),
        (
            "coinbase",
            proto::ProcessBatchRequest {
                coinbase: vec![0; 19],
                ..wire.clone()
            },
        ),
    ] {
        let status = raw.process_batch(bad).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{}", status.message());
    }
    let status = raw
        .get_balance(proto::AccountRequest {
            state_root: genesis_root.to_bytes32().to_vec(),
            address: vec![1; 21],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // An unknown (canonical, never committed) root: NOT_FOUND, for ProcessBatch and reads.
    let unknown = StateRoot([1, 2, 3, 4]);
    let (batch_data, _) = sample_batch();
    let err = client
        .process_batch(&request(unknown, batch_data))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecutorError::UnknownStateRoot(root) if root == unknown),
        "{err}"
    );
    let err = client.balance(unknown, alice).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let status = raw
        .get_storage_at(proto::StorageRequest {
            state_root: unknown.to_bytes32().to_vec(),
            address: alice.to_vec(),
            slot: vec![0; 32],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);

    // A block past the timestamp limit.
    let mut late = request(genesis_root, sample_batch().0);
    late.timestamp_limit = 1;
    let err = client.process_batch(&late).await.unwrap_err();
    assert!(
        matches!(
            err,
            ExecutorError::TimestampOverLimit { block_index: 0, .. }
        ),
        "{err}"
    );

    // None of that changed the state.
    assert_eq!(client.nonce(genesis_root, alice).await.unwrap(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_get_statuses_and_the_server_survives() {
    use rand::{Rng, RngCore, SeedableRng};
    let seed: u64 = std::env::var("ZKNODE_FUZZ_SEED")
        .map(|s| s.parse().unwrap())
        .unwrap_or_else(|_| rand::thread_rng().gen());
    eprintln!("random_requests: seed {seed} (replay with ZKNODE_FUZZ_SEED={seed})");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let (executor, genesis_root) = executor_with_genesis(dir.path());
    let server = start(executor.clone()).await;
    let client = ExecutorClient::connect(server.url.clone()).await.unwrap();
    let mut raw = client.raw();
    let (valid_batch, _) = sample_batch();
    let bytes = |rng: &mut rand_chacha::ChaCha8Rng, lengths: &[usize]| {
        let mut out = vec![0u8; lengths[rng.gen_range(0..lengths.len())]];
        rng.fill_bytes(&mut out);
        out
    };
    for _ in 0..300 {
        // Field lengths around the valid ones; roots sometimes the genesis root; batch data random,
        // or the valid batch with a byte changed.
        let old_state_root = if rng.gen_bool(0.5) {
            genesis_root.to_bytes32().to_vec()
        } else {
            bytes(&mut rng, &[0, 31, 32, 33])
        };
        let mut batch_l2_data = valid_batch.clone();
        if rng.gen_bool(0.5) {
            let at = rng.gen_range(0..batch_l2_data.len());
            batch_l2_data[at] = rng.gen();
        } else {
            batch_l2_data = bytes(&mut rng, &[0, 1, 9, 10, 200]);
        }
        let wire = proto::ProcessBatchRequest {
            old_state_root,
            batch_l2_data,
            chain_id: rng.gen(),
            fork_id: rng.gen(),
            timestamp_limit: rng.gen(),
            coinbase: bytes(&mut rng, &[0, 19, 20, 21]),
            // Never commit: the store must hold only the genesis afterwards.
            update_tree: false,
            include_witness: rng.gen(),
        };
        match raw.process_batch(wire).await {
            Ok(_) => {}
            Err(status) => assert!(
                matches!(
                    status.code(),
                    tonic::Code::InvalidArgument | tonic::Code::NotFound
                ),
                "{status:?}"
            ),
        }
        let read = proto::AccountRequest {
            state_root: bytes(&mut rng, &[31, 32]),
            address: bytes(&mut rng, &[19, 20]),
        };
        if let Err(status) = raw.get_code(read).await {
            assert!(
                matches!(
                    status.code(),
                    tonic::Code::InvalidArgument | tonic::Code::NotFound
                ),
                "{status:?}"
            );
        }
    }
    // Still serving, and nothing was committed.
    let alice = address_of(&key(0x11));
    assert_eq!(client.nonce(genesis_root, alice).await.unwrap(), 0);
    assert_eq!(executor.latest_root().unwrap(), genesis_root);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_graceful() {
    // A batch of transfers keeps the server busy while the shutdown signal arrives; if the machine
    // is so fast that the batch finished before the signal, try again with a larger one, so that
    // the request is certainly in flight when the server is told to stop.
    for transfers in [300u64, 1_500, 6_000] {
        let dir = tempfile::tempdir().unwrap();
        let (executor, genesis_root) = executor_with_genesis(dir.path());
        let server = start(executor.clone()).await;
        let url = server.url.clone();
        let client = ExecutorClient::connect(url.clone()).await.unwrap();

        let alice = key(0x11);
        let bob = address_of(&key(0x22));
        let transactions = (0..transfers)
            .map(|n| legacy(&alice, n, TxKind::Call(bob), 1, Bytes::new()))
            .collect();
        let batch = DecodedBatch {
            blocks: vec![L2BlockData {
                delta_timestamp: 1,
                l1_info_index: 0,
                transactions,
            }],
        };
        let req = request(genesis_root, encode_batch(&batch).unwrap());
        let in_flight = tokio::spawn(async move {
            let response = client.process_batch(&req).await;
            (response, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let signalled = Instant::now();
        server.stop().await;
        let (response, answered) = in_flight.await.unwrap();
        let response = response.unwrap();
        assert!(response.blocks[0]
            .transactions
            .iter()
            .all(|t| t.status == TxStatus::Success));
        // The batch committed before the server went away.
        assert_eq!(
            executor
                .nonce(response.new_state_root, address_of(&alice))
                .unwrap(),
            transfers
        );
        // The port no longer answers (a lazy client fails on first use, not at creation).
        let lazy = ExecutorClient::connect_lazy(url.clone()).unwrap();
        let err = ExecutorClient::connect(url).await.unwrap_err();
        assert!(matches!(err, ExecutorError::Service(_)), "{err}");
        let err = lazy
            .nonce(genesis_root, address_of(&alice))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ExecutorError::Rpc {
                    code: tonic::Code::Unavailable,
                    ..
                }
            ),
            "{err}"
        );

        if answered > signalled {
            // The request was still executing when the server was told to stop, and it was
            // answered in full (with its witness) before the server went away.
            eprintln!(
                "{transfers} transfers: answered {:?} after the shutdown signal",
                answered - signalled
            );
            return;
        }
    }
    panic!("no batch was still executing 100 ms after it was sent");
}

// ---------------------------------------------------------------------------------------------
// The binary.

/// The `zknode-executor` binary as a child process (SIGTERM is a unix signal).
#[cfg(unix)]
mod binary {
    use std::net::SocketAddr;
    use std::process::{Child, Command, Stdio};

    use super::*;

    /// A `zknode-executor` child process, SIGKILLed (by pid) on drop if still running.
    struct ChildProcess {
        child: Child,
    }

    impl Drop for ChildProcess {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    fn free_loopback_port() -> SocketAddr {
        // Bind port 0 to have the OS pick a free port, then release it for the child.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    fn spawn_server(db: &Path, listen: SocketAddr, log: &Path) -> ChildProcess {
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zknode-executor"))
            .args(["serve", "--executor.listen", &listen.to_string()])
            // The database path through the environment override.
            .env("ZKNODE_EXECUTOR_DB_PATH", db)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        ChildProcess { child }
    }

    async fn connect_with_retry(url: &str) -> ExecutorClient {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match ExecutorClient::connect(url.to_string()).await {
                Ok(client) => return client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("executor binary did not come up at {url}: {e}"),
            }
        }
    }

    /// Sends SIGTERM to the child (by its pid) and waits for a clean exit.
    fn terminate(mut server: ChildProcess) -> std::process::ExitStatus {
        let pid = server.child.id();
        let raw_pid = libc::pid_t::try_from(pid).unwrap();
        // SAFETY: kill(2) with the pid of our own child, which has not been reaped yet (so the pid
        // cannot have been reused).
        let killed = unsafe { libc::kill(raw_pid, libc::SIGTERM) };
        assert_eq!(killed, 0, "kill({pid}, SIGTERM) failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "executor {pid} ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_binary_serves_and_stops_on_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let log = dir.path().join("executor.log");

        // `genesis` subcommand: writes the accounts and prints the root.
        let genesis_file = dir.path().join("genesis.json");
        std::fs::write(&genesis_file, serde_json::to_vec(&genesis()).unwrap()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_zknode-executor"))
            .args(["genesis", "--executor.db-path"])
            .arg(&db)
            .arg("--genesis")
            .arg(&genesis_file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8(output.stdout).unwrap();
        let expected_root = {
            let scratch = tempfile::tempdir().unwrap();
            executor_with_genesis(scratch.path()).1
        };
        assert_eq!(printed.trim(), expected_root.to_string());

        let listen = free_loopback_port();
        let url = format!("http://{listen}");
        let server = spawn_server(&db, listen, &log);
        let client = connect_with_retry(&url).await;
        let alice = address_of(&key(0x11));
        assert_eq!(
            client.balance(expected_root, alice).await.unwrap(),
            U256::from(10u128.pow(21))
        );
        let (batch_data, contract) = sample_batch();
        let response = client
            .process_batch(&request(expected_root, batch_data))
            .await
            .unwrap();
        let new_root = response.new_state_root;
        assert_eq!(
            client
                .storage(new_root, contract, U256::ZERO)
                .await
                .unwrap(),
            U256::from(42)
        );
        drop(client);

        let status = terminate(server);
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(status.success(), "exit {status}; log:\n{log_text}");
        assert!(log_text.contains("SIGTERM"), "{log_text}");
        assert!(log_text.contains("executor service stopped"), "{log_text}");

        // A new process on the same store serves the committed state.
        let listen = free_loopback_port();
        let server = spawn_server(&db, listen, &dir.path().join("executor2.log"));
        let client = connect_with_retry(&format!("http://{listen}")).await;
        assert_eq!(client.nonce(new_root, alice).await.unwrap(), 2);
        assert_eq!(
            client.code(new_root, contract).await.unwrap(),
            Bytes::from_static(&[0x00])
        );
        drop(client);
        assert!(terminate(server).success());
    }
}
