//! The durable state store: tree nodes, bytecode and the log of committed roots, in one `redb` file.
//!
//! Why `redb`: the executor runs on its own host, so an embedded store keeps it self-contained (no
//! database server on the hot path of every node read), and redb is an ACID, copy-on-write B-tree
//! in pure Rust: a write transaction becomes visible atomically at commit, which is fsynced, and a
//! process killed at any moment reopens at the last committed transaction. The node's Postgres
//! would add a network round trip per tree node and a second process to keep alive for crash
//! safety that redb already gives.
//!
//! Tables:
//!
//! | table     | key                         | value                                     |
//! |-----------|-----------------------------|-------------------------------------------|
//! | `nodes`   | node hash (32 bytes)        | [`Node::encode`]                          |
//! | `bytecode`| linear Poseidon code hash   | the bytecode                              |
//! | `roots`   | state root (32 bytes)       | commit sequence number (u64)              |
//! | `commits` | commit sequence number      | state root (32 bytes)                     |
//!
//! Digests are stored as their four words little-endian ([`digest_bytes`]). Nodes are
//! content-addressed and never deleted, so every committed root stays readable. A batch's nodes,
//! its bytecode and its root record go into ONE write transaction ([`Store::commit`]): after a crash
//! the store holds the old root or the new one, never part of a batch.

use std::path::{Path, PathBuf};

use alloy_primitives::Bytes;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::hash::{Digest, EMPTY};
use super::smt::{digest_bytes, digest_from_bytes, hex_digest, Node, NodeSource};
use crate::error::{ExecutorError, Result};
use crate::StateRoot;

const NODES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("nodes");
const BYTECODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("bytecode");
const ROOTS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("roots");
const COMMITS: TableDefinition<u64, &[u8; 32]> = TableDefinition::new("commits");

/// File name of the store inside the executor's data directory.
pub const STORE_FILE: &str = "state.redb";

/// The durable store.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

/// What one commit writes.
#[derive(Debug, Default)]
pub struct CommitSet {
    /// New tree nodes (hash, node).
    pub nodes: Vec<(Digest, Node)>,
    /// New bytecode (linear Poseidon hash, code).
    pub bytecode: Vec<(Digest, Bytes)>,
}

impl Store {
    /// Opens (creating if needed) the store in directory `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ExecutorError::Store(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(STORE_FILE);
        let db = Database::create(&path)?;
        // Create the tables up front so read transactions can always open them.
        let tx = db.begin_write()?;
        {
            tx.open_table(NODES)?;
            tx.open_table(BYTECODE)?;
            tx.open_table(ROOTS)?;
            tx.open_table(COMMITS)?;
        }
        tx.commit()?;
        Ok(Store { db, path })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent read view (later commits do not change it).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let tx = self.db.begin_read()?;
        Ok(Snapshot {
            nodes: tx.open_table(NODES)?,
            bytecode: tx.open_table(BYTECODE)?,
            roots: tx.open_table(ROOTS)?,
        })
    }

    /// Writes a batch's nodes and bytecode and records `root` as committed, atomically and durably.
    /// Returns the commit's sequence number (the existing one if `root` was committed before).
    pub fn commit(&self, set: &CommitSet, root: StateRoot) -> Result<u64> {
        let root_key = digest_bytes(&root.0);
        let tx = self.db.begin_write()?;
        let seq = {
            let mut nodes = tx.open_table(NODES)?;
            for (hash, node) in &set.nodes {
                nodes.insert(&digest_bytes(hash), node.encode().as_slice())?;
            }
            let mut bytecode = tx.open_table(BYTECODE)?;
            for (hash, code) in &set.bytecode {
                bytecode.insert(&digest_bytes(hash), code.as_ref())?;
            }
            let mut roots = tx.open_table(ROOTS)?;
            let existing = roots.get(&root_key)?.map(|v| v.value());
            match existing {
                Some(seq) => seq,
                None => {
                    let mut commits = tx.open_table(COMMITS)?;
                    let seq = match commits.last()? {
                        Some((k, _)) => k.value() + 1,
                        None => 1,
                    };
                    commits.insert(seq, &root_key)?;
                    roots.insert(&root_key, seq)?;
                    seq
                }
            }
        };
        tx.commit()?;
        tracing::debug!(root = %root, seq, nodes = set.nodes.len(), "state committed");
        Ok(seq)
    }

    /// The most recently committed root, with its sequence number.
    pub fn latest_root(&self) -> Result<Option<(u64, StateRoot)>> {
        let tx = self.db.begin_read()?;
        let commits = tx.open_table(COMMITS)?;
        let last = commits.last()?;
        match last {
            None => Ok(None),
            Some((seq, root)) => Ok(Some((seq.value(), root_from_stored(root.value())?))),
        }
    }

    /// Every committed root in commit order.
    pub fn committed_roots(&self) -> Result<Vec<StateRoot>> {
        let tx = self.db.begin_read()?;
        let commits = tx.open_table(COMMITS)?;
        let mut out = Vec::with_capacity(commits.len()? as usize);
        for entry in commits.iter()? {
            let (_, root) = entry?;
            out.push(root_from_stored(root.value())?);
        }
        Ok(out)
    }

    /// Number of stored tree nodes.
    pub fn node_count(&self) -> Result<u64> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(NODES)?.len()?)
    }
}

fn root_from_stored(bytes: &[u8; 32]) -> Result<StateRoot> {
    let digest = digest_from_bytes(bytes)
        .ok_or_else(|| ExecutorError::Corrupted("bad root record".to_string()))?;
    Ok(StateRoot(digest))
}

/// A read view of the store.
pub struct Snapshot {
    nodes: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    bytecode: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    roots: redb::ReadOnlyTable<&'static [u8; 32], u64>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Whether `root` is readable: the empty root, or one committed before this snapshot.
    pub fn has_root(&self, root: &StateRoot) -> Result<bool> {
        if root.0 == EMPTY {
            return Ok(true);
        }
        Ok(self.roots.get(&digest_bytes(&root.0))?.is_some())
    }

    /// Bytecode by its linear Poseidon hash.
    pub fn bytecode(&self, hash: &Digest) -> Result<Option<Bytes>> {
        Ok(self
            .bytecode
            .get(&digest_bytes(hash))?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }
}

impl NodeSource for Snapshot {
    fn node(&self, hash: &Digest) -> Result<Option<Node>> {
        match self.nodes.get(&digest_bytes(hash))? {
            None => Ok(None),
            Some(bytes) => Node::decode(bytes.value()).map(Some).ok_or_else(|| {
                ExecutorError::Corrupted(format!("undecodable tree node {}", hex_digest(hash)))
            }),
        }
    }
}
