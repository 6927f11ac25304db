//! Resource counters: the trace rows a batch needs in each planned AIR table, so the sequencer can
//! close a batch before the prover's maximum trace size.
//!
//! Formulas (`d(p)` = depth of Merkle proof `p`, i.e. its number of siblings; `t(p)` = 2 if the
//! proof ends on a leaf, else 0 — the leaf and value hashes):
//!
//! | counter                 | per item                                                          |
//! |-------------------------|-------------------------------------------------------------------|
//! | `poseidon_rows`         | one row per permutation: per tree read `k + d(p) + t(p)`, per write `k + d(old) + t(old) + d(new) + t(new)`, where `k` (key derivation) is 2 for storage and 1 otherwise; per deployed bytecode of `n` bytes `⌈(n+1)/56⌉` |
//! | `smt_rows`              | per read `d(p) + 1`, per write `d(old) + d(new) + 2` (one row per level plus the terminal) |
//! | `keccak_rows`           | 24 rows per keccak-f permutation; per transaction `⌈(s+1)/136⌉ + ⌈(e+1)/136⌉` permutations for its signing payload (`s` bytes) and its hash (`e` bytes) |
//! | `signatures`            | one per transaction in the batch data (its signer is recovered, valid or not) |
//! | `transfer_rows`         | one per provable transaction                                      |
//! | `transactions`          | included transactions                                             |
//! | `gas_used`              | gas of included transactions                                      |
//! | `batch_bytes`           | length of the batch data                                          |

use serde::{Deserialize, Serialize};

use crate::execution::witness::{AccessOp, TreeAccess};
use crate::state::keys::key_permutations;
use crate::state::MerkleProof;

/// Rows of the keccak-f table per permutation (one per round).
pub const KECCAK_ROWS_PER_PERMUTATION: u64 = 24;
/// keccak-256 rate in bytes.
pub const KECCAK_RATE: usize = 136;

/// keccak-f permutations to hash `len` bytes (padding adds at least one byte).
pub fn keccak_permutations(len: usize) -> u64 {
    (len + 1).div_ceil(KECCAK_RATE) as u64
}

/// What a batch uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counters {
    pub poseidon_rows: u64,
    pub smt_rows: u64,
    pub keccak_rows: u64,
    pub signatures: u64,
    pub transfer_rows: u64,
    pub transactions: u64,
    pub gas_used: u64,
    pub batch_bytes: u64,
    /// Tree reads (informational).
    pub smt_reads: u64,
    /// Tree writes (informational).
    pub smt_writes: u64,
}

fn proof_rows(proof: &MerkleProof) -> u64 {
    proof.depth() as u64 + 1
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, more: Counters) {
        // Destructured so that a counter added to the struct fails to compile here until summed.
        let Counters {
            poseidon_rows,
            smt_rows,
            keccak_rows,
            signatures,
            transfer_rows,
            transactions,
            gas_used,
            batch_bytes,
            smt_reads,
            smt_writes,
        } = more;
        self.poseidon_rows += poseidon_rows;
        self.smt_rows += smt_rows;
        self.keccak_rows += keccak_rows;
        self.signatures += signatures;
        self.transfer_rows += transfer_rows;
        self.transactions += transactions;
        self.gas_used += gas_used;
        self.batch_bytes += batch_bytes;
        self.smt_reads += smt_reads;
        self.smt_writes += smt_writes;
    }
}

impl Counters {
    /// Counts one executed transaction: a row of the transfer table when the batch AIR can prove
    /// it, and its gas.
    pub fn add_executed_transaction(&mut self, provable: bool, gas_used: u64) {
        if provable {
            self.transfer_rows += 1;
        }
        self.transactions += 1;
        self.gas_used = self.gas_used.saturating_add(gas_used);
    }

    /// Adds one tree access.
    pub fn add_access(&mut self, access: &TreeAccess) {
        let key = key_permutations(access.kind);
        match (access.op, &access.new_proof) {
            (AccessOp::Write, Some(new_proof)) => {
                self.smt_writes += 1;
                self.smt_rows += proof_rows(&access.old_proof) + proof_rows(new_proof);
                self.poseidon_rows +=
                    key + access.old_proof.verify_permutations() + new_proof.verify_permutations();
            }
            _ => {
                self.smt_reads += 1;
                self.smt_rows += proof_rows(&access.old_proof);
                self.poseidon_rows += key + access.old_proof.verify_permutations();
            }
        }
    }

    /// Adds the linear hash of a deployed bytecode of `len` bytes.
    pub fn add_bytecode_hash(&mut self, len: usize) {
        self.poseidon_rows += crate::state::hash::bytecode_hash_permutations(len) as u64;
    }

    /// Adds a transaction's signature recovery and hashing.
    pub fn add_signature(&mut self, signing_payload_len: usize, encoded_len: usize) {
        self.signatures += 1;
        self.keccak_rows += KECCAK_ROWS_PER_PERMUTATION
            * (keccak_permutations(signing_payload_len) + keccak_permutations(encoded_len));
    }

    /// Each counter with its limit, in a fixed order.
    fn pairs(&self, limits: &CounterLimits) -> [(&'static str, u64, u64); 8] {
        [
            ("poseidon_rows", self.poseidon_rows, limits.poseidon_rows),
            ("smt_rows", self.smt_rows, limits.smt_rows),
            ("keccak_rows", self.keccak_rows, limits.keccak_rows),
            ("signatures", self.signatures, limits.signatures),
            ("transfer_rows", self.transfer_rows, limits.transfer_rows),
            ("transactions", self.transactions, limits.transactions),
            ("gas_used", self.gas_used, limits.gas_used),
            ("batch_bytes", self.batch_bytes, limits.batch_bytes),
        ]
    }
}

/// The largest value each counter may reach in one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CounterLimits {
    pub poseidon_rows: u64,
    pub smt_rows: u64,
    pub keccak_rows: u64,
    pub signatures: u64,
    pub transfer_rows: u64,
    pub transactions: u64,
    pub gas_used: u64,
    pub batch_bytes: u64,
}

impl CounterLimits {
    /// Every AIR table limited to `max_trace_rows`, with the zkEVM sequencer's batch limits (300
    /// transactions, 120000 bytes) and an unlimited gas budget.
    pub fn with_max_trace_rows(max_trace_rows: u64) -> Self {
        CounterLimits {
            poseidon_rows: max_trace_rows,
            smt_rows: max_trace_rows,
            keccak_rows: max_trace_rows,
            signatures: max_trace_rows,
            transfer_rows: max_trace_rows,
            transactions: 300,
            gas_used: u64::MAX,
            batch_bytes: 120_000,
        }
    }

    /// Checks every counter against its limit; the error names the first one over.
    pub fn check(&self, counters: &Counters) -> Result<(), CounterOverflow> {
        self.check_with_margin(counters, 0)
    }

    /// Like [`CounterLimits::check`] but each limit reduced by `margin_percent` percent (the zkEVM
    /// sequencer closes a batch when a counter is within 10% of its limit: margin 10).
    pub fn check_with_margin(
        &self,
        counters: &Counters,
        margin_percent: u8,
    ) -> Result<(), CounterOverflow> {
        let keep = 100u128.saturating_sub(u128::from(margin_percent.min(100)));
        for (counter, used, limit) in counters.pairs(self) {
            let limit = (u128::from(limit) * keep / 100) as u64;
            if used > limit {
                return Err(CounterOverflow {
                    counter,
                    used,
                    limit,
                });
            }
        }
        Ok(())
    }
}

impl Default for CounterLimits {
    /// 2^22 rows per table.
    fn default() -> Self {
        CounterLimits::with_max_trace_rows(1 << 22)
    }
}

/// A counter over its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("counter {counter} is {used}, over its limit {limit}")]
pub struct CounterOverflow {
    pub counter: &'static str,
    pub used: u64,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_first_counter_over() {
        let limits = CounterLimits::with_max_trace_rows(1000);
        let mut counters = Counters {
            smt_rows: 950,
            ..Counters::default()
        };
        assert_eq!(limits.check(&counters), Ok(()));
        assert_eq!(
            limits.check_with_margin(&counters, 10),
            Err(CounterOverflow {
                counter: "smt_rows",
                used: 950,
                limit: 900
            })
        );
        counters.transactions = 301;
        assert_eq!(
            limits.check(&counters).map_err(|e| e.counter),
            Err("transactions")
        );
    }

    #[test]
    fn keccak_padding_adds_a_byte() {
        assert_eq!(keccak_permutations(0), 1);
        assert_eq!(keccak_permutations(135), 1);
        assert_eq!(keccak_permutations(136), 2);
    }
}
