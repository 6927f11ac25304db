//! Host-side Merkle helpers shared by all backends: conversion of a downloaded tree into plonky2's
//! `MerkleTree`, and proof extraction from the plonky2 digest layout.
//!
//! Every backend returns a tree as [`crate::MerkleDigests`]: `2 * (leaves - 2^cap_height)` digests in
//! plonky2's layout plus the cap, flat (4 elements per digest). These helpers read that layout
//! directly, so a prover can open leaves without building plonky2's tree (which would copy every leaf
//! into its own `Vec`).

use plonky2::hash::merkle_proofs::MerkleProof;
use plonky2::hash::merkle_tree::{MerkleCap, MerkleTree};
use plonky2::hash::poseidon::PoseidonHash;

use crate::error::{require_len, require_pow2, KernelError, Result};
use crate::field::{Goldilocks, HashOut};
use crate::poseidon::DIGEST_LEN;

/// Largest `log2(leaves)` accepted: the element count of the digests, `2 * 4 * leaves` at most, must
/// fit a `usize`.
const MAX_LOG_LEAVES: usize = usize::BITS as usize - 4;

/// The digests of a flat buffer (4 elements each); `what` names the buffer in the error.
fn to_hashes(what: &'static str, flat: &[Goldilocks]) -> Result<Vec<HashOut>> {
    let (digests, rest) = flat.as_chunks::<DIGEST_LEN>();
    if !rest.is_empty() {
        return Err(KernelError::InvalidArgument(format!(
            "{what}: {} elements is not a whole number of {DIGEST_LEN}-element digests",
            flat.len()
        )));
    }
    Ok(digests
        .iter()
        .map(|&elements| HashOut { elements })
        .collect())
}

/// Number of digests of a tree of `2^log_leaves` leaves and cap height `cap_height`, after checking
/// that the shape is one.
fn digest_count(log_leaves: usize, cap_height: usize) -> Result<usize> {
    if log_leaves > MAX_LOG_LEAVES {
        return Err(KernelError::InvalidArgument(format!(
            "a tree of 2^{log_leaves} leaves is too large"
        )));
    }
    if cap_height > log_leaves {
        return Err(KernelError::InvalidArgument(format!(
            "cap height {cap_height} above the tree height {log_leaves}"
        )));
    }
    Ok(2 * ((1usize << log_leaves) - (1usize << cap_height)))
}

/// plonky2's `MerkleTree` from the leaves and a backend's digests and cap (flat, 4 elements per
/// digest), without rehashing: the digests are trusted to be the tree of these leaves (as
/// [`crate::Backend::merkle_tree`] produced them). The lengths are checked: a power-of-two number of
/// leaves, a power-of-two cap no larger, and exactly `2 * (leaves - cap)` digests.
pub fn to_plonky2_tree(
    leaves: Vec<Vec<Goldilocks>>,
    digests: &[Goldilocks],
    cap: &[Goldilocks],
) -> Result<MerkleTree<Goldilocks, PoseidonHash>> {
    let log_leaves = require_pow2("merkle tree leaves", leaves.len())?;
    let cap = to_hashes("merkle cap", cap)?;
    let cap_height = require_pow2("merkle cap", cap.len())?;
    let expected = digest_count(log_leaves, cap_height)?;
    let digests = to_hashes("merkle digests", digests)?;
    require_len("merkle digests", expected, digests.len())?;
    Ok(MerkleTree {
        leaves,
        digests,
        cap: MerkleCap(cap),
    })
}

/// The Merkle proof of leaf `leaf_index` (siblings from the bottom layer up to, excluding, the cap),
/// read from a tree's flat digests in plonky2's layout: equal to plonky2's `MerkleTree::prove` and
/// accepted by `verify_merkle_proof_to_cap` against the tree's cap.
pub fn merkle_proof(
    digests: &[Goldilocks],
    log_leaves: usize,
    cap_height: usize,
    leaf_index: usize,
) -> Result<MerkleProof<Goldilocks, PoseidonHash>> {
    let count = digest_count(log_leaves, cap_height)?;
    require_len("merkle digests", count * DIGEST_LEN, digests.len())?;
    if leaf_index >> log_leaves != 0 {
        return Err(KernelError::InvalidArgument(format!(
            "leaf index {leaf_index} out of range (the tree has 2^{log_leaves} leaves)"
        )));
    }
    let layers = log_leaves - cap_height;
    // The cap subtree holding the leaf, then the leaf's position inside it.
    let subtree_len = count >> cap_height;
    let subtree = (leaf_index >> layers) * subtree_len;
    let mut node = leaf_index & ((1usize << layers) - 1);
    let siblings = (0..layers)
        .map(|layer| {
            // Siblings are stored as pairs, pair `j` of layer `i` at pair index
            // `j * 2^(i+1) + 2^i - 1` within the subtree; the sibling is the other half of the pair.
            let pair = ((node >> 1) << (layer + 1)) + (1usize << layer) - 1;
            let sibling = subtree + 2 * pair + (1 - (node & 1));
            node >>= 1;
            let at = sibling * DIGEST_LEN;
            let mut elements = [Goldilocks::default(); DIGEST_LEN];
            elements.copy_from_slice(&digests[at..at + DIGEST_LEN]);
            HashOut { elements }
        })
        .collect();
    Ok(MerkleProof { siblings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::hash::merkle_proofs::verify_merkle_proof_to_cap;
    use plonky2_field::types::{Field, Sample};
    use rand::Rng;
    use rand_chacha::ChaCha8Rng;

    use crate::cpu::merkle::merkle_tree;

    use crate::test_util::rng;

    fn random_elements(rng: &mut ChaCha8Rng, n: usize) -> Vec<Goldilocks> {
        (0..n).map(|_| Goldilocks::sample(rng)).collect()
    }

    fn flatten(hashes: &[HashOut]) -> Vec<Goldilocks> {
        hashes.iter().flat_map(|h| h.elements).collect()
    }

    #[test]
    fn proofs_and_conversion_match_plonky2() {
        let mut rng = rng("proofs_and_conversion_match_plonky2");
        for log_leaves in [0, 1, 2, 3, 10] {
            let n = 1usize << log_leaves;
            for width in [1, 4, 5, 7, 64] {
                let data = random_elements(&mut rng, n * width);
                let rows: Vec<Vec<Goldilocks>> = data
                    .chunks_exact(width)
                    .map(<[Goldilocks]>::to_vec)
                    .collect();
                for cap_height in (0..=log_leaves.min(3)).chain([log_leaves]) {
                    let case = format!("2^{log_leaves} leaves x {width}, cap height {cap_height}");
                    let reference =
                        MerkleTree::<Goldilocks, PoseidonHash>::new(rows.clone(), cap_height);
                    let ours = merkle_tree(&data, width, cap_height).expect("valid tree");

                    let indices: Vec<usize> = if n <= 8 {
                        (0..n).collect()
                    } else {
                        vec![0, n - 1, rng.gen_range(0..n), rng.gen_range(0..n)]
                    };
                    for i in indices {
                        let proof = merkle_proof(&ours.digests, log_leaves, cap_height, i)
                            .expect("valid index");
                        assert_eq!(proof, reference.prove(i), "{case}: proof of leaf {i}");
                        verify_merkle_proof_to_cap(rows[i].clone(), i, &reference.cap, &proof)
                            .unwrap_or_else(|e| panic!("{case}: proof of leaf {i} rejected: {e}"));
                        let mut tampered = rows[i].clone();
                        tampered[rng.gen_range(0..width)] += Goldilocks::ONE;
                        assert!(
                            verify_merkle_proof_to_cap(tampered, i, &reference.cap, &proof)
                                .is_err(),
                            "{case}: tampered leaf {i} accepted"
                        );
                    }

                    let converted = to_plonky2_tree(rows.clone(), &ours.digests, &ours.cap)
                        .expect("valid lengths");
                    assert!(converted == reference, "{case}: converted tree differs");
                    // plonky2's own digests, flattened, convert back to the same tree.
                    let again = to_plonky2_tree(
                        rows.clone(),
                        &flatten(&reference.digests),
                        &flatten(&reference.cap.0),
                    )
                    .expect("valid lengths");
                    assert!(again == reference, "{case}: round trip differs");
                }
            }
        }
    }

    #[test]
    fn proofs_reject_bad_arguments() {
        let mut rng = rng("proofs_reject_bad_arguments");
        let data = random_elements(&mut rng, 16 * 5);
        let tree = merkle_tree(&data, 5, 2).expect("valid tree");
        assert!(merkle_proof(&tree.digests, 4, 2, 15).is_ok());
        assert!(matches!(
            merkle_proof(&tree.digests, 4, 2, 16),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(matches!(
            merkle_proof(&tree.digests, 4, 2, usize::MAX),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(matches!(
            merkle_proof(&tree.digests, 4, 5, 0),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(matches!(
            merkle_proof(&tree.digests, 4, 1, 0),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            merkle_proof(&tree.digests, 5, 2, 0),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            merkle_proof(&tree.digests[1..], 4, 2, 0),
            Err(KernelError::LengthMismatch { .. })
        ));
        assert!(merkle_proof(&tree.digests, 200, 2, 0).is_err());
    }

    #[test]
    fn conversion_rejects_bad_lengths() {
        let mut rng = rng("conversion_rejects_bad_lengths");
        let data = random_elements(&mut rng, 8 * 3);
        let rows: Vec<Vec<Goldilocks>> = data.chunks_exact(3).map(<[Goldilocks]>::to_vec).collect();
        let tree = merkle_tree(&data, 3, 1).expect("valid tree");
        assert!(to_plonky2_tree(rows.clone(), &tree.digests, &tree.cap).is_ok());
        assert!(to_plonky2_tree(rows[..3].to_vec(), &tree.digests, &tree.cap).is_err());
        assert!(to_plonky2_tree(Vec::new(), &[], &[]).is_err());
        assert!(to_plonky2_tree(rows.clone(), &tree.digests[4..], &tree.cap).is_err());
        assert!(to_plonky2_tree(rows.clone(), &tree.digests[1..], &tree.cap).is_err());
        assert!(to_plonky2_tree(rows.clone(), &tree.digests, &tree.cap[1..]).is_err());
        // A cap of 3 digests is not a power of two; one of 16 is above the tree.
        assert!(to_plonky2_tree(rows.clone(), &tree.digests, &data[..12]).is_err());
        assert!(to_plonky2_tree(rows, &tree.digests, &data[..24].repeat(3)[..64]).is_err());
    }
}
