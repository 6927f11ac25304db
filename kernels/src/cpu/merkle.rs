//! Poseidon leaf hashing and Merkle tree construction on the CPU (rayon).
use crate::backend::MerkleDigests;
use crate::error::Result;
use crate::field::Goldilocks;

/// `hash_or_noop` of every row of a row-major matrix of width `width`; 4 elements out per row.
pub fn hash_rows(rows: &[Goldilocks], width: usize) -> Result<Vec<Goldilocks>> {
    let _ = (rows, width);
    todo!("helper B")
}

/// plonky2 `MerkleTree::new` over the rows of a row-major matrix.
pub fn merkle_tree(leaves: &[Goldilocks], width: usize, cap_height: usize) -> Result<MerkleDigests<Vec<Goldilocks>>> {
    let _ = (leaves, width, cap_height);
    todo!("helper B")
}
