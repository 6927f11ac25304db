//! Column layout of the batch AIR: two Poseidon lanes, then control, registers and range-check bytes.
//!
//! Every row computes two Poseidon permutations (lanes A and B). What a row means is its kind
//! (one-hot): a tree write is a *segment* of rows `KEY, VALUE, LEAF, BRANCH × depth` (lane A: the old
//! tree, lane B: the new tree), a transfer is `TX1..TX4` followed by its segments, and `PAD` fills the
//! trace to a power of two. Registers are columns whose value is carried from row to row and changes
//! only where the constraints say so.

use std::ops::Range;

/// Poseidon state width.
pub const WIDTH: usize = 12;
/// Rounds with a full S-box layer (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Rounds with one S-box.
pub const PARTIAL_ROUNDS: usize = 22;

/// Columns of one Poseidon lane (see [`lane`]).
pub const LANE_WIDTH: usize = lane::END;

/// Offsets inside a lane.
pub mod lane {
    use super::{FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

    /// The 12 input elements (8 absorbed, then 4 of capacity).
    pub const INPUT: usize = 0;
    const FIRST_FULL: usize = INPUT + WIDTH;
    const PARTIAL: usize = FIRST_FULL + (FULL_ROUNDS / 2) * 2 * WIDTH;
    const SECOND_FULL: usize = PARTIAL + 2 * PARTIAL_ROUNDS;
    /// The last full round stores only the 4 output elements the tree uses.
    pub const OUTPUT: usize = SECOND_FULL + (FULL_ROUNDS / 2) * 2 * WIDTH - WIDTH;
    pub const END: usize = OUTPUT + 4;

    /// Cubes of the S-box inputs of full round `round` (0..8).
    pub const fn full_cubes(round: usize) -> usize {
        if round < FULL_ROUNDS / 2 {
            FIRST_FULL + round * 2 * WIDTH
        } else {
            SECOND_FULL + (round - FULL_ROUNDS / 2) * 2 * WIDTH
        }
    }

    /// State after full round `round` (all 12 elements; for the last round see [`OUTPUT`]).
    pub const fn full_state(round: usize) -> usize {
        full_cubes(round) + WIDTH
    }

    /// Cube of the S-box input of partial round `round` (0..22).
    pub const fn partial_cube(round: usize) -> usize {
        PARTIAL + 2 * round
    }

    /// S-box output of partial round `round`.
    pub const fn partial_sbox(round: usize) -> usize {
        PARTIAL + 2 * round + 1
    }
}

pub const LANE_A: usize = 0;
pub const LANE_B: usize = LANE_WIDTH;

/// Input element `i` of lane `lane_start`.
pub const fn input(lane_start: usize, i: usize) -> usize {
    lane_start + lane::INPUT + i
}

/// Output element `i` (0..4) of lane `lane_start`.
pub const fn output(lane_start: usize, i: usize) -> usize {
    lane_start + lane::OUTPUT + i
}

const CONTROL: usize = 2 * LANE_WIDTH;

// Row kinds (one-hot).
pub const KEY: usize = CONTROL;
pub const VALUE: usize = KEY + 1;
pub const LEAF: usize = VALUE + 1;
pub const BRANCH: usize = LEAF + 1;
pub const TX1: usize = BRANCH + 1;
pub const TX2: usize = TX1 + 1;
pub const TX3: usize = TX2 + 1;
pub const TX4: usize = TX3 + 1;
pub const PAD: usize = TX4 + 1;
pub const KINDS: Range<usize> = KEY..PAD + 1;

// Segment registers: constant from a segment's KEY row to its root row.
/// Role of a tree write (one-hot): see [`Role`].
pub const ROLE: Range<usize> = KINDS.end..KINDS.end + 5;
/// What the old tree (lane A) has at the end of the path: the key's leaf, another key's leaf, or
/// nothing.
pub const TERM_K_A: usize = ROLE.end;
pub const TERM_L_A: usize = TERM_K_A + 1;
pub const TERM_E_A: usize = TERM_L_A + 1;
/// The same for the new tree (lane B).
pub const TERM_K_B: usize = TERM_E_A + 1;
pub const TERM_L_B: usize = TERM_K_B + 1;
pub const TERM_E_B: usize = TERM_L_B + 1;
/// The write inserts the key below another key's leaf, which moves down next to it.
pub const SPLIT: usize = TERM_E_B + 1;
/// The key (the KEY row's hash).
pub const KEY_REG: Range<usize> = SPLIT + 1..SPLIT + 5;
/// Value hash of the other key's leaf.
pub const OTHER_VALUE_HASH: Range<usize> = KEY_REG.end..KEY_REG.end + 4;
/// The other key's remaining key at the leaf depth (bytes on the KEY row).
pub const OTHER_DEEP: Range<usize> = OTHER_VALUE_HASH.end..OTHER_VALUE_HASH.end + 4;
/// Top 16 bits of each element of the key's remaining key at the leaf depth (LEAF row bytes) and
/// of [`OTHER_DEEP`] (KEY row bytes): the root row checks that the bits the path consumed from each
/// element are zero there, which makes the path bits the keys' true bits rather than a solution
/// modulo p.
pub const TOP_KEY: Range<usize> = OTHER_DEEP.end..OTHER_DEEP.end + 4;
pub const TOP_OTHER: Range<usize> = TOP_KEY.end..TOP_KEY.end + 4;
/// Segment registers: [`ROLE`] up to here.
pub const SEGMENT_END: usize = TOP_OTHER.end;

// Per-row path columns.
/// `2^(bits consumed from each key element between the leaf depth and this row)`.
pub const SHIFT: Range<usize> = SEGMENT_END..SEGMENT_END + 4;
/// The key's remaining key at this row's depth.
pub const RKEY: Range<usize> = SHIFT.end..SHIFT.end + 4;
/// The other key's remaining key at this row's depth.
pub const RKEY_OTHER: Range<usize> = RKEY.end..RKEY.end + 4;
/// One-hot: which key element this level's path bit comes from (level mod 4).
pub const POS: Range<usize> = RKEY_OTHER.end..RKEY_OTHER.end + 4;
/// The path bit at this level (1: the node is the right child).
pub const BIT: usize = POS.end;
/// The other key's path bit (the key's bit, flipped on the first level of a split).
pub const BIT_OTHER: usize = BIT + 1;
pub const SIBLING: Range<usize> = BIT_OTHER + 1..BIT_OTHER + 5;
/// Branch rows between the new leaf and the old position of the other leaf (splits only).
pub const ZONE: usize = SIBLING.end;
/// The first zone row.
pub const ZONE_FIRST: usize = ZONE + 1;
/// The last zone row, where lane A hashes the other leaf at its old depth.
pub const ZONE_LAST: usize = ZONE_FIRST + 1;
pub const IS_ROOT: usize = ZONE_LAST + 1;
/// The node each lane hands to the next level (zero for an empty subtree).
pub const NODE_A: Range<usize> = IS_ROOT + 1..IS_ROOT + 5;
pub const NODE_B: Range<usize> = NODE_A.end..NODE_A.end + 4;
/// Inverse witnesses of non-zero checks.
pub const AUX: Range<usize> = NODE_B.end..NODE_B.end + 8;
/// Boolean carries of 32-bit limb additions.
pub const CARRY: Range<usize> = AUX.end..AUX.end + 8;
/// Rows that end the previous transfer: TX1, PAD and block-bookkeeping KEY rows.
pub const BOUNDARY: usize = CARRY.end;

// Chain registers.
/// The state root the next write starts from.
pub const ROOT: Range<usize> = BOUNDARY + 1..BOUNDARY + 5;
/// The transfer-list commitment so far.
pub const COMMIT: Range<usize> = ROOT.end..ROOT.end + 4;
/// Inside a transfer (from its TX1 row to the next boundary).
pub const ACTIVE: usize = COMMIT.end;
/// Writes of each transfer role since the transfer's TX1 row.
pub const COUNT: Range<usize> = ACTIVE + 1..ACTIVE + 5;

// Transfer registers: loaded on TX rows, constant until the next TX1 row. Values are 32-bit limbs,
// least significant first.
pub const FROM: Range<usize> = COUNT.end..COUNT.end + 5;
pub const TO: Range<usize> = FROM.end..FROM.end + 5;
pub const AMOUNT: Range<usize> = TO.end..TO.end + 8;
pub const NONCE: Range<usize> = AMOUNT.end..AMOUNT.end + 2;
pub const PRICE: Range<usize> = NONCE.end..NONCE.end + 4;
pub const GAS_LIMIT: Range<usize> = PRICE.end..PRICE.end + 2;
pub const COINBASE: Range<usize> = GAS_LIMIT.end..GAS_LIMIT.end + 5;
/// `GAS_USED × PRICE` (5 limbs: it stays below 2^143).
pub const FEE: Range<usize> = COINBASE.end..COINBASE.end + 5;
/// Carries of the fee product (each below 21000).
pub const FEE_CARRY: Range<usize> = FEE.end..FEE.end + 4;
/// `AMOUNT + FEE`, what the sender pays.
pub const DEBIT: Range<usize> = FEE_CARRY.end..FEE_CARRY.end + 8;
pub const DEBIT_CARRY: Range<usize> = DEBIT.end..DEBIT.end + 8;
/// Non-zero flags of amount, fee and debit, and their inverse witnesses.
pub const NONZERO: Range<usize> = DEBIT_CARRY.end..DEBIT_CARRY.end + 3;
pub const NONZERO_INV: Range<usize> = NONZERO.end..NONZERO.end + 3;

/// Range-checked bytes (looked up in [`TABLE`]); unused ones are zero.
pub const BYTES: Range<usize> = NONZERO_INV.end..NONZERO_INV.end + 32;
/// 0, 1, …, 255, then 255 repeated.
pub const TABLE: usize = BYTES.end;
/// How often each table value occurs in [`BYTES`] (counted on its first table row).
pub const FREQUENCY: usize = TABLE + 1;

pub const NUM_COLUMNS: usize = FREQUENCY + 1;

/// Index of each amount in [`NONZERO`].
pub const NZ_AMOUNT: usize = 0;
pub const NZ_FEE: usize = 1;
pub const NZ_DEBIT: usize = 2;

/// What a tree write does, for the transfer constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The sender's balance leaf: debited by the amount and the fee.
    SenderBalance = 0,
    /// The sender's nonce leaf: must hold the transfer's nonce, incremented.
    SenderNonce = 1,
    /// The recipient's balance leaf: credited with the amount.
    RecipientBalance = 2,
    /// The coinbase's balance leaf: credited with the fee.
    CoinbaseBalance = 3,
    /// A storage slot of the system contract (L2 block bookkeeping); its value is not yet bound.
    Block = 4,
}

/// Gas a native transfer uses (intrinsic gas; no calldata, no access list).
pub const TRANSFER_GAS: u64 = 21_000;

/// Deepest path the AIR proves: each key element gives at most 16 path bits, the range its top
/// two bytes check.
pub const MAX_PATH_DEPTH: usize = 64;

/// Elements of a transfer record: 4 absorptions of 8 (see [`super::record`]).
pub const RECORD_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_dense_and_documented_width_holds() {
        assert_eq!(LANE_WIDTH, 240);
        assert_eq!(KEY, 2 * LANE_WIDTH);
        // README/ARCHITECTURE quote the width; change them together.
        assert_eq!(NUM_COLUMNS, 681);
    }
}
