//! The batch side: a circuit that verifies one batch STARK proof with starky's recursive verifier
//! ([`BatchStarkCircuit`]), and the wrap circuit that re-proves it in the aggregation circuit's shape
//! ([`BatchWrapCircuit`]).
//!
//! Why two circuits: the STARK verifier's size and gates follow the STARK (its degree range, FRI
//! parameters, constraint degree), while the aggregation circuit can only verify proofs of one common
//! shape. The wrap circuit verifies a plonky2 proof, as the aggregation circuit does, so it uses the
//! same gates and is padded to the same degree and public-input count.

use plonky2::field::types::Field;
use plonky2::gates::noop::NoopGate;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::{PoseidonHash, PoseidonPermutation};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitData, CommonCircuitData, VerifierCircuitTarget};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use starky::proof::{StarkProofWithPublicInputs, StarkProofWithPublicInputsTarget};
use starky::recursive_verifier::{
    add_virtual_stark_proof_with_pis, set_stark_proof_with_pis_target, verify_stark_proof_circuit,
};
use zknode_executor::public_values::layout;
use zknode_executor::BatchPublicValues;

use super::{prove_circuit, proving_error, verifier_data_target_from_public_inputs};
use crate::{AggregatorParams, BatchStark, Result, C, D, F};

/// Verifies one batch STARK proof of any degree in the configured range; public inputs: the 40
/// batch public values, their 32-bit limbs range-checked.
#[derive(Debug)]
pub struct BatchStarkCircuit {
    pub data: CircuitData<F, C, D>,
    target: StarkProofWithPublicInputsTarget<D>,
    /// starky's witness setter pads the caps of proofs smaller than the circuit's degree with it.
    zero: Target,
}

impl BatchStarkCircuit {
    /// The witness inputs, allocated first so that a fresh builder re-creates the same targets for a
    /// circuit loaded from the cache.
    fn allocate<S: BatchStark>(
        builder: &mut CircuitBuilder<F, D>,
        stark: &S,
        params: &AggregatorParams,
    ) -> (StarkProofWithPublicInputsTarget<D>, Target) {
        let target = add_virtual_stark_proof_with_pis(
            builder,
            stark,
            &params.stark_config,
            *params.stark_degree_bits.end(),
            0,
            0,
        );
        let zero = builder.zero();
        (target, zero)
    }

    pub fn build<S: BatchStark>(stark: S, params: &AggregatorParams) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let (target, zero) = Self::allocate(&mut builder, &stark, params);
        verify_stark_proof_circuit::<F, C, S, D>(
            &mut builder,
            stark,
            target.clone(),
            &params.stark_config,
            Some(*params.stark_degree_bits.start()),
        );
        let values = &target.public_inputs[..BatchPublicValues::NUM_ELEMENTS];
        for range in layout::LIMB_RANGES {
            for &limb in &values[range] {
                builder.range_check(limb, 32);
            }
        }
        if let Some(start) = S::TRANSFER_COMMITMENT {
            // new_acc_input_hash = Poseidon(old_acc_input_hash words ‖ transfer commitment), as a
            // bytes32 of elements 3..0 (see pipeline::stand_in_acc_input_hash).
            let pis = &target.public_inputs;
            let inputs: Vec<Target> = pis[layout::OLD_ACC_INPUT_HASH]
                .iter()
                .chain(&pis[start..start + 4])
                .copied()
                .collect();
            let permuted = builder.permute::<PoseidonHash>(PoseidonPermutation::new(inputs));
            let out = permuted.squeeze();
            let new_words = &pis[layout::NEW_ACC_INPUT_HASH];
            for (k, &element) in out.iter().take(4).enumerate() {
                let high = new_words[2 * (3 - k)];
                let low = new_words[2 * (3 - k) + 1];
                let composed = builder.mul_const_add(F::from_canonical_u64(1 << 32), high, low);
                builder.connect(composed, element);
            }
        }
        builder.register_public_inputs(values);
        Self {
            data: builder.build::<C>(),
            target,
            zero,
        }
    }

    /// The circuit around already-built (cached) data.
    pub fn from_data<S: BatchStark>(
        data: CircuitData<F, C, D>,
        stark: &S,
        params: &AggregatorParams,
    ) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let (target, zero) = Self::allocate(&mut builder, stark, params);
        Self { data, target, zero }
    }

    pub fn prove(
        &self,
        proof: &StarkProofWithPublicInputs<F, C, D>,
        degree_bits: usize,
    ) -> Result<ProofWithPublicInputs<F, C, D>> {
        let mut witness = PartialWitness::new();
        set_stark_proof_with_pis_target(&mut witness, &self.target, proof, degree_bits, self.zero)
            .map_err(proving_error("batch STARK verifier"))?;
        prove_circuit("batch STARK verifier", &self.data, witness)
    }
}

/// Verifies a [`BatchStarkCircuit`] proof and exposes its public values, in the aggregation
/// circuit's common shape. It registers its own verifier data as public inputs (unused by anyone)
/// only so its public inputs line up with the aggregation circuit's.
#[derive(Debug)]
pub struct BatchWrapCircuit {
    pub data: CircuitData<F, C, D>,
    inner: ProofWithPublicInputsTarget<D>,
    own_verifier_data: VerifierCircuitTarget,
}

impl BatchWrapCircuit {
    fn allocate(
        builder: &mut CircuitBuilder<F, D>,
        inner_common: &CommonCircuitData<F, D>,
    ) -> ProofWithPublicInputsTarget<D> {
        builder.add_virtual_proof_with_pis(inner_common)
    }

    /// The wrap circuit; with `shape`, padded to that common data (same gates, degree at least as
    /// large; the caller checks equality).
    pub fn build(
        inner: &BatchStarkCircuit,
        params: &AggregatorParams,
        shape: Option<&CommonCircuitData<F, D>>,
    ) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let proof = Self::allocate(&mut builder, &inner.data.common);
        let inner_verifier = builder.constant_verifier_data(&inner.data.verifier_only);
        builder.verify_proof::<C>(&proof, &inner_verifier, &inner.data.common);
        builder.register_public_inputs(&proof.public_inputs[..BatchPublicValues::NUM_ELEMENTS]);
        let own_verifier_data = builder.add_verifier_data_public_inputs();
        if let Some(shape) = shape {
            pad_to_shape(&mut builder, shape);
        }
        Self {
            data: builder.build::<C>(),
            inner: proof,
            own_verifier_data,
        }
    }

    pub fn from_data(
        data: CircuitData<F, C, D>,
        inner: &BatchStarkCircuit,
        params: &AggregatorParams,
    ) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let proof = Self::allocate(&mut builder, &inner.data.common);
        let own_verifier_data =
            verifier_data_target_from_public_inputs(&data.prover_only.public_inputs, &data.common)?;
        Ok(Self {
            data,
            inner: proof,
            own_verifier_data,
        })
    }

    pub fn prove(
        &self,
        inner_proof: &ProofWithPublicInputs<F, C, D>,
    ) -> Result<ProofWithPublicInputs<F, C, D>> {
        let mut witness = PartialWitness::new();
        witness
            .set_proof_with_pis_target(&self.inner, inner_proof)
            .map_err(proving_error("batch wrap"))?;
        witness
            .set_verifier_data_target(&self.own_verifier_data, &self.data.verifier_only)
            .map_err(proving_error("batch wrap"))?;
        prove_circuit("batch wrap", &self.data, witness)
    }
}

/// Adds every gate of `shape` (so the gate sets, hence selectors and constants, match) and no-op
/// rows until the circuit's degree reaches `shape`'s. `build` adds a few rows of its own (public
/// input hashing, constants) and rounds up to a power of two, so padding stops just above half.
pub(crate) fn pad_to_shape(builder: &mut CircuitBuilder<F, D>, shape: &CommonCircuitData<F, D>) {
    for gate in &shape.gates {
        builder.add_gate_to_gate_set(gate.clone());
    }
    let half = 1usize << (shape.degree_bits() - 1);
    while builder.num_gates() <= half {
        builder.add_gate(NoopGate, vec![]);
    }
}
