//! Backend selection: `Auto | Cpu | Gpu` from configuration, and [`AnyBackend`], the enum that
//! dispatches to whichever backend was chosen.
//!
//! `Auto` uses the GPU when one is usable and falls back to the CPU with a logged reason otherwise
//! (no adapter, adapter lacking a required feature, backend not compiled in). Under `Auto` a buffer
//! also chooses where it lives when it is uploaded: inputs below [`AUTO_MIN_DEVICE_ELEMENTS`] stay on
//! the host, because moving them costs more than the kernel saves. Operations run where their inputs
//! live and leave their outputs there, so chains never bounce between host and device.

use core::fmt;
use core::str::FromStr;

use crate::backend::{Backend, Bn254FftKind, ColumnBatch, MerkleDigests, NttDirection, Order};
use crate::cpu::CpuBackend;
use crate::error::{KernelError, Result};
use crate::field::{DeviceElement, Fr, G1Affine, G1Projective, Goldilocks};

/// Environment variable naming the backend: `auto`, `cpu` or `gpu`.
pub const BACKEND_ENV: &str = "ZKNODE_BACKEND";

/// Under `Auto`, uploads smaller than this many elements stay on the host.
pub const AUTO_MIN_DEVICE_ELEMENTS: usize = 1 << 14;

/// Which backend to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// The GPU if usable, else the CPU (with the reason logged).
    #[default]
    Auto,
    /// The rayon CPU backend.
    Cpu,
    /// The wgpu backend; an error if it cannot run.
    Gpu,
}

impl FromStr for BackendKind {
    type Err = KernelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" | "wgpu" => Ok(Self::Gpu),
            other => Err(KernelError::InvalidArgument(format!(
                "unknown backend {other:?}: expected auto, cpu or gpu"
            ))),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        })
    }
}

impl BackendKind {
    /// The kind named by [`BACKEND_ENV`], `Auto` when unset; an error for an unknown name.
    pub fn from_env() -> Result<Self> {
        match std::env::var(BACKEND_ENV) {
            Ok(v) => v.parse(),
            Err(_) => Ok(Self::Auto),
        }
    }
}

/// The backend chosen at run time.
#[derive(Clone, Debug)]
pub enum AnyBackend {
    Cpu(CpuBackend),
    #[cfg(feature = "wgpu")]
    Wgpu {
        gpu: crate::wgpu::WgpuBackend,
        /// The CPU backend that small inputs use (and that `Auto` compares against).
        cpu: CpuBackend,
        /// Whether small uploads stay on the host (`Auto`), or everything goes to the device (`Gpu`).
        route_small_to_cpu: bool,
    },
}

/// A buffer of [`AnyBackend`]: on the host or on the device.
#[derive(Debug)]
pub enum AnyBuffer<T: DeviceElement> {
    Host(Vec<T>),
    #[cfg(feature = "wgpu")]
    Device(crate::wgpu::WgpuBuffer<T>),
}

impl AnyBackend {
    /// Opens the backend `kind` asks for. `Auto` never fails for lack of a GPU; `Gpu` does.
    pub fn open(kind: BackendKind) -> Result<Self> {
        let backend = match kind {
            BackendKind::Cpu => Self::Cpu(CpuBackend::new()),
            BackendKind::Gpu => Self::open_gpu(false)?,
            BackendKind::Auto => match Self::open_gpu(true) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(reason = %e, "no usable GPU backend: using the CPU backend");
                    Self::Cpu(CpuBackend::new())
                }
            },
        };
        tracing::info!(%kind, backend = %backend.name(), "kernel backend selected");
        Ok(backend)
    }

    /// Opens the kind named by [`BACKEND_ENV`].
    pub fn from_env() -> Result<Self> {
        Self::open(BackendKind::from_env()?)
    }

    /// This backend, or the CPU backend in place of a software adapter (Mesa's llvmpipe), which is
    /// slower than the CPU backend: for callers whose `Auto` means "a GPU if the host has one" (the
    /// prover), unlike the conformance suite, which wants whatever device there is. An adapter named
    /// by `ZKNODE_WGPU_ADAPTER` is kept.
    pub fn prefer_hardware(self) -> Self {
        #[cfg(feature = "wgpu")]
        if let Self::Wgpu { gpu, .. } = &self {
            let adapter = gpu.adapter();
            let named = std::env::var(crate::wgpu::ADAPTER_ENV).is_ok_and(|v| !v.is_empty());
            if adapter.device_type == ::wgpu::DeviceType::Cpu && !named {
                tracing::warn!(
                    adapter = %adapter.name,
                    "the only GPU adapter is a software renderer: using the CPU backend \
                     (ZKNODE_BACKEND=gpu chooses it anyway)"
                );
                return Self::Cpu(CpuBackend::new());
            }
        }
        self
    }

    #[cfg(feature = "wgpu")]
    fn open_gpu(route_small_to_cpu: bool) -> Result<Self> {
        Ok(Self::Wgpu {
            gpu: crate::wgpu::WgpuBackend::new()?,
            cpu: CpuBackend::new(),
            route_small_to_cpu,
        })
    }

    #[cfg(not(feature = "wgpu"))]
    fn open_gpu(_route_small_to_cpu: bool) -> Result<Self> {
        Err(KernelError::BackendUnavailable {
            backend: "wgpu",
            reason: "this build of zknode-kernels was compiled without the `wgpu` feature".into(),
        })
    }

    fn cpu(&self) -> &CpuBackend {
        match self {
            Self::Cpu(cpu) => cpu,
            #[cfg(feature = "wgpu")]
            Self::Wgpu { cpu, .. } => cpu,
        }
    }

    /// Whether this backend has a device.
    pub fn has_device(&self) -> bool {
        !matches!(self, Self::Cpu(_))
    }
}

#[cfg(feature = "wgpu")]
fn mixed() -> KernelError {
    KernelError::InvalidArgument("buffers of one operation live on different backends".into())
}

/// Runs `$host` when every buffer is on the host and `$dev` when every buffer is on the device.
macro_rules! route {
    ($self:ident, ($($buf:ident),+), $host:expr, $dev:expr) => {{
        #[allow(unreachable_patterns)]
        match ($self, $($buf),+) {
            (_, $(AnyBuffer::Host($buf)),+) => { let cpu = $self.cpu(); $host(cpu) }
            #[cfg(feature = "wgpu")]
            (AnyBackend::Wgpu { gpu, .. }, $(AnyBuffer::Device($buf)),+) => $dev(gpu),
            #[cfg(feature = "wgpu")]
            _ => Err(mixed()),
        }
    }};
}

impl Backend for AnyBackend {
    type Buffer<T: DeviceElement> = AnyBuffer<T>;

    fn name(&self) -> String {
        match self {
            Self::Cpu(cpu) => cpu.name(),
            #[cfg(feature = "wgpu")]
            Self::Wgpu {
                gpu,
                route_small_to_cpu,
                ..
            } => {
                if *route_small_to_cpu {
                    format!("auto({}, small inputs on cpu)", gpu.name())
                } else {
                    gpu.name()
                }
            }
        }
    }

    fn upload<T: DeviceElement>(&self, host: &[T]) -> Result<AnyBuffer<T>> {
        match self {
            Self::Cpu(_) => Ok(AnyBuffer::Host(host.to_vec())),
            #[cfg(feature = "wgpu")]
            Self::Wgpu {
                gpu,
                route_small_to_cpu,
                ..
            } => {
                if *route_small_to_cpu && host.len() < AUTO_MIN_DEVICE_ELEMENTS {
                    Ok(AnyBuffer::Host(host.to_vec()))
                } else {
                    Ok(AnyBuffer::Device(gpu.upload(host)?))
                }
            }
        }
    }

    fn download<T: DeviceElement>(&self, buf: &AnyBuffer<T>) -> Result<Vec<T>> {
        route!(
            self,
            (buf),
            |b: &CpuBackend| b.download(buf),
            |g: &crate::wgpu::WgpuBackend| g.download(buf)
        )
    }

    fn download_rows<T: DeviceElement>(
        &self,
        buf: &AnyBuffer<T>,
        width: usize,
        rows: &[usize],
    ) -> Result<Vec<Vec<T>>> {
        route!(
            self,
            (buf),
            |b: &CpuBackend| b.download_rows(buf, width, rows),
            |g: &crate::wgpu::WgpuBackend| g.download_rows(buf, width, rows)
        )
    }

    fn buffer_len<T: DeviceElement>(&self, buf: &AnyBuffer<T>) -> usize {
        match buf {
            AnyBuffer::Host(v) => v.len(),
            #[cfg(feature = "wgpu")]
            AnyBuffer::Device(d) => d.len(),
        }
    }

    fn ntt(
        &self,
        columns: &mut AnyBuffer<Goldilocks>,
        shape: ColumnBatch,
        direction: NttDirection,
        input_order: Order,
        output_order: Order,
    ) -> Result<()> {
        route!(
            self,
            (columns),
            |b: &CpuBackend| b.ntt(columns, shape, direction, input_order, output_order),
            |g: &crate::wgpu::WgpuBackend| g.ntt(
                columns,
                shape,
                direction,
                input_order,
                output_order
            )
        )
    }

    fn coset_lde_rows(
        &self,
        coeffs: &AnyBuffer<Goldilocks>,
        shape: ColumnBatch,
        rate_bits: usize,
        shift: Goldilocks,
    ) -> Result<AnyBuffer<Goldilocks>> {
        route!(
            self,
            (coeffs),
            |b: &CpuBackend| b
                .coset_lde_rows(coeffs, shape, rate_bits, shift)
                .map(AnyBuffer::Host),
            |g: &crate::wgpu::WgpuBackend| g
                .coset_lde_rows(coeffs, shape, rate_bits, shift)
                .map(AnyBuffer::Device)
        )
    }

    fn poseidon_permute(&self, states: &mut AnyBuffer<Goldilocks>) -> Result<()> {
        route!(
            self,
            (states),
            |b: &CpuBackend| b.poseidon_permute(states),
            |g: &crate::wgpu::WgpuBackend| g.poseidon_permute(states)
        )
    }

    fn hash_rows(
        &self,
        rows: &AnyBuffer<Goldilocks>,
        width: usize,
    ) -> Result<AnyBuffer<Goldilocks>> {
        route!(
            self,
            (rows),
            |b: &CpuBackend| b.hash_rows(rows, width).map(AnyBuffer::Host),
            |g: &crate::wgpu::WgpuBackend| g.hash_rows(rows, width).map(AnyBuffer::Device)
        )
    }

    fn merkle_tree(
        &self,
        leaves: &AnyBuffer<Goldilocks>,
        width: usize,
        cap_height: usize,
    ) -> Result<MerkleDigests<AnyBuffer<Goldilocks>>> {
        fn wrap<B, T: DeviceElement>(
            d: MerkleDigests<B>,
            f: impl Fn(B) -> AnyBuffer<T>,
        ) -> MerkleDigests<AnyBuffer<T>> {
            MerkleDigests {
                digests: f(d.digests),
                cap: f(d.cap),
                log_leaves: d.log_leaves,
                cap_height: d.cap_height,
            }
        }
        route!(
            self,
            (leaves),
            |b: &CpuBackend| b
                .merkle_tree(leaves, width, cap_height)
                .map(|d| wrap(d, AnyBuffer::Host)),
            |g: &crate::wgpu::WgpuBackend| g
                .merkle_tree(leaves, width, cap_height)
                .map(|d| wrap(d, AnyBuffer::Device))
        )
    }

    fn bn254_fft(&self, values: &mut AnyBuffer<Fr>, kind: Bn254FftKind) -> Result<()> {
        route!(
            self,
            (values),
            |b: &CpuBackend| b.bn254_fft(values, kind),
            |g: &crate::wgpu::WgpuBackend| g.bn254_fft(values, kind)
        )
    }

    fn bn254_msm(
        &self,
        bases: &AnyBuffer<G1Affine>,
        scalars: &AnyBuffer<Fr>,
    ) -> Result<G1Projective> {
        route!(
            self,
            (bases, scalars),
            |b: &CpuBackend| b.bn254_msm(bases, scalars),
            |g: &crate::wgpu::WgpuBackend| g.bn254_msm(bases, scalars)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2_field::types::Field;

    #[test]
    fn kinds_parse_and_print() {
        for (s, k) in [
            ("auto", BackendKind::Auto),
            ("CPU", BackendKind::Cpu),
            (" gpu ", BackendKind::Gpu),
            ("wgpu", BackendKind::Gpu),
        ] {
            assert_eq!(s.parse::<BackendKind>().expect("valid"), k);
        }
        assert_eq!(
            BackendKind::Gpu
                .to_string()
                .parse::<BackendKind>()
                .expect("round trip"),
            BackendKind::Gpu
        );
        assert!(matches!(
            "cuda".parse::<BackendKind>(),
            Err(KernelError::InvalidArgument(_))
        ));
    }

    #[test]
    fn cpu_kind_opens_the_cpu_backend() {
        let b = AnyBackend::open(BackendKind::Cpu).expect("cpu always opens");
        assert!(!b.has_device());
        let buf = b
            .upload(&[Goldilocks::from_canonical_u64(5)])
            .expect("upload");
        assert!(matches!(buf, AnyBuffer::Host(_)));
    }
}
