//! `prove`: starky 1.1's `prove`, with the trace commitment on a [`Backend`].
//!
//! The transcript is starky's to the element: public inputs, then the [`StarkConfig`], then the trace
//! cap, then everything `starky::prover::prove_with_commitment` does. Because the commitment we build
//! is equal field by field to `PolynomialBatch::from_values`, the proof is byte-identical to
//! `starky::prover::prove` (with starky's proof-of-work search run single-threaded, which makes it
//! return the smallest witness; with more threads starky's own witness varies between runs).

use std::panic::{catch_unwind, AssertUnwindSafe};

use plonky2::field::extension::Extendable;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::fri::prover::final_poly_coeff_len;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::fri::FriParams;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::challenger::Challenger;
use plonky2::plonk::config::GenericConfig;
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use starky::proof::StarkProofWithPublicInputs;
use starky::stark::Stark;
use zknode_kernels::{Backend, Goldilocks};

use crate::commit::{check_columns, commit_values};
use crate::error::{ProverError, Result};
use crate::phases::{prove_phases, PhaseInputs};

/// Proves `stark` on `trace` (column-major, `S::COLUMNS` columns of `2^k` rows) on `backend`. Same
/// arguments and same output, byte for byte, as `starky::prover::prove`, except that every input
/// starky would `assert!` on is reported as a [`ProverError`].
///
/// For STARKs without lookups or cross-table lookups every phase after the trace commitment is this
/// crate's own (quotient and FRI commitments on the backend); with lookups, starky's
/// `prove_with_commitment` runs them (its lookup helpers are crate-private).
///
/// `verifier_circuit_fri_params`: as in starky, the FRI parameters of a recursive verifier circuit the
/// proof must fit (its final-polynomial length and number of query steps); `None` otherwise.
pub fn prove<B, C, S, const D: usize>(
    backend: &B,
    stark: &S,
    config: &StarkConfig,
    trace: &[PolynomialValues<Goldilocks>],
    public_inputs: &[Goldilocks],
    verifier_circuit_fri_params: Option<FriParams>,
) -> Result<StarkProofWithPublicInputs<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
    S: Stark<Goldilocks, D>,
{
    let own_phases = !stark.uses_lookups() && !stark.requires_ctls();
    prove_inner(
        backend,
        stark,
        config,
        trace,
        public_inputs,
        verifier_circuit_fri_params,
        own_phases,
    )
}

/// Like [`prove`], but only the trace commitment runs on the backend: everything after it is starky's
/// `prove_with_commitment`. The reference path the full pipeline is checked against.
pub fn prove_with_starky_phases<B, C, S, const D: usize>(
    backend: &B,
    stark: &S,
    config: &StarkConfig,
    trace: &[PolynomialValues<Goldilocks>],
    public_inputs: &[Goldilocks],
    verifier_circuit_fri_params: Option<FriParams>,
) -> Result<StarkProofWithPublicInputs<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
    S: Stark<Goldilocks, D>,
{
    prove_inner(
        backend,
        stark,
        config,
        trace,
        public_inputs,
        verifier_circuit_fri_params,
        false,
    )
}

fn prove_inner<B, C, S, const D: usize>(
    backend: &B,
    stark: &S,
    config: &StarkConfig,
    trace: &[PolynomialValues<Goldilocks>],
    public_inputs: &[Goldilocks],
    verifier_circuit_fri_params: Option<FriParams>,
    own_phases: bool,
) -> Result<StarkProofWithPublicInputs<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
    S: Stark<Goldilocks, D>,
{
    let _span = tracing::info_span!("prove", backend = %backend.name()).entered();

    let degree_bits = check_columns(trace)?;
    if trace.len() != S::COLUMNS {
        return Err(ProverError::InvalidTrace(format!(
            "{} columns, the STARK has {}",
            trace.len(),
            S::COLUMNS
        )));
    }
    if public_inputs.len() != S::PUBLIC_INPUTS {
        return Err(ProverError::PublicInputs {
            expected: S::PUBLIC_INPUTS,
            actual: public_inputs.len(),
        });
    }
    let (final_poly_coeff_len, max_num_query_steps) =
        check_config(stark, config, degree_bits, verifier_circuit_fri_params)?;

    let rate_bits = config.fri_config.rate_bits;
    let cap_height = config.fri_config.cap_height;
    let trace_commitment = commit_values::<B, C, D>(backend, trace, rate_bits, cap_height)?;

    // starky's transcript prefix (`prove` does this before `prove_with_commitment`, which assumes it).
    let mut challenger = Challenger::<Goldilocks, PoseidonHash>::new();
    challenger.observe_elements(public_inputs);
    config.observe(&mut challenger);
    challenger.observe_cap(&trace_commitment.merkle_tree.cap);

    if own_phases {
        let fri_params = config.fri_params(degree_bits);
        let inputs = PhaseInputs {
            config,
            fri_params: &fri_params,
            public_inputs,
            trace_values: trace,
            degree_bits,
            final_poly_coeff_len,
            max_num_query_steps,
        };
        return prove_phases(backend, stark, &trace_commitment, &mut challenger, &inputs);
    }

    // Lookups: starky's own phases (quotient, openings, FRI, proof of work, queries) under one span.
    let _phases = tracing::info_span!("starky_phases").entered();
    let mut timing = TimingTree::default();
    // starky panics rather than erroring when the trace does not satisfy the constraints (the quotient
    // is not divisible by Z_H; with debug assertions, its constraint check). That is caller input, so
    // the panic is turned into an error here instead of unwinding through the caller.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        starky::prover::prove_with_commitment(
            stark,
            config,
            trace,
            &trace_commitment,
            None,
            None,
            &mut challenger,
            public_inputs,
            final_poly_coeff_len,
            max_num_query_steps,
            &mut timing,
        )
    }));
    match outcome {
        Ok(Ok(proof)) => Ok(proof),
        Ok(Err(e)) => Err(ProverError::Starky(format!("{e:#}"))),
        Err(panic) => Err(ProverError::Unsatisfied(panic_message(panic.as_ref()))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "starky panicked".to_owned()
    }
}

/// The checks starky's `prove` makes with `assert!` (and a few it would loop or overflow on), as
/// errors; returns `(final_poly_coeff_len, max_num_query_steps)` exactly as `prove` derives them.
fn check_config<S, const D: usize>(
    stark: &S,
    config: &StarkConfig,
    degree_bits: usize,
    verifier_circuit_fri_params: Option<FriParams>,
) -> Result<(Option<usize>, Option<usize>)>
where
    Goldilocks: Extendable<D>,
    S: Stark<Goldilocks, D>,
{
    let fri = &config.fri_config;
    if config.num_challenges == 0 {
        return Err(ProverError::InvalidConfig("num_challenges is 0".into()));
    }
    // A response has 64 bits; more leading zeros than that can never be found.
    if fri.proof_of_work_bits > 64 {
        return Err(ProverError::InvalidConfig(format!(
            "{} proof-of-work bits (at most 64)",
            fri.proof_of_work_bits
        )));
    }
    let lde_bits = degree_bits
        .checked_add(fri.rate_bits)
        .filter(|&b| b <= 32)
        .ok_or_else(|| {
            ProverError::InvalidConfig(format!(
                "LDE of 2^{degree_bits} rows at rate_bits {} exceeds Goldilocks' 2^32 subgroup",
                fri.rate_bits
            ))
        })?;
    if fri.cap_height > lde_bits {
        return Err(ProverError::InvalidConfig(format!(
            "cap height {} above the LDE tree height {lde_bits}",
            fri.cap_height
        )));
    }
    if let FriReductionStrategy::ConstantArityBits(arity_bits, _) = fri.reduction_strategy {
        // plonky2 loops forever on arity 0 and subtracts past zero when an arity exceeds the LDE.
        if arity_bits == 0 || arity_bits > lde_bits {
            return Err(ProverError::InvalidConfig(format!(
                "FRI arity 2^{arity_bits} for an LDE of 2^{lde_bits}"
            )));
        }
    }
    let fri_params = config.fri_params(degree_bits);
    if fri_params.total_arities() > lde_bits - fri.cap_height {
        return Err(ProverError::InvalidConfig(
            "FRI total reduction arity is too large".into(),
        ));
    }
    let constraint_degree = stark.constraint_degree();
    if constraint_degree > (1usize << fri.rate_bits) + 1 {
        return Err(ProverError::InvalidConfig(format!(
            "constraint degree {constraint_degree} above blowup factor + 1 = {}",
            (1usize << fri.rate_bits) + 1
        )));
    }

    let Some(verifier) = verifier_circuit_fri_params else {
        return Ok((None, None));
    };
    if verifier.config != fri_params.config {
        return Err(ProverError::InvalidConfig(
            "the verifier circuit's FRI config differs from the STARK config's".into(),
        ));
    }
    let FriReductionStrategy::ConstantArityBits(_, final_poly_bits) = fri.reduction_strategy else {
        return Err(ProverError::InvalidConfig(
            "verifier circuit parameters need the ConstantArityBits reduction strategy".into(),
        ));
    };
    let total: usize = verifier.reduction_arity_bits.iter().sum();
    // plonky2's `final_poly_coeff_len` computes `1 << (degree_bits - total)` unchecked.
    if total > verifier.degree_bits || verifier.degree_bits - total >= 64 {
        return Err(ProverError::InvalidConfig(
            "the verifier circuit's FRI arities do not fit its degree".into(),
        ));
    }
    let len = final_poly_coeff_len(verifier.degree_bits, &verifier.reduction_arity_bits);
    if Some(len) != 1usize.checked_shl(1 + final_poly_bits as u32) {
        return Err(ProverError::InvalidConfig(format!(
            "the verifier circuit's final polynomial has {len} coefficients, expected 2^{}",
            1 + final_poly_bits
        )));
    }
    Ok((Some(len), Some(verifier.reduction_arity_bits.len())))
}
