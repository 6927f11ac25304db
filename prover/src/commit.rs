//! The trace commitment on a [`Backend`]: interpolation, coset LDE and Merkle tree all run on the
//! backend, and the result is handed back as plonky2's `PolynomialBatch` so that starky's remaining
//! phases (and the byte-identity with starky's own prover) see exactly what `from_values` builds.

use plonky2::field::extension::Extendable;
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::Field;
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::GenericConfig;
use zknode_kernels::merkle::to_plonky2_tree;
use zknode_kernels::{Backend, ColumnBatch, Goldilocks, NttDirection, Order};

use crate::error::{ProverError, Result};

/// Checks that `values` is a non-empty batch of equal-length, power-of-two columns and returns
/// `log2` of that length.
pub(crate) fn check_columns(values: &[PolynomialValues<Goldilocks>]) -> Result<usize> {
    let first = values
        .first()
        .ok_or_else(|| ProverError::InvalidTrace("the trace has no columns".into()))?;
    let n = first.len();
    if !n.is_power_of_two() {
        return Err(ProverError::InvalidTrace(format!(
            "{n} rows is not a power of two"
        )));
    }
    if let Some((i, col)) = values.iter().enumerate().find(|(_, c)| c.len() != n) {
        return Err(ProverError::InvalidTrace(format!(
            "column {i} has {} rows, column 0 has {n}",
            col.len()
        )));
    }
    Ok(n.trailing_zeros() as usize)
}

/// Commits to the polynomials interpolating `values` on the backend; equal (field by field) to
/// `PolynomialBatch::from_values(values, rate_bits, false, cap_height, ..)`.
///
/// Blinding is not supported: starky never blinds, and salt would have to come from a RNG that a
/// byte-identical prover could not reproduce anyway.
pub fn commit_values<B, C, const D: usize>(
    backend: &B,
    values: &[PolynomialValues<Goldilocks>],
    rate_bits: usize,
    cap_height: usize,
) -> Result<PolynomialBatch<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
{
    let _span =
        tracing::info_span!("commit", backend = %backend.name(), columns = values.len()).entered();
    let log_n = check_columns(values)?;
    let shape = ColumnBatch::new(log_n, values.len());

    // Column-major, as the backend's column batches are.
    let flat: Vec<Goldilocks> = values
        .iter()
        .flat_map(|c| c.values.iter().copied())
        .collect();
    let mut coeffs = backend.upload(&flat)?;
    drop(flat);
    backend.ntt(
        &mut coeffs,
        shape,
        NttDirection::Inverse,
        Order::Natural,
        Order::Natural,
    )?;
    commit_device_coeffs(backend, coeffs, shape, rate_bits, cap_height)
}

/// Commits to polynomials given by their coefficients (all of the same power-of-two length); equal to
/// `PolynomialBatch::from_coeffs(polynomials, rate_bits, false, cap_height, ..)`.
pub fn commit_coeffs<B, C, const D: usize>(
    backend: &B,
    polynomials: &[PolynomialCoeffs<Goldilocks>],
    rate_bits: usize,
    cap_height: usize,
) -> Result<PolynomialBatch<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
{
    let _span =
        tracing::info_span!("commit", backend = %backend.name(), columns = polynomials.len())
            .entered();
    let first = polynomials
        .first()
        .ok_or_else(|| ProverError::InvalidTrace("no polynomials to commit to".into()))?;
    let n = first.len();
    if !n.is_power_of_two() || polynomials.iter().any(|p| p.len() != n) {
        return Err(ProverError::InvalidTrace(
            "polynomials of unequal or non-power-of-two lengths".into(),
        ));
    }
    let shape = ColumnBatch::new(n.trailing_zeros() as usize, polynomials.len());
    let flat: Vec<Goldilocks> = polynomials
        .iter()
        .flat_map(|p| p.coeffs.iter().copied())
        .collect();
    let coeffs = backend.upload(&flat)?;
    commit_device_coeffs(backend, coeffs, shape, rate_bits, cap_height)
}

/// The commitment of a column batch of coefficients already on the device.
fn commit_device_coeffs<B, C, const D: usize>(
    backend: &B,
    coeffs: B::Buffer<Goldilocks>,
    shape: ColumnBatch,
    rate_bits: usize,
    cap_height: usize,
) -> Result<PolynomialBatch<Goldilocks, C, D>>
where
    B: Backend,
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
{
    if cap_height > shape.log_n + rate_bits {
        return Err(ProverError::InvalidConfig(format!(
            "cap height {cap_height} above the LDE tree height {}",
            shape.log_n + rate_bits
        )));
    }
    let rows = backend.coset_lde_rows(&coeffs, shape, rate_bits, Goldilocks::coset_shift())?;
    let tree = backend.merkle_tree(&rows, shape.num_cols, cap_height)?;

    // starky keeps the coefficients (openings, quotient) and every leaf (quotient evaluation, FRI
    // queries) on the host, so all of it comes back. Each buffer is dropped as soon as its copy
    // exists: on the CPU backend buffers are host memory too, and holding the LDE three times
    // (backend buffer, downloaded copy, leaf vectors) would take 1.8x starky's peak heap.
    let digests = backend.download(&tree.digests)?;
    let cap = backend.download(&tree.cap)?;
    drop(tree);
    let host_coeffs = backend.download(&coeffs)?;
    drop(coeffs);
    let polynomials = host_coeffs
        .chunks_exact(shape.n())
        .map(|c| PolynomialCoeffs::new(c.to_vec()))
        .collect();
    drop(host_coeffs);
    let host_rows = backend.download(&rows)?;
    drop(rows);
    let leaves = host_rows
        .chunks_exact(shape.num_cols)
        .map(<[Goldilocks]>::to_vec)
        .collect();
    drop(host_rows);
    let merkle_tree = to_plonky2_tree(leaves, &digests, &cap)?;

    Ok(PolynomialBatch {
        polynomials,
        merkle_tree,
        degree_log: shape.log_n,
        rate_bits,
        blinding: false,
    })
}
