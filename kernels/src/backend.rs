//! The compute seam: one trait that every backend implements, with explicit context (a backend value
//! owns its device; there is no global "current device").
//!
//! Data lives in the backend's own [`Backend::Buffer`]s, so one operation's output feeds the next
//! without a host round trip: `coset_lde` output goes straight into `merkle_tree`, and only digests
//! (or the rows a prover opens) are downloaded. On the CPU backend a buffer is simply a `Vec`.
//!
//! Layout conventions shared by all backends:
//! - a **column batch** of `num_cols` columns of length `n` is column-major: column `c` occupies
//!   `[c * n, (c + 1) * n)`;
//! - a **row matrix** of `rows` rows of `width` elements is row-major: row `r` occupies
//!   `[r * width, (r + 1) * width)` — this is what Merkle leaves are;
//! - digests are 4 Goldilocks elements each, stored consecutively.

use crate::error::Result;
use crate::field::{DeviceElement, Fr, G1Affine, G1Projective, Goldilocks};

/// Direction of a number-theoretic transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NttDirection {
    /// Coefficients to evaluations on the subgroup (plonky2 `fft`).
    Forward,
    /// Evaluations to coefficients, scaled by 1/n (plonky2 `ifft`).
    Inverse,
}

/// Index order of a transform's input or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order {
    /// Element `i` is coefficient `i` / the evaluation at `g^i`.
    Natural,
    /// Element `i` holds what natural order has at `reverse_bits(i)`.
    BitReversed,
}

/// Shape of a column batch: `num_cols` columns of `2^log_n` elements, column-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColumnBatch {
    pub log_n: usize,
    pub num_cols: usize,
}

impl ColumnBatch {
    pub fn new(log_n: usize, num_cols: usize) -> Self {
        Self { log_n, num_cols }
    }
    /// Rows (the length of one column); saturates like [`ColumnBatch::len`].
    pub fn n(&self) -> usize {
        1usize.checked_shl(self.log_n as u32).unwrap_or(usize::MAX)
    }
    /// Elements in the whole batch. Saturates for shapes no buffer can have (log_n >= 64), so a
    /// length check against a real buffer fails instead of overflowing.
    pub fn len(&self) -> usize {
        self.n().saturating_mul(self.num_cols)
    }
    pub fn is_empty(&self) -> bool {
        self.num_cols == 0
    }
}

/// Checks that a buffer of `len` elements is a row matrix of width `width` (> 0) containing every row
/// in `rows`: what every backend's `download_rows` requires before reading.
pub(crate) fn check_rows(len: usize, width: usize, rows: &[usize]) -> crate::error::Result<()> {
    use crate::error::KernelError;
    if width == 0 {
        return Ok(());
    }
    if !len.is_multiple_of(width) {
        return Err(KernelError::InvalidArgument(format!(
            "buffer of {len} elements is not a matrix of width {width}"
        )));
    }
    let num_rows = len / width;
    match rows.iter().find(|&&r| r >= num_rows) {
        Some(r) => Err(KernelError::InvalidArgument(format!(
            "row {r} out of range (matrix has {num_rows} rows)"
        ))),
        None => Ok(()),
    }
}

/// Which BN254 scalar-field transform to run (ark-poly `Radix2EvaluationDomain` semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bn254FftKind {
    /// Coefficients to evaluations at `g^i` (ark-poly `fft_in_place`).
    Forward,
    /// Evaluations at `g^i` to coefficients (ark-poly `ifft_in_place`).
    Inverse,
    /// Coefficients to evaluations at `offset * g^i` (`domain.get_coset(offset)` then `fft`).
    CosetForward(Fr),
    /// Evaluations at `offset * g^i` to coefficients.
    CosetInverse(Fr),
}

/// The Merkle tree of a row matrix, laid out exactly like plonky2's `MerkleTree` (digests of each cap
/// subtree contiguous, "left subtree ‖ left digest ‖ right digest ‖ right subtree"), kept on the device.
#[derive(Debug)]
pub struct MerkleDigests<Buf> {
    /// `2 * (leaves - 2^cap_height)` digests, 4 elements each.
    pub digests: Buf,
    /// `2^cap_height` digests, 4 elements each.
    pub cap: Buf,
    /// log2 of the number of leaves.
    pub log_leaves: usize,
    pub cap_height: usize,
}

/// A compute backend. Every method validates its arguments and returns [`crate::KernelError`] rather
/// than panicking; every result is bit-exact with the reference libraries (plonky2 for Goldilocks and
/// Poseidon, arkworks for BN254), which the conformance suite ([`crate::conformance`]) checks.
pub trait Backend: Send + Sync + core::fmt::Debug {
    /// A buffer of elements resident on this backend's device.
    type Buffer<T: DeviceElement>: Send + Sync + core::fmt::Debug;

    /// A short name for logs and benchmark tables ("cpu", "wgpu:<adapter>").
    fn name(&self) -> String;

    // ---- memory ----------------------------------------------------------------------------
    /// Copies host data into a new device buffer.
    fn upload<T: DeviceElement>(&self, host: &[T]) -> Result<Self::Buffer<T>>;
    /// Copies a whole device buffer back to the host.
    fn download<T: DeviceElement>(&self, buf: &Self::Buffer<T>) -> Result<Vec<T>>;
    /// Copies `rows` rows of a row matrix of width `width` back (the rows a prover opens).
    fn download_rows<T: DeviceElement>(
        &self,
        buf: &Self::Buffer<T>,
        width: usize,
        rows: &[usize],
    ) -> Result<Vec<Vec<T>>>;
    /// Number of elements in a buffer.
    fn buffer_len<T: DeviceElement>(&self, buf: &Self::Buffer<T>) -> usize;

    // ---- Goldilocks NTT --------------------------------------------------------------------
    /// In-place NTT of every column of a column batch, on the subgroup generated by plonky2's
    /// `primitive_root_of_unity(log_n)`. `Forward` + natural orders equals plonky2 `fft`, `Inverse` +
    /// natural orders equals plonky2 `ifft`.
    fn ntt(
        &self,
        columns: &mut Self::Buffer<Goldilocks>,
        shape: ColumnBatch,
        direction: NttDirection,
        input_order: Order,
        output_order: Order,
    ) -> Result<()>;

    /// Low-degree extension of a column batch of coefficients onto the coset `shift * H'`, `|H'| =
    /// n << rate_bits`, returned as a row matrix of `n << rate_bits` rows of `num_cols` elements in
    /// bit-reversed row order: exactly the leaves `PolynomialBatch::from_coeffs` hashes (without salt).
    fn coset_lde_rows(
        &self,
        coeffs: &Self::Buffer<Goldilocks>,
        shape: ColumnBatch,
        rate_bits: usize,
        shift: Goldilocks,
    ) -> Result<Self::Buffer<Goldilocks>>;

    // ---- Poseidon / Merkle -----------------------------------------------------------------
    /// Applies plonky2's Poseidon permutation (width 12) to each consecutive state of 12 elements.
    fn poseidon_permute(&self, states: &mut Self::Buffer<Goldilocks>) -> Result<()>;

    /// Hashes every row of a row matrix with plonky2's `PoseidonHash::hash_or_noop` (rows of at most 4
    /// elements are padded with zeros, not hashed); returns 4 elements per row.
    fn hash_rows(
        &self,
        rows: &Self::Buffer<Goldilocks>,
        width: usize,
    ) -> Result<Self::Buffer<Goldilocks>>;

    /// Builds the Merkle tree of a row matrix (one leaf per row), identical to plonky2's
    /// `MerkleTree::new(leaves, cap_height)`.
    fn merkle_tree(
        &self,
        leaves: &Self::Buffer<Goldilocks>,
        width: usize,
        cap_height: usize,
    ) -> Result<MerkleDigests<Self::Buffer<Goldilocks>>>;

    // ---- BN254 -----------------------------------------------------------------------------
    /// In-place radix-2 FFT over BN254's scalar field; the buffer length is the domain size (a power
    /// of two), ark-poly `Radix2EvaluationDomain` semantics, natural order in and out.
    fn bn254_fft(&self, values: &mut Self::Buffer<Fr>, kind: Bn254FftKind) -> Result<()>;

    /// Multi-scalar multiplication `sum scalars[i] * bases[i]`, equal to ark-ec `VariableBaseMSM::msm`.
    fn bn254_msm(
        &self,
        bases: &Self::Buffer<G1Affine>,
        scalars: &Self::Buffer<Fr>,
    ) -> Result<G1Projective>;
}
