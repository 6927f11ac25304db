//! Byte-identity with `starky::prover::prove` on the CPU backend, and acceptance by starky's verifier.

mod common;

use common::*;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use starky::config::StarkConfig;
use zknode_kernels::CpuBackend;

#[test]
fn fibonacci_degrees_and_rates() {
    let backend = CpuBackend::new();
    for log_n in 4..=12 {
        for rate_bits in 1..=3 {
            let config = config(rate_bits, 4, FriReductionStrategy::ConstantArityBits(4, 5));
            let (trace, pis) = Fib::<F, D>::trace(1 << log_n, F::ZERO, F::ONE);
            assert_identical(
                &backend,
                Fib::new(),
                &config,
                &trace,
                &pis,
                &format!("fib 2^{log_n} rate {rate_bits}"),
            );
        }
    }
}

/// The top size: 2^16 rows at every rate (the largest this suite proves; CI has 2 cores).
#[test]
fn fibonacci_two_to_the_sixteen() {
    let backend = CpuBackend::new();
    for rate_bits in 1..=3 {
        let config = config(rate_bits, 4, FriReductionStrategy::ConstantArityBits(4, 5));
        let (trace, pis) = Fib::<F, D>::trace(1 << 16, F::ZERO, F::ONE);
        assert_identical(
            &backend,
            Fib::new(),
            &config,
            &trace,
            &pis,
            &format!("fib 2^16 rate {rate_bits}"),
        );
    }
}

#[test]
fn fibonacci_config_variations() {
    let backend = CpuBackend::new();
    let (trace, pis) =
        Fib::<F, D>::trace(1 << 10, F::from_canonical_u64(5), F::from_canonical_u64(8));
    let standard = StarkConfig::standard_fast_config();
    assert_identical(
        &backend,
        Fib::new(),
        &standard,
        &trace,
        &pis,
        "standard_fast_config",
    );
    for (cap_height, strategy) in [
        (0, FriReductionStrategy::ConstantArityBits(4, 5)),
        (2, FriReductionStrategy::ConstantArityBits(2, 3)),
        (3, FriReductionStrategy::ConstantArityBits(3, 0)),
        (1, FriReductionStrategy::Fixed(vec![1, 2, 3])),
        (4, FriReductionStrategy::MinSize(Some(3))),
    ] {
        let config = config(1, cap_height, strategy.clone());
        assert_identical(
            &backend,
            Fib::new(),
            &config,
            &trace,
            &pis,
            &format!("cap {cap_height}, {strategy:?}"),
        );
    }
    let mut no_pow = standard.clone();
    no_pow.fri_config.proof_of_work_bits = 0;
    assert_identical(
        &backend,
        Fib::new(),
        &no_pow,
        &trace,
        &pis,
        "no proof of work",
    );
    let mut few = standard;
    few.fri_config.num_query_rounds = 3;
    few.num_challenges = 1;
    assert_identical(
        &backend,
        Fib::new(),
        &few,
        &trace,
        &pis,
        "3 queries, 1 challenge",
    );
}

#[test]
fn wide_air_with_public_input() {
    let backend = CpuBackend::new();
    for (log_n, rate_bits) in [(5, 1), (8, 2)] {
        let config = config(rate_bits, 4, FriReductionStrategy::ConstantArityBits(4, 5));
        let (trace, pis) = Wide::<F, D, 130>::trace(1 << log_n, F::from_canonical_u64(11));
        assert_identical(
            &backend,
            Wide::<F, D, 130>::new(),
            &config,
            &trace,
            &pis,
            &format!("wide 2^{log_n}"),
        );
    }
}

#[test]
fn lookup_air() {
    let backend = CpuBackend::new();
    for log_n in [4, 9] {
        let trace = Lookups::<F, D>::trace(1 << log_n);
        let proof = assert_identical(
            &backend,
            Lookups::new(),
            &config(2, 3, FriReductionStrategy::ConstantArityBits(3, 3)),
            &trace,
            &[],
            &format!("lookups 2^{log_n}"),
        );
        assert!(
            proof.proof.auxiliary_polys_cap.is_some(),
            "lookups commit auxiliary columns"
        );
    }
}

#[test]
fn higher_degree_constraints() {
    // Quotient degree factors 2, 3 (not a power of two) and 4: several quotient chunks per challenge
    // and a quotient coset larger than the trace.
    let backend = CpuBackend::new();
    for log_n in [4, 8] {
        for rate_bits in [1, 2] {
            let config = config(rate_bits, 2, FriReductionStrategy::ConstantArityBits(2, 2));
            let (trace, pis) = Power::<F, D, 3>::trace(1 << log_n);
            assert_identical(
                &backend,
                Power::<F, D, 3>::new(),
                &config,
                &trace,
                &pis,
                &format!("x^3 2^{log_n} rate {rate_bits}"),
            );
        }
        let config = config(2, 2, FriReductionStrategy::ConstantArityBits(3, 1));
        let (trace, pis) = Power::<F, D, 4>::trace(1 << log_n);
        assert_identical(
            &backend,
            Power::<F, D, 4>::new(),
            &config,
            &trace,
            &pis,
            &format!("x^4 2^{log_n}"),
        );
        let (trace, pis) = Power::<F, D, 5>::trace(1 << log_n);
        assert_identical(
            &backend,
            Power::<F, D, 5>::new(),
            &config,
            &trace,
            &pis,
            &format!("x^5 2^{log_n}"),
        );
    }
}

#[test]
fn verifier_circuit_fri_params() {
    // A recursive verifier sized for 2^14 rows: our 2^10-row proof pads its FRI transcript (one
    // dummy step, a final polynomial of 64 coefficients) exactly as starky's does.
    let backend = CpuBackend::new();
    let config = StarkConfig::standard_fast_config();
    let mut params = config.fri_params(10);
    params.degree_bits = 14;
    params.reduction_arity_bits = vec![4, 4];
    let (trace, pis) = Fib::<F, D>::trace(1 << 10, F::ZERO, F::ONE);
    let stark = Fib::<F, D>::new();
    let (ours, reference) = single_threaded(|| {
        let ours = zknode_prover::prove::<_, C, _, D>(
            &backend,
            &stark,
            &config,
            &trace,
            &pis,
            Some(params.clone()),
        )
        .expect("our prover");
        let reference = starky::prover::prove::<F, C, _, D>(
            stark,
            &config,
            trace.clone(),
            &pis,
            Some(params.clone()),
            &mut plonky2::util::timing::TimingTree::default(),
        )
        .expect("starky");
        (ours, reference)
    });
    assert!(zknode_prover::codec::encode(&ours) == zknode_prover::codec::encode(&reference));
    starky::verifier::verify_stark_proof(stark, ours, &config, Some(params)).expect("verifies");
}

#[test]
fn many_threads_give_the_same_proof() {
    // Our proof-of-work search returns the smallest witness on any number of threads, so our proofs
    // need no single-threaded pool (starky's do: its `find_any` varies between runs).
    let backend = CpuBackend::new();
    let config = StarkConfig::standard_fast_config();
    let (trace, pis) = Fib::<F, D>::trace(1 << 11, F::ZERO, F::ONE);
    let reference = assert_identical(&backend, Fib::new(), &config, &trace, &pis, "one thread");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .expect("pool");
    for _ in 0..3 {
        let ours = pool
            .install(|| {
                zknode_prover::prove::<_, C, _, D>(
                    &backend,
                    &Fib::<F, D>::new(),
                    &config,
                    &trace,
                    &pis,
                    None,
                )
            })
            .expect("proves");
        assert!(zknode_prover::codec::encode(&ours) == zknode_prover::codec::encode(&reference));
    }
}
