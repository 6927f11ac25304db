//! Byte-identity with `starky::prover::prove` with the trace commitment on the wgpu backend (Mesa's
//! lavapipe in CI, a real GPU elsewhere). Without an adapter the test fails when
//! `ZKNODE_REQUIRE_GPU=1` and is skipped with a message otherwise, like the kernels' wgpu suite.

mod common;

use common::*;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use zknode_kernels::wgpu::WgpuBackend;

fn backend() -> Option<WgpuBackend> {
    match WgpuBackend::new() {
        Ok(b) => Some(b),
        Err(e) if std::env::var("ZKNODE_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("ZKNODE_REQUIRE_GPU=1 but the wgpu backend is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipped: wgpu backend unavailable: {e}");
            None
        }
    }
}

#[test]
fn fibonacci_wide_and_lookups_on_wgpu() {
    let Some(backend) = backend() else { return };
    eprintln!("backend: {}", zknode_kernels::Backend::name(&backend));
    for (log_n, rate_bits) in [(4, 1), (7, 2), (10, 3), (12, 1)] {
        let config = config(rate_bits, 4, FriReductionStrategy::ConstantArityBits(4, 5));
        let (trace, pis) = Fib::<F, D>::trace(1 << log_n, F::ZERO, F::ONE);
        assert_identical(
            &backend,
            Fib::new(),
            &config,
            &trace,
            &pis,
            &format!("wgpu fib 2^{log_n} rate {rate_bits}"),
        );
    }
    let config = config(1, 4, FriReductionStrategy::ConstantArityBits(4, 5));
    let (trace, pis) = Wide::<F, D, 130>::trace(1 << 6, F::from_canonical_u64(11));
    assert_identical(
        &backend,
        Wide::<F, D, 130>::new(),
        &config,
        &trace,
        &pis,
        "wgpu wide 2^6",
    );
    for log_n in [4, 9] {
        let config = common::config(2, 2, FriReductionStrategy::ConstantArityBits(3, 1));
        let (trace, pis) = Power::<F, D, 5>::trace(1 << log_n);
        assert_identical(
            &backend,
            Power::<F, D, 5>::new(),
            &config,
            &trace,
            &pis,
            &format!("wgpu x^5 2^{log_n}"),
        );
    }
    let trace = Lookups::<F, D>::trace(1 << 8);
    let config = common::config(2, 3, FriReductionStrategy::ConstantArityBits(3, 3));
    assert_identical(
        &backend,
        Lookups::new(),
        &config,
        &trace,
        &[],
        "wgpu lookups 2^8",
    );
}

#[test]
fn batch_air_on_wgpu() {
    use zknode_prover::batch::{generate_trace, BatchAir};
    let Some(backend) = backend() else { return };
    let chain = zknode_fixtures::load_named("chain").expect("fixture chain");
    let (_, witness) = zknode_fixtures::execute(&chain, 0).expect("replays");
    let batch = &chain.batches[0];
    let values = zknode_executor::BatchPublicValues {
        chain_id: chain.chain_id,
        fork_id: chain.fork_id,
        old_batch_number: 0,
        new_batch_number: 1,
        old_state_root: batch.old_state_root,
        new_state_root: batch.new_state_root,
        ..Default::default()
    };
    let trace = generate_trace(&witness, &values).expect("trace");
    let config = starky::config::StarkConfig::standard_fast_config();
    assert_identical(
        &backend,
        BatchAir,
        &config,
        &trace.columns,
        &trace.public_inputs,
        "wgpu batch AIR, 1 transfer",
    );
}
