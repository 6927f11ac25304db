//! Poseidon over Goldilocks, width 12, bit-exact with plonky2's `PoseidonHash`.
use crate::field::{Goldilocks, HashOut};

/// Poseidon state width.
pub const WIDTH: usize = 12;
/// Sponge rate (overwrite mode, as plonky2).
pub const RATE: usize = 8;

/// Applies the permutation in place.
pub fn permute(state: &mut [Goldilocks; WIDTH]) {
    let _ = state;
    todo!("helper B")
}

/// plonky2 `PoseidonHash::hash_no_pad`.
pub fn hash_no_pad(input: &[Goldilocks]) -> HashOut {
    let _ = input;
    todo!("helper B")
}

/// plonky2 `PoseidonHash::hash_or_noop`.
pub fn hash_or_noop(input: &[Goldilocks]) -> HashOut {
    let _ = input;
    todo!("helper B")
}

/// plonky2 `PoseidonHash::two_to_one`.
pub fn two_to_one(left: HashOut, right: HashOut) -> HashOut {
    let _ = (left, right);
    todo!("helper B")
}
