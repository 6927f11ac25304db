//! `ChainStark`: a stand-in batch STARK until the batch AIR lands (issue 8).
//!
//! It has exactly the batch public values as public inputs ([`BatchPublicValues`] encoding) and binds
//! the state roots to its trace: four columns start at `old_state_root` on the first row, evolve as
//! `x' = x² + 1` and must equal `new_state_root` on the last row. So a proof exists only for the
//! `new_state_root` that `2^degree_bits - 1` steps produce from `old_state_root`; the other values
//! are bound only through the transcript, as with any public input the AIR does not constrain. That
//! is enough to exercise the aggregation circuits, which never look inside the STARK.

use plonky2::field::extension::FieldExtension;
use plonky2::field::ops::Square;
use plonky2::field::packed::PackedField;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use starky::constraint_consumer::{ConstraintConsumer, RecursiveConstraintConsumer};
use starky::evaluation_frame::{StarkEvaluationFrame, StarkFrame};
use starky::stark::Stark;
use zknode_executor::public_values::layout;
use zknode_executor::{BatchPublicValues, StateRoot};

use zknode_kernels::Backend;

use crate::prover::BatchStarkProof;
use crate::{AggregatorParams, BatchStark, Result, C, D, F};

const COLUMNS: usize = 4;
const PUBLIC_INPUTS: usize = BatchPublicValues::NUM_ELEMENTS;

/// The stand-in batch AIR (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainStark;

impl ChainStark {
    /// The state root that `rows - 1` steps of `x' = x² + 1` produce from `old`.
    pub fn advance(old: StateRoot, rows: usize) -> StateRoot {
        let mut state = old.0.map(F::from_canonical_u64);
        for _ in 1..rows {
            state = state.map(|x| x.square() + F::ONE);
        }
        StateRoot(state.map(|x| x.to_canonical_u64_checked()))
    }

    /// The trace of `rows` rows (a power of two) and the public inputs for a batch that starts from
    /// `values` (its `new_state_root` is replaced by the one the trace reaches). Returns the values too.
    pub fn generate(
        mut values: BatchPublicValues,
        rows: usize,
    ) -> Result<(Vec<PolynomialValues<F>>, Vec<F>, BatchPublicValues)> {
        let mut state = values.old_state_root.to_hash_out()?.elements;
        let mut columns: Vec<Vec<F>> = (0..COLUMNS).map(|_| Vec::with_capacity(rows)).collect();
        for row in 0..rows {
            for (column, x) in columns.iter_mut().zip(&state) {
                column.push(*x);
            }
            if row + 1 < rows {
                state = state.map(|x| x.square() + F::ONE);
            }
        }
        values.new_state_root = StateRoot(state.map(|x| x.to_canonical_u64_checked()));
        let public_inputs = values.to_field_elements()?.to_vec();
        Ok((
            columns.into_iter().map(PolynomialValues::new).collect(),
            public_inputs,
            values,
        ))
    }
}

/// Proves one stand-in batch of `2^degree_bits` rows starting from `values` (whose new state root
/// is replaced by the one the trace reaches), with the FRI parameters the batch circuit expects.
pub fn prove_batch_stark<B: Backend>(
    backend: &B,
    params: &AggregatorParams,
    values: BatchPublicValues,
    degree_bits: usize,
) -> Result<(BatchStarkProof, BatchPublicValues)> {
    let (trace, public_inputs, values) = ChainStark::generate(values, 1 << degree_bits)?;
    let proof = zknode_prover::prove::<B, C, ChainStark, D>(
        backend,
        &ChainStark,
        &params.stark_config,
        &trace,
        &public_inputs,
        Some(params.stark_verifier_fri_params()),
    )?;
    Ok((proof, values))
}

/// `to_canonical_u64` under a name that says the result is already canonical.
trait Canonical {
    fn to_canonical_u64_checked(self) -> u64;
}
impl Canonical for F {
    fn to_canonical_u64_checked(self) -> u64 {
        plonky2::field::types::PrimeField64::to_canonical_u64(&self)
    }
}

impl Stark<F, D> for ChainStark {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, COLUMNS, PUBLIC_INPUTS>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget =
        StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, COLUMNS, PUBLIC_INPUTS>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        yield_constr: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        let local = vars.get_local_values();
        let next = vars.get_next_values();
        let public = vars.get_public_inputs();
        for i in 0..COLUMNS {
            yield_constr.constraint_first_row(local[i] - public[layout::OLD_STATE_ROOT.start + i]);
            yield_constr.constraint_transition(next[i] - local[i] * local[i] - P::ONES);
            yield_constr.constraint_last_row(local[i] - public[layout::NEW_STATE_ROOT.start + i]);
        }
    }

    fn eval_ext_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        yield_constr: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        let local = vars.get_local_values();
        let next = vars.get_next_values();
        let public = vars.get_public_inputs();
        let one = builder.one_extension();
        for i in 0..COLUMNS {
            let first = builder.sub_extension(local[i], public[layout::OLD_STATE_ROOT.start + i]);
            yield_constr.constraint_first_row(builder, first);
            let square_plus_one = builder.mul_add_extension(local[i], local[i], one);
            let step = builder.sub_extension(next[i], square_plus_one);
            yield_constr.constraint_transition(builder, step);
            let last = builder.sub_extension(local[i], public[layout::NEW_STATE_ROOT.start + i]);
            yield_constr.constraint_last_row(builder, last);
        }
    }

    fn constraint_degree(&self) -> usize {
        2
    }
}

impl BatchStark for ChainStark {
    const NAME: &'static str = "zknode-aggregator/ChainStark/v1";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_reaches_the_advanced_root() {
        let values = BatchPublicValues {
            old_state_root: StateRoot([1, 2, 3, 4]),
            ..Default::default()
        };
        let (trace, public_inputs, values) = ChainStark::generate(values, 8).expect("canonical");
        assert_eq!(trace.len(), COLUMNS);
        assert_eq!(trace[0].values[0], F::ONE);
        assert_eq!(trace[0].values[1], F::TWO);
        assert_eq!(
            values.new_state_root,
            ChainStark::advance(StateRoot([1, 2, 3, 4]), 8)
        );
        assert_eq!(public_inputs.len(), PUBLIC_INPUTS);
    }
}
