//! Everything after the trace commitment, re-implemented so that the commitments and transforms run on
//! the [`Backend`]: constraint binding, quotient, openings, FRI commit phase, proof of work and
//! queries, with starky 1.1's transcript element for element (see `starky::prover::
//! prove_with_commitment` and `plonky2::fri::prover::fri_proof`, whose helpers are crate-private).
//!
//! Scope: STARKs without lookups or cross-table lookups (no auxiliary columns); [`crate::prove()`] hands
//! the others to starky's own phases.

use core::iter::successors;

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::field::zero_poly_coset::ZeroPolyOnCoset;
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::fri::proof::{FriInitialTreeProof, FriProof, FriQueryRound, FriQueryStep};
use plonky2::fri::structure::FriBatchInfo;
use plonky2::fri::FriParams;
use plonky2::hash::hash_types::{HashOut, NUM_HASH_OUT_ELTS};
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::challenger::Challenger;
use plonky2::plonk::config::GenericConfig;
use plonky2::plonk::plonk_common::reduce_with_powers;
use plonky2::util::log2_ceil;
use plonky2::util::reducing::ReducingFactor;
use rayon::prelude::*;
use starky::config::StarkConfig;
use starky::constraint_consumer::ConstraintConsumer;
use starky::evaluation_frame::StarkEvaluationFrame;
use starky::proof::{StarkOpeningSet, StarkProof, StarkProofWithPublicInputs};
use starky::stark::Stark;
use zknode_kernels::merkle::merkle_proof;
use zknode_kernels::{Backend, ColumnBatch, Goldilocks, NttDirection, Order};

use crate::commit::commit_coeffs;
use crate::error::{ProverError, Result};

type F = Goldilocks;
type Ext<const D: usize> = <F as Extendable<D>>::Extension;

/// Proof-of-work candidates tested per parallel batch. The smallest witness of the first batch that
/// holds one is the smallest witness overall, which is what starky's search returns on one thread.
const POW_BATCH: u64 = 1 << 14;

/// What the phases need besides the STARK and its commitment.
pub(crate) struct PhaseInputs<'a> {
    pub config: &'a StarkConfig,
    pub fri_params: &'a FriParams,
    pub public_inputs: &'a [F],
    /// The trace's values (natural order), for the constraint check on H.
    pub trace_values: &'a [PolynomialValues<F>],
    pub degree_bits: usize,
    pub final_poly_coeff_len: Option<usize>,
    pub max_num_query_steps: Option<usize>,
}

/// `prove_with_commitment` without lookups or CTLs; `challenger` has observed the public inputs, the
/// config and the trace cap.
pub(crate) fn prove_phases<B, C, S, const D: usize>(
    backend: &B,
    stark: &S,
    trace: &PolynomialBatch<F, C, D>,
    challenger: &mut Challenger<F, PoseidonHash>,
    inputs: &PhaseInputs<'_>,
) -> Result<StarkProofWithPublicInputs<F, C, D>>
where
    B: Backend,
    F: Extendable<D>,
    C: GenericConfig<D, F = F, Hasher = PoseidonHash>,
    S: Stark<F, D>,
{
    let config = inputs.config;
    let degree_bits = inputs.degree_bits;
    let g = F::primitive_root_of_unity(degree_bits);

    let alphas = {
        let _span = tracing::info_span!("bind_constraints").entered();
        let alphas_prime = challenger.get_n_challenges(config.num_challenges);
        let constraints = binding_evaluations::<S, D>(stark, challenger, alphas_prime, inputs);
        challenger.observe_extension_elements(&constraints);
        challenger.get_n_challenges(config.num_challenges)
    };

    let quotient = {
        let _span = tracing::info_span!("quotient").entered();
        check_constraints(stark, &alphas, inputs)?;
        match quotient_chunks::<B, C, S, D>(backend, stark, trace, &alphas, inputs)? {
            Some(chunks) => {
                let rate_bits = config.fri_config.rate_bits;
                let cap_height = config.fri_config.cap_height;
                let commitment = commit_coeffs::<B, C, D>(backend, &chunks, rate_bits, cap_height)?;
                challenger.observe_cap(&commitment.merkle_tree.cap);
                Some(commitment)
            }
            None => None,
        }
    };

    let zeta = challenger.get_extension_challenge::<D>();
    // starky refuses an opening point inside H (it would reveal trace values); so do we.
    if zeta.exp_power_of_2(degree_bits) == Ext::<D>::ONE {
        return Err(ProverError::OpeningPointInSubgroup);
    }
    let openings = {
        let _span = tracing::info_span!("openings").entered();
        let openings = StarkOpeningSet::new(zeta, g, trace, None, quotient.as_ref(), 0, false, &[]);
        // The FRI openings starky observes: [local ‖ quotient] at zeta, [next] at g·zeta.
        challenger.observe_extension_elements(&openings.local_values);
        challenger.observe_extension_elements(openings.quotient_polys.as_deref().unwrap_or(&[]));
        challenger.observe_extension_elements(&openings.next_values);
        openings
    };

    let oracles: Vec<&PolynomialBatch<F, C, D>> =
        core::iter::once(trace).chain(quotient.as_ref()).collect();
    let instance = stark.fri_instance(zeta, g, 0, Vec::new(), config);
    let opening_proof =
        fri_prove::<B, C, D>(backend, &oracles, &instance.batches, challenger, inputs)?;

    Ok(StarkProofWithPublicInputs {
        proof: StarkProof {
            trace_cap: trace.merkle_tree.cap.clone(),
            auxiliary_polys_cap: None,
            quotient_polys_cap: quotient.map(|q| q.merkle_tree.cap),
            openings,
            opening_proof,
        },
        public_inputs: inputs.public_inputs.to_vec(),
    })
}

/// starky 1.1's constraint binding: the constraints evaluated at a random point on simulated openings
/// (powers of a few extension challenges), combined with `alphas_prime`.
fn binding_evaluations<S, const D: usize>(
    stark: &S,
    challenger: &mut Challenger<F, PoseidonHash>,
    alphas_prime: Vec<F>,
    inputs: &PhaseInputs<'_>,
) -> Vec<Ext<D>>
where
    F: Extendable<D>,
    S: Stark<F, D>,
{
    let total = 2 * S::COLUMNS;
    // The first power the constraints cannot reach, and how many powers of one challenge starky uses.
    let pow_degree = core::cmp::max(2, stark.constraint_degree() + 1);
    let per_zeta = core::cmp::max(1, 50 / log2_ceil(pow_degree) - 1);
    let zetas = challenger.get_n_extension_challenges::<D>(total.div_ceil(per_zeta));
    let take = core::cmp::min(per_zeta + 1, total);
    let simulated: Vec<Ext<D>> = zetas
        .iter()
        .flat_map(|&z| successors(Some(z), move |p| Some(p.exp_u64(pow_degree as u64))).take(take))
        .collect();
    let zeta_prime = challenger.get_extension_challenge::<D>();

    let degree_bits = inputs.degree_bits;
    let n = Ext::<D>::from_canonical_usize(1 << degree_bits);
    let g = F::primitive_root_of_unity(degree_bits);
    let z_h = zeta_prime.exp_power_of_2(degree_bits) - Ext::<D>::ONE;
    let invs = Ext::<D>::batch_multiplicative_inverse(&[
        n * (zeta_prime - Ext::<D>::ONE),
        n * (zeta_prime.scalar_mul(g) - Ext::<D>::ONE),
    ]);
    let z_last = zeta_prime - Ext::<D>::from_basefield(g.inverse());
    let mut consumer = ConstraintConsumer::<Ext<D>>::new(
        alphas_prime
            .iter()
            .map(|&a| Ext::<D>::from_basefield(a))
            .collect(),
        z_last,
        z_h * invs[0],
        z_h * invs[1],
    );
    let public_inputs: Vec<Ext<D>> = inputs
        .public_inputs
        .iter()
        .map(|&x| Ext::<D>::from_basefield(x))
        .collect();
    let vars = S::EvaluationFrame::<Ext<D>, Ext<D>, D>::from_values(
        &simulated[..S::COLUMNS],
        &simulated[S::COLUMNS..total],
        &public_inputs,
    );
    stark.eval_packed_generic(&vars, &mut consumer);
    consumer.accumulators()
}

/// Checks that the constraints, combined with `alphas`, vanish on every row of the trace. starky only
/// does this with debug assertions and otherwise emits a proof that fails verification whenever the
/// quotient's degree bound cannot see the violation (e.g. a broken boundary constraint at quotient
/// degree factor 1); an explicit error is more useful to a caller. It costs one constraint evaluation
/// per trace row, a fraction of the quotient's `2^quotient_bits` per row.
fn check_constraints<S, const D: usize>(
    stark: &S,
    alphas: &[F],
    inputs: &PhaseInputs<'_>,
) -> Result<()>
where
    F: Extendable<D>,
    S: Stark<F, D>,
{
    let degree = 1usize << inputs.degree_bits;
    let g = F::primitive_root_of_unity(inputs.degree_bits);
    let last = g.inverse();
    let columns = inputs.trace_values;
    let bad_row = (0..degree).into_par_iter().find_first(|&i| {
        let next = (i + 1) % degree;
        let local: Vec<F> = columns.iter().map(|c| c.values[i]).collect();
        let next: Vec<F> = columns.iter().map(|c| c.values[next]).collect();
        let x = g.exp_u64(i as u64);
        let mut consumer = ConstraintConsumer::<F>::new(
            alphas.to_vec(),
            x - last,
            F::from_bool(i == 0),
            F::from_bool(i == degree - 1),
        );
        let vars = S::EvaluationFrame::<F, F, 1>::from_values(&local, &next, inputs.public_inputs);
        stark.eval_packed_generic(&vars, &mut consumer);
        consumer.accumulators().iter().any(|c| !c.is_zero())
    });
    match bad_row {
        Some(row) => Err(ProverError::Unsatisfied(format!(
            "a constraint fails at row {row}"
        ))),
        None => Ok(()),
    }
}

/// The quotient polynomials `sum alpha^i C_i(x) / Z_H(x)`, one per challenge, split into chunks of
/// the trace degree; `None` for a STARK without constraints of positive degree.
fn quotient_chunks<B, C, S, const D: usize>(
    backend: &B,
    stark: &S,
    trace: &PolynomialBatch<F, C, D>,
    alphas: &[F],
    inputs: &PhaseInputs<'_>,
) -> Result<Option<Vec<PolynomialCoeffs<F>>>>
where
    B: Backend,
    F: Extendable<D>,
    C: GenericConfig<D, F = F, Hasher = PoseidonHash>,
    S: Stark<F, D>,
{
    let factor = stark.quotient_degree_factor();
    if factor == 0 {
        return Ok(None);
    }
    let degree_bits = inputs.degree_bits;
    let degree = 1usize << degree_bits;
    let rate_bits = inputs.config.fri_config.rate_bits;
    let quotient_bits = log2_ceil(factor);
    // The quotient is evaluated on a coset of size `degree << quotient_bits`, a subset of the LDE
    // rows: every `step`-th one.
    let step = 1usize << (rate_bits - quotient_bits);
    let next_step = 1usize << quotient_bits;
    let size = degree << quotient_bits;

    let lagrange_first = PolynomialValues::selector(degree, 0).lde_onto_coset(quotient_bits);
    let lagrange_last =
        PolynomialValues::selector(degree, degree - 1).lde_onto_coset(quotient_bits);
    let z_h = ZeroPolyOnCoset::<F>::new(degree_bits, quotient_bits);
    let last = F::primitive_root_of_unity(degree_bits).inverse();
    let coset = F::cyclic_subgroup_coset_known_order(
        F::primitive_root_of_unity(degree_bits + quotient_bits),
        F::coset_shift(),
        size,
    );

    // Constraint evaluation is the STARK's own Rust code, so it stays on the host (scalar rather than
    // packed: field arithmetic is exact, the values are the same). Column-major output, one column
    // per challenge, ready for the backend's batched inverse NTT.
    let num_challenges = alphas.len();
    let rows: Vec<Vec<F>> = (0..size)
        .into_par_iter()
        .map(|i| {
            let x = coset[i];
            let mut consumer = ConstraintConsumer::<F>::new(
                alphas.to_vec(),
                x - last,
                lagrange_first.values[i],
                lagrange_last.values[i],
            );
            let vars = S::EvaluationFrame::<F, F, 1>::from_values(
                trace.get_lde_values(i, step),
                trace.get_lde_values((i + next_step) % size, step),
                inputs.public_inputs,
            );
            stark.eval_packed_generic(&vars, &mut consumer);
            let inv = z_h.eval_inverse(i);
            consumer
                .accumulators()
                .into_iter()
                .map(|c| c * inv)
                .collect()
        })
        .collect();
    let mut flat = vec![F::ZERO; size * num_challenges];
    for (i, row) in rows.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            flat[j * size + i] = v;
        }
    }
    drop(rows);

    // Coset iFFT: the plain iFFT on the backend, then coefficient k scaled by shift^-k.
    let shape = ColumnBatch::new(degree_bits + quotient_bits, num_challenges);
    let mut buf = backend.upload(&flat)?;
    backend.ntt(
        &mut buf,
        shape,
        NttDirection::Inverse,
        Order::Natural,
        Order::Natural,
    )?;
    let coeffs = backend.download(&buf)?;
    let shift_inv = F::coset_shift().inverse();
    let mut chunks = Vec::with_capacity(num_challenges * factor);
    for column in coeffs.chunks_exact(size) {
        let mut poly = PolynomialCoeffs::new(
            column
                .iter()
                .zip(shift_inv.powers())
                .map(|(&c, s)| c * s)
                .collect(),
        );
        // Coefficients beyond `degree * factor` vanish exactly when the trace satisfies the constraints.
        poly.trim_to_len(degree * factor).map_err(|_| {
            ProverError::Unsatisfied(
                "the quotient is not a polynomial (the constraints do not vanish on H)".into(),
            )
        })?;
        chunks.extend(poly.chunks(degree));
    }
    Ok(Some(chunks))
}

/// One committed FRI layer, its leaves and digests kept for the query phase.
struct Layer<Buf> {
    rows: Buf,
    width: usize,
    arity_bits: usize,
    log_leaves: usize,
    digests: Vec<F>,
    cap: MerkleCap<F, PoseidonHash>,
}

/// `PolynomialBatch::prove_openings` + `fri_proof`, with the layer evaluations and trees on the
/// backend.
fn fri_prove<B, C, const D: usize>(
    backend: &B,
    oracles: &[&PolynomialBatch<F, C, D>],
    batches: &[FriBatchInfo<F, D>],
    challenger: &mut Challenger<F, PoseidonHash>,
    inputs: &PhaseInputs<'_>,
) -> Result<FriProof<F, PoseidonHash, D>>
where
    B: Backend,
    F: Extendable<D>,
    C: GenericConfig<D, F = F, Hasher = PoseidonHash>,
{
    let fri_params = inputs.fri_params;
    let fri_config = &fri_params.config;
    let rate_bits = fri_config.rate_bits;
    let cap_height = fri_config.cap_height;

    // The batched quotient sum_i alpha^(k_i) (F_i(X) - F_i(z_i)) / (X - z_i), as plonky2 builds it.
    let final_poly = {
        let _span = tracing::info_span!("fri_combine").entered();
        let mut alpha = ReducingFactor::new(challenger.get_extension_challenge::<D>());
        let mut final_poly = PolynomialCoeffs::empty();
        for FriBatchInfo { point, polynomials } in batches {
            let polys = polynomials
                .iter()
                .map(|p| &oracles[p.oracle_index].polynomials[p.polynomial_index]);
            let composition = alpha.reduce_polys_base(polys);
            let mut quotient = composition.divide_by_linear(*point);
            quotient.coeffs.push(Ext::<D>::ZERO); // back to a power of two
            alpha.shift_poly(&mut final_poly);
            final_poly += quotient;
        }
        final_poly
    };
    let mut coeffs = final_poly.lde(rate_bits);
    let lde_size = coeffs.len();

    // Commit phase.
    let commit_span =
        tracing::info_span!("fri_commit", layers = fri_params.reduction_arity_bits.len()).entered();
    let mut layers = Vec::with_capacity(fri_params.reduction_arity_bits.len());
    let mut shift = F::MULTIPLICATIVE_GROUP_GENERATOR;
    for &arity_bits in &fri_params.reduction_arity_bits {
        // The layer's evaluations on the coset shift·H, bit-reversed, one extension element (D base
        // elements) a row: `arity` consecutive rows are exactly one plonky2 FRI leaf, so the same
        // buffer read `arity · D` wide is the leaf matrix.
        let log_len = coeffs.len().trailing_zeros() as usize;
        let shape = ColumnBatch::new(log_len, D);
        let mut columns = vec![F::ZERO; coeffs.len() * D];
        for (i, c) in coeffs.coeffs.iter().enumerate() {
            for (k, &limb) in c.to_basefield_array().iter().enumerate() {
                columns[k * coeffs.len() + i] = limb;
            }
        }
        // The extension FFT is the base-field FFT of each limb: twiddles and shift are base-field.
        let device_coeffs = backend.upload(&columns)?;
        let rows = backend.coset_lde_rows(&device_coeffs, shape, 0, shift)?;
        drop(device_coeffs);
        let width = D << arity_bits;
        let tree = backend.merkle_tree(&rows, width, cap_height)?;
        let cap = to_cap(&backend.download(&tree.cap)?);
        let digests = backend.download(&tree.digests)?;
        challenger.observe_cap(&cap);
        layers.push(Layer {
            rows,
            width,
            arity_bits,
            log_leaves: log_len - arity_bits,
            digests,
            cap,
        });

        let beta = challenger.get_extension_challenge::<D>();
        // P(x) = sum_{i<r} x^i P_i(x^r) folds to sum_{i<r} beta^i P_i(x).
        coeffs = PolynomialCoeffs::new(
            coeffs
                .coeffs
                .par_chunks_exact(1 << arity_bits)
                .map(|chunk| reduce_with_powers(chunk, beta))
                .collect(),
        );
        shift = shift.exp_u64(1 << arity_bits);
    }
    // A recursive verifier with more query steps observes zero caps and draws unused challenges.
    if let Some(steps) = inputs.max_num_query_steps {
        let zero_cap = vec![F::ZERO; (1 << cap_height) * NUM_HASH_OUT_ELTS];
        for _ in layers.len()..steps {
            challenger.observe_elements(&zero_cap);
            challenger.get_extension_challenge::<D>();
        }
    }
    // What remains beyond the final degree is zero (the LDE padding).
    coeffs.coeffs.truncate(coeffs.len() >> rate_bits);
    challenger.observe_extension_elements(&coeffs.coeffs);
    if let Some(len) = inputs.final_poly_coeff_len {
        for _ in coeffs.len()..len {
            challenger.observe_extension_element(&Ext::<D>::ZERO);
        }
    }
    drop(commit_span);

    let pow_witness = {
        let _span = tracing::info_span!("pow", bits = fri_config.proof_of_work_bits).entered();
        let witness = proof_of_work(challenger, fri_config.proof_of_work_bits)?;
        challenger.observe_element(witness);
        challenger.get_challenge();
        witness
    };

    let _span = tracing::info_span!("queries", rounds = fri_config.num_query_rounds).entered();
    let indices: Vec<usize> = challenger
        .get_n_challenges(fri_config.num_query_rounds)
        .into_iter()
        .map(|r| (r.to_canonical_u64() % lde_size as u64) as usize)
        .collect();
    // Per layer, download only the leaves the queries open.
    let mut steps: Vec<Vec<FriQueryStep<F, PoseidonHash, D>>> = vec![Vec::new(); indices.len()];
    let mut shifted = indices.clone();
    for layer in &layers {
        shifted.iter_mut().for_each(|x| *x >>= layer.arity_bits);
        let leaves = backend.download_rows(&layer.rows, layer.width, &shifted)?;
        for ((round, &x), leaf) in steps.iter_mut().zip(&shifted).zip(leaves) {
            round.push(FriQueryStep {
                evals: leaf
                    .chunks_exact(D)
                    .map(|limbs| {
                        let mut a = [F::ZERO; D];
                        a.copy_from_slice(limbs);
                        Ext::<D>::from_basefield_array(a)
                    })
                    .collect(),
                merkle_proof: merkle_proof(&layer.digests, layer.log_leaves, cap_height, x)?,
            });
        }
    }
    let query_round_proofs = indices
        .iter()
        .zip(steps)
        .map(|(&x, steps)| FriQueryRound {
            initial_trees_proof: FriInitialTreeProof {
                evals_proofs: oracles
                    .iter()
                    .map(|o| (o.merkle_tree.get(x).to_vec(), o.merkle_tree.prove(x)))
                    .collect(),
            },
            steps,
        })
        .collect();

    Ok(FriProof {
        commit_phase_merkle_caps: layers.into_iter().map(|l| l.cap).collect(),
        query_round_proofs,
        final_poly: coeffs,
        pow_witness,
    })
}

fn to_cap(flat: &[F]) -> MerkleCap<F, PoseidonHash> {
    MerkleCap(
        flat.chunks_exact(NUM_HASH_OUT_ELTS)
            .map(|h| HashOut {
                elements: [h[0], h[1], h[2], h[3]],
            })
            .collect(),
    )
}

/// The smallest `w` such that the challenge drawn after observing `w` has `bits` leading zeros —
/// the witness starky's `find_any` returns on one thread. Batches are searched in order, each in
/// parallel.
fn proof_of_work(challenger: &Challenger<F, PoseidonHash>, bits: u32) -> Result<F> {
    // Goldilocks elements have 64 bits, so no leading zeros come for free (plonky2 adds
    // `64 - order.bits()`, zero here).
    let satisfies = |candidate: u64| {
        let mut c = challenger.clone();
        c.observe_element(F::from_canonical_u64(candidate));
        c.get_challenge().to_canonical_u64().leading_zeros() >= bits
    };
    let max = F::NEG_ONE.to_canonical_u64();
    let mut start = 0u64;
    loop {
        let end = start.saturating_add(POW_BATCH - 1).min(max);
        if let Some(w) = (start..=end).into_par_iter().find_first(|&c| satisfies(c)) {
            return Ok(F::from_canonical_u64(w));
        }
        if end == max {
            return Err(ProverError::InvalidConfig(format!(
                "no proof-of-work witness of {bits} bits exists"
            )));
        }
        start = end + 1;
    }
}
