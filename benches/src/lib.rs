//! Shared conventions of zkNode's benches.
//!
//! Every bench times our kernel and its reference **in the same run**, in one criterion group per
//! (operation, parameters), with function ids [`OURS`] and [`REFERENCE`] and the size as the
//! parameter (`2^16`). The `ratio-table` binary pairs them up from `target/criterion` and prints
//! ours/reference medians.

pub mod peak_heap;

use rand::SeedableRng;

/// Function id of our implementation in every group.
pub const OURS: &str = "zknode";
/// Function id of the reference implementation in every group.
pub const REFERENCE: &str = "reference";

/// Environment variable selecting the log2 sizes a bench runs, e.g. `10,16,20` or `10..20`.
pub const SIZES_ENV: &str = "ZKNODE_BENCH_LOG_SIZES";

/// The log2 sizes to run: from [`SIZES_ENV`] if set (clamped to `min..=max`), else `default`.
///
/// Panics with a clear message on a malformed value: this runs only in bench binaries.
pub fn log_sizes(default: &[usize], min: usize, max: usize) -> Vec<usize> {
    let Ok(spec) = std::env::var(SIZES_ENV) else {
        return default.to_vec();
    };
    let parse = |s: &str| -> usize {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SIZES_ENV}={spec:?}: {s:?} is not a number"))
    };
    let mut sizes: Vec<usize> = spec
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .flat_map(|part| match part.split_once("..") {
            Some((lo, hi)) => (parse(lo)..=parse(hi)).collect::<Vec<_>>(),
            None => vec![parse(part)],
        })
        .filter(|&k| (min..=max).contains(&k))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The parameter string of a size in a benchmark id.
pub fn size_label(log_n: usize) -> String {
    format!("2^{log_n}")
}

/// A fixed-seed RNG: benches time the same inputs on every run.
pub fn bench_rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(0x7a6b_6e6f_6465)
}
