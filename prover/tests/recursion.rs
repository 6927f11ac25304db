//! Our proofs verify inside a plonky2 circuit built with starky's recursive verifier, and a tampered
//! public input is rejected there. Byte-identity with starky only implies this; recursion is how the
//! rest of a zkEVM pipeline consumes the proofs, so it is checked end to end.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use anyhow::Result;
use common::*;
use plonky2::field::types::Field;
use plonky2::iop::target::Target;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use starky::proof::StarkProofWithPublicInputsTarget;
use starky::recursive_verifier::{
    add_virtual_stark_proof_with_pis, set_stark_proof_with_pis_target, verify_stark_proof_circuit,
};
use starky::stark::Stark;
use zknode_kernels::CpuBackend;
use zknode_prover::codec;

/// A plonky2 circuit verifying one proof of a STARK.
struct Verifier {
    data: CircuitData<F, C, D>,
    target: StarkProofWithPublicInputsTarget<D>,
    /// starky's setter pads the Merkle caps of proofs smaller than the circuit's degree with it.
    zero: Target,
}

impl Verifier {
    /// The circuit for proofs of `circuit_degree_bits`: the only degree it accepts when
    /// `min_degree_bits` is `None`, else the largest of `min_degree_bits..=circuit_degree_bits`.
    fn new<S: Stark<F, D> + Copy>(
        stark: S,
        config: &StarkConfig,
        circuit_degree_bits: usize,
        min_degree_bits: Option<usize>,
    ) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let zero = builder.zero();
        let target = add_virtual_stark_proof_with_pis(
            &mut builder,
            &stark,
            config,
            circuit_degree_bits,
            0,
            0,
        );
        verify_stark_proof_circuit::<F, C, S, D>(
            &mut builder,
            stark,
            target.clone(),
            config,
            min_degree_bits,
        );
        Self {
            data: builder.build::<C>(),
            target,
            zero,
        }
    }

    /// Proves the circuit on `proof` (of `2^degree_bits` rows) and verifies that proof; `Ok` only if
    /// both succeed.
    fn accept(&self, proof: &Proof, degree_bits: usize) -> Result<()> {
        let mut pw = PartialWitness::new();
        set_stark_proof_with_pis_target(&mut pw, &self.target, proof, degree_bits, self.zero)?;
        let outer = self.data.prove(pw)?;
        self.data.verify(outer)
    }

    /// Changes public input `index` of `proof` (set in the witness as the proof's own) and asserts that
    /// the circuit does not accept it.
    fn assert_rejects_tampered(&self, proof: &Proof, degree_bits: usize, index: usize) {
        let mut tampered = proof.clone();
        tampered.public_inputs[index] += F::ONE;
        // plonky2 reports the inconsistent witness as an error of `prove` (the transcript, hence the
        // challenges and the vanishing check, no longer match the proof); a panic is a rejection too.
        match catch_unwind(AssertUnwindSafe(|| self.accept(&tampered, degree_bits))) {
            Ok(Ok(())) => {
                panic!(
                    "public input {index} tampered, yet the recursive verifier accepted the proof"
                )
            }
            // The reason, for whoever reads the test log.
            Ok(Err(e)) => eprintln!("tampered public input {index} rejected: {e:#}"),
            Err(_) => eprintln!("tampered public input {index} rejected (plonky2 panicked)"),
        }
    }
}

/// The fixed-degree circuit, as in starky's own recursion test: the proof is made without
/// verifier-circuit FRI parameters and the circuit is built for its exact degree.
#[test]
fn fibonacci_proof_verifies_in_circuit() -> Result<()> {
    let config = StarkConfig::standard_fast_config();
    let degree_bits = 6;
    let stark = Fib::<F, D>::new();
    let (trace, pis) = Fib::<F, D>::trace(1 << degree_bits, F::ZERO, F::ONE);
    let proof = zknode_prover::prove::<_, C, _, D>(
        &CpuBackend::new(),
        &stark,
        &config,
        &trace,
        &pis,
        None,
    )?;
    assert_eq!(proof.proof.recover_degree_bits(&config), degree_bits);

    let verifier = Verifier::new(stark, &config, degree_bits, None);
    verifier.accept(&proof, degree_bits)?;
    verifier.assert_rejects_tampered(&proof, degree_bits, 2);
    Ok(())
}

/// One circuit for several degrees: the proofs must then be made with the circuit's FRI parameters
/// (`verifier_circuit_fri_params`), which fix the final-polynomial length and the number of FRI
/// query steps to the circuit's. The public-input AIR with 130 columns.
#[test]
fn wide_proofs_of_several_degrees_verify_in_one_circuit() -> Result<()> {
    let mut config = StarkConfig::standard_fast_config();
    // Few queries keep the circuit (and the test) small; soundness is not what is tested here.
    config.fri_config.num_query_rounds = 2;
    // As in starky's test: with `ConstantArityBits(4, 5)` a circuit degree of 30 (or 26, 22, 18)
    // has the longest final polynomial, so every smaller degree fits into it.
    let circuit_degree_bits = 18;
    let min_degree_bits = 6;
    let fri_params = config.fri_params(circuit_degree_bits);
    let stark = Wide::<F, D, 130>::new();
    let backend = CpuBackend::new();
    let verifier = Verifier::new(stark, &config, circuit_degree_bits, Some(min_degree_bits));

    for degree_bits in [6, 8] {
        let (trace, pis) = Wide::<F, D, 130>::trace(1 << degree_bits, F::from_canonical_u64(11));
        let proof = zknode_prover::prove::<_, C, _, D>(
            &backend,
            &stark,
            &config,
            &trace,
            &pis,
            Some(fri_params.clone()),
        )?;
        // With the circuit's FRI parameters too, the proof is starky's to the byte.
        let reference = single_threaded(|| {
            starky::prover::prove::<F, C, _, D>(
                stark,
                &config,
                trace.clone(),
                &pis,
                Some(fri_params.clone()),
                &mut TimingTree::default(),
            )
        })?;
        assert!(codec::encode(&proof) == codec::encode(&reference));
        starky::verifier::verify_stark_proof(
            stark,
            proof.clone(),
            &config,
            Some(fri_params.clone()),
        )?;
        verifier.accept(&proof, degree_bits)?;
        verifier.assert_rejects_tampered(&proof, degree_bits, 0);
    }
    Ok(())
}
