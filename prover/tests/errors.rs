//! Caller input the prover refuses with an error instead of panicking.

mod common;

use common::*;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use starky::config::StarkConfig;
use zknode_kernels::CpuBackend;
use zknode_prover::{prove, ProverError};

fn run(
    config: &StarkConfig,
    trace: &[PolynomialValues<F>],
    pis: &[F],
) -> Result<Proof, ProverError> {
    prove::<_, C, _, D>(
        &CpuBackend::new(),
        &Fib::<F, D>::new(),
        config,
        trace,
        pis,
        None,
    )
}

#[test]
fn bad_traces_and_inputs() {
    let config = StarkConfig::standard_fast_config();
    let (trace, pis) = Fib::<F, D>::trace(1 << 6, F::ZERO, F::ONE);
    assert!(run(&config, &trace, &pis).is_ok());

    assert!(matches!(
        run(&config, &[], &pis),
        Err(ProverError::InvalidTrace(_))
    ));
    assert!(matches!(
        run(&config, &trace[..1], &pis),
        Err(ProverError::InvalidTrace(_))
    ));
    let mut ragged = trace.clone();
    ragged[1].values.pop();
    assert!(matches!(
        run(&config, &ragged, &pis),
        Err(ProverError::InvalidTrace(_))
    ));
    let odd: Vec<_> = trace
        .iter()
        .map(|c| PolynomialValues {
            values: c.values[..48].to_vec(),
        })
        .collect();
    assert!(matches!(
        run(&config, &odd, &pis),
        Err(ProverError::InvalidTrace(_))
    ));
    assert!(matches!(
        run(&config, &trace, &pis[..2]),
        Err(ProverError::PublicInputs {
            expected: 3,
            actual: 2
        })
    ));

    // A trace that breaks the constraints: starky would panic, we return an error.
    let mut wrong = pis.clone();
    wrong[2] += F::ONE;
    assert!(matches!(
        run(&config, &trace, &wrong),
        Err(ProverError::Unsatisfied(_))
    ));
    let mut broken = trace.clone();
    broken[0].values[10] += F::ONE;
    assert!(matches!(
        run(&config, &broken, &pis),
        Err(ProverError::Unsatisfied(_))
    ));
}

#[test]
fn bad_configs() {
    let (trace, pis) = Fib::<F, D>::trace(1 << 6, F::ZERO, F::ONE);
    for (what, config) in [
        (
            "cap above the tree",
            config(1, 8, FriReductionStrategy::ConstantArityBits(4, 5)),
        ),
        (
            "arity 0",
            config(1, 2, FriReductionStrategy::ConstantArityBits(0, 0)),
        ),
        (
            "arity above the LDE",
            config(1, 0, FriReductionStrategy::ConstantArityBits(9, 0)),
        ),
        (
            "arities too large",
            config(1, 2, FriReductionStrategy::Fixed(vec![3, 3])),
        ),
        (
            "rate 0 for degree 2 constraints is fine, rate 40 is not",
            config(40, 2, FriReductionStrategy::ConstantArityBits(4, 5)),
        ),
    ] {
        assert!(
            matches!(
                run(&config, &trace, &pis),
                Err(ProverError::InvalidConfig(_))
            ),
            "{what} accepted"
        );
    }
    let mut zero = StarkConfig::standard_fast_config();
    zero.num_challenges = 0;
    assert!(matches!(
        run(&zero, &trace, &pis),
        Err(ProverError::InvalidConfig(_))
    ));
    let mut pow = StarkConfig::standard_fast_config();
    pow.fri_config.proof_of_work_bits = 65;
    assert!(matches!(
        run(&pow, &trace, &pis),
        Err(ProverError::InvalidConfig(_))
    ));
    // Verifier-circuit parameters that do not fit.
    let standard = StarkConfig::standard_fast_config();
    let mut params = standard.fri_params(6);
    params.degree_bits = 200;
    params.reduction_arity_bits = vec![4];
    let r = prove::<_, C, _, D>(
        &CpuBackend::new(),
        &Fib::<F, D>::new(),
        &standard,
        &trace,
        &pis,
        Some(params),
    );
    assert!(matches!(r, Err(ProverError::InvalidConfig(_))), "{r:?}");
    let mut params = standard.fri_params(6);
    params.config.num_query_rounds += 1;
    let r = prove::<_, C, _, D>(
        &CpuBackend::new(),
        &Fib::<F, D>::new(),
        &standard,
        &trace,
        &pis,
        Some(params),
    );
    assert!(matches!(r, Err(ProverError::InvalidConfig(_))), "{r:?}");

    // Constraint degree 3 needs a blowup of at least 2 (rate_bits 1); rate 0 is refused.
    let trace = Lookups::<F, D>::trace(1 << 5);
    let r = prove::<_, C, _, D>(
        &CpuBackend::new(),
        &Lookups::<F, D>::new(),
        &config(0, 2, FriReductionStrategy::ConstantArityBits(2, 2)),
        &trace,
        &[],
        None,
    );
    assert!(matches!(r, Err(ProverError::InvalidConfig(_))), "{r:?}");
}

#[test]
fn unsatisfied_lookup_is_an_error() {
    // STARKs with lookups run starky's phases, which panic on a bad trace: the panic becomes an error.
    let mut trace = Lookups::<F, D>::trace(1 << 5);
    trace[2].values[3] += F::ONE;
    let r = prove::<_, C, _, D>(
        &CpuBackend::new(),
        &Lookups::<F, D>::new(),
        &config(1, 2, FriReductionStrategy::ConstantArityBits(2, 2)),
        &trace,
        &[],
        None,
    );
    assert!(matches!(r, Err(ProverError::Unsatisfied(_))), "{r:?}");
}
