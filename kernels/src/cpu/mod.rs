//! The CPU backend: every kernel on rayon, in host memory. It is also the reference the device
//! backends are checked against (after it has itself been checked against plonky2 and arkworks).

pub mod bn254;
pub mod merkle;
pub mod ntt;

use std::sync::Arc;

use crate::backend::{
    check_rows, Backend, Bn254FftKind, ColumnBatch, MerkleDigests, NttDirection, Order,
};
use crate::error::{require_len, KernelError, Result};
use crate::field::{DeviceElement, Fr, G1Affine, G1Projective, Goldilocks};

/// The rayon CPU backend. A buffer is a `Vec`. Without a pool of its own it runs on rayon's global
/// pool; [`CpuBackend::with_threads`] gives it a dedicated one (benchmarks, hosts sharing cores).
#[derive(Clone, Debug, Default)]
pub struct CpuBackend {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl CpuBackend {
    /// A backend on rayon's global pool.
    pub fn new() -> Self {
        Self { pool: None }
    }

    /// A backend on a dedicated pool of `threads` threads.
    pub fn with_threads(threads: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("zknode-cpu-{i}"))
            .build()
            .map_err(|e| KernelError::BackendUnavailable {
                backend: "cpu",
                reason: e.to_string(),
            })?;
        Ok(Self {
            pool: Some(Arc::new(pool)),
        })
    }

    /// Threads this backend computes with.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

impl Backend for CpuBackend {
    type Buffer<T: DeviceElement> = Vec<T>;

    fn name(&self) -> String {
        format!("cpu({} threads)", self.threads())
    }

    fn upload<T: DeviceElement>(&self, host: &[T]) -> Result<Vec<T>> {
        Ok(host.to_vec())
    }

    fn download<T: DeviceElement>(&self, buf: &Vec<T>) -> Result<Vec<T>> {
        Ok(buf.clone())
    }

    fn download_rows<T: DeviceElement>(
        &self,
        buf: &Vec<T>,
        width: usize,
        rows: &[usize],
    ) -> Result<Vec<Vec<T>>> {
        check_rows(buf.len(), width, rows)?;
        Ok(rows
            .iter()
            .map(|&r| buf[r * width..(r + 1) * width].to_vec())
            .collect())
    }

    fn buffer_len<T: DeviceElement>(&self, buf: &Vec<T>) -> usize {
        buf.len()
    }

    fn ntt(
        &self,
        columns: &mut Vec<Goldilocks>,
        shape: ColumnBatch,
        direction: NttDirection,
        input_order: Order,
        output_order: Order,
    ) -> Result<()> {
        require_len("ntt columns", shape.len(), columns.len())?;
        self.run(|| ntt::ntt_batch(columns, shape, direction, input_order, output_order))
    }

    fn coset_lde_rows(
        &self,
        coeffs: &Vec<Goldilocks>,
        shape: ColumnBatch,
        rate_bits: usize,
        shift: Goldilocks,
    ) -> Result<Vec<Goldilocks>> {
        require_len("coset_lde coefficients", shape.len(), coeffs.len())?;
        self.run(|| ntt::coset_lde_rows(coeffs, shape, rate_bits, shift))
    }

    fn poseidon_permute(&self, states: &mut Vec<Goldilocks>) -> Result<()> {
        use rayon::prelude::*;
        if !states.len().is_multiple_of(crate::poseidon::WIDTH) {
            return Err(KernelError::InvalidArgument(format!(
                "poseidon states: {} elements is not a multiple of the width {}",
                states.len(),
                crate::poseidon::WIDTH
            )));
        }
        // Whole states (checked above), in runs of 64 so each thread can use the vector engine.
        let (states, _) = states.as_chunks_mut::<{ crate::poseidon::WIDTH }>();
        self.run(|| {
            states
                .par_chunks_mut(64)
                .for_each(crate::poseidon::permute_many)
        });
        Ok(())
    }

    fn hash_rows(&self, rows: &Vec<Goldilocks>, width: usize) -> Result<Vec<Goldilocks>> {
        self.run(|| merkle::hash_rows(rows, width))
    }

    fn merkle_tree(
        &self,
        leaves: &Vec<Goldilocks>,
        width: usize,
        cap_height: usize,
    ) -> Result<MerkleDigests<Vec<Goldilocks>>> {
        self.run(|| merkle::merkle_tree(leaves, width, cap_height))
    }

    fn bn254_fft(&self, values: &mut Vec<Fr>, kind: Bn254FftKind) -> Result<()> {
        self.run(|| bn254::fft(values, kind))
    }

    fn bn254_msm(&self, bases: &Vec<G1Affine>, scalars: &Vec<Fr>) -> Result<G1Projective> {
        self.run(|| bn254::msm(bases, scalars))
    }
}
