//! Poseidon leaf hashing and Merkle tree construction on the CPU (rayon).
//!
//! The tree is built straight into plonky2's digest layout. Each cap subtree is split recursively (as
//! plonky2 does, with `rayon::join`) down to chunks of `CHUNK_LEAVES` leaves; a chunk's region of the
//! layout is itself a complete subtree in that layout, so one thread fills it bottom-up: all its leaves
//! hashed in batches (several rows per vector permutation), then each layer compressed in batches
//! from a small scratch level, every digest written to its place in the region. Nothing is allocated
//! per leaf and the leaves are read in place from the flat row matrix.

use rayon::prelude::*;

use crate::backend::MerkleDigests;
use crate::error::{require_pow2, KernelError, Result};
use crate::field::{Goldilocks, HashOut};
use crate::poseidon::{self, DIGEST_LEN};

type Digest = [Goldilocks; DIGEST_LEN];

/// Leaves per sequential chunk (a power of two): large enough that a task (hundreds of permutations)
/// outweighs rayon's scheduling and that most layers fill whole vector batches, small enough for the
/// two scratch levels to live on the stack.
const CHUNK_LEAVES: usize = 256;

/// Rows per rayon task in [`hash_rows`].
const HASH_ROWS_PER_TASK: usize = 256;

/// Number of rows of a row matrix of width `width`, refusing shapes that do not describe one.
fn row_count(what: &str, len: usize, width: usize) -> Result<usize> {
    if width == 0 {
        return Err(KernelError::InvalidArgument(format!(
            "{what}: zero-width rows (the row count cannot be derived from {len} elements)"
        )));
    }
    if !len.is_multiple_of(width) {
        return Err(KernelError::InvalidArgument(format!(
            "{what}: {len} elements is not a whole number of rows of width {width}"
        )));
    }
    Ok(len / width)
}

/// `hash_or_noop` of every row of a row-major matrix of width `width`; 4 elements out per row.
pub fn hash_rows(rows: &[Goldilocks], width: usize) -> Result<Vec<Goldilocks>> {
    let n = row_count("hash_rows", rows.len(), width)?;
    let mut out = vec![[Goldilocks::default(); DIGEST_LEN]; n];
    // (Saturating: with no rows, `width` is unconstrained.)
    rows.par_chunks(HASH_ROWS_PER_TASK.saturating_mul(width))
        .zip(out.par_chunks_mut(HASH_ROWS_PER_TASK))
        .for_each(|(rows, out)| poseidon::hash_or_noop_rows(rows, width, out));
    Ok(out.into_flattened())
}

/// plonky2 `MerkleTree::new` over the rows of a row-major matrix.
pub fn merkle_tree(
    leaves: &[Goldilocks],
    width: usize,
    cap_height: usize,
) -> Result<MerkleDigests<Vec<Goldilocks>>> {
    let n = row_count("merkle_tree leaves", leaves.len(), width)?;
    let log_leaves = require_pow2("merkle_tree leaves", n)?;
    if cap_height > log_leaves {
        return Err(KernelError::InvalidArgument(format!(
            "merkle_tree: cap height {cap_height} above the tree height {log_leaves}"
        )));
    }
    let cap_len = 1usize << cap_height;
    let num_digests = 2 * (n - cap_len);
    let mut digests = vec![[Goldilocks::default(); DIGEST_LEN]; num_digests];
    let mut cap = vec![[Goldilocks::default(); DIGEST_LEN]; cap_len];

    if num_digests == 0 {
        // The tree is all cap: the cap is the leaf hashes.
        leaves
            .par_chunks(HASH_ROWS_PER_TASK.saturating_mul(width))
            .zip(cap.par_chunks_mut(HASH_ROWS_PER_TASK))
            .for_each(|(rows, out)| poseidon::hash_or_noop_rows(rows, width, out));
    } else {
        // One independent subtree per cap entry, each a contiguous slice of the digests.
        let subtree_digests = num_digests >> cap_height;
        let subtree_elements = (n >> cap_height) * width;
        digests
            .par_chunks_exact_mut(subtree_digests)
            .zip(cap.par_iter_mut())
            .zip(leaves.par_chunks_exact(subtree_elements))
            .for_each(|((region, root), rows)| *root = fill_subtree(region, rows, width));
    }

    Ok(MerkleDigests {
        digests: digests.into_flattened(),
        cap: cap.into_flattened(),
        log_leaves,
        cap_height,
    })
}

/// Fills `region` (the `2 * (leaves - 1)` digests of a subtree, plonky2 layout) from the subtree's
/// rows; returns the subtree's root, which plonky2 stores in the parent's region (or the cap).
fn fill_subtree(region: &mut [Digest], rows: &[Goldilocks], width: usize) -> Digest {
    let leaves = rows.len() / width;
    if leaves <= CHUNK_LEAVES {
        return fill_chunk(region, rows, width);
    }
    // Layout: left subtree | left root | right root | right subtree.
    let (left, right) = region.split_at_mut(region.len() / 2);
    let (left_region, left_root) = left.split_at_mut(left.len() - 1);
    let (right_root, right_region) = right.split_at_mut(1);
    let (left_rows, right_rows) = rows.split_at(rows.len() / 2);
    let (l, r) = rayon::join(
        || fill_subtree(left_region, left_rows, width),
        || fill_subtree(right_region, right_rows, width),
    );
    left_root[0] = l;
    right_root[0] = r;
    compress(l, r)
}

fn compress(left: Digest, right: Digest) -> Digest {
    poseidon::two_to_one(HashOut { elements: left }, HashOut { elements: right }).elements
}

/// Position in a subtree's region of node `k` of layer `layer` (0 = leaves): siblings are stored in
/// pairs, pair `j` of layer `i` at pair index `j * 2^(i+1) + 2^i - 1` (plonky2 `merkle_tree_prove`).
#[inline]
fn layout_index(layer: usize, k: usize) -> usize {
    let pair = ((k >> 1) << (layer + 1)) + (1 << layer) - 1;
    2 * pair + (k & 1)
}

/// [`fill_subtree`] for at most [`CHUNK_LEAVES`] leaves, on this thread.
fn fill_chunk(region: &mut [Digest], rows: &[Goldilocks], width: usize) -> Digest {
    let leaves = rows.len() / width;
    debug_assert!(leaves.is_power_of_two() && leaves <= CHUNK_LEAVES);
    debug_assert_eq!(region.len(), 2 * (leaves - 1));
    let mut level = [[Goldilocks::default(); DIGEST_LEN]; CHUNK_LEAVES];
    let mut next = [[Goldilocks::default(); DIGEST_LEN]; CHUNK_LEAVES / 2];
    poseidon::hash_or_noop_rows(rows, width, &mut level[..leaves]);

    let mut len = leaves;
    let mut layer = 0;
    while len > 1 {
        for (k, d) in level[..len].iter().enumerate() {
            region[layout_index(layer, k)] = *d;
        }
        // Siblings are adjacent in `level`: each pair is exactly a `two_to_one` input.
        let (pairs, _) = level[..len]
            .as_flattened()
            .as_chunks::<{ 2 * DIGEST_LEN }>();
        poseidon::two_to_one_many(pairs, &mut next[..len / 2]);
        len /= 2;
        level[..len].copy_from_slice(&next[..len]);
        layer += 1;
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::hash::merkle_tree::MerkleTree;
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::plonk::config::Hasher;
    use plonky2_field::types::Sample;

    use rand_chacha::ChaCha8Rng;

    use crate::test_util::rng;

    fn random_elements(rng: &mut ChaCha8Rng, n: usize) -> Vec<Goldilocks> {
        (0..n).map(|_| Goldilocks::sample(rng)).collect()
    }

    fn flatten(hashes: &[crate::field::HashOut]) -> Vec<Goldilocks> {
        hashes.iter().flat_map(|h| h.elements).collect()
    }

    #[test]
    fn layout_index_matches_plonky2_recursion() {
        // 4 leaves: leaf0 leaf1 | node0 node1 | leaf2 leaf3.
        assert_eq!([0, 1, 2, 3].map(|k| layout_index(0, k)), [0, 1, 4, 5]);
        assert_eq!([0, 1].map(|k| layout_index(1, k)), [2, 3]);
    }

    #[test]
    fn hash_rows_matches_plonky2() {
        let mut rng = rng("hash_rows_matches_plonky2");
        for width in [1, 4, 5, 7, 8, 9, 64] {
            for rows in [0, 1, 7, 8, 9, 300] {
                let data = random_elements(&mut rng, rows * width);
                let expected: Vec<Goldilocks> = data
                    .chunks_exact(width)
                    .flat_map(|r| <PoseidonHash as Hasher<Goldilocks>>::hash_or_noop(r).elements)
                    .collect();
                assert_eq!(
                    hash_rows(&data, width).expect("valid matrix"),
                    expected,
                    "{rows} rows x {width}"
                );
                let scalar = crate::poseidon::tests::with_scalar_engine(|| hash_rows(&data, width));
                assert_eq!(
                    scalar.expect("valid matrix"),
                    expected,
                    "{rows} rows x {width} (scalar)"
                );
            }
        }
        assert!(hash_rows(&[], 0).is_err());
        assert!(hash_rows(&random_elements(&mut rng, 10), 4).is_err());
    }

    #[test]
    fn merkle_tree_matches_plonky2() {
        let mut rng = rng("merkle_tree_matches_plonky2");
        for log_leaves in [0, 1, 2, 3, 10] {
            let n = 1usize << log_leaves;
            for width in [1, 4, 5, 7, 64] {
                let data = random_elements(&mut rng, n * width);
                let rows: Vec<Vec<Goldilocks>> = data
                    .chunks_exact(width)
                    .map(<[Goldilocks]>::to_vec)
                    .collect();
                let caps = (0..=log_leaves.min(3)).chain([log_leaves]);
                for cap_height in caps {
                    let case = format!("2^{log_leaves} leaves x {width}, cap height {cap_height}");
                    let reference =
                        MerkleTree::<Goldilocks, PoseidonHash>::new(rows.clone(), cap_height);
                    let ours = merkle_tree(&data, width, cap_height).expect("valid tree");
                    assert_eq!(
                        (ours.log_leaves, ours.cap_height),
                        (log_leaves, cap_height),
                        "{case}"
                    );
                    assert_eq!(ours.digests, flatten(&reference.digests), "{case}: digests");
                    assert_eq!(ours.cap, flatten(&reference.cap.0), "{case}: cap");
                    for x in ours.digests.iter().chain(&ours.cap) {
                        assert!(
                            x.0 < crate::field::GOLDILOCKS_P,
                            "{case}: non-canonical output"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn merkle_tree_spanning_several_chunks_matches_plonky2() {
        // More leaves per cap subtree than one chunk, so the recursive split and its joins are used.
        let mut rng = rng("merkle_tree_spanning_several_chunks_matches_plonky2");
        let n = 4 * CHUNK_LEAVES;
        let width = 9;
        let data = random_elements(&mut rng, n * width);
        let rows: Vec<Vec<Goldilocks>> = data
            .chunks_exact(width)
            .map(<[Goldilocks]>::to_vec)
            .collect();
        for cap_height in [0, 1, 2] {
            let reference = MerkleTree::<Goldilocks, PoseidonHash>::new(rows.clone(), cap_height);
            let ours = merkle_tree(&data, width, cap_height).expect("valid tree");
            // The same on the scalar engine (what CPUs without AVX-512 run).
            let scalar = crate::poseidon::tests::with_scalar_engine(|| {
                merkle_tree(&data, width, cap_height).expect("valid tree")
            });
            assert_eq!(
                scalar.digests, ours.digests,
                "cap height {cap_height} (scalar)"
            );
            assert_eq!(scalar.cap, ours.cap, "cap height {cap_height} (scalar)");
            assert_eq!(
                ours.digests,
                flatten(&reference.digests),
                "cap height {cap_height}"
            );
            assert_eq!(
                ours.cap,
                flatten(&reference.cap.0),
                "cap height {cap_height}"
            );
        }
    }

    #[test]
    fn merkle_tree_rejects_bad_shapes() {
        let mut rng = rng("merkle_tree_rejects_bad_shapes");
        let three = random_elements(&mut rng, 3 * 4);
        assert!(matches!(
            merkle_tree(&three, 4, 0),
            Err(KernelError::NotPowerOfTwo { len: 3, .. })
        ));
        assert!(matches!(
            merkle_tree(&[], 4, 0),
            Err(KernelError::NotPowerOfTwo { len: 0, .. })
        ));
        let eight = random_elements(&mut rng, 8 * 4);
        assert!(matches!(
            merkle_tree(&eight, 4, 4),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(merkle_tree(&eight, 4, 3).is_ok());
        assert!(matches!(
            merkle_tree(&eight, 0, 0),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(matches!(
            merkle_tree(&[], 0, 0),
            Err(KernelError::InvalidArgument(_))
        ));
        assert!(matches!(
            merkle_tree(&eight[..31], 4, 0),
            Err(KernelError::InvalidArgument(_))
        ));
    }
}
