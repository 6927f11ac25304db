//! The wgpu backend: WGSL compute kernels on any Vulkan, Metal or DX12 adapter (an NVIDIA GPU, or
//! Mesa's lavapipe in CI).
//!
//! A [`WgpuBackend`] owns one device (explicit context; several backends may coexist). Buffers stay on
//! the device between operations; only what the caller downloads crosses the bus. Kernels are compiled
//! once per device on first use, device tables (twiddles, coset factors) built once per size.

mod bn254;
mod context;
mod merkle;
mod ntt;

use std::marker::PhantomData;
use std::sync::Arc;

use context::Gpu;
pub use context::{AdapterSummary, ADAPTER_ENV};

use crate::backend::{
    check_rows, Backend, Bn254FftKind, ColumnBatch, MerkleDigests, NttDirection, Order,
};
use crate::error::{require_len, KernelError, Result};
use crate::field::{DeviceElement, Fr, G1Affine, G1Projective, Goldilocks};

/// A typed buffer on a wgpu device: `len` elements of `T::WORDS` u32 words each.
pub struct WgpuBuffer<T> {
    buffer: wgpu::Buffer,
    len: usize,
    _element: PhantomData<fn() -> T>,
}

impl<T> core::fmt::Debug for WgpuBuffer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WgpuBuffer")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<T: DeviceElement> WgpuBuffer<T> {
    fn new(buffer: wgpu::Buffer, len: usize) -> Self {
        Self {
            buffer,
            len,
            _element: PhantomData,
        }
    }

    /// The underlying wgpu buffer (for kernels of other crates that chain on it).
    pub fn raw(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Decodes elements read back from the device; `first` is the index of the first one in its buffer
/// (for the error).
fn decode_words<T: DeviceElement>(words: &[u32], first: usize) -> Result<Vec<T>> {
    words
        .chunks_exact(T::WORDS)
        .enumerate()
        .map(|(i, w)| {
            T::decode(w).ok_or(KernelError::NonCanonical {
                index: first + i,
                reason: "invalid element read back",
            })
        })
        .collect()
}

/// The wgpu backend. Cheap to clone (the device is shared).
#[derive(Clone, Debug)]
pub struct WgpuBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    gpu: Gpu,
    tables: ntt::Tables,
    bn254_tables: bn254::Tables,
    /// Bound where a kernel's layout has a slot the operation does not use.
    dummy: wgpu::Buffer,
}

impl WgpuBackend {
    /// Opens the best suitable adapter (see [`ADAPTER_ENV`]); fails with
    /// [`KernelError::BackendUnavailable`] when there is none, naming what was found and why it was
    /// passed over.
    pub fn new() -> Result<Self> {
        Self::open(None)
    }

    /// Like [`WgpuBackend::new`], with storage bindings capped at `bytes`: large buffers are then
    /// processed in windows exactly as buffers beyond the adapter's own limit are (this exercises
    /// those paths on small inputs).
    pub fn with_binding_limit(bytes: u64) -> Result<Self> {
        Self::open(Some(bytes))
    }

    fn open(binding_limit: Option<u64>) -> Result<Self> {
        let gpu = Gpu::open(binding_limit)?;
        let dummy = gpu.storage_buffer("unused binding", 16)?;
        Ok(Self {
            inner: Arc::new(Inner {
                gpu,
                tables: ntt::Tables::default(),
                bn254_tables: bn254::Tables::default(),
                dummy,
            }),
        })
    }

    /// The adapter this backend runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.inner.gpu.adapter
    }

    fn gpu(&self) -> &Gpu {
        &self.inner.gpu
    }
}

impl Backend for WgpuBackend {
    type Buffer<T: DeviceElement> = WgpuBuffer<T>;

    fn name(&self) -> String {
        format!("wgpu({})", self.adapter().name)
    }

    fn upload<T: DeviceElement>(&self, host: &[T]) -> Result<WgpuBuffer<T>> {
        let mut words = vec![0u32; host.len() * T::WORDS];
        for (x, out) in host.iter().zip(words.chunks_exact_mut(T::WORDS)) {
            x.encode(out);
        }
        Ok(WgpuBuffer::new(
            self.gpu().upload_words("upload", &words)?,
            host.len(),
        ))
    }

    fn download<T: DeviceElement>(&self, buf: &WgpuBuffer<T>) -> Result<Vec<T>> {
        let words = self
            .gpu()
            .read_words(&buf.buffer, 0, (buf.len * T::WORDS) as u64)?;
        decode_words(&words, 0)
    }

    fn download_rows<T: DeviceElement>(
        &self,
        buf: &WgpuBuffer<T>,
        width: usize,
        rows: &[usize],
    ) -> Result<Vec<Vec<T>>> {
        check_rows(buf.len, width, rows)?;
        let words_per_row = (width * T::WORDS) as u64;
        rows.iter()
            .map(|&r| {
                let words =
                    self.gpu()
                        .read_words(&buf.buffer, r as u64 * words_per_row, words_per_row)?;
                decode_words(&words, r * width)
            })
            .collect()
    }

    fn buffer_len<T: DeviceElement>(&self, buf: &WgpuBuffer<T>) -> usize {
        buf.len
    }

    fn ntt(
        &self,
        columns: &mut WgpuBuffer<Goldilocks>,
        shape: ColumnBatch,
        direction: NttDirection,
        input_order: Order,
        output_order: Order,
    ) -> Result<()> {
        require_len("ntt columns", shape.len(), columns.len)?;
        ntt::ntt(
            self.gpu(),
            &self.inner.tables,
            &self.inner.dummy,
            &columns.buffer,
            shape,
            direction,
            input_order,
            output_order,
        )
    }

    fn coset_lde_rows(
        &self,
        coeffs: &WgpuBuffer<Goldilocks>,
        shape: ColumnBatch,
        rate_bits: usize,
        shift: Goldilocks,
    ) -> Result<WgpuBuffer<Goldilocks>> {
        require_len("coset_lde coefficients", shape.len(), coeffs.len)?;
        let out = ntt::coset_lde_rows(
            self.gpu(),
            &self.inner.tables,
            &coeffs.buffer,
            shape,
            rate_bits,
            shift,
        )?;
        Ok(WgpuBuffer::new(out, (shape.len()) << rate_bits))
    }

    fn poseidon_permute(&self, states: &mut WgpuBuffer<Goldilocks>) -> Result<()> {
        merkle::permute(self.gpu(), &states.buffer, states.len)
    }

    fn hash_rows(
        &self,
        rows: &WgpuBuffer<Goldilocks>,
        width: usize,
    ) -> Result<WgpuBuffer<Goldilocks>> {
        merkle::hash_rows(self.gpu(), &rows.buffer, rows.len, width)
    }

    fn merkle_tree(
        &self,
        leaves: &WgpuBuffer<Goldilocks>,
        width: usize,
        cap_height: usize,
    ) -> Result<MerkleDigests<WgpuBuffer<Goldilocks>>> {
        merkle::merkle_tree(self.gpu(), &leaves.buffer, leaves.len, width, cap_height)
    }

    fn bn254_fft(&self, values: &mut WgpuBuffer<Fr>, kind: Bn254FftKind) -> Result<()> {
        bn254::fft(
            self.gpu(),
            &self.inner.bn254_tables,
            &self.inner.dummy,
            &values.buffer,
            values.len,
            kind,
        )
    }

    fn bn254_msm(
        &self,
        bases: &WgpuBuffer<G1Affine>,
        scalars: &WgpuBuffer<Fr>,
    ) -> Result<G1Projective> {
        require_len("bn254 msm scalars", bases.len, scalars.len)?;
        bn254::msm(self.gpu(), &bases.buffer, &scalars.buffer, bases.len)
    }
}
