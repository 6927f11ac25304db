//! BN254 kernels of the wgpu backend: the Fr FFT ([`fft`](mod@fft)) and the G1 MSM ([`msm`](mod@msm)).
//!
//! Field elements stay in arkworks' Montgomery form on the device (8 little-endian u32 limbs), so
//! buffers go in and out without conversion. The WGSL field arithmetic is written once
//! (`shaders/bn254_field.wgsl`) and instantiated per field here, with the constants taken from arkworks'
//! own parameters rather than retyped.

mod fft;
mod msm;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ark_ff::{BigInt, Field, PrimeField};

use super::context::Gpu;
use crate::error::{KernelError, Result};
use crate::field::{DeviceElement, Fq, Fr};

pub(crate) use fft::fft;
pub(crate) use msm::msm;

const FIELD_WGSL: &str = include_str!("../shaders/bn254_field.wgsl");
const FFT_WGSL: &str = include_str!("../shaders/bn254_fft.wgsl");
const MSM_WGSL: &str = include_str!("../shaders/bn254_msm.wgsl");
/// Separates the field-independent header of `bn254_field.wgsl` from the per-field template.
const TEMPLATE_MARKER: &str = "// ---- field template ----";

const FFT_MODULE: &str = "bn254_fft";
const MSM_MODULE: &str = "bn254_msm";

/// Bytes of one Fr/Fq element on the device.
const ELEMENT_BYTES: u64 = 32;

/// `-p^-1 mod 2^32`, the Montgomery reduction constant of a 32-bit limb.
fn montgomery_inv(p0: u32) -> u32 {
    // Newton's iteration doubles the correct low bits each step: 1 bit (p0 is odd) to 32 in 5 steps.
    let mut inv = 1u32;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(p0.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

fn wgsl_big(limbs: &[u64; 4]) -> String {
    let words: Vec<String> = limbs
        .iter()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .map(|w| format!("{w:#010x}u"))
        .collect();
    format!("array<u32, 8>({})", words.join(", "))
}

/// The field template instantiated for one field: `fld_` / `FLD_` become `{prefix}_` / `{PREFIX}_`.
fn field_instance(prefix: &str, modulus: &BigInt<4>, montgomery_one: &BigInt<4>) -> String {
    let upper = prefix.to_uppercase();
    let template = FIELD_WGSL
        .split_once(TEMPLATE_MARKER)
        .map_or("", |(_, t)| t);
    format!(
        "const {upper}_P = {};\nconst {upper}_INV: u32 = {:#010x}u;\nconst {upper}_ONE = {};\n{}",
        wgsl_big(&modulus.0),
        montgomery_inv(modulus.0[0] as u32),
        wgsl_big(&montgomery_one.0),
        template
            .replace("fld_", &format!("{prefix}_"))
            .replace("FLD_", &format!("{upper}_")),
    )
}

/// The header of `bn254_field.wgsl`, Fr arithmetic (`fr_*`) and, if asked, Fq arithmetic (`fq_*`).
fn field_library(with_fq: bool) -> String {
    let header = FIELD_WGSL
        .split_once(TEMPLATE_MARKER)
        .map_or(FIELD_WGSL, |(h, _)| h);
    let mut lib = format!(
        "{header}\n{}",
        field_instance("fr", &Fr::MODULUS, &Fr::ONE.0)
    );
    if with_fq {
        lib.push_str(&field_instance("fq", &Fq::MODULUS, &Fq::ONE.0));
    }
    lib
}

/// The full WGSL source of the FFT module (built once per process).
fn fft_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| format!("{}\n{FFT_WGSL}", field_library(false)))
}

/// The full WGSL source of the MSM module (built once per process).
fn msm_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| format!("{}\n{MSM_WGSL}", field_library(true)))
}

/// Device words of field elements (Montgomery limbs, as [`DeviceElement`] encodes them).
fn to_words<T: DeviceElement>(values: &[T]) -> Vec<u32> {
    let mut words = vec![0u32; values.len() * T::WORDS];
    for (v, out) in values.iter().zip(words.chunks_exact_mut(T::WORDS)) {
        v.encode(out);
    }
    words
}

fn device_error(reason: String) -> KernelError {
    KernelError::Device {
        backend: "wgpu",
        reason,
    }
}

/// `elements * element_bytes`, refused when one storage binding cannot cover it.
fn binding_bytes(gpu: &Gpu, what: &str, elements: usize, element_bytes: u64) -> Result<u64> {
    let bytes = (elements as u64).saturating_mul(element_bytes);
    // The BN254 kernels bind whole buffers (no windowed variant yet), so this is a hard limit.
    if bytes > gpu.binding_limit {
        return Err(device_error(format!(
            "{what}: {bytes} bytes exceed the storage binding limit of {} bytes",
            gpu.binding_limit
        )));
    }
    Ok(bytes)
}

/// Device tables of the BN254 kernels of one backend, built on first use and kept for its lifetime.
#[derive(Default)]
pub(crate) struct Tables {
    /// FFT twiddles `g^j`, `j < n/2`, per log2 of the domain size.
    twiddles: Mutex<HashMap<usize, Arc<wgpu::Buffer>>>,
}

impl core::fmt::Debug for Tables {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("bn254::Tables").finish_non_exhaustive()
    }
}

fn poisoned() -> KernelError {
    device_error("bn254 table cache poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montgomery_constant_inverts_the_low_limb() {
        for p in [&Fr::MODULUS, &Fq::MODULUS] {
            let p0 = p.0[0] as u32;
            assert_eq!(
                p0.wrapping_mul(montgomery_inv(p0)),
                u32::MAX,
                "p * inv = -1 mod 2^32"
            );
        }
    }

    #[test]
    fn sources_instantiate_the_template() {
        assert!(msm_source().contains("fn fq_mul(") && msm_source().contains("fn fr_mul("));
        assert!(fft_source().contains("fn fr_mul(") && !fft_source().contains("fn fld_"));
    }
}
