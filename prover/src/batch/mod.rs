//! The batch AIR, first rungs: state-tree writes and native transfers, proven from the executor's
//! witness.
//!
//! # What a batch proof states
//! Applying the batch's writes, in order, to the Poseidon sparse Merkle tree takes the root from the
//! public `old_state_root` to the public `new_state_root`, where every write belonging to a transfer
//! is one of: the sender's nonce (must equal the transfer's nonce; incremented), the sender's balance
//! (debited by `amount + 21000 · effective_gas_price`, never below zero), the recipient's balance
//! (credited with the amount) or the coinbase's balance (credited with the fee), each exactly once
//! (the credits and the debit are absent exactly when their amount is zero); and the ordered list of
//! transfers hashes to the public transfer commitment ([`record`]).
//!
//! # One table, no cross-table lookups
//! Each row carries two Poseidon permutations (the old and the new tree side by side, or two
//! absorptions of the commitment), so a tree write is about `depth + 3` rows and a transfer about
//! four writes plus four rows. Separate Poseidon / tree / transfer tables would need cross-table
//! lookups: an extra commitment and permutation argument per table and, for our byte-identical
//! prover, a CTL implementation identical to starky's. One table keeps one trace commitment, one
//! FRI proof and one recursive verifier, and the cost of the unused columns (the transfer registers
//! on tree rows) is small against the two Poseidon lanes, which dominate the width either way. The
//! only lookup is the byte range check (a starky lookup against a 256-row table column).
//!
//! # Not yet bound (later rungs)
//! - The transfer commitment stands in for the batch data: nothing ties it to the batch's bytes or
//!   to `acc_input_hash` (Keccak rung), and the transfers' signatures are not checked (ECDSA rung),
//!   nor is `chain_id`.
//! - Block bookkeeping writes (the system contract's storage: block number, timestamp, block hash)
//!   are proven as tree writes to the system contract's storage, but their slots and values are free.
//! - Reads are not proven (they change no root): in particular "the recipient has no code".
//! - The sender's up-front check `balance ≥ amount + gas_limit · price` is not proven; the debit of
//!   `amount + gas_used · price` is, with gas_used fixed at 21000.
//! - Paths are at most 64 levels deep (16 bits of each key element; deeper paths are refused). The
//!   path bits are the keys' true bits because the root row checks that the deep remaining keys
//!   (as bytes) have zeros where the path consumed bits; the argument needs each key element at or
//!   above 2^64 − p (about 2^32), which a key (a Poseidon digest) misses with probability 2^-32 per
//!   element — and a key that misses it could only misplace its own leaf.
//! - Leaf deletion (a balance becoming zero) and trees of fewer than two leaves are refused by the
//!   witness generator.

pub mod air;
pub mod columns;
pub mod expr;
pub mod poseidon;
pub mod record;
pub mod stark;
pub mod trace;

pub use air::{COMMITMENT_PI, NUM_PUBLIC_INPUTS};
pub use record::{commitment, Transfer};
pub use stark::BatchAir;
pub use trace::{
    check_witness, first_unsatisfied, generate_trace, generate_trace_unchecked,
    generate_trace_with, BatchTrace,
};
