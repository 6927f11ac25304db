//! BN254 Fr FFT on the device, with ark-poly `Radix2EvaluationDomain` semantics.
//!
//! A DIF transform (radix-8 global passes, then a workgroup-memory pass) followed by a bit-reversal
//! pass into a scratch buffer that is copied back, all in one submission. Coset and inverse scalings
//! are fused into the first and the last pass (see `shaders/bn254_fft.wgsl`). Every element is exact
//! field arithmetic, so the output equals ark-poly's bit for bit whatever the evaluation order.

use std::sync::Arc;

use ark_ff::{FftField, Field, One, Zero};
use rayon::prelude::*;

use super::{binding_bytes, fft_source, poisoned, to_words, Tables, ELEMENT_BYTES, FFT_MODULE};
use crate::backend::Bn254FftKind;
use crate::error::{require_pow2, KernelError, Result};
use crate::field::Fr;
use crate::wgpu::context::Gpu;

/// The largest domain: Fr's two-adicity.
const MAX_LOG_N: usize = Fr::TWO_ADICITY as usize;
/// log2 of the largest block the workgroup pass transforms (512 elements = 16 KiB, the WebGPU
/// default workgroup-memory limit).
const SHARED_LOG: usize = 9;
/// The workgroup pass is given at least this many stages when global passes run, so that the global
/// stages come in whole radix-8 passes.
const MIN_SHARED_LOG: usize = SHARED_LOG - 2;
const RADIX_LOG: usize = 3;

/// How a dispatch scales the elements it touches (`scale_mode` in the shader).
#[derive(Clone, Copy)]
enum Scale {
    None,
    /// Every element by one constant.
    Constant(Fr),
    /// Element `i` by `c^i * f`, from a split table (see [`coset_table`]).
    Table {
        split: usize,
    },
}

impl Scale {
    /// The shader's `scale_mode`, `split` and `factor` (Montgomery limbs) for this scaling.
    fn params(self) -> (u32, u32, [u32; 8]) {
        match self {
            Scale::None => (0, 0, [0; 8]),
            Scale::Constant(f) => {
                let mut factor = [0u32; 8];
                factor.copy_from_slice(&to_words(&[f]));
                (1, 0, factor)
            }
            Scale::Table { split } => (2, split as u32, [0; 8]),
        }
    }
}

impl Tables {
    /// `g^j` for `j < 2^(log_n - 1)`, g = `Fr::get_root_of_unity(2^log_n)` (ark-poly's group generator).
    fn fft_twiddles(&self, gpu: &Gpu, log_n: usize) -> Result<Arc<wgpu::Buffer>> {
        let mut cache = self.twiddles.lock().map_err(|_| poisoned())?;
        if let Some(t) = cache.get(&log_n) {
            return Ok(t.clone());
        }
        let root = Fr::get_root_of_unity(1u64 << log_n).ok_or_else(|| {
            KernelError::InvalidArgument(format!("bn254 fft: no root of unity of order 2^{log_n}"))
        })?;
        let table = powers(root, Fr::one(), (1usize << log_n) / 2);
        let buf = Arc::new(gpu.upload_words("bn254 fft twiddles", &to_words(&table))?);
        cache.insert(log_n, buf.clone());
        Ok(buf)
    }
}

/// `[start * base^i for i in 0..len]`, in parallel chunks.
fn powers(base: Fr, start: Fr, len: usize) -> Vec<Fr> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![Fr::zero(); len];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut x = start * base.pow([(c * CHUNK) as u64]);
            for slot in chunk {
                *slot = x;
                x *= base;
            }
        });
    out
}

/// The split table of `c^i * f` for `i < 2^log_n`: `c^j` for `j < 2^split`, then `f * c^(m * 2^split)`
/// for `m < 2^(log_n - split)`; about `2^(log_n/2 + 1)` host multiplications instead of `2^log_n`.
fn coset_table(c: Fr, f: Fr, log_n: usize) -> (Vec<Fr>, usize) {
    let split = log_n.div_ceil(2);
    let mut table = powers(c, Fr::one(), 1 << split);
    let step = c.pow([1u64 << split]);
    table.extend(powers(step, f, 1 << (log_n - split)));
    (table, split)
}

/// In-place FFT of the `len` elements of `values` (see [`crate::Backend::bn254_fft`]).
pub(crate) fn fft(
    gpu: &Gpu,
    tables: &Tables,
    dummy: &wgpu::Buffer,
    values: &wgpu::Buffer,
    len: usize,
    kind: Bn254FftKind,
) -> Result<()> {
    let log_n = require_pow2("bn254 fft", len)?;
    if log_n > MAX_LOG_N {
        return Err(KernelError::SizeTooLarge {
            what: "bn254 fft",
            log_n,
            max_log_n: MAX_LOG_N,
        });
    }
    let invertible = |offset: Fr| {
        offset.inverse().ok_or_else(|| {
            KernelError::InvalidArgument("bn254 fft: coset offset must be non-zero".into())
        })
    };
    // n <= 2^28 < r, so n is invertible.
    let n_inv = Fr::from(len as u64).inverse().unwrap_or_else(Fr::one);
    // (scaling of the input, scaling of the output, inverse transform, coset factors)
    let (pre, post, inverse, coset) = match kind {
        Bn254FftKind::Forward => (Scale::None, Scale::None, false, None),
        Bn254FftKind::Inverse => (Scale::None, Scale::Constant(n_inv), true, None),
        Bn254FftKind::CosetForward(offset) => {
            invertible(offset)?;
            let (table, split) = coset_table(offset, Fr::one(), log_n);
            (Scale::Table { split }, Scale::None, false, Some(table))
        }
        Bn254FftKind::CosetInverse(offset) => {
            let (table, split) = coset_table(invertible(offset)?, n_inv, log_n);
            (Scale::None, Scale::Table { split }, true, Some(table))
        }
    };
    if log_n == 0 {
        // A transform of size 1 is the identity, and 1/n = offset^0 = 1.
        return Ok(());
    }
    let bytes = binding_bytes(gpu, "bn254 fft values", len, ELEMENT_BYTES)?;
    let twiddles = tables.fft_twiddles(gpu, log_n)?;
    let coset = coset
        .map(|t| gpu.upload_words("bn254 fft coset factors", &to_words(&t)))
        .transpose()?;
    let coset = coset.as_ref().unwrap_or(dummy);
    let scratch = gpu.storage_buffer("bn254 fft scratch", bytes)?;
    let bindings = [
        values.into(),
        (&*twiddles).into(),
        coset.into(),
        (&scratch).into(),
    ];

    // The shader's `Params`: log_n, log_h, stages, scale_mode, split, inverse, padding, factor.
    let params = |log_h: usize, stages: usize, scale: Scale| {
        let (mode, split, factor) = scale.params();
        let mut p = [0u32; 16];
        p[..6].copy_from_slice(&[
            log_n as u32,
            log_h as u32,
            stages as u32,
            mode,
            split,
            u32::from(inverse),
        ]);
        p[8..].copy_from_slice(&factor);
        p
    };

    let mut batch = gpu.batch("bn254 fft")?;
    // Stages above the workgroup pass run in whole radix-8 passes; the workgroup pass takes the rest
    // (7 to 9 stages, or all of them for a small domain).
    let shared = if log_n <= SHARED_LOG {
        log_n
    } else {
        MIN_SHARED_LOG + (log_n - MIN_SHARED_LOG) % RADIX_LOG
    };
    let mut first = Some(pre);
    let global = gpu.kernel(FFT_MODULE, fft_source(), "fft_global", 4)?;
    let mut log_h = log_n - 1;
    while log_h >= shared {
        let scale = first.take().unwrap_or(Scale::None);
        batch.dispatch(
            &global,
            &params(log_h, RADIX_LOG, scale),
            &bindings,
            gpu.grid((len >> RADIX_LOG) as u64),
        )?;
        log_h -= RADIX_LOG;
    }
    let shared_kernel = gpu.kernel(FFT_MODULE, fft_source(), "fft_shared", 4)?;
    let workgroups = (len >> shared) as u64;
    // One workgroup per block: spread the count over x and y.
    let x = workgroups.min(65535);
    let groups = [x as u32, workgroups.div_ceil(x) as u32, 1];
    let scale = first.take().unwrap_or(Scale::None);
    batch.dispatch(
        &shared_kernel,
        &params(shared - 1, shared, scale),
        &bindings,
        groups,
    )?;
    let permute = gpu.kernel(FFT_MODULE, fft_source(), "fft_permute", 4)?;
    batch.dispatch(
        &permute,
        &params(0, 0, post),
        &bindings,
        gpu.grid(len as u64),
    )?;
    batch.copy(&scratch, 0, values, 0, bytes);
    batch.run()
}
