//! The conformance suite, written once and run on every backend.
//!
//! Each check takes a backend and compares what it computes with the reference library (plonky2 for
//! Goldilocks NTT/LDE, Poseidon and Merkle trees; ark-poly and ark-ec for BN254), on inputs drawn fresh
//! every run. The seed is printed when a check fails; `ZKNODE_TEST_SEED=<seed>` replays it. Sizes cover
//! the awkward cases (0, 1, 2, 2^k, 2^k+1) up to 2^16, plus maximal field elements, identity points and
//! zero scalars.
//!
//! A backend crate instantiates the suite with [`conformance_suite!`](crate::conformance_suite):
//!
//! ```ignore
//! zknode_kernels::conformance_suite!(zknode_kernels::CpuBackend, zknode_kernels::CpuBackend::new());
//! ```
//!
//! The checks panic (they are test code) with messages that name the case.

use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field as _, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use plonky2::field::fft::{fft, ifft};
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::merkle_proofs::verify_merkle_proof_to_cap;
use plonky2::hash::merkle_tree::MerkleTree;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::{Hasher, PoseidonGoldilocksConfig};
use plonky2::util::reverse_index_bits_in_place;
use plonky2::util::timing::TimingTree;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{Backend, Bn254FftKind, ColumnBatch, NttDirection, Order};
use crate::error::KernelError;
use crate::field::{DeviceElement, Fr, G1Affine, G1Projective, Goldilocks, HashOut, GOLDILOCKS_P};

/// Environment variable that replays a failing run's inputs.
pub const SEED_ENV: &str = "ZKNODE_TEST_SEED";

/// A check's random source. Prints its seed if the check panics (and only then), so any failure can
/// be replayed with [`SEED_ENV`].
pub struct TestRng {
    check: &'static str,
    seed: u64,
    rng: ChaCha8Rng,
}

impl core::fmt::Debug for TestRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestRng")
            .field("check", &self.check)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl TestRng {
    pub fn new(check: &'static str) -> Self {
        let seed = match std::env::var(SEED_ENV) {
            Ok(s) => s
                .parse()
                .unwrap_or_else(|_| panic!("{SEED_ENV}={s:?} is not a u64")),
            Err(_) => rand::rngs::OsRng.next_u64(),
        };
        Self {
            check,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn goldilocks(&mut self) -> Goldilocks {
        Goldilocks::from_canonical_u64(self.rng.gen_range(0..GOLDILOCKS_P))
    }

    pub fn goldilocks_vec(&mut self, n: usize) -> Vec<Goldilocks> {
        (0..n).map(|_| self.goldilocks()).collect()
    }

    pub fn fr(&mut self) -> Fr {
        Fr::rand(&mut self.rng)
    }

    pub fn fr_vec(&mut self, n: usize) -> Vec<Fr> {
        (0..n).map(|_| self.fr()).collect()
    }

    /// `n` random G1 points. A scalar multiplication per point would dominate the suite's time, so a
    /// few random points are combined by random walks of additions, which is just as good as test
    /// input.
    pub fn g1_vec(&mut self, n: usize) -> Vec<G1Affine> {
        let seeds: Vec<G1Projective> = (0..16)
            .map(|_| G1Projective::generator() * self.fr())
            .collect();
        let mut acc = G1Projective::generator() * self.fr();
        let points: Vec<G1Projective> = (0..n)
            .map(|_| {
                acc += seeds[self.rng.gen_range(0..seeds.len())];
                acc
            })
            .collect();
        G1Projective::normalize_batch(&points)
    }

    pub fn gen_range(&mut self, range: core::ops::Range<usize>) -> usize {
        self.rng.gen_range(range)
    }
}

impl Drop for TestRng {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "conformance check `{}` failed with seed {}: replay with {SEED_ENV}={}",
                self.check, self.seed, self.seed
            );
        }
    }
}

/// Asserts two Goldilocks vectors are equal as canonical integers, naming the first difference.
#[track_caller]
fn assert_gl_eq(ours: &[Goldilocks], reference: &[Goldilocks], case: &str) {
    assert_eq!(ours.len(), reference.len(), "{case}: length differs");
    if let Some(i) = (0..ours.len()).find(|&i| ours[i] != reference[i]) {
        panic!(
            "{case}: element {i} differs: ours {} reference {}",
            ours[i].to_canonical_u64(),
            reference[i].to_canonical_u64()
        );
    }
    // Device backends must also hand back canonical representatives.
    assert!(
        ours.iter().all(|x| x.0 < GOLDILOCKS_P),
        "{case}: non-canonical element in output"
    );
}

fn flatten_hashes(hashes: &[HashOut]) -> Vec<Goldilocks> {
    hashes.iter().flat_map(|h| h.elements).collect()
}

fn bit_reversed<T: Copy>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    reverse_index_bits_in_place(&mut v);
    v
}

// ---- memory ----------------------------------------------------------------------------------------

/// Uploads and downloads round-trip every element type, and `download_rows` returns the named rows.
pub fn buffers_round_trip<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("buffers_round_trip");
    for n in [0usize, 1, 2, 1023, 1025] {
        let gl = rng.goldilocks_vec(n);
        let buf = backend.upload(&gl).expect("upload goldilocks");
        assert_eq!(backend.buffer_len(&buf), n);
        assert_gl_eq(
            &backend.download(&buf).expect("download"),
            &gl,
            "goldilocks round trip",
        );

        let fr = rng.fr_vec(n.min(64));
        let buf = backend.upload(&fr).expect("upload fr");
        assert_eq!(
            backend.download(&buf).expect("download fr"),
            fr,
            "fr round trip"
        );

        let mut pts = rng.g1_vec(n.min(64));
        if let Some(p) = pts.first_mut() {
            *p = G1Affine::identity();
        }
        let buf = backend.upload(&pts).expect("upload g1");
        assert_eq!(
            backend.download(&buf).expect("download g1"),
            pts,
            "g1 round trip"
        );
    }

    let width = 7;
    let matrix = rng.goldilocks_vec(width * 33);
    let buf = backend.upload(&matrix).expect("upload matrix");
    let rows = [0usize, 32, 5, 5];
    let got = backend
        .download_rows(&buf, width, &rows)
        .expect("download rows");
    for (row, r) in got.iter().zip(rows) {
        assert_gl_eq(row, &matrix[r * width..(r + 1) * width], "download_rows");
    }
    assert!(
        backend.download_rows(&buf, width, &[33]).is_err(),
        "a row past the end must be an error"
    );
}

/// Encodings of device elements reject what is not an element.
pub fn device_encoding_rejects_invalid() {
    assert_eq!(
        Goldilocks::decode(&[1, 0xFFFF_FFFF]),
        None,
        "p itself is not canonical"
    );
    assert!(
        Goldilocks::decode(&[0, 0xFFFF_FFFF]).is_some(),
        "p - 1 is canonical"
    );
    assert_eq!(
        Fr::decode(&[u32::MAX; 8]),
        None,
        "2^256 - 1 is not a reduced Fr"
    );
    let mut words = [0u32; 17];
    G1Affine::generator().encode(&mut words);
    words[0] ^= 1;
    assert_eq!(
        G1Affine::decode(&words),
        None,
        "a point off the curve is rejected"
    );
    words[16] = 2;
    assert_eq!(
        G1Affine::decode(&words),
        None,
        "an infinity flag other than 0/1 is rejected"
    );
}

// ---- Goldilocks NTT ------------------------------------------------------------------------------

/// Every direction and order combination equals plonky2's `fft`/`ifft` with the orders applied.
pub fn ntt_matches_plonky2<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("ntt_matches_plonky2");
    let cases: &[(usize, usize)] = &[
        (0, 1),
        (1, 1),
        (1, 3),
        (2, 2),
        (3, 1),
        (5, 4),
        (10, 3),
        (13, 2),
        (16, 1),
    ];
    for &(log_n, num_cols) in cases {
        let shape = ColumnBatch::new(log_n, num_cols);
        let n = shape.n();
        let input = rng.goldilocks_vec(shape.len());
        for direction in [NttDirection::Forward, NttDirection::Inverse] {
            // Reference: per column, natural order in and out.
            let reference: Vec<Goldilocks> = input
                .chunks(n)
                .flat_map(|col| match direction {
                    NttDirection::Forward => fft(PolynomialCoeffs::new(col.to_vec())).values,
                    NttDirection::Inverse => ifft(PolynomialValues::new(col.to_vec())).coeffs,
                })
                .collect();
            for input_order in [Order::Natural, Order::BitReversed] {
                for output_order in [Order::Natural, Order::BitReversed] {
                    let case = format!("ntt 2^{log_n} x {num_cols} {direction:?} {input_order:?}->{output_order:?}");
                    let host_in: Vec<Goldilocks> = match input_order {
                        Order::Natural => input.clone(),
                        Order::BitReversed => input.chunks(n).flat_map(bit_reversed).collect(),
                    };
                    let expected: Vec<Goldilocks> = match output_order {
                        Order::Natural => reference.clone(),
                        Order::BitReversed => reference.chunks(n).flat_map(bit_reversed).collect(),
                    };
                    let mut buf = backend.upload(&host_in).expect("upload");
                    backend
                        .ntt(&mut buf, shape, direction, input_order, output_order)
                        .unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_gl_eq(&backend.download(&buf).expect("download"), &expected, &case);
                }
            }
        }
    }
}

/// Forward then inverse is the identity; maximal elements (p - 1) and zeros go through exactly.
pub fn ntt_round_trip_and_extremes<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("ntt_round_trip_and_extremes");
    let max = Goldilocks::from_canonical_u64(GOLDILOCKS_P - 1);
    for log_n in [0usize, 1, 4, 12] {
        let n = 1 << log_n;
        let mut cols = vec![max; n];
        cols.extend(vec![Goldilocks::ZERO; n]);
        cols.extend(rng.goldilocks_vec(n));
        let shape = ColumnBatch::new(log_n, 3);
        let mut buf = backend.upload(&cols).expect("upload");
        backend
            .ntt(
                &mut buf,
                shape,
                NttDirection::Forward,
                Order::Natural,
                Order::Natural,
            )
            .expect("forward");
        let forward = backend.download(&buf).expect("download");
        let reference: Vec<Goldilocks> = cols
            .chunks(n)
            .flat_map(|c| fft(PolynomialCoeffs::new(c.to_vec())).values)
            .collect();
        assert_gl_eq(&forward, &reference, &format!("ntt extremes 2^{log_n}"));
        backend
            .ntt(
                &mut buf,
                shape,
                NttDirection::Inverse,
                Order::Natural,
                Order::Natural,
            )
            .expect("inverse");
        assert_gl_eq(
            &backend.download(&buf).expect("download"),
            &cols,
            &format!("ntt round trip 2^{log_n}"),
        );
    }
}

/// An empty batch is a no-op; a buffer that does not match its shape (2^k + 1 elements) is an error.
pub fn ntt_edge_shapes<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("ntt_edge_shapes");
    let mut empty = backend.upload::<Goldilocks>(&[]).expect("upload");
    backend
        .ntt(
            &mut empty,
            ColumnBatch::new(10, 0),
            NttDirection::Forward,
            Order::Natural,
            Order::Natural,
        )
        .expect("an empty batch is valid");
    assert_eq!(backend.buffer_len(&empty), 0);

    for k in [0usize, 1, 4, 10] {
        let mut odd = backend
            .upload(&rng.goldilocks_vec((1 << k) + 1))
            .expect("upload");
        let err = backend
            .ntt(
                &mut odd,
                ColumnBatch::new(k, 1),
                NttDirection::Forward,
                Order::Natural,
                Order::Natural,
            )
            .expect_err("2^k + 1 elements for one column of 2^k must be refused");
        assert!(
            matches!(err, KernelError::LengthMismatch { .. }),
            "unexpected error {err:?}"
        );
    }

    // Shapes beyond the field's two-adicity (or beyond any address space) are errors, not panics.
    let mut one = backend.upload(&rng.goldilocks_vec(1)).expect("upload");
    for log_n in [33usize, 64, 200] {
        assert!(
            backend
                .ntt(
                    &mut one,
                    ColumnBatch::new(log_n, 1),
                    NttDirection::Forward,
                    Order::Natural,
                    Order::Natural
                )
                .is_err(),
            "an NTT of 2^{log_n} must be refused"
        );
    }
    let coeffs = backend.upload(&rng.goldilocks_vec(1 << 4)).expect("upload");
    assert!(
        backend
            .coset_lde_rows(
                &coeffs,
                ColumnBatch::new(4, 1),
                29,
                Goldilocks::coset_shift()
            )
            .is_err(),
        "an LDE of 2^33 rows must be refused"
    );
}

// ---- Goldilocks LDE + Merkle ---------------------------------------------------------------------

/// `coset_lde_rows` equals plonky2's LDE leaves (`lde` + `coset_fft_with_options`, transpose, bit
/// reversal of rows) for rate_bits 0..=3.
pub fn coset_lde_matches_plonky2<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("coset_lde_matches_plonky2");
    let shift = Goldilocks::coset_shift();
    let cases: &[(usize, usize)] = &[(0, 1), (1, 2), (2, 1), (4, 3), (8, 5), (12, 8)];
    for &(log_n, num_cols) in cases {
        for rate_bits in 0..=3usize {
            let case = format!("coset LDE 2^{log_n} x {num_cols} rate_bits {rate_bits}");
            let shape = ColumnBatch::new(log_n, num_cols);
            let coeffs = rng.goldilocks_vec(shape.len());
            let lde_cols: Vec<Vec<Goldilocks>> = coeffs
                .chunks(shape.n())
                .map(|c| {
                    PolynomialCoeffs::new(c.to_vec())
                        .lde(rate_bits)
                        .coset_fft_with_options(shift, Some(rate_bits), None)
                        .values
                })
                .collect();
            let mut rows = plonky2::util::transpose(&lde_cols);
            reverse_index_bits_in_place(&mut rows);
            let expected: Vec<Goldilocks> = rows.concat();

            let buf = backend.upload(&coeffs).expect("upload");
            let lde = backend
                .coset_lde_rows(&buf, shape, rate_bits, shift)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_gl_eq(&backend.download(&lde).expect("download"), &expected, &case);
        }
    }
    // An empty batch gives an empty matrix.
    let empty = backend.upload::<Goldilocks>(&[]).expect("upload");
    let lde = backend
        .coset_lde_rows(&empty, ColumnBatch::new(4, 0), 2, shift)
        .expect("empty LDE");
    assert_eq!(backend.buffer_len(&lde), 0);
}

/// The whole commitment chained on the device — iNTT, coset LDE, Merkle tree — equals plonky2's
/// `PolynomialBatch::from_values` (coefficients, digests and cap), downloading only the results.
pub fn commitment_chain_matches_polynomial_batch<B: Backend>(backend: &B) {
    type C = PoseidonGoldilocksConfig;
    let mut rng = TestRng::new("commitment_chain_matches_polynomial_batch");
    for &(log_n, num_cols, rate_bits, cap_height) in &[
        (2usize, 3usize, 1usize, 0usize),
        (4, 2, 3, 2),
        (8, 17, 2, 4),
        (11, 64, 1, 4),
    ] {
        let case =
            format!("commitment 2^{log_n} x {num_cols}, rate_bits {rate_bits}, cap {cap_height}");
        let shape = ColumnBatch::new(log_n, num_cols);
        let values = rng.goldilocks_vec(shape.len());
        let polys: Vec<PolynomialValues<Goldilocks>> = values
            .chunks(shape.n())
            .map(|c| PolynomialValues::new(c.to_vec()))
            .collect();
        let reference = PolynomialBatch::<Goldilocks, C, 2>::from_values(
            polys,
            rate_bits,
            false,
            cap_height,
            &mut TimingTree::default(),
            None,
        );

        let mut buf = backend.upload(&values).expect("upload");
        backend
            .ntt(
                &mut buf,
                shape,
                NttDirection::Inverse,
                Order::Natural,
                Order::Natural,
            )
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let lde = backend
            .coset_lde_rows(&buf, shape, rate_bits, Goldilocks::coset_shift())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let tree = backend
            .merkle_tree(&lde, num_cols, cap_height)
            .unwrap_or_else(|e| panic!("{case}: {e}"));

        let ref_coeffs: Vec<Goldilocks> = reference
            .polynomials
            .iter()
            .flat_map(|p| p.coeffs.clone())
            .collect();
        assert_gl_eq(
            &backend.download(&buf).expect("download"),
            &ref_coeffs,
            &format!("{case}: coefficients"),
        );
        assert_gl_eq(
            &backend.download(&tree.digests).expect("download"),
            &flatten_hashes(&reference.merkle_tree.digests),
            &format!("{case}: digests"),
        );
        assert_gl_eq(
            &backend.download(&tree.cap).expect("download"),
            &flatten_hashes(&reference.merkle_tree.cap.0),
            &format!("{case}: cap"),
        );
        // The rows a prover would open come back on request only.
        let opened = rng.gen_range(0..shape.n() << rate_bits);
        let row = backend
            .download_rows(&lde, num_cols, &[opened])
            .expect("download row");
        assert_gl_eq(
            &row[0],
            &reference.merkle_tree.leaves[opened],
            &format!("{case}: opened row"),
        );
    }
}

// ---- Poseidon ------------------------------------------------------------------------------------

/// The batched permutation equals plonky2's `Poseidon::poseidon`, including all-zero and all-(p-1) states.
pub fn poseidon_permutation_matches_plonky2<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("poseidon_permutation_matches_plonky2");
    for count in [0usize, 1, 2, 3, 64, 1025] {
        let mut states = rng.goldilocks_vec(12 * count);
        if count >= 2 {
            states[..12].fill(Goldilocks::ZERO);
            states[12..24].fill(Goldilocks::from_canonical_u64(GOLDILOCKS_P - 1));
        }
        let expected: Vec<Goldilocks> = states
            .chunks(12)
            .flat_map(|s| {
                let s: [Goldilocks; 12] = s.try_into().expect("12 elements");
                <Goldilocks as Poseidon>::poseidon(s)
            })
            .collect();
        let mut buf = backend.upload(&states).expect("upload");
        backend.poseidon_permute(&mut buf).expect("permute");
        assert_gl_eq(
            &backend.download(&buf).expect("download"),
            &expected,
            &format!("{count} permutations"),
        );
    }
    let mut bad = backend.upload(&rng.goldilocks_vec(13)).expect("upload");
    assert!(
        backend.poseidon_permute(&mut bad).is_err(),
        "13 elements are not whole states"
    );
}

/// Row hashing equals `PoseidonHash::hash_or_noop` for widths around the noop (4) and rate (8) edges.
pub fn hash_rows_matches_plonky2<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("hash_rows_matches_plonky2");
    for width in [1usize, 3, 4, 5, 8, 9, 16, 17, 64, 135] {
        for rows in [0usize, 1, 2, 33] {
            let matrix = rng.goldilocks_vec(width * rows);
            let expected: Vec<Goldilocks> = matrix
                .chunks(width)
                .flat_map(|r| PoseidonHash::hash_or_noop(r).elements)
                .collect();
            let buf = backend.upload(&matrix).expect("upload");
            let hashes = backend
                .hash_rows(&buf, width)
                .unwrap_or_else(|e| panic!("width {width}: {e}"));
            assert_gl_eq(
                &backend.download(&hashes).expect("download"),
                &expected,
                &format!("hash_rows {rows} x {width}"),
            );
        }
    }
    let buf = backend.upload(&rng.goldilocks_vec(10)).expect("upload");
    assert!(
        backend.hash_rows(&buf, 3).is_err(),
        "10 elements are not rows of 3"
    );
    assert!(backend.hash_rows(&buf, 0).is_err(), "width 0 is refused");
}

// ---- Merkle trees --------------------------------------------------------------------------------

/// Trees equal `MerkleTree::new` for every cap height, and proofs read from the digests verify with
/// plonky2's `verify_merkle_proof_to_cap` (and fail for a tampered leaf).
pub fn merkle_tree_matches_plonky2<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("merkle_tree_matches_plonky2");
    for &(log_leaves, width) in &[
        (0usize, 1usize),
        (0, 9),
        (1, 4),
        (2, 5),
        (3, 8),
        (10, 7),
        (16, 4),
    ] {
        let leaves = rng.goldilocks_vec(width << log_leaves);
        let ref_leaves: Vec<Vec<Goldilocks>> = leaves.chunks(width).map(<[_]>::to_vec).collect();
        let buf = backend.upload(&leaves).expect("upload");
        let mut cap_heights = vec![0, log_leaves / 2, log_leaves];
        cap_heights.dedup();
        for cap_height in cap_heights {
            let case = format!("merkle 2^{log_leaves} leaves x {width}, cap {cap_height}");
            let reference =
                MerkleTree::<Goldilocks, PoseidonHash>::new(ref_leaves.clone(), cap_height);
            let tree = backend
                .merkle_tree(&buf, width, cap_height)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(
                (tree.log_leaves, tree.cap_height),
                (log_leaves, cap_height),
                "{case}: shape"
            );
            let digests = backend.download(&tree.digests).expect("download");
            let cap = backend.download(&tree.cap).expect("download");
            assert_gl_eq(
                &digests,
                &flatten_hashes(&reference.digests),
                &format!("{case}: digests"),
            );
            assert_gl_eq(
                &cap,
                &flatten_hashes(&reference.cap.0),
                &format!("{case}: cap"),
            );

            // Proofs for a few leaves, including both ends.
            let n = 1usize << log_leaves;
            for index in [0, n - 1, rng.gen_range(0..n)] {
                let proof = crate::merkle::merkle_proof(&digests, log_leaves, cap_height, index)
                    .unwrap_or_else(|e| panic!("{case}: proof {index}: {e}"));
                assert_eq!(
                    proof,
                    reference.prove(index),
                    "{case}: proof of leaf {index}"
                );
                verify_merkle_proof_to_cap(
                    ref_leaves[index].clone(),
                    index,
                    &reference.cap,
                    &proof,
                )
                .unwrap_or_else(|e| panic!("{case}: proof of leaf {index} rejected: {e}"));
                let mut tampered = ref_leaves[index].clone();
                tampered[0] += Goldilocks::ONE;
                assert!(
                    verify_merkle_proof_to_cap(tampered, index, &reference.cap, &proof).is_err(),
                    "{case}: a tampered leaf must not verify"
                );
            }
            // The conversion into plonky2's own type is exact as well.
            let converted = crate::merkle::to_plonky2_tree(ref_leaves.clone(), &digests, &cap)
                .unwrap_or_else(|e| panic!("{case}: conversion: {e}"));
            assert!(
                converted == reference,
                "{case}: converted tree differs from plonky2's"
            );
        }
    }
}

/// Leaf counts that are not powers of two, caps above the tree and zero-width leaves are errors.
pub fn merkle_tree_rejects_bad_shapes<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("merkle_tree_rejects_bad_shapes");
    for leaves in [0usize, 3, 5, (1 << 10) + 1] {
        let buf = backend
            .upload(&rng.goldilocks_vec(4 * leaves))
            .expect("upload");
        assert!(
            backend.merkle_tree(&buf, 4, 0).is_err(),
            "{leaves} leaves must be refused"
        );
    }
    let buf = backend.upload(&rng.goldilocks_vec(4 * 8)).expect("upload");
    assert!(
        backend.merkle_tree(&buf, 4, 4).is_err(),
        "cap height 4 over 8 leaves must be refused"
    );
    assert!(
        backend.merkle_tree(&buf, 0, 0).is_err(),
        "width 0 must be refused"
    );
    assert!(
        backend.merkle_tree(&buf, 5, 0).is_err(),
        "32 elements are not rows of 5"
    );
}

// ---- BN254 FFT -----------------------------------------------------------------------------------

/// All four transform kinds equal ark-poly's `Radix2EvaluationDomain` (and its coset) at sizes 1 to 2^16.
pub fn bn254_fft_matches_ark_poly<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("bn254_fft_matches_ark_poly");
    for log_n in [0usize, 1, 2, 3, 7, 12, 16] {
        let n = 1usize << log_n;
        let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("domain");
        let offset = loop {
            let o = rng.fr();
            if !o.is_zero() {
                break o;
            }
        };
        let coset = domain.get_coset(offset).expect("coset");
        let input = rng.fr_vec(n);
        for kind in [
            Bn254FftKind::Forward,
            Bn254FftKind::Inverse,
            Bn254FftKind::CosetForward(offset),
            Bn254FftKind::CosetInverse(offset),
        ] {
            let mut expected = input.clone();
            match kind {
                Bn254FftKind::Forward => domain.fft_in_place(&mut expected),
                Bn254FftKind::Inverse => domain.ifft_in_place(&mut expected),
                Bn254FftKind::CosetForward(_) => coset.fft_in_place(&mut expected),
                Bn254FftKind::CosetInverse(_) => coset.ifft_in_place(&mut expected),
            }
            let mut buf = backend.upload(&input).expect("upload");
            backend
                .bn254_fft(&mut buf, kind)
                .unwrap_or_else(|e| panic!("bn254 {kind:?} 2^{log_n}: {e}"));
            let ours = backend.download(&buf).expect("download");
            if let Some(i) = (0..n).find(|&i| ours[i] != expected[i]) {
                panic!("bn254 {kind:?} 2^{log_n}: element {i} differs");
            }
        }
    }
}

/// Lengths that are not a power of two (0, 3, 2^k + 1) are refused.
pub fn bn254_fft_rejects_bad_sizes<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("bn254_fft_rejects_bad_sizes");
    for n in [0usize, 3, 5, 17, (1 << 10) + 1] {
        let mut buf = backend.upload(&rng.fr_vec(n)).expect("upload");
        let err = backend
            .bn254_fft(&mut buf, Bn254FftKind::Forward)
            .expect_err("a length that is not a power of two must be refused");
        assert!(
            matches!(err, KernelError::NotPowerOfTwo { .. }),
            "n = {n}: unexpected error {err:?}"
        );
    }
}

// ---- BN254 MSM -----------------------------------------------------------------------------------

/// MSM equals ark-ec's `VariableBaseMSM::msm` at awkward sizes, with identity bases, zero scalars,
/// r - 1 scalars, repeated points and P / -P pairs mixed in.
pub fn bn254_msm_matches_ark_ec<B: Backend>(backend: &B) {
    let mut rng = TestRng::new("bn254_msm_matches_ark_ec");
    let r_minus_one = -Fr::ONE;
    for n in [
        0usize,
        1,
        2,
        3,
        4,
        31,
        32,
        33,
        257,
        1 << 12,
        (1 << 12) + 1,
        1 << 16,
    ] {
        let mut bases = rng.g1_vec(n);
        let mut scalars = rng.fr_vec(n);
        if n >= 4 {
            // Sprinkle the awkward cases over random positions.
            for _ in 0..(n / 8).max(1) {
                let i = rng.gen_range(0..n);
                match rng.gen_range(0..6) {
                    0 => bases[i] = G1Affine::identity(),
                    1 => scalars[i] = Fr::zero(),
                    2 => scalars[i] = r_minus_one,
                    3 => bases[i] = bases[rng.gen_range(0..n)],
                    4 => bases[i] = -bases[rng.gen_range(0..n)],
                    _ => scalars[i] = Fr::from(rng.gen_range(0..4) as u64),
                }
            }
        }
        let expected = G1Projective::msm(&bases, &scalars).expect("equal lengths");
        let b = backend.upload(&bases).expect("upload bases");
        let s = backend.upload(&scalars).expect("upload scalars");
        let ours = backend
            .bn254_msm(&b, &s)
            .unwrap_or_else(|e| panic!("msm of {n}: {e}"));
        assert_eq!(
            ours.into_affine(),
            expected.into_affine(),
            "msm of {n} points"
        );
    }

    // Degenerate inputs with a known answer.
    let p = rng.g1_vec(1)[0];
    let cases: Vec<(Vec<G1Affine>, Vec<Fr>, G1Projective)> = vec![
        (vec![p, p], vec![Fr::ONE, r_minus_one], G1Projective::zero()),
        (vec![p, -p], vec![Fr::ONE, Fr::ONE], G1Projective::zero()),
        (
            vec![p; 40],
            vec![Fr::ONE; 40],
            G1Projective::from(p) * Fr::from(40u64),
        ),
        (
            vec![G1Affine::identity(); 5],
            rng.fr_vec(5),
            G1Projective::zero(),
        ),
        (rng.g1_vec(5), vec![Fr::zero(); 5], G1Projective::zero()),
    ];
    for (i, (bases, scalars, expected)) in cases.into_iter().enumerate() {
        let b = backend.upload(&bases).expect("upload");
        let s = backend.upload(&scalars).expect("upload");
        let ours = backend.bn254_msm(&b, &s).expect("msm");
        assert_eq!(
            ours.into_affine(),
            expected.into_affine(),
            "degenerate MSM case {i}"
        );
    }

    // Mismatched lengths are an error, not a truncation.
    let b = backend.upload(&rng.g1_vec(3)).expect("upload");
    let s = backend.upload(&rng.fr_vec(2)).expect("upload");
    assert!(
        matches!(
            backend.bn254_msm(&b, &s),
            Err(KernelError::LengthMismatch { .. })
        ),
        "3 bases with 2 scalars must be refused"
    );
}

/// Environment variable: when `1`, a device backend that cannot be opened fails the suite instead of
/// skipping it (CI sets it, since CI installs a software Vulkan device).
pub const REQUIRE_GPU_ENV: &str = "ZKNODE_REQUIRE_GPU";

/// Whether [`REQUIRE_GPU_ENV`] asks for a device backend.
pub fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1")
}

/// Instantiates the whole conformance suite as `#[test]`s for one backend.
///
/// - `conformance_suite!(Type, make)`: `make` builds the backend; it is built once per test binary.
/// - `conformance_suite!(device Type, make)`: `make` returns a `Result`; when it fails, each test
///   fails if [`REQUIRE_GPU_ENV`]`=1` and otherwise reports the reason and skips.
#[macro_export]
macro_rules! conformance_suite {
    (device $ty:ty, $make:expr) => {
        $crate::conformance_suite!(@suite $ty, {
            static BACKEND: ::std::sync::OnceLock<::core::result::Result<$ty, ::std::string::String>> =
                ::std::sync::OnceLock::new();
            match BACKEND.get_or_init(|| ($make).map_err(|e| e.to_string())) {
                Ok(b) => Some(b),
                Err(e) if $crate::conformance::gpu_required() => {
                    panic!("{}=1 but the device backend cannot be opened: {e}", $crate::conformance::REQUIRE_GPU_ENV)
                }
                Err(e) => {
                    eprintln!("SKIPPED: device backend unavailable ({e}); set {}=1 to fail instead",
                        $crate::conformance::REQUIRE_GPU_ENV);
                    None
                }
            }
        });
    };
    ($ty:ty, $make:expr) => {
        $crate::conformance_suite!(@suite $ty, {
            static BACKEND: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
            Some(BACKEND.get_or_init(|| $make))
        });
    };
    (@suite $ty:ty, $get:block) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;

            fn backend() -> Option<&'static $ty> $get

            $crate::conformance_suite!(@tests
                buffers_round_trip,
                ntt_matches_plonky2,
                ntt_round_trip_and_extremes,
                ntt_edge_shapes,
                coset_lde_matches_plonky2,
                commitment_chain_matches_polynomial_batch,
                poseidon_permutation_matches_plonky2,
                hash_rows_matches_plonky2,
                merkle_tree_matches_plonky2,
                merkle_tree_rejects_bad_shapes,
                bn254_fft_matches_ark_poly,
                bn254_fft_rejects_bad_sizes,
                bn254_msm_matches_ark_ec,
            );

            #[test]
            fn device_encoding_rejects_invalid() {
                $crate::conformance::device_encoding_rejects_invalid();
            }
        }
    };
    (@tests $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                if let Some(backend) = backend() {
                    $crate::conformance::$check(backend);
                }
            }
        )*
    };
}
