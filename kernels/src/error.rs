//! The one error type of the kernels crate.

use thiserror::Error;

/// Everything a kernel call can refuse or fail with. Callers (the prover, the node) map these to their
/// own errors; no kernel panics on input a caller controls.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// A length that must be a power of two is not.
    #[error("{what}: length {len} is not a power of two")]
    NotPowerOfTwo { what: &'static str, len: usize },

    /// A transform size beyond what the field supports (Goldilocks: 2^32, BN254 Fr: 2^28).
    #[error("{what}: size 2^{log_n} exceeds the field's two-adicity 2^{max_log_n}")]
    SizeTooLarge {
        what: &'static str,
        log_n: usize,
        max_log_n: usize,
    },

    /// Buffer lengths that do not agree with the shape the call describes.
    #[error("{what}: expected {expected} elements, got {actual}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        actual: usize,
    },

    /// A parameter outside its valid range (cap height above the tree height, zero-width leaves, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An element cannot be represented (e.g. a Goldilocks value >= p read back from a device).
    #[error("non-canonical element at index {index}: {reason}")]
    NonCanonical { index: usize, reason: &'static str },

    /// The requested backend cannot run here (no adapter, missing device feature, ...).
    #[error("backend {backend} unavailable: {reason}")]
    BackendUnavailable {
        backend: &'static str,
        reason: String,
    },

    /// The device failed while running a kernel (device lost, out of memory, validation error).
    #[error("device error on {backend}: {reason}")]
    Device {
        backend: &'static str,
        reason: String,
    },
}

/// Result alias of the kernels crate.
pub type Result<T, E = KernelError> = core::result::Result<T, E>;

pub(crate) fn require_pow2(what: &'static str, len: usize) -> Result<usize> {
    if len.is_power_of_two() {
        Ok(len.trailing_zeros() as usize)
    } else {
        Err(KernelError::NotPowerOfTwo { what, len })
    }
}

pub(crate) fn require_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
