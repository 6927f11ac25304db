//! The sparse Merkle tree: nodes, reads, writes (with the zkEVM's leaf placement) and proofs.
//!
//! A leaf sits at the shortest path prefix no other key shares and stores the rest of its key, so a
//! tree of `n` random keys is about `log2(n)` levels deep. Zero values are never stored: writing
//! zero deletes the leaf and, when its sibling is then a lone leaf, moves that leaf up to where its
//! prefix becomes unique again. The shape (and so the root) depends only on the set of key/values,
//! not on the order of writes ([`root_from_entries`] builds it top-down to check that).
//!
//! Nodes are content-addressed by their hash. A [`WorkingTree`] reads them from a [`NodeSource`]
//! (the store, or nothing) and keeps the nodes it creates in memory until the caller persists the
//! ones reachable from the final root ([`WorkingTree::new_nodes`]).

use std::collections::HashMap;

use alloy_primitives::U256;

use super::hash::{hash_branch, hash_leaf, hash_value, Digest, EMPTY};
use super::keys::{Key, MAX_DEPTH};
use super::proof::{MerkleProof, ProofTerminal};
use crate::error::{ExecutorError, Result};

/// A stored node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Two children (either may be [`EMPTY`], not both).
    Branch { left: Digest, right: Digest },
    /// A leaf: the key bits below its position, its (non-zero) value and the value's hash.
    Leaf {
        remaining_key: Digest,
        value: U256,
        value_hash: Digest,
    },
}

const BRANCH_TAG: u8 = 0;
const LEAF_TAG: u8 = 1;
/// Encoded size of a branch: tag ‖ left ‖ right (u64 little-endian).
pub const BRANCH_BYTES: usize = 1 + 64;
/// Encoded size of a leaf: tag ‖ remaining key ‖ value (big-endian) ‖ value hash.
pub const LEAF_BYTES: usize = 1 + 96;

fn put_digest(out: &mut Vec<u8>, digest: &Digest) {
    for word in digest {
        out.extend_from_slice(&word.to_le_bytes());
    }
}

fn get_digest(bytes: &[u8]) -> Option<Digest> {
    if bytes.len() != 32 {
        return None;
    }
    let mut out = EMPTY;
    for (word, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().ok()?);
    }
    Some(out)
}

/// The store key of a digest: its four words little-endian.
pub fn digest_bytes(digest: &Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(8).zip(digest) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// Inverse of [`digest_bytes`].
pub fn digest_from_bytes(bytes: &[u8]) -> Option<Digest> {
    get_digest(bytes)
}

impl Node {
    /// The node's hash (its address in the store).
    pub fn hash(&self) -> Digest {
        match self {
            Node::Branch { left, right } => hash_branch(left, right),
            Node::Leaf {
                remaining_key,
                value_hash,
                ..
            } => hash_leaf(remaining_key, value_hash),
        }
    }

    /// A leaf holding `value`, hashing it.
    pub fn leaf(remaining_key: Digest, value: U256) -> Node {
        Node::Leaf {
            remaining_key,
            value,
            value_hash: hash_value(value),
        }
    }

    /// The store encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Node::Branch { left, right } => {
                let mut out = Vec::with_capacity(BRANCH_BYTES);
                out.push(BRANCH_TAG);
                put_digest(&mut out, left);
                put_digest(&mut out, right);
                out
            }
            Node::Leaf {
                remaining_key,
                value,
                value_hash,
            } => {
                let mut out = Vec::with_capacity(LEAF_BYTES);
                out.push(LEAF_TAG);
                put_digest(&mut out, remaining_key);
                out.extend_from_slice(&value.to_be_bytes::<32>());
                put_digest(&mut out, value_hash);
                out
            }
        }
    }

    /// Decodes [`Node::encode`]; `None` if the bytes are not an encoded node.
    pub fn decode(bytes: &[u8]) -> Option<Node> {
        match (bytes.first()?, bytes.len()) {
            (&BRANCH_TAG, BRANCH_BYTES) => Some(Node::Branch {
                left: get_digest(&bytes[1..33])?,
                right: get_digest(&bytes[33..65])?,
            }),
            (&LEAF_TAG, LEAF_BYTES) => Some(Node::Leaf {
                remaining_key: get_digest(&bytes[1..33])?,
                value: U256::from_be_slice(&bytes[33..65]),
                value_hash: get_digest(&bytes[65..97])?,
            }),
            _ => None,
        }
    }
}

/// Where a [`WorkingTree`] reads nodes it did not create.
pub trait NodeSource {
    /// The node with this hash, or `None` if the source does not have it.
    fn node(&self, hash: &Digest) -> Result<Option<Node>>;
}

/// A source with no nodes (a tree built from the empty root).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNodes;

impl NodeSource for NoNodes {
    fn node(&self, _hash: &Digest) -> Result<Option<Node>> {
        Ok(None)
    }
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    fn node(&self, hash: &Digest) -> Result<Option<Node>> {
        (**self).node(hash)
    }
}

/// The result of one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Root before the write.
    pub old_root: Digest,
    /// The key's value before.
    pub old_value: U256,
    /// Proof of `old_value` against `old_root`.
    pub old_proof: MerkleProof,
    /// Root after.
    pub new_root: Digest,
    /// Proof of the new value against `new_root`.
    pub new_proof: MerkleProof,
    /// Poseidon permutations spent recomputing hashes.
    pub permutations: u64,
}

/// A tree at a root, over a node source, with the nodes created since in memory.
#[derive(Debug)]
pub struct WorkingTree<S> {
    source: S,
    root: Digest,
    created: HashMap<Digest, Node>,
}

struct Walk {
    siblings: Vec<Digest>,
    terminal: Option<Node>,
}

impl<S: NodeSource> WorkingTree<S> {
    /// The tree at `root`. Nothing is read until used.
    pub fn new(source: S, root: Digest) -> Self {
        WorkingTree {
            source,
            root,
            created: HashMap::new(),
        }
    }

    /// The current root.
    pub fn root(&self) -> Digest {
        self.root
    }

    /// The node source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// A node by hash: created here, or from the source; missing is corruption.
    pub fn load(&self, hash: &Digest) -> Result<Node> {
        if let Some(node) = self.created.get(hash) {
            return Ok(*node);
        }
        self.source.node(hash)?.ok_or_else(|| {
            ExecutorError::Corrupted(format!("missing tree node {}", hex_digest(hash)))
        })
    }

    fn insert(&mut self, node: Node) -> Digest {
        let hash = node.hash();
        self.created.insert(hash, node);
        hash
    }

    fn walk(&self, root: &Digest, key: &Key) -> Result<Walk> {
        let mut siblings = Vec::new();
        let mut current = *root;
        while current != EMPTY {
            match self.load(&current)? {
                Node::Branch { left, right } => {
                    let level = siblings.len();
                    if level >= MAX_DEPTH {
                        return Err(ExecutorError::Corrupted(
                            "tree path longer than a key".to_string(),
                        ));
                    }
                    let (next, sibling) = if key.bit(level) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(sibling);
                    current = next;
                }
                leaf @ Node::Leaf { .. } => {
                    return Ok(Walk {
                        siblings,
                        terminal: Some(leaf),
                    });
                }
            }
        }
        Ok(Walk {
            siblings,
            terminal: None,
        })
    }

    fn proof_and_value(walk: &Walk, key: &Key) -> (U256, MerkleProof) {
        let depth = walk.siblings.len();
        let (value, terminal) = match walk.terminal {
            None => (U256::ZERO, ProofTerminal::Empty),
            Some(Node::Leaf {
                remaining_key,
                value,
                value_hash,
            }) => {
                let owned = Key::join(key, depth, &remaining_key) == *key;
                (
                    if owned { value } else { U256::ZERO },
                    ProofTerminal::Leaf {
                        remaining_key,
                        value_hash,
                    },
                )
            }
            Some(Node::Branch { .. }) => (U256::ZERO, ProofTerminal::Empty),
        };
        (
            value,
            MerkleProof {
                siblings: walk.siblings.clone(),
                terminal,
            },
        )
    }

    /// The value at `key` (zero if absent) and its proof against the current root.
    pub fn get(&self, key: &Key) -> Result<(U256, MerkleProof)> {
        let walk = self.walk(&self.root, key)?;
        Ok(Self::proof_and_value(&walk, key))
    }

    /// The value at `key` without building a proof.
    pub fn value(&self, key: &Key) -> Result<U256> {
        let mut current = self.root;
        let mut level = 0;
        while current != EMPTY {
            match self.load(&current)? {
                Node::Branch { left, right } => {
                    if level >= MAX_DEPTH {
                        return Err(ExecutorError::Corrupted(
                            "tree path longer than a key".to_string(),
                        ));
                    }
                    current = if key.bit(level) { right } else { left };
                    level += 1;
                }
                Node::Leaf {
                    remaining_key,
                    value,
                    ..
                } => {
                    let owned = Key::join(key, level, &remaining_key) == *key;
                    return Ok(if owned { value } else { U256::ZERO });
                }
            }
        }
        Ok(U256::ZERO)
    }

    /// Sets `key` to `value` (zero deletes), returning both proofs.
    pub fn set(&mut self, key: &Key, value: U256) -> Result<WriteOutcome> {
        let old_root = self.root;
        let walk = self.walk(&old_root, key)?;
        let (old_value, old_proof) = Self::proof_and_value(&walk, key);
        let mut permutations = 0u64;
        let depth = walk.siblings.len();

        // The subtree that replaces the node at `start_depth` on the key's path (then rehashed up).
        let replacement: Option<(usize, Digest)> = match walk.terminal {
            None | Some(Node::Branch { .. }) => {
                if value.is_zero() {
                    None
                } else {
                    permutations += 2;
                    Some((depth, self.insert(Node::leaf(key.remaining(depth), value))))
                }
            }
            Some(Node::Leaf {
                remaining_key,
                value: leaf_value,
                value_hash,
            }) => {
                let leaf_key = Key::join(key, depth, &remaining_key);
                if leaf_key == *key {
                    if value == leaf_value {
                        None
                    } else if !value.is_zero() {
                        permutations += 2;
                        Some((depth, self.insert(Node::leaf(remaining_key, value))))
                    } else {
                        Some(self.delete_at(key, &walk.siblings, &mut permutations)?)
                    }
                } else if value.is_zero() {
                    None
                } else {
                    // Split: both leaves go below the first level where the keys differ.
                    let split = (depth..MAX_DEPTH)
                        .find(|&level| key.bit(level) != leaf_key.bit(level))
                        .ok_or_else(|| {
                            ExecutorError::Corrupted("two leaves with the same key".to_string())
                        })?;
                    let moved = self.insert(Node::Leaf {
                        remaining_key: leaf_key.remaining(split + 1),
                        value: leaf_value,
                        value_hash,
                    });
                    let new_leaf = self.insert(Node::leaf(key.remaining(split + 1), value));
                    permutations += 3;
                    let mut node = if key.bit(split) {
                        Node::Branch {
                            left: moved,
                            right: new_leaf,
                        }
                    } else {
                        Node::Branch {
                            left: new_leaf,
                            right: moved,
                        }
                    };
                    let mut hash = self.insert(node);
                    permutations += 1;
                    for level in (depth..split).rev() {
                        node = if key.bit(level) {
                            Node::Branch {
                                left: EMPTY,
                                right: hash,
                            }
                        } else {
                            Node::Branch {
                                left: hash,
                                right: EMPTY,
                            }
                        };
                        hash = self.insert(node);
                        permutations += 1;
                    }
                    Some((depth, hash))
                }
            }
        };

        if let Some((start_depth, mut hash)) = replacement {
            for level in (0..start_depth).rev() {
                let sibling = walk.siblings[level];
                let node = if key.bit(level) {
                    Node::Branch {
                        left: sibling,
                        right: hash,
                    }
                } else {
                    Node::Branch {
                        left: hash,
                        right: sibling,
                    }
                };
                hash = self.insert(node);
                permutations += 1;
            }
            self.root = hash;
        }
        let (_, new_proof) = self.get(key)?;
        Ok(WriteOutcome {
            old_root,
            old_value,
            old_proof,
            new_root: self.root,
            new_proof,
            permutations,
        })
    }

    /// Removes the key's leaf at depth `siblings.len()`: returns the depth and hash of what replaces
    /// the lowest node that changes (possibly the sibling leaf moved up, or the empty root).
    fn delete_at(
        &mut self,
        key: &Key,
        siblings: &[Digest],
        permutations: &mut u64,
    ) -> Result<(usize, Digest)> {
        let depth = siblings.len();
        let Some(&sibling) = siblings.last() else {
            return Ok((0, EMPTY));
        };
        if sibling != EMPTY {
            if let Node::Leaf {
                remaining_key,
                value,
                value_hash,
            } = self.load(&sibling)?
            {
                // The sibling leaf's full key: the key's path with the last bit flipped.
                let mut sibling_key = Key::join(key, depth, &remaining_key);
                let flip = depth - 1;
                sibling_key.0[flip % 4] ^= 1 << (flip / 4);
                // It rises while the level above holds nothing else.
                let mut level = depth - 1;
                while level > 0 && siblings[level - 1] == EMPTY {
                    level -= 1;
                }
                let hash = self.insert(Node::Leaf {
                    remaining_key: sibling_key.remaining(level),
                    value,
                    value_hash,
                });
                *permutations += 1;
                return Ok((level, hash));
            }
        }
        Ok((depth, EMPTY))
    }

    /// The nodes created since [`WorkingTree::new`] that the current root reaches (what must be
    /// persisted; superseded intermediate nodes are dropped).
    pub fn new_nodes(&self) -> Vec<(Digest, Node)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root];
        while let Some(hash) = stack.pop() {
            if let Some(node) = self.created.get(&hash) {
                out.push((hash, *node));
                if let Node::Branch { left, right } = node {
                    for child in [left, right] {
                        if *child != EMPTY {
                            stack.push(*child);
                        }
                    }
                }
            }
        }
        out
    }

    /// Every key/value under the current root, by walking the whole tree.
    pub fn entries(&self) -> Result<Vec<(Key, U256)>> {
        let mut out = Vec::new();
        // (node hash, depth, path bits so far as a key)
        let mut stack = vec![(self.root, 0usize, Key(EMPTY))];
        while let Some((hash, depth, path)) = stack.pop() {
            if hash == EMPTY {
                continue;
            }
            match self.load(&hash)? {
                Node::Branch { left, right } => {
                    if depth >= MAX_DEPTH {
                        return Err(ExecutorError::Corrupted(
                            "tree path longer than a key".to_string(),
                        ));
                    }
                    let mut right_path = path;
                    right_path.0[depth % 4] |= 1 << (depth / 4);
                    stack.push((left, depth + 1, path));
                    stack.push((right, depth + 1, right_path));
                }
                Node::Leaf {
                    remaining_key,
                    value,
                    value_hash,
                } => {
                    if hash_value(value) != value_hash {
                        return Err(ExecutorError::Corrupted(format!(
                            "leaf {} value does not match its hash",
                            hex_digest(&hash)
                        )));
                    }
                    out.push((Key::join(&path, depth, &remaining_key), value));
                }
            }
        }
        Ok(out)
    }
}

/// The root of the tree holding exactly `entries` (zero values are skipped; a key given twice keeps
/// its last value), built top-down without [`WorkingTree`]: an independent check of the incremental
/// writes.
pub fn root_from_entries(entries: &[(Key, U256)]) -> Digest {
    let mut map: HashMap<Key, U256> = HashMap::new();
    for (key, value) in entries {
        map.insert(*key, *value);
    }
    let mut live: Vec<(Key, U256)> = map.into_iter().filter(|(_, v)| !v.is_zero()).collect();
    live.sort();
    build(&live, 0)
}

fn build(entries: &[(Key, U256)], depth: usize) -> Digest {
    match entries {
        [] => EMPTY,
        [(key, value)] => hash_leaf(&key.remaining(depth), &hash_value(*value)),
        _ => {
            // Distinct keys differ in some bit below MAX_DEPTH, so the recursion ends.
            let (left, right): (Vec<_>, Vec<_>) = entries
                .iter()
                .copied()
                .partition(|(key, _)| !key.bit(depth));
            hash_branch(&build(&left, depth + 1), &build(&right, depth + 1))
        }
    }
}

/// A digest as hex (element 3 first, as the zkEVM prints roots).
pub fn hex_digest(digest: &Digest) -> String {
    digest.iter().rev().map(|w| format!("{w:016x}")).collect()
}
