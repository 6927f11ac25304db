//! The 2→1 aggregation circuit: verifies two proofs of its own common shape and chains their public
//! values, under ONE verifier key for any tree.
//!
//! Each child is either a batch wrap proof (verified with the wrap circuit's key, a constant) or an
//! aggregation proof (verified with this circuit's own key, which is a public input: plonky2's
//! cyclic recursion). For an aggregation child the child's verifier-data public inputs must equal
//! ours, so every level of the tree is bound to the same key, which the verifier checks against the
//! real one at the top. The right child may be absent (an odd leftover): the prover then repeats the
//! left proof there and the circuit ignores it, except that chain and fork ids must still match.
//!
//! Enforced in-circuit (not merely checked outside): same chain id and fork id; when the right child
//! is present, `left.new == right.old` for the batch number, the state root and the accumulated input
//! hash. Outputs: the left child's old values and the right child's (or, when absent, the left's)
//! new values and local exit root.

use plonky2::iop::target::BoolTarget;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use zknode_executor::public_values::layout;
use zknode_executor::BatchPublicValues;

use super::batch::pad_to_shape;
use super::{prove_circuit, proving_error, verifier_data_target_from_public_inputs};
use crate::{AggregatorParams, Result, C, D, F};

/// One child of an aggregation step, as the prover supplies it.
#[derive(Clone, Copy, Debug)]
pub struct Child<'a> {
    pub proof: &'a ProofWithPublicInputs<F, C, D>,
    /// Whether `proof` is an aggregation proof (else a batch wrap proof).
    pub is_aggregate: bool,
}

#[derive(Debug)]
struct Inputs {
    left: ProofWithPublicInputsTarget<D>,
    right: ProofWithPublicInputsTarget<D>,
    left_is_aggregate: BoolTarget,
    right_is_aggregate: BoolTarget,
    right_present: BoolTarget,
}

/// The aggregation circuit.
#[derive(Debug)]
pub struct AggregationCircuit {
    pub data: CircuitData<F, C, D>,
    inputs: Inputs,
    own_verifier_data: VerifierCircuitTarget,
}

impl AggregationCircuit {
    fn allocate(builder: &mut CircuitBuilder<F, D>, shape: &CommonCircuitData<F, D>) -> Inputs {
        Inputs {
            left: builder.add_virtual_proof_with_pis(shape),
            right: builder.add_virtual_proof_with_pis(shape),
            left_is_aggregate: builder.add_virtual_bool_target_safe(),
            right_is_aggregate: builder.add_virtual_bool_target_safe(),
            right_present: builder.add_virtual_bool_target_safe(),
        }
    }

    /// The circuit whose children have common data `shape`; with `pad`, padded to `shape` (the
    /// caller checks that the result has exactly that shape, which makes the recursion cyclic).
    pub fn build(
        shape: &CommonCircuitData<F, D>,
        batch_wrap_key: &VerifierOnlyCircuitData<C, D>,
        params: &AggregatorParams,
        pad: bool,
    ) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let inputs = Self::allocate(&mut builder, shape);
        let n = BatchPublicValues::NUM_ELEMENTS;
        let left = inputs.left.public_inputs[..n].to_vec();
        let right = inputs.right.public_inputs[..n].to_vec();
        let present = inputs.right_present;

        for i in layout::CHAIN_ID.chain(layout::FORK_ID) {
            builder.connect(left[i], right[i]);
        }
        for (new, old) in [
            (layout::NEW_BATCH_NUMBER, layout::OLD_BATCH_NUMBER),
            (layout::NEW_STATE_ROOT, layout::OLD_STATE_ROOT),
            (layout::NEW_ACC_INPUT_HASH, layout::OLD_ACC_INPUT_HASH),
        ] {
            for (l, r) in new.zip(old) {
                builder.conditional_assert_eq(present.target, left[l], right[r]);
            }
        }
        let mut outputs = left.clone();
        for range in [
            layout::NEW_BATCH_NUMBER,
            layout::NEW_STATE_ROOT,
            layout::NEW_ACC_INPUT_HASH,
            layout::LOCAL_EXIT_ROOT,
        ] {
            for i in range {
                outputs[i] = builder.select(present, right[i], left[i]);
            }
        }
        builder.register_public_inputs(&outputs);

        // Our own key as public inputs (last, as plonky2's cyclic recursion lays them out).
        let own_verifier_data = builder.add_verifier_data_public_inputs();
        let batch_wrap = builder.constant_verifier_data(batch_wrap_key);
        for (child, is_aggregate) in [
            (&inputs.left, inputs.left_is_aggregate),
            (&inputs.right, inputs.right_is_aggregate),
        ] {
            let key = builder.select_verifier_data(is_aggregate, &own_verifier_data, &batch_wrap);
            builder.verify_proof::<C>(child, &key, shape);
            let child_key = verifier_data_target_from_public_inputs(&child.public_inputs, shape)?;
            let child_elements = child_key.circuit_digest.elements.iter().chain(
                child_key
                    .constants_sigmas_cap
                    .0
                    .iter()
                    .flat_map(|h| &h.elements),
            );
            let own_elements = own_verifier_data.circuit_digest.elements.iter().chain(
                own_verifier_data
                    .constants_sigmas_cap
                    .0
                    .iter()
                    .flat_map(|h| &h.elements),
            );
            for (&c, &o) in child_elements.zip(own_elements) {
                builder.conditional_assert_eq(is_aggregate.target, c, o);
            }
        }
        if pad {
            pad_to_shape(&mut builder, shape);
        } else {
            for gate in &shape.gates {
                builder.add_gate_to_gate_set(gate.clone());
            }
        }
        Ok(Self {
            data: builder.build::<C>(),
            inputs,
            own_verifier_data,
        })
    }

    pub fn from_data(data: CircuitData<F, C, D>, params: &AggregatorParams) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(params.circuit_config.clone());
        let inputs = Self::allocate(&mut builder, &data.common);
        let own_verifier_data =
            verifier_data_target_from_public_inputs(&data.prover_only.public_inputs, &data.common)?;
        Ok(Self {
            data,
            inputs,
            own_verifier_data,
        })
    }

    /// Proves one step; `right: None` carries `left` up alone. No checks beyond the circuit's own:
    /// an inconsistent pair gives an error or a proof that does not verify.
    pub fn prove(
        &self,
        left: Child<'_>,
        right: Option<Child<'_>>,
    ) -> Result<ProofWithPublicInputs<F, C, D>> {
        let (right_child, present) = match right {
            Some(child) => (child, true),
            None => (left, false),
        };
        let error = proving_error("aggregation");
        let mut witness = PartialWitness::new();
        witness
            .set_proof_with_pis_target(&self.inputs.left, left.proof)
            .map_err(error)?;
        witness
            .set_proof_with_pis_target(&self.inputs.right, right_child.proof)
            .map_err(error)?;
        witness
            .set_bool_target(self.inputs.left_is_aggregate, left.is_aggregate)
            .map_err(error)?;
        witness
            .set_bool_target(self.inputs.right_is_aggregate, right_child.is_aggregate)
            .map_err(error)?;
        witness
            .set_bool_target(self.inputs.right_present, present)
            .map_err(error)?;
        witness
            .set_verifier_data_target(&self.own_verifier_data, &self.data.verifier_only)
            .map_err(error)?;
        prove_circuit("aggregation", &self.data, witness)
    }
}
