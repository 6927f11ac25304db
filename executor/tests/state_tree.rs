//! The state tree against a map model: reads, writes and deletes in random order give the root of a
//! tree rebuilt from scratch; proofs verify and fail when tampered; the store keeps past roots.
//!
//! Seeded: the seed is printed; replay with `ZKNODE_TREE_SEED=<seed>`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use alloy_primitives::{Address, U256};
use common::seeded_rng;
use rand::seq::SliceRandom;
use rand::Rng;
use zknode_executor::state::hash::{hash_leaf, hash_value};
use zknode_executor::state::smt::NoNodes;
use zknode_executor::state::{
    account_key, root_from_entries, storage_key, verify_proof, CommitSet, Key, LeafKind,
    MerkleProof, ProofTerminal, Store, WorkingTree, EMPTY,
};
use zknode_executor::StateRoot;

fn random_key(rng: &mut impl Rng) -> Key {
    let address = Address::from(rng.gen::<[u8; 20]>());
    if rng.gen_ratio(1, 2) {
        storage_key(address, U256::from(rng.gen::<u64>()))
    } else {
        account_key(address, LeafKind::Balance)
    }
}

fn model_entries(model: &HashMap<Key, U256>) -> Vec<(Key, U256)> {
    model.iter().map(|(k, v)| (*k, *v)).collect()
}

#[test]
fn random_writes_and_deletes_match_a_tree_rebuilt_from_scratch() {
    let (mut rng, _) = seeded_rng("ZKNODE_TREE_SEED", 11);
    let mut tree = WorkingTree::new(NoNodes, EMPTY);
    let mut model: HashMap<Key, U256> = HashMap::new();
    let mut keys: Vec<Key> = Vec::new();
    for step in 0..3000 {
        let key = if keys.is_empty() || rng.gen_ratio(1, 2) {
            let k = random_key(&mut rng);
            keys.push(k);
            k
        } else {
            keys[rng.gen_range(0..keys.len())]
        };
        let value = if rng.gen_ratio(1, 3) {
            U256::ZERO
        } else {
            U256::from(rng.gen::<u128>())
        };
        let outcome = tree.set(&key, value).unwrap();
        let old = model.get(&key).copied().unwrap_or_default();
        assert_eq!(outcome.old_value, old, "step {step}");
        verify_proof(&outcome.old_root, &key, old, &outcome.old_proof).unwrap();
        verify_proof(&outcome.new_root, &key, value, &outcome.new_proof).unwrap();
        if value.is_zero() {
            model.remove(&key);
        } else {
            model.insert(key, value);
        }
        if step % 250 == 0 {
            assert_eq!(
                tree.root(),
                root_from_entries(&model_entries(&model)),
                "step {step}"
            );
        }
    }
    assert_eq!(tree.root(), root_from_entries(&model_entries(&model)));
    for key in &keys {
        let (value, proof) = tree.get(key).unwrap();
        assert_eq!(value, model.get(key).copied().unwrap_or_default());
        verify_proof(&tree.root(), key, value, &proof).unwrap();
    }
    let mut entries = tree.entries().unwrap();
    entries.sort();
    let mut expected = model_entries(&model);
    expected.sort();
    assert_eq!(entries, expected);

    // Deleting everything gives the empty root.
    for key in &keys {
        tree.set(key, U256::ZERO).unwrap();
    }
    assert_eq!(tree.root(), EMPTY);
}

#[test]
fn root_does_not_depend_on_write_order() {
    let (mut rng, _) = seeded_rng("ZKNODE_TREE_SEED", 12);
    let mut entries: Vec<(Key, U256)> = (0..300)
        .map(|_| (random_key(&mut rng), U256::from(rng.gen_range(1..1000u64))))
        .collect();
    let mut roots = Vec::new();
    for _ in 0..3 {
        entries.shuffle(&mut rng);
        let mut tree = WorkingTree::new(NoNodes, EMPTY);
        for (k, v) in &entries {
            tree.set(k, *v).unwrap();
        }
        roots.push(tree.root());
    }
    assert!(roots.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn a_lone_leaf_rises_to_the_root_after_its_sibling_is_deleted() {
    let a = account_key(Address::repeat_byte(1), LeafKind::Balance);
    let b = account_key(Address::repeat_byte(2), LeafKind::Nonce);
    let mut tree = WorkingTree::new(NoNodes, EMPTY);
    tree.set(&a, U256::from(5)).unwrap();
    let single = tree.root();
    // A single leaf at the root stores its whole key.
    assert_eq!(single, hash_leaf(&a.0, &hash_value(U256::from(5))));
    tree.set(&b, U256::from(6)).unwrap();
    assert_ne!(tree.root(), single);
    tree.set(&b, U256::ZERO).unwrap();
    assert_eq!(tree.root(), single);
}

#[test]
fn tampered_proofs_fail() {
    let (mut rng, _) = seeded_rng("ZKNODE_TREE_SEED", 13);
    let mut tree = WorkingTree::new(NoNodes, EMPTY);
    let keys: Vec<Key> = (0..200).map(|_| random_key(&mut rng)).collect();
    for (i, k) in keys.iter().enumerate() {
        tree.set(k, U256::from(i + 1)).unwrap();
    }
    let root = tree.root();
    let (value, proof) = tree.get(&keys[17]).unwrap();
    assert_eq!(value, U256::from(18));
    verify_proof(&root, &keys[17], value, &proof).unwrap();
    assert!(proof.depth() > 0);

    // Wrong value, wrong key, a changed sibling, a dropped level, a swapped terminal, wrong root.
    assert!(verify_proof(&root, &keys[17], U256::from(19), &proof).is_err());
    assert!(verify_proof(&root, &keys[17], U256::ZERO, &proof).is_err());
    assert!(verify_proof(&root, &keys[18], value, &proof).is_err());
    let mut bad = proof.clone();
    bad.siblings[0][1] ^= 1;
    assert!(verify_proof(&root, &keys[17], value, &bad).is_err());
    let mut bad = proof.clone();
    bad.siblings.pop();
    assert!(verify_proof(&root, &keys[17], value, &bad).is_err());
    let bad = MerkleProof {
        terminal: ProofTerminal::Empty,
        ..proof.clone()
    };
    assert!(verify_proof(&root, &keys[17], U256::ZERO, &bad).is_err());
    let mut other_root = root;
    other_root[0] ^= 1;
    assert!(verify_proof(&other_root, &keys[17], value, &proof).is_err());

    // Exclusion proofs for absent keys verify for zero only.
    for _ in 0..50 {
        let absent = random_key(&mut rng);
        let (value, proof) = tree.get(&absent).unwrap();
        assert_eq!(value, U256::ZERO);
        verify_proof(&root, &absent, U256::ZERO, &proof).unwrap();
        assert!(verify_proof(&root, &absent, U256::from(1), &proof).is_err());
    }
    // A proof of a present key cannot pass as the exclusion of another key on its path.
    let (_, present) = tree.get(&keys[3]).unwrap();
    assert!(verify_proof(&root, &keys[3], U256::ZERO, &present).is_err());
}

#[test]
fn store_keeps_every_committed_root_readable_across_reopen() {
    let (mut rng, _) = seeded_rng("ZKNODE_TREE_SEED", 14);
    let dir = tempfile::tempdir().unwrap();
    let mut history: Vec<(StateRoot, HashMap<Key, U256>)> = Vec::new();
    let mut model: HashMap<Key, U256> = HashMap::new();
    let keys: Vec<Key> = (0..100).map(|_| random_key(&mut rng)).collect();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut root = EMPTY;
        for _ in 0..5 {
            let snapshot = store.snapshot().unwrap();
            let mut tree = WorkingTree::new(&snapshot, root);
            for _ in 0..60 {
                let key = keys[rng.gen_range(0..keys.len())];
                let value = if rng.gen_ratio(1, 4) {
                    U256::ZERO
                } else {
                    U256::from(rng.gen::<u64>())
                };
                tree.set(&key, value).unwrap();
                if value.is_zero() {
                    model.remove(&key);
                } else {
                    model.insert(key, value);
                }
            }
            root = tree.root();
            let set = CommitSet {
                nodes: tree.new_nodes(),
                bytecode: Vec::new(),
            };
            let seq = store.commit(&set, StateRoot(root)).unwrap();
            // Committing the same root again is idempotent.
            assert_eq!(
                store
                    .commit(&CommitSet::default(), StateRoot(root))
                    .unwrap(),
                seq
            );
            history.push((StateRoot(root), model.clone()));
        }
        assert_eq!(
            store.latest_root().unwrap().map(|(_, r)| r),
            Some(StateRoot(root))
        );
    }
    let store = Store::open(dir.path()).unwrap();
    let snapshot = store.snapshot().unwrap();
    assert_eq!(store.committed_roots().unwrap().len(), history.len());
    for (root, model) in &history {
        assert!(snapshot.has_root(root).unwrap());
        let tree = WorkingTree::new(&snapshot, root.0);
        for key in &keys {
            assert_eq!(
                tree.value(key).unwrap(),
                model.get(key).copied().unwrap_or_default()
            );
        }
        let mut entries = tree.entries().unwrap();
        entries.sort();
        assert_eq!(root_from_entries(&entries), root.0);
        assert_eq!(entries.len(), model.len());
    }
    assert!(!snapshot.has_root(&StateRoot([1, 2, 3, 4])).unwrap());
}
