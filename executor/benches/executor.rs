//! Executor throughput: executed transfers per second (batches of 100 and 1000 plain transfers,
//! committed to the store) and state-tree updates per second (random keys written into a stored
//! tree of 10^4 and 10^5 leaves).
//!
//! `cargo bench -p zknode-executor --bench executor`; sizes from `ZKNODE_BENCH_EXECUTOR_TXS`
//! (default `100,1000`) and `ZKNODE_BENCH_TREE_LEAVES` (default `10000,100000`).

use std::hint::black_box;
use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_primitives::{Address, Signature, TxKind, U256};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use k256::ecdsa::SigningKey;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zknode_executor::batch_data::{encode_batch, BatchTransaction, DecodedBatch, L2BlockData};
use zknode_executor::execution::{Executor, ExecutorConfig, GenesisAccount, ProcessBatchRequest};
use zknode_executor::state::{account_key, CommitSet, Key, LeafKind, Store, WorkingTree, EMPTY};
use zknode_executor::StateRoot;

const CHAIN_ID: u64 = 1001;

/// Sizes from `var`, else `default`; in test mode (run by `cargo test`, which, unlike `cargo bench`,
/// passes no `--bench`) only the smallest default, so the test suite stays quick.
fn sizes(var: &str, default: &[usize]) -> Vec<usize> {
    let from_env: Option<Vec<usize>> = std::env::var(var)
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty());
    match from_env {
        Some(sizes) => sizes,
        None if !std::env::args().any(|a| a == "--bench") => {
            default.iter().take(1).copied().collect()
        }
        None => default.to_vec(),
    }
}

struct Account {
    key: SigningKey,
    address: Address,
}

fn account(i: u64) -> Account {
    let mut bytes = [0u8; 32];
    bytes[0] = 0x17;
    bytes[24..].copy_from_slice(&(i + 1).to_be_bytes());
    let key = SigningKey::from_slice(&bytes).expect("valid scalar");
    let address = Address::from_public_key(key.verifying_key());
    Account { key, address }
}

fn transfer(from: &Account, nonce: u64, to: Address) -> TxEnvelope {
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce,
        gas_price: 1_000_000_000,
        gas_limit: 21_000,
        to: TxKind::Call(to),
        value: U256::from(1_000 + nonce),
        input: Default::default(),
    };
    let (sig, recid) = from
        .key
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .expect("signs");
    TxEnvelope::Legacy(tx.into_signed(Signature::from((sig, recid))))
}

fn bench_transfers(c: &mut Criterion) {
    let mut group = c.benchmark_group("executor_transfers");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for n in sizes("ZKNODE_BENCH_EXECUTOR_TXS", &[100, 1000]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let executor = Executor::open(dir.path(), ExecutorConfig::default()).expect("opens");
        // n senders, one transfer each to a distinct recipient: every transfer touches fresh leaves.
        let senders: Vec<Account> = (0..n as u64).map(account).collect();
        let genesis: Vec<GenesisAccount> = senders
            .iter()
            .map(|a| GenesisAccount {
                address: a.address,
                balance: U256::from(10u128.pow(21)),
                ..Default::default()
            })
            .collect();
        let root = executor.set_genesis(&genesis).expect("genesis");
        let txs: Vec<BatchTransaction> = senders
            .iter()
            .enumerate()
            .map(|(i, a)| BatchTransaction {
                tx: transfer(a, 0, Address::from_word(U256::from(0xabc000 + i).into())),
                effective_percentage: 255,
            })
            .collect();
        let batch = DecodedBatch {
            blocks: vec![L2BlockData {
                delta_timestamp: 1,
                l1_info_index: 0,
                transactions: txs,
            }],
        };
        let request = ProcessBatchRequest {
            old_state_root: root,
            batch_data: encode_batch(&batch).expect("encodes"),
            chain_id: CHAIN_ID,
            timestamp_limit: u64::MAX,
            coinbase: Address::repeat_byte(0xcb),
            update_tree: true,
            ..Default::default()
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("process_batch_commit", n),
            &request,
            |b, r| b.iter(|| black_box(executor.process_batch(r).expect("processes"))),
        );
        let witness = ProcessBatchRequest {
            include_witness: true,
            update_tree: false,
            ..request
        };
        group.bench_with_input(
            BenchmarkId::new("process_batch_witness", n),
            &witness,
            |b, r| b.iter(|| black_box(executor.process_batch(r).expect("processes"))),
        );
    }
    group.finish();
}

fn bench_tree_updates(c: &mut Criterion) {
    const UPDATES: usize = 1000;
    let mut group = c.benchmark_group("state_tree_updates");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for leaves in sizes("ZKNODE_BENCH_TREE_LEAVES", &[10_000, 100_000]) {
        let mut rng = ChaCha8Rng::seed_from_u64(leaves as u64);
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("opens");
        let keys: Vec<Key> = (0..leaves)
            .map(|_| account_key(Address::from(rng.gen::<[u8; 20]>()), LeafKind::Balance))
            .collect();
        let root = {
            let snapshot = store.snapshot().expect("snapshot");
            let mut tree = WorkingTree::new(&snapshot, EMPTY);
            for key in &keys {
                tree.set(key, U256::from(rng.gen::<u64>() | 1))
                    .expect("set");
            }
            let root = tree.root();
            let set = CommitSet {
                nodes: tree.new_nodes(),
                bytecode: Vec::new(),
            };
            store.commit(&set, StateRoot(root)).expect("commit");
            root
        };
        // Half updates of existing leaves, half inserts of new keys.
        let writes: Vec<(Key, U256)> = (0..UPDATES)
            .map(|i| {
                let key = if i % 2 == 0 {
                    keys[rng.gen_range(0..keys.len())]
                } else {
                    account_key(Address::from(rng.gen::<[u8; 20]>()), LeafKind::Nonce)
                };
                (key, U256::from(rng.gen::<u64>() | 1))
            })
            .collect();
        group.throughput(Throughput::Elements(UPDATES as u64));
        group.bench_with_input(BenchmarkId::new("set", leaves), &writes, |b, writes| {
            b.iter(|| {
                let snapshot = store.snapshot().expect("snapshot");
                let mut tree = WorkingTree::new(&snapshot, root);
                for (key, value) in writes {
                    tree.set(key, *value).expect("set");
                }
                black_box(tree.root())
            })
        });
        group.bench_with_input(
            BenchmarkId::new("set_and_commit", leaves),
            &writes,
            |b, writes| {
                b.iter(|| {
                    let snapshot = store.snapshot().expect("snapshot");
                    let mut tree = WorkingTree::new(&snapshot, root);
                    for (key, value) in writes {
                        tree.set(key, *value).expect("set");
                    }
                    let new_root = StateRoot(tree.root());
                    let set = CommitSet {
                        nodes: tree.new_nodes(),
                        bytecode: Vec::new(),
                    };
                    black_box(store.commit(&set, new_root).expect("commit"))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_transfers, bench_tree_updates);
criterion_main!(benches);
