//! AIRs and helpers shared by the prover's integration tests. starky's own `FibonacciStark` is
//! `cfg(test)` inside starky, so the AIRs here are written from scratch.

#![allow(dead_code)]

use std::marker::PhantomData;

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::packed::PackedField;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::fri::FriConfig;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use starky::constraint_consumer::{ConstraintConsumer, RecursiveConstraintConsumer};
use starky::evaluation_frame::{StarkEvaluationFrame, StarkFrame};
use starky::lookup::{Column, Lookup};
use starky::proof::StarkProofWithPublicInputs;
use starky::stark::Stark;
use zknode_kernels::Backend;
use zknode_prover::codec;

pub const D: usize = 2;
pub type C = PoseidonGoldilocksConfig;
pub type F = <C as GenericConfig<D>>::F;
pub type Proof = StarkProofWithPublicInputs<F, C, D>;

/// Columns as starky wants them, from rows.
pub fn columns<G: Field, const W: usize>(rows: &[[G; W]]) -> Vec<PolynomialValues<G>> {
    (0..W)
        .map(|c| PolynomialValues::new(rows.iter().map(|r| r[c]).collect()))
        .collect()
}

// ---- Fibonacci: x0' = x1, x1' = x0 + x1; public inputs x0, x1 and the last x1. ----------------

#[derive(Clone, Copy, Debug)]
pub struct Fib<F, const D: usize>(PhantomData<F>);

impl<F: RichField + Extendable<D>, const D: usize> Fib<F, D> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
    /// The trace of `n` rows from `(x0, x1)` and its three public inputs.
    pub fn trace(n: usize, x0: F, x1: F) -> (Vec<PolynomialValues<F>>, Vec<F>) {
        let mut rows = Vec::with_capacity(n);
        let mut s = [x0, x1];
        for _ in 0..n {
            rows.push(s);
            s = [s[1], s[0] + s[1]];
        }
        let last = rows[n - 1][1];
        (columns(&rows), vec![x0, x1, last])
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Stark<F, D> for Fib<F, D> {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, 2, 3>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget = StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, 2, 3>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        c: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        c.constraint_first_row(l[0] - pi[0]);
        c.constraint_first_row(l[1] - pi[1]);
        c.constraint_last_row(l[1] - pi[2]);
        c.constraint_transition(n[0] - l[1]);
        c.constraint_transition(n[1] - l[0] - l[1]);
    }

    fn eval_ext_circuit(
        &self,
        b: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        c: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        let t = b.sub_extension(l[0], pi[0]);
        c.constraint_first_row(b, t);
        let t = b.sub_extension(l[1], pi[1]);
        c.constraint_first_row(b, t);
        let t = b.sub_extension(l[1], pi[2]);
        c.constraint_last_row(b, t);
        let t = b.sub_extension(n[0], l[1]);
        c.constraint_transition(b, t);
        let t = b.sub_extension(n[1], l[0]);
        let t = b.sub_extension(t, l[1]);
        c.constraint_transition(b, t);
    }

    fn constraint_degree(&self) -> usize {
        2
    }
}

// ---- Wide: W columns, x_i' = x_i + x_{i+1}^2 (indices mod W); public input x_0 of row 0. -------

#[derive(Clone, Copy, Debug)]
pub struct Wide<F, const D: usize, const W: usize>(PhantomData<F>);

impl<F: RichField + Extendable<D>, const D: usize, const W: usize> Wide<F, D, W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
    pub fn trace(n: usize, start: F) -> (Vec<PolynomialValues<F>>, Vec<F>) {
        let mut s: [F; W] = core::array::from_fn(|i| F::from_canonical_usize(i * 7 + 3));
        s[0] = start;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            rows.push(s);
            s = core::array::from_fn(|i| s[i] + s[(i + 1) % W].square());
        }
        (columns(&rows), vec![start])
    }
}

impl<F: RichField + Extendable<D>, const D: usize, const W: usize> Stark<F, D> for Wide<F, D, W> {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, W, 1>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget = StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, W, 1>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        c: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        c.constraint_first_row(l[0] - pi[0]);
        for i in 0..W {
            let r = l[(i + 1) % W];
            c.constraint_transition(n[i] - l[i] - r * r);
        }
    }

    fn eval_ext_circuit(
        &self,
        b: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        c: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        let t = b.sub_extension(l[0], pi[0]);
        c.constraint_first_row(b, t);
        for i in 0..W {
            let r = l[(i + 1) % W];
            let sq = b.mul_extension(r, r);
            let t = b.sub_extension(n[i], l[i]);
            let t = b.sub_extension(t, sq);
            c.constraint_transition(b, t);
        }
    }

    fn constraint_degree(&self) -> usize {
        2
    }
}

// ---- Lookup: column 0's values all lie in table column 1, column 2 holds the multiplicities. ----

#[derive(Clone, Copy, Debug)]
pub struct Lookups<F, const D: usize>(PhantomData<F>);

impl<F: RichField + Extendable<D>, const D: usize> Lookups<F, D> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
    pub fn trace(n: usize) -> Vec<PolynomialValues<F>> {
        let looked: Vec<usize> = (0..n).map(|i| (i * i + 3) % n).collect();
        let mut freq = vec![0usize; n];
        looked.iter().for_each(|&v| freq[v] += 1);
        let rows: Vec<[F; 3]> = (0..n)
            .map(|i| {
                [
                    F::from_canonical_usize(looked[i]),
                    F::from_canonical_usize(i),
                    F::from_canonical_usize(freq[i]),
                ]
            })
            .collect();
        columns(&rows)
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Stark<F, D> for Lookups<F, D> {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, 3, 0>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget = StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, 3, 0>;

    fn lookups(&self) -> Vec<Lookup<F>> {
        vec![Lookup {
            columns: vec![Column::single(0)],
            table_column: Column::single(1),
            frequencies_column: Column::single(2),
            filter_columns: vec![Default::default()],
        }]
    }

    // Only the lookup argument constrains this table.
    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        _vars: &Self::EvaluationFrame<FE, P, D2>,
        _c: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
    }

    fn eval_ext_circuit(
        &self,
        _b: &mut CircuitBuilder<F, D>,
        _vars: &Self::EvaluationFrameTarget,
        _c: &mut RecursiveConstraintConsumer<F, D>,
    ) {
    }

    fn constraint_degree(&self) -> usize {
        3
    }
}

// ---- Power: x' = x^E + y, y' = y + 1; constraint degree E (quotient degree factor E - 1). -------

#[derive(Clone, Copy, Debug)]
pub struct Power<F, const D: usize, const E: usize>(PhantomData<F>);

impl<F: RichField + Extendable<D>, const D: usize, const E: usize> Power<F, D, E> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
    pub fn trace(n: usize) -> (Vec<PolynomialValues<F>>, Vec<F>) {
        let mut s = [F::TWO, F::ONE];
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            rows.push(s);
            s = [s[0].exp_u64(E as u64) + s[1], s[1] + F::ONE];
        }
        (columns(&rows), vec![F::TWO])
    }
}

impl<F: RichField + Extendable<D>, const D: usize, const E: usize> Stark<F, D> for Power<F, D, E> {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, 2, 1>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;
    type EvaluationFrameTarget = StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, 2, 1>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        c: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        c.constraint_first_row(l[0] - pi[0]);
        c.constraint_first_row(l[1] - P::ONES);
        let mut p = l[0];
        for _ in 1..E {
            p *= l[0];
        }
        c.constraint_transition(n[0] - p - l[1]);
        c.constraint_transition(n[1] - l[1] - P::ONES);
    }

    fn eval_ext_circuit(
        &self,
        b: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        c: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        let (l, n, pi) = (
            vars.get_local_values(),
            vars.get_next_values(),
            vars.get_public_inputs(),
        );
        let one = b.one_extension();
        let t = b.sub_extension(l[0], pi[0]);
        c.constraint_first_row(b, t);
        let t = b.sub_extension(l[1], one);
        c.constraint_first_row(b, t);
        let mut p = l[0];
        for _ in 1..E {
            p = b.mul_extension(p, l[0]);
        }
        let t = b.sub_extension(n[0], p);
        let t = b.sub_extension(t, l[1]);
        c.constraint_transition(b, t);
        let t = b.sub_extension(n[1], l[1]);
        let t = b.sub_extension(t, one);
        c.constraint_transition(b, t);
    }

    fn constraint_degree(&self) -> usize {
        E
    }
}

// ---- configs and the comparison --------------------------------------------------------------

/// `standard_fast_config` with other rate, cap height and reduction strategy.
pub fn config(rate_bits: usize, cap_height: usize, strategy: FriReductionStrategy) -> StarkConfig {
    let base = StarkConfig::standard_fast_config();
    StarkConfig {
        fri_config: FriConfig {
            rate_bits,
            cap_height,
            reduction_strategy: strategy,
            ..base.fri_config
        },
        ..base
    }
}

/// Runs `f` on a one-thread rayon pool: starky's proof-of-work search (`find_any`) then returns the
/// smallest witness, which is what makes its proofs reproducible.
pub fn single_threaded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
        .install(f)
}

/// Proves with both provers (single-threaded), asserts that the proofs are identical, that starky's
/// verifier accepts ours and returns it.
pub fn assert_identical<B: Backend, S: Stark<F, D> + Copy + Send>(
    backend: &B,
    stark: S,
    config: &StarkConfig,
    trace: &[PolynomialValues<F>],
    public_inputs: &[F],
    case: &str,
) -> Proof {
    let (ours, reference) = single_threaded(|| {
        let ours =
            zknode_prover::prove::<B, C, S, D>(backend, &stark, config, trace, public_inputs, None)
                .unwrap_or_else(|e| panic!("{case}: our prover failed: {e}"));
        let hybrid = zknode_prover::prove_with_starky_phases::<B, C, S, D>(
            backend,
            &stark,
            config,
            trace,
            public_inputs,
            None,
        )
        .unwrap_or_else(|e| panic!("{case}: our prover with starky's phases failed: {e}"));
        assert!(
            codec::encode(&hybrid) == codec::encode(&ours),
            "{case}: the two paths differ"
        );
        let reference = starky::prover::prove::<F, C, S, D>(
            stark,
            config,
            trace.to_vec(),
            public_inputs,
            None,
            &mut TimingTree::default(),
        )
        .unwrap_or_else(|e| panic!("{case}: starky failed: {e}"));
        (ours, reference)
    });
    let bytes = codec::encode(&ours);
    assert!(
        bytes == codec::encode(&reference),
        "{case}: encoded proofs differ"
    );
    // The Debug form covers every field independently of our codec.
    assert!(
        format!("{ours:?}") == format!("{reference:?}"),
        "{case}: proofs differ"
    );
    starky::verifier::verify_stark_proof(stark, ours.clone(), config, None)
        .unwrap_or_else(|e| panic!("{case}: starky rejects our proof: {e}"));
    ours
}
