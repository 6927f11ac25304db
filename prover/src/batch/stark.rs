//! [`BatchAir`]: the batch AIR as a starky `Stark`, with its byte range check as a starky lookup.

use plonky2::field::extension::FieldExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::packed::PackedField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use starky::constraint_consumer::{ConstraintConsumer, RecursiveConstraintConsumer};
use starky::evaluation_frame::{StarkEvaluationFrame, StarkFrame};
use starky::lookup::{Column, Filter, Lookup};
use starky::stark::Stark;

use super::air::{eval, NUM_PUBLIC_INPUTS};
use super::columns::{BYTES, FREQUENCY, NUM_COLUMNS, TABLE};
use super::expr::{CircuitCx, PackedCx};

type F = GoldilocksField;
const D: usize = 2;

/// The batch AIR (see [`super`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchAir;

impl BatchAir {
    /// Fewest rows a trace has: the byte table needs 256.
    pub const MIN_DEGREE_BITS: usize = 8;
}

impl Stark<F, D> for BatchAir {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, NUM_COLUMNS, NUM_PUBLIC_INPUTS>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget =
        StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, NUM_COLUMNS, NUM_PUBLIC_INPUTS>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        yield_constr: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        let public: Vec<P> = vars
            .get_public_inputs()
            .iter()
            .map(|&x| P::from(x))
            .collect();
        let mut cx = PackedCx {
            consumer: yield_constr,
        };
        eval::<PackedCx<'_, P, D2>>(
            &mut cx,
            vars.get_local_values(),
            vars.get_next_values(),
            &public,
        );
    }

    fn eval_ext_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        yield_constr: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        let mut cx = CircuitCx {
            builder,
            consumer: yield_constr,
        };
        eval(
            &mut cx,
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
    }

    fn constraint_degree(&self) -> usize {
        3
    }

    fn lookups(&self) -> Vec<Lookup<F>> {
        vec![Lookup {
            columns: Column::singles(BYTES).collect(),
            table_column: Column::single(TABLE),
            frequencies_column: Column::single(FREQUENCY),
            filter_columns: vec![Filter::default(); BYTES.len()],
        }]
    }
}
