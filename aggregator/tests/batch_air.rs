//! The batch AIR end to end: fixture batches of native transfers are executed, proven as batch
//! STARKs, wrapped by the batch circuit, aggregated and verified under one key.

// A failed unwrap is a failed test, with the error in the panic message.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use zknode_aggregator::pipeline::{batch_air_params, genesis_values, prove_batch};
use zknode_aggregator::AggregatorCircuits;
use zknode_kernels::CpuBackend;
use zknode_prover::batch::BatchAir;

fn cache_dir() -> PathBuf {
    // Shared with the node's `zknode prove` test: same target directory, same circuits.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("batch-air-circuit-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn fixture_batches_aggregate_and_verify() {
    let chain = zknode_fixtures::generate(&zknode_fixtures::ChainSpec {
        batch_sizes: vec![1, 10],
        ..zknode_fixtures::ChainSpec::standard()
    })
    .unwrap();
    let executed = zknode_fixtures::execute_all(&chain).unwrap();
    let started = Instant::now();
    let (circuits, outcome) =
        AggregatorCircuits::load_or_build(BatchAir, batch_air_params(), &cache_dir()).unwrap();
    eprintln!("circuits: {outcome:?} in {:?}", started.elapsed());
    let backend = CpuBackend::new();
    let mut previous = genesis_values(chain.chain_id, chain.fork_id, chain.genesis_root);
    let mut proofs = Vec::new();
    for (_, witness) in &executed {
        let proven = prove_batch(&circuits, &backend, witness, &previous).unwrap();
        eprintln!(
            "batch {}: {} transfers, 2^{} rows, {:?}",
            proven.stark.values.new_batch_number,
            proven.stark.transfers,
            proven.stark.degree_bits,
            proven.stark.stark_time
        );
        assert_eq!(
            circuits.verify_batch(&proven.proof).unwrap(),
            proven.stark.values
        );
        previous = proven.stark.values;
        proofs.push(proven.proof);
    }
    let started = Instant::now();
    let aggregate = circuits.aggregate_all(proofs).unwrap();
    eprintln!("aggregate: {:?}", started.elapsed());
    let values = circuits.verify(&aggregate).unwrap();
    assert_eq!(values.old_state_root, chain.genesis_root);
    assert_eq!(values.new_state_root, chain.batches[1].new_state_root);
    assert_eq!(values.new_batch_number, 2);
    assert_eq!(values.new_acc_input_hash, previous.new_acc_input_hash);
}
