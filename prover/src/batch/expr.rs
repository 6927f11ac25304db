//! One definition of the constraints, two evaluators: packed field values (the prover and the native
//! verifier) and extension targets of a plonky2 circuit (the recursive verifier).
//!
//! Writing the constraints once over [`Cx`] is what keeps `eval_packed_generic` and
//! `eval_ext_circuit` in the same order with the same meaning, which starky requires and which two
//! hand-written copies would eventually break.

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::packed::PackedField;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use starky::constraint_consumer::{ConstraintConsumer, RecursiveConstraintConsumer};

/// Arithmetic and constraint sink over some representation `V` of field values.
pub trait Cx<F> {
    type V: Copy;

    fn constant(&mut self, c: F) -> Self::V;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// `a · c` for a base-field constant.
    fn scale(&mut self, a: Self::V, c: F) -> Self::V;
    /// `acc + a · c` for a base-field constant.
    fn add_scaled(&mut self, acc: Self::V, a: Self::V, c: F) -> Self::V;

    /// Holds on every row.
    fn zero(&mut self, v: Self::V);
    /// Holds on every row but the last (it may read the next row).
    fn zero_transition(&mut self, v: Self::V);
    fn zero_first_row(&mut self, v: Self::V);
    fn zero_last_row(&mut self, v: Self::V);

    /// Names the constraints that follow (for [`DebugCx`]'s reports; the others ignore it).
    fn section(&mut self, _name: &'static str) {}
}

/// Evaluates the constraints on one pair of concrete rows and records which fail, by section and
/// index: for witness-generation errors and tests (the provers only say "a constraint failed").
#[derive(Debug, Default)]
pub struct DebugCx {
    pub first_row: bool,
    pub last_row: bool,
    section: &'static str,
    index: usize,
    pub failures: Vec<(&'static str, usize)>,
}

impl DebugCx {
    pub fn new(first_row: bool, last_row: bool) -> Self {
        DebugCx {
            first_row,
            last_row,
            ..Default::default()
        }
    }

    fn check(&mut self, applies: bool, v: GoldilocksField) {
        if applies && v != GoldilocksField::ZERO {
            self.failures.push((self.section, self.index));
        }
        self.index += 1;
    }
}

impl Cx<GoldilocksField> for DebugCx {
    type V = GoldilocksField;
    fn constant(&mut self, c: GoldilocksField) -> Self::V {
        c
    }
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        a + b
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        a - b
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        a * b
    }
    fn scale(&mut self, a: Self::V, c: GoldilocksField) -> Self::V {
        a * c
    }
    fn add_scaled(&mut self, acc: Self::V, a: Self::V, c: GoldilocksField) -> Self::V {
        acc + a * c
    }
    fn zero(&mut self, v: Self::V) {
        self.check(true, v);
    }
    fn zero_transition(&mut self, v: Self::V) {
        let applies = !self.last_row;
        self.check(applies, v);
    }
    fn zero_first_row(&mut self, v: Self::V) {
        let applies = self.first_row;
        self.check(applies, v);
    }
    fn zero_last_row(&mut self, v: Self::V) {
        let applies = self.last_row;
        self.check(applies, v);
    }
    fn section(&mut self, name: &'static str) {
        self.section = name;
        self.index = 0;
    }
}

/// The packed evaluator.
#[allow(missing_debug_implementations)] // starky's consumers are not Debug
/// (`D2` is the degree of the extension the points lie in.)
pub struct PackedCx<'a, P: PackedField, const D2: usize> {
    pub consumer: &'a mut ConstraintConsumer<P>,
}

impl<F, P, const D2: usize> Cx<F> for PackedCx<'_, P, D2>
where
    F: RichField,
    P: PackedField,
    P::Scalar: FieldExtension<D2, BaseField = F>,
{
    type V = P;

    fn constant(&mut self, c: F) -> P {
        P::from(P::Scalar::from_basefield(c))
    }
    fn add(&mut self, a: P, b: P) -> P {
        a + b
    }
    fn sub(&mut self, a: P, b: P) -> P {
        a - b
    }
    fn mul(&mut self, a: P, b: P) -> P {
        a * b
    }
    fn scale(&mut self, a: P, c: F) -> P {
        a * P::Scalar::from_basefield(c)
    }
    fn add_scaled(&mut self, acc: P, a: P, c: F) -> P {
        acc + a * P::Scalar::from_basefield(c)
    }
    fn zero(&mut self, v: P) {
        self.consumer.constraint(v);
    }
    fn zero_transition(&mut self, v: P) {
        self.consumer.constraint_transition(v);
    }
    fn zero_first_row(&mut self, v: P) {
        self.consumer.constraint_first_row(v);
    }
    fn zero_last_row(&mut self, v: P) {
        self.consumer.constraint_last_row(v);
    }
}

/// The circuit evaluator.
#[allow(missing_debug_implementations)]
pub struct CircuitCx<'a, F: RichField + Extendable<D>, const D: usize> {
    pub builder: &'a mut CircuitBuilder<F, D>,
    pub consumer: &'a mut RecursiveConstraintConsumer<F, D>,
}

impl<F: RichField + Extendable<D>, const D: usize> Cx<F> for CircuitCx<'_, F, D> {
    type V = ExtensionTarget<D>;

    fn constant(&mut self, c: F) -> Self::V {
        self.builder
            .constant_extension(F::Extension::from_basefield(c))
    }
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.add_extension(a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.sub_extension(a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.builder.mul_extension(a, b)
    }
    fn scale(&mut self, a: Self::V, c: F) -> Self::V {
        self.builder.mul_const_extension(c, a)
    }
    fn add_scaled(&mut self, acc: Self::V, a: Self::V, c: F) -> Self::V {
        self.builder.mul_const_add_extension(c, a, acc)
    }
    fn zero(&mut self, v: Self::V) {
        self.consumer.constraint(self.builder, v);
    }
    fn zero_transition(&mut self, v: Self::V) {
        self.consumer.constraint_transition(self.builder, v);
    }
    fn zero_first_row(&mut self, v: Self::V) {
        self.consumer.constraint_first_row(self.builder, v);
    }
    fn zero_last_row(&mut self, v: Self::V) {
        self.consumer.constraint_last_row(self.builder, v);
    }
}

/// Conveniences over any [`Cx`].
pub trait CxExt<F: RichField>: Cx<F> {
    fn one(&mut self) -> Self::V {
        self.constant(F::ONE)
    }
    /// `1 - a`.
    fn not(&mut self, a: Self::V) -> Self::V {
        let one = self.one();
        self.sub(one, a)
    }
    /// `a · (a - 1)`: zero iff `a` is boolean.
    fn boolean(&mut self, a: Self::V) -> Self::V {
        let one = self.one();
        let a_minus_1 = self.sub(a, one);
        self.mul(a, a_minus_1)
    }
    fn sum(&mut self, values: &[Self::V]) -> Self::V {
        let mut acc = self.constant(F::ZERO);
        for &v in values {
            acc = self.add(acc, v);
        }
        acc
    }
    /// `Σ values[i] · 2^(shift·i)`.
    fn compose(&mut self, values: &[Self::V], shift: usize) -> Self::V {
        let mut acc = self.constant(F::ZERO);
        for (i, &v) in values.iter().enumerate() {
            acc = self.add_scaled(acc, v, F::from_canonical_u64(1u64 << (shift * i)));
        }
        acc
    }
    /// `a - c` for a base-field constant.
    fn sub_const(&mut self, a: Self::V, c: u64) -> Self::V {
        let c = self.constant(F::from_canonical_u64(c));
        self.sub(a, c)
    }
    /// `gate · v` as a constraint on every row.
    fn gated(&mut self, gate: Self::V, v: Self::V) {
        let g = self.mul(gate, v);
        self.zero(g);
    }
    fn gated_transition(&mut self, gate: Self::V, v: Self::V) {
        let g = self.mul(gate, v);
        self.zero_transition(g);
    }
}

impl<F: RichField, T: Cx<F> + ?Sized> CxExt<F> for T {}
