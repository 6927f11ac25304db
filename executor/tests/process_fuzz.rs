//! ProcessBatch on thousands of random and mutated batch data never panics: it returns results
//! (invalid transactions excluded with a reason) or a precise error, and never touches the store
//! when `update_tree` is false.
//!
//! Seeded: the seed is printed; replay with `ZKNODE_PROCESS_FUZZ_SEED=<seed>`.
#![allow(clippy::unwrap_used)]

mod common;

use alloy_primitives::{Address, U256};
use common::*;
use rand::Rng;
use zknode_executor::execution::{
    Executor, ExecutorConfig, GenesisAccount, ProcessBatchRequest, TxStatus,
};
use zknode_executor::ExecutorError;

#[test]
fn random_and_mutated_batches_never_panic() {
    let (mut rng, _) = seeded_rng("ZKNODE_PROCESS_FUZZ_SEED", 77);
    let wallets: Vec<Wallet> = (0..3).map(Wallet::from_seed).collect();
    let dir = tempfile::tempdir().unwrap();
    let executor = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    let genesis: Vec<GenesisAccount> = wallets
        .iter()
        .map(|w| GenesisAccount {
            address: w.address,
            balance: U256::from(10u128.pow(20)),
            ..Default::default()
        })
        .collect();
    let root = executor.set_genesis(&genesis).unwrap();
    let commits_before = executor.store().committed_roots().unwrap().len();

    // Seeds: valid batches with transfers, a deployment and calls.
    let mut seeds = Vec::new();
    for i in 0..4u64 {
        let mut txs = vec![sign(
            &wallets[0],
            &TxSpec::transfer(0, wallets[1].address, U256::from(i + 1)),
        )];
        let mut deploy = TxSpec::transfer(0, Address::ZERO, U256::ZERO);
        deploy.to = None;
        deploy.input = initcode(&kv_runtime()).into();
        deploy.gas_limit = 300_000;
        deploy.tx_type = if i % 2 == 0 {
            TxType::Eip1559
        } else {
            TxType::Eip2930
        };
        txs.push(sign(&wallets[1], &deploy));
        let mut call = TxSpec::transfer(1, wallets[1].address.create(0), U256::ZERO);
        call.input = kv_call(i, U256::from(9));
        call.gas_limit = 100_000;
        txs.push(sign(&wallets[1], &call));
        seeds.push(batch_bytes(&[(1, txs.clone()), (2, txs[..1].to_vec())]));
    }

    let (mut ok, mut errors, mut invalid_txs) = (0, 0, 0);
    for round in 0..3000 {
        let data: Vec<u8> = if round % 10 == 0 {
            let len = rng.gen_range(0..200);
            (0..len).map(|_| rng.gen()).collect()
        } else {
            let mut data = seeds[rng.gen_range(0..seeds.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                match rng.gen_range(0..4) {
                    0 if !data.is_empty() => {
                        let at = rng.gen_range(0..data.len());
                        data[at] ^= 1 << rng.gen_range(0..8);
                    }
                    1 if !data.is_empty() => {
                        let at = rng.gen_range(0..data.len());
                        data[at] = rng.gen();
                    }
                    2 => data.truncate(rng.gen_range(0..=data.len())),
                    _ => {
                        let at = rng.gen_range(0..=data.len());
                        data.insert(at, rng.gen());
                    }
                }
            }
            data
        };
        let request = ProcessBatchRequest {
            old_state_root: root,
            batch_data: data,
            chain_id: CHAIN_ID,
            timestamp_limit: 1000,
            coinbase: Address::repeat_byte(0xcb),
            update_tree: false,
            include_witness: round % 7 == 0,
            ..Default::default()
        };
        match executor.process_batch(&request) {
            Ok(response) => {
                ok += 1;
                for tx in response.blocks.iter().flat_map(|b| &b.transactions) {
                    if tx.status == TxStatus::Invalid {
                        invalid_txs += 1;
                        assert!(tx.error.as_deref().is_some_and(|e| !e.is_empty()));
                    }
                }
                if let Some(witness) = &response.witness {
                    witness.verify().unwrap();
                }
            }
            Err(e) => {
                errors += 1;
                assert!(
                    matches!(
                        e,
                        ExecutorError::MalformedBatchData { .. }
                            | ExecutorError::TimestampOverLimit { .. }
                    ),
                    "unexpected error kind: {e}"
                );
                assert!(e.is_invalid_argument());
            }
        }
    }
    eprintln!("{ok} executed, {errors} rejected, {invalid_txs} invalid transactions");
    assert!(ok > 100 && errors > 100 && invalid_txs > 0);
    assert_eq!(
        executor.store().committed_roots().unwrap().len(),
        commits_before
    );
}
