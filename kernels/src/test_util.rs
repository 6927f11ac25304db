//! Helpers shared by the crate's unit tests.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random source for one test: seeded from `ZKNODE_TEST_SEED` when set (to replay a failure), else
/// freshly each run. The seed is printed, and cargo shows it when the test fails.
pub(crate) fn rng(test: &str) -> ChaCha8Rng {
    let seed = match std::env::var("ZKNODE_TEST_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("ZKNODE_TEST_SEED={s:?} is not a u64")),
        Err(_) => rand::thread_rng().next_u64(),
    };
    eprintln!("{test}: seed {seed} (replay with ZKNODE_TEST_SEED={seed})");
    ChaCha8Rng::seed_from_u64(seed)
}
