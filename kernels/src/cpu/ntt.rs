//! Goldilocks NTT and coset LDE on the CPU (rayon).
use crate::backend::{ColumnBatch, NttDirection, Order};
use crate::error::Result;
use crate::field::Goldilocks;

/// In-place NTT of each column of a column-major batch (`data.len() == shape.len()`).
pub fn ntt_batch(
    data: &mut [Goldilocks],
    shape: ColumnBatch,
    direction: NttDirection,
    input_order: Order,
    output_order: Order,
) -> Result<()> {
    let _ = (data, shape, direction, input_order, output_order);
    todo!("helper A")
}

/// Coset LDE of a column-major batch of coefficients; returns the row-major, bit-reversed-row matrix of
/// `(n << rate_bits) * num_cols` elements that plonky2 uses as Merkle leaves.
pub fn coset_lde_rows(
    coeffs: &[Goldilocks],
    shape: ColumnBatch,
    rate_bits: usize,
    shift: Goldilocks,
) -> Result<Vec<Goldilocks>> {
    let _ = (coeffs, shape, rate_bits, shift);
    todo!("helper A")
}
