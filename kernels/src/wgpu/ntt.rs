//! Goldilocks NTT and coset LDE on the device.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plonky2_field::types::{Field, PrimeField64};
use rayon::prelude::*;

use super::context::{Batch, Binding, Gpu};
use crate::backend::{ColumnBatch, NttDirection, Order};
use crate::error::{KernelError, Result};
use crate::field::Goldilocks;

const NTT_MODULE: &str = "ntt";
const NTT_SRC: &str = concat!(
    include_str!("shaders/goldilocks.wgsl"),
    include_str!("shaders/ntt.wgsl")
);
const PERMUTE_MODULE: &str = "permute";
const PERMUTE_SRC: &str = concat!(
    include_str!("shaders/goldilocks.wgsl"),
    include_str!("shaders/permute.wgsl")
);

/// log2 of the block the workgroup-memory pass transforms (2^11 u64 = 16 KiB of workgroup memory).
const SHARED_LOG: usize = 11;
/// Stages a global pass runs in registers (radix 8).
const MAX_GLOBAL_STAGES: usize = 3;
/// The largest transform: the two-adicity of Goldilocks.
pub(crate) const MAX_LOG_N: usize = 32;

/// Device-resident tables, built on first use for each size and kept for the device's lifetime.
#[derive(Default)]
pub(crate) struct Tables {
    twiddles: Mutex<HashMap<(usize, bool), Arc<wgpu::Buffer>>>,
    coset: Mutex<HashMap<(usize, usize, u64), Arc<wgpu::Buffer>>>,
}

impl core::fmt::Debug for Tables {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tables").finish_non_exhaustive()
    }
}

fn to_words(values: &[Goldilocks]) -> Vec<u32> {
    values
        .iter()
        .flat_map(|v| {
            let x = v.to_canonical_u64();
            [x as u32, (x >> 32) as u32]
        })
        .collect()
}

/// `[start * base^i for i in 0..len]`, computed in parallel chunks.
fn powers(base: Goldilocks, start: Goldilocks, len: usize) -> Vec<Goldilocks> {
    const CHUNK: usize = 1 << 14;
    let mut out = vec![Goldilocks::ZERO; len];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut x = start * base.exp_u64((c * CHUNK) as u64);
            for slot in chunk {
                *slot = x;
                x *= base;
            }
        });
    out
}

impl Tables {
    /// `w^j` (or `w^-j`) for `j < 2^(log_n - 1)`, w = plonky2's root of order 2^log_n.
    fn twiddles(&self, gpu: &Gpu, log_n: usize, inverse: bool) -> Result<Arc<wgpu::Buffer>> {
        let mut cache = self.twiddles.lock().map_err(|_| poisoned())?;
        if let Some(t) = cache.get(&(log_n, inverse)) {
            return Ok(t.clone());
        }
        let root = Goldilocks::primitive_root_of_unity(log_n);
        let root = if inverse { root.inverse() } else { root };
        let table = powers(root, Goldilocks::ONE, (1usize << log_n) / 2);
        let buf = Arc::new(gpu.upload_words("ntt twiddles", &to_words(&table))?);
        cache.insert((log_n, inverse), buf.clone());
        Ok(buf)
    }

    /// `table[b * n + j] = (shift * w_N^rev_r(b))^j`, the coset-expansion factors of an LDE.
    fn coset(
        &self,
        gpu: &Gpu,
        log_n: usize,
        rate_bits: usize,
        shift: Goldilocks,
    ) -> Result<Arc<wgpu::Buffer>> {
        let key = (log_n, rate_bits, shift.to_canonical_u64());
        let mut cache = self.coset.lock().map_err(|_| poisoned())?;
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let n = 1usize << log_n;
        let w_big = Goldilocks::primitive_root_of_unity(log_n + rate_bits);
        let table: Vec<Goldilocks> = (0..1usize << rate_bits)
            .flat_map(|b| {
                let rev_b = if rate_bits == 0 {
                    0
                } else {
                    b.reverse_bits() >> (usize::BITS as usize - rate_bits)
                };
                let factor = shift * w_big.exp_u64(rev_b as u64);
                powers(factor, Goldilocks::ONE, n)
            })
            .collect();
        let buf = Arc::new(gpu.upload_words("lde coset factors", &to_words(&table))?);
        cache.insert(key, buf.clone());
        Ok(buf)
    }
}

fn poisoned() -> KernelError {
    KernelError::Device {
        backend: "wgpu",
        reason: "table cache poisoned".into(),
    }
}

fn check_log_n(what: &'static str, log_n: usize) -> Result<()> {
    if log_n > MAX_LOG_N {
        return Err(KernelError::SizeTooLarge {
            what,
            log_n,
            max_log_n: MAX_LOG_N,
        });
    }
    Ok(())
}

/// Records a DIF NTT (natural order in, bit-reversed out) of `blocks` blocks of 2^log_n elements held
/// in `data`, scaling every output by `scale` when given. Blocks are bound in windows that fit one
/// storage binding.
fn record_dif(
    gpu: &Gpu,
    batch: &mut Batch<'_>,
    data: &wgpu::Buffer,
    blocks: usize,
    log_n: usize,
    twiddles: &wgpu::Buffer,
    scale: Option<Goldilocks>,
) -> Result<()> {
    if log_n == 0 || blocks == 0 {
        // A transform of size 1 is the identity, and n^-1 = 1.
        return Ok(());
    }
    let block_bytes = 8u64 << log_n;
    let global = gpu.kernel(NTT_MODULE, NTT_SRC, "dif_global", 2)?;
    let shared_kernel = gpu.kernel(NTT_MODULE, NTT_SRC, "dif_shared", 2)?;
    let shared = log_n.min(SHARED_LOG);
    let scale_word = scale.map(|s| s.to_canonical_u64()).unwrap_or(1);
    for (first, count) in gpu.windows("ntt", blocks, block_bytes)? {
        let window = Binding::window(data, first, count, block_bytes);
        let mut remaining = log_n - shared;
        let mut log_h = log_n - 1;
        while remaining > 0 {
            let k = remaining.min(MAX_GLOBAL_STAGES);
            let params = [
                log_n as u32,
                log_h as u32,
                k as u32,
                count as u32,
                0,
                0,
                0,
                0,
            ];
            let threads = (count as u64) << (log_n - k);
            batch.dispatch(
                &global,
                &params,
                &[window, twiddles.into()],
                gpu.grid(threads),
            )?;
            log_h -= k;
            remaining -= k;
        }
        let params = [
            log_n as u32,
            (shared - 1) as u32,
            shared as u32,
            count as u32,
            u32::from(scale.is_some()),
            scale_word as u32,
            (scale_word >> 32) as u32,
            0,
        ];
        // One workgroup per block of 2^shared elements, spread over x and y.
        let workgroups = (count as u64) << (log_n - shared);
        let x = workgroups.min(65535);
        let groups = [x as u32, workgroups.div_ceil(x) as u32, 1];
        batch.dispatch(&shared_kernel, &params, &[window, twiddles.into()], groups)?;
    }
    Ok(())
}

/// Parameters of the permute.wgsl kernels (see its `Params`).
#[derive(Default)]
struct PermuteParams {
    log_n: usize,
    num_blocks: usize,
    log_small: usize,
    rate_bits: usize,
    rows: usize,
    cols: usize,
    row_offset: usize,
    total_cols: usize,
    col_offset: usize,
}

impl PermuteParams {
    fn words(&self) -> [u32; 9] {
        [
            self.log_n as u32,
            self.num_blocks as u32,
            self.log_small as u32,
            self.rate_bits as u32,
            self.rows as u32,
            self.cols as u32,
            self.row_offset as u32,
            self.total_cols as u32,
            self.col_offset as u32,
        ]
    }
}

/// Records `dst[block][rev(i)] = src[block][i]` for `blocks` blocks of 2^log_n.
fn record_bit_reverse(
    gpu: &Gpu,
    batch: &mut Batch<'_>,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    dummy: &wgpu::Buffer,
    blocks: usize,
    log_n: usize,
) -> Result<()> {
    let kernel = gpu.kernel(PERMUTE_MODULE, PERMUTE_SRC, "bit_reverse", 3)?;
    let block_bytes = 8u64 << log_n;
    for (first, count) in gpu.windows("bit reversal", blocks, block_bytes)? {
        let params = PermuteParams {
            log_n,
            num_blocks: count,
            ..Default::default()
        }
        .words();
        let threads = (count as u64) << log_n;
        let bindings = [
            Binding::window(src, first, count, block_bytes),
            Binding::window(dst, first, count, block_bytes),
            dummy.into(),
        ];
        batch.dispatch(&kernel, &params, &bindings, gpu.grid(threads))?;
    }
    Ok(())
}

/// In-place batched NTT with any input/output order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ntt(
    gpu: &Gpu,
    tables: &Tables,
    dummy: &wgpu::Buffer,
    columns: &wgpu::Buffer,
    shape: ColumnBatch,
    direction: NttDirection,
    input_order: Order,
    output_order: Order,
) -> Result<()> {
    check_log_n("ntt", shape.log_n)?;
    if shape.is_empty() || shape.log_n == 0 {
        return Ok(());
    }
    let bytes = (shape.len() as u64) * 8;
    let inverse = direction == NttDirection::Inverse;
    let twiddles = tables.twiddles(gpu, shape.log_n, inverse)?;
    let scale = inverse.then(|| Goldilocks::inverse_2exp(shape.log_n));
    let needs_tmp = input_order == Order::BitReversed || output_order == Order::Natural;
    let tmp = if needs_tmp {
        Some(gpu.storage_buffer("ntt scratch", bytes)?)
    } else {
        None
    };

    let mut batch = gpu.batch("ntt")?;
    // The DIF kernels read natural order and write bit-reversed order; other orders cost one
    // permutation pass each.
    if let (Order::BitReversed, Some(tmp)) = (input_order, &tmp) {
        record_bit_reverse(
            gpu,
            &mut batch,
            columns,
            tmp,
            dummy,
            shape.num_cols,
            shape.log_n,
        )?;
        batch.copy(tmp, 0, columns, 0, bytes);
    }
    record_dif(
        gpu,
        &mut batch,
        columns,
        shape.num_cols,
        shape.log_n,
        &twiddles,
        scale,
    )?;
    if let (Order::Natural, Some(tmp)) = (output_order, &tmp) {
        record_bit_reverse(
            gpu,
            &mut batch,
            columns,
            tmp,
            dummy,
            shape.num_cols,
            shape.log_n,
        )?;
        batch.copy(tmp, 0, columns, 0, bytes);
    }
    batch.run()
}

/// Coset LDE of column-major coefficients into a row-major, bit-reversed-row matrix.
///
/// Columns are processed in groups whose extended columns fit one storage binding (the scratch
/// buffer is reused between groups); each group's values are transposed into the output in row
/// windows, so neither the whole LDE nor the output has to fit one binding.
pub(crate) fn coset_lde_rows(
    gpu: &Gpu,
    tables: &Tables,
    coeffs: &wgpu::Buffer,
    shape: ColumnBatch,
    rate_bits: usize,
    shift: Goldilocks,
) -> Result<wgpu::Buffer> {
    let log_big = shape.log_n + rate_bits;
    check_log_n("coset_lde", log_big)?;
    let big = 1usize << log_big;
    let cols = shape.num_cols;
    let out = gpu.storage_buffer("lde rows", (big as u64) * (cols as u64) * 8)?;
    if shape.is_empty() {
        return Ok(out);
    }
    let coset = tables.coset(gpu, shape.log_n, rate_bits, shift)?;
    let twiddles = if shape.log_n > 0 {
        Some(tables.twiddles(gpu, shape.log_n, false)?)
    } else {
        None
    };
    let expand = gpu.kernel(PERMUTE_MODULE, PERMUTE_SRC, "coset_expand", 3)?;
    let transpose = gpu.kernel(PERMUTE_MODULE, PERMUTE_SRC, "transpose", 3)?;

    // Column groups: an extended column is the unit, windows of the coefficients align with them.
    let col_bytes = 8u64 << shape.log_n;
    let big_col_bytes = 8u64 << log_big;
    let groups = gpu.windows("lde columns", cols, big_col_bytes)?;
    let group_cols = groups.first().map_or(0, |g| g.1);
    let scratch = gpu.storage_buffer("lde scratch", big_col_bytes * group_cols as u64)?;
    let row_windows = gpu.windows("lde rows", big, 8 * cols as u64)?;

    let mut batch = gpu.batch("coset_lde")?;
    for (c0, gc) in groups {
        // The coefficient window of this group; its offset must be aligned too.
        let align = u64::from(gpu.limits.min_storage_buffer_offset_alignment).max(1);
        let coeff_window = if (c0 as u64 * col_bytes).is_multiple_of(align) {
            Binding::window(coeffs, c0, gc, col_bytes)
        } else {
            return Err(KernelError::Device {
                backend: "wgpu",
                reason: format!(
                    "lde: coefficient window at column {c0} is not aligned to {align} bytes"
                ),
            });
        };
        let params = PermuteParams {
            log_n: log_big,
            num_blocks: gc,
            log_small: shape.log_n,
            rate_bits,
            ..Default::default()
        };
        let bindings = [coeff_window, (&scratch).into(), (&*coset).into()];
        batch.dispatch(
            &expand,
            &params.words(),
            &bindings,
            gpu.grid((gc as u64) << log_big),
        )?;
        if let Some(twiddles) = &twiddles {
            // 2^rate_bits independent size-n transforms per column; their bit-reversed outputs,
            // block after block, are the column's LDE in bit-reversed order.
            record_dif(
                gpu,
                &mut batch,
                &scratch,
                gc << rate_bits,
                shape.log_n,
                twiddles,
                None,
            )?;
        }
        for &(r0, rows) in &row_windows {
            let params = PermuteParams {
                log_n: log_big,
                rows,
                cols: gc,
                row_offset: r0,
                total_cols: cols,
                col_offset: c0,
                ..Default::default()
            };
            let bindings = [
                (&scratch).into(),
                Binding::window(&out, r0, rows, 8 * cols as u64),
                (&*coset).into(),
            ];
            batch.dispatch(
                &transpose,
                &params.words(),
                &bindings,
                gpu.grid((rows * gc) as u64),
            )?;
        }
    }
    batch.run()?;
    Ok(out)
}
