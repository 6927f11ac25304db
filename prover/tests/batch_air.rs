//! The batch AIR on the checked-in fixture chain: traces from real executor witnesses satisfy every
//! constraint, and their proofs on the CPU backend are byte-identical to starky's (which verifies
//! them).

mod common;

use common::*;
use starky::config::StarkConfig;
use zknode_executor::BatchPublicValues;
use zknode_kernels::CpuBackend;
use zknode_prover::batch::{first_unsatisfied, generate_trace, BatchAir, BatchTrace};

/// The traces of the fixture chain's first `count` batches.
fn fixture_traces(count: usize) -> Vec<BatchTrace> {
    let chain = zknode_fixtures::load_named("chain").expect("fixture chain");
    let witnesses: Vec<_> = zknode_fixtures::execute_all(&chain)
        .expect("replays")
        .into_iter()
        .take(count)
        .map(|(_, witness)| witness)
        .collect();
    witnesses
        .iter()
        .zip(&chain.batches)
        .map(|(witness, batch)| {
            let values = BatchPublicValues {
                chain_id: chain.chain_id,
                fork_id: chain.fork_id,
                old_batch_number: batch.batch_number - 1,
                new_batch_number: batch.batch_number,
                old_state_root: batch.old_state_root,
                new_state_root: batch.new_state_root,
                ..Default::default()
            };
            generate_trace(witness, &values).expect("trace")
        })
        .collect()
}

#[test]
fn fixture_batches_satisfy_the_air_and_prove_identically_to_starky() {
    let config = StarkConfig::standard_fast_config();
    let backend = CpuBackend::new();
    for trace in fixture_traces(2) {
        if let Some((row, failures)) = first_unsatisfied(&trace) {
            panic!("row {row} fails {failures:?}");
        }
        let case = format!(
            "{} transfers, 2^{} rows",
            trace.transfers.len(),
            trace.degree_bits()
        );
        eprintln!(
            "{case}: {} writes, {} rows used",
            trace.writes, trace.rows_used
        );
        let proof = assert_identical(
            &backend,
            BatchAir,
            &config,
            &trace.columns,
            &trace.public_inputs,
            &case,
        );
        starky::verifier::verify_stark_proof(BatchAir, proof, &config, None).expect("verifies");
    }
}
