//! The batch AIR's constraints, written once over [`Cx`] (see [`super::expr`]). Every constraint has
//! degree at most 3 (starky's fast config: blowup 2).
//!
//! What is constrained, by row kind (see [`super::columns`] for the layout and [`super`] for the
//! statement):
//! - every row: both lanes are Poseidon permutations; kinds are one-hot and follow
//!   `TX1 TX2 TX3 TX4 (segment)+` per transfer, `KEY VALUE LEAF BRANCH+` per segment, `PAD+` last.
//! - KEY: lane A hashes the role's address and leaf kind with lane B's output as capacity (lane B
//!   hashes the storage slot, zero unless the role is block bookkeeping): the key.
//! - VALUE: lane A hashes the old value, lane B the new one; the role's arithmetic relates them to the
//!   transfer (debit, nonce + 1, credits) with 32-bit limbs, boolean carries and range-checked bytes.
//! - LEAF: each lane hashes its path's terminal leaf (the key's, another key's, or nothing).
//! - BRANCH: each lane hashes its node with the shared sibling, ordered by the path bit; the path
//!   bits rebuild the key's remaining keys up to the full key at the root row, where lane A must give
//!   the current root and lane B the next one. A split (insertion below another leaf) runs lane B
//!   alone through a zone of empty siblings whose first sibling is the other leaf moved down.
//! - TX rows: absorb the transfer record into the commitment and load the transfer registers.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use zknode_executor::public_values::layout;
use zknode_executor::BatchPublicValues;

use super::columns::*;
use super::expr::{Cx, CxExt};
use super::poseidon::eval_lane;

type F = GoldilocksField;

/// Public inputs: the batch public values, then the transfer-list commitment.
pub const COMMITMENT_PI: std::ops::Range<usize> =
    BatchPublicValues::NUM_ELEMENTS..BatchPublicValues::NUM_ELEMENTS + 4;
pub const NUM_PUBLIC_INPUTS: usize = COMMITMENT_PI.end;

/// The system contract's address as 32-bit limbs (0x…5ca1ab1e).
fn system_address_limbs() -> [u64; 5] {
    let limbs =
        zknode_executor::state::hash::address_to_limbs(zknode_executor::execution::SYSTEM_ADDRESS);
    [limbs[0], limbs[1], limbs[2], limbs[3], limbs[4]]
}

const TWO_32: u64 = 1 << 32;

/// Evaluates every constraint on the frame (`l`: this row, `n`: the next, `pi`: public inputs).
pub fn eval<C: Cx<F> + ?Sized>(cx: &mut C, l: &[C::V], n: &[C::V], pi: &[C::V]) {
    cx.section("poseidon");
    let out_a = eval_lane(cx, l, LANE_A);
    let out_b = eval_lane(cx, l, LANE_B);
    let in_a = |i: usize| input(LANE_A, i);
    let in_b = |i: usize| input(LANE_B, i);
    let one = cx.one();
    let zero = cx.constant(F::ZERO);

    cx.section("kinds");
    // ---- Row kinds.
    for k in KINDS {
        let b = cx.boolean(l[k]);
        cx.zero(b);
    }
    let kinds: Vec<_> = KINDS.map(|k| l[k]).collect();
    let s = cx.sum(&kinds);
    let d = cx.sub(s, one);
    cx.zero(d);
    let not_first = cx.sum(&[l[VALUE], l[LEAF], l[BRANCH], l[TX2], l[TX3], l[TX4]]);
    cx.zero_first_row(not_first);
    let d = cx.sub(l[PAD], one);
    cx.zero_last_row(d);
    for (from, to) in [
        (KEY, VALUE),
        (VALUE, LEAF),
        (LEAF, BRANCH),
        (TX1, TX2),
        (TX2, TX3),
        (TX3, TX4),
        (TX4, KEY),
        (PAD, PAD),
    ] {
        let not_to = cx.not(n[to]);
        cx.gated_transition(l[from], not_to);
    }
    let b = cx.boolean(l[IS_ROOT]);
    cx.zero(b);
    let not_branch = cx.not(l[BRANCH]);
    cx.gated(l[IS_ROOT], not_branch);
    // A branch row that is not the root is followed by a branch row.
    let not_root = cx.not(l[IS_ROOT]);
    let not_next_branch = cx.not(n[BRANCH]);
    let g = cx.mul(l[BRANCH], not_root);
    cx.gated_transition(g, not_next_branch);
    // After a root: a segment, a transfer or padding.
    let allowed = cx.sum(&[n[KEY], n[TX1], n[PAD]]);
    let not_allowed = cx.not(allowed);
    cx.gated_transition(l[IS_ROOT], not_allowed);

    cx.section("segment registers");
    // ---- Segment registers.
    let in_seg = cx.sum(&[l[KEY], l[VALUE], l[LEAF], l[BRANCH]]);
    let next_in_seg = cx.sum(&[n[VALUE], n[LEAF], n[BRANCH]]);
    let seg_regs = ROLE
        .chain(TERM_K_A..=SPLIT)
        .chain(KEY_REG.start..SEGMENT_END);
    for c in seg_regs {
        let d = cx.sub(n[c], l[c]);
        cx.gated_transition(next_in_seg, d);
    }
    for c in ROLE.chain(TERM_K_A..=SPLIT) {
        let b = cx.boolean(l[c]);
        cx.zero(b);
    }
    let roles: Vec<_> = ROLE.map(|c| l[c]).collect();
    let s = cx.sum(&roles);
    let d = cx.sub(s, in_seg);
    cx.zero(d);
    for terms in [
        [TERM_K_A, TERM_L_A, TERM_E_A],
        [TERM_K_B, TERM_L_B, TERM_E_B],
    ] {
        let s = cx.sum(&terms.map(|c| l[c]));
        let d = cx.sub(s, in_seg);
        cx.zero(d);
    }
    let not_split = cx.not(l[SPLIT]);
    let d = cx.sub(l[TERM_L_A], l[TERM_L_B]);
    cx.gated(not_split, d);
    let d = cx.not(l[TERM_L_A]);
    cx.gated(l[SPLIT], d);
    let d = cx.not(l[TERM_K_B]);
    cx.gated(l[SPLIT], d);
    // No deletions in this rung: the key's leaf stays the key's leaf.
    let d = cx.not(l[TERM_K_B]);
    cx.gated(l[TERM_K_A], d);

    let role = |r: Role| ROLE.start + r as usize;

    cx.section("key rows");
    // ---- KEY rows: the key of the role's address and leaf kind.
    let key = l[KEY];
    let sys = system_address_limbs();
    let sender = cx.add(l[role(Role::SenderBalance)], l[role(Role::SenderNonce)]);
    for i in 0..5 {
        let mut addr = cx.mul(sender, l[FROM.start + i]);
        let t = cx.mul(l[role(Role::RecipientBalance)], l[TO.start + i]);
        addr = cx.add(addr, t);
        let t = cx.mul(l[role(Role::CoinbaseBalance)], l[COINBASE.start + i]);
        addr = cx.add(addr, t);
        addr = cx.add_scaled(addr, l[role(Role::Block)], F::from_canonical_u64(sys[i]));
        let d = cx.sub(l[in_a(i)], addr);
        cx.gated(key, d);
    }
    cx.gated(key, l[in_a(5)]);
    let mut kind = l[role(Role::SenderNonce)];
    kind = cx.add_scaled(kind, l[role(Role::Block)], F::from_canonical_u64(3));
    let d = cx.sub(l[in_a(6)], kind);
    cx.gated(key, d);
    cx.gated(key, l[in_a(7)]);
    let not_block = cx.not(l[role(Role::Block)]);
    let key_not_block = cx.mul(key, not_block);
    for j in 0..4 {
        let d = cx.sub(l[in_a(8 + j)], out_b[j]);
        cx.gated(key, d);
        cx.gated(key, l[in_b(8 + j)]);
        let d = cx.sub(l[KEY_REG.start + j], out_a[j]);
        cx.gated(key, d);
    }
    for i in 0..8 {
        cx.gated(key_not_block, l[in_b(i)]);
    }
    // The other key's deep remaining key, as bytes, and its top 16 bits.
    for j in 0..4 {
        let bytes: Vec<_> = (0..8).map(|k| l[BYTES.start + 8 * j + k]).collect();
        let composed = cx.compose(&bytes, 8);
        let d = cx.sub(l[OTHER_DEEP.start + j], composed);
        cx.gated(key, d);
        let top = cx.compose(&bytes[6..], 8);
        let d = cx.sub(l[TOP_OTHER.start + j], top);
        cx.gated(key, d);
    }

    cx.section("value rows");
    // ---- VALUE rows: old and new value hashes, and the role's arithmetic.
    let value = l[VALUE];
    for j in 0..4 {
        cx.gated(value, l[in_a(8 + j)]);
        cx.gated(value, l[in_b(8 + j)]);
    }
    let absent_a = cx.add(l[TERM_L_A], l[TERM_E_A]);
    let absent_b = cx.add(l[TERM_L_B], l[TERM_E_B]);
    let value_absent_a = cx.mul(value, absent_a);
    let value_absent_b = cx.mul(value, absent_b);
    let mut nonzero = zero;
    for i in 0..8 {
        cx.gated(value_absent_a, l[in_a(i)]);
        cx.gated(value_absent_b, l[in_b(i)]);
        let t = cx.mul(l[in_b(i)], l[AUX.start + i]);
        nonzero = cx.add(nonzero, t);
        let bytes: Vec<_> = (0..4).map(|k| l[BYTES.start + 4 * i + k]).collect();
        let composed = cx.compose(&bytes, 8);
        let d = cx.sub(l[in_b(i)], composed);
        cx.gated(value, d);
    }
    let d = cx.sub(nonzero, l[TERM_K_B]);
    cx.gated(value, d);
    for c in CARRY {
        let b = cx.boolean(l[c]);
        cx.zero(b);
    }
    for i in 0..8 {
        let old = l[in_a(i)];
        let new = l[in_b(i)];
        let carry_in = if i > 0 { l[CARRY.start + i - 1] } else { zero };
        let carry_out = cx.scale(l[CARRY.start + i], F::from_canonical_u64(TWO_32));
        // old = new + debit (the sender pays amount and fee).
        let mut e_sb = cx.add(new, l[DEBIT.start + i]);
        e_sb = cx.add(e_sb, carry_in);
        e_sb = cx.sub(e_sb, old);
        e_sb = cx.sub(e_sb, carry_out);
        // new = old + x for the credits and the nonce increment.
        let credit = |cx: &mut C, x: C::V| {
            let mut e = cx.add(old, x);
            e = cx.add(e, carry_in);
            e = cx.sub(e, new);
            cx.sub(e, carry_out)
        };
        let e_rb = credit(cx, l[AMOUNT.start + i]);
        let fee = if i < 5 { l[FEE.start + i] } else { zero };
        let e_cb = credit(cx, fee);
        let increment = if i == 0 { one } else { zero };
        let e_sn = credit(cx, increment);
        let mut e = cx.mul(l[role(Role::SenderBalance)], e_sb);
        let t = cx.mul(l[role(Role::RecipientBalance)], e_rb);
        e = cx.add(e, t);
        let t = cx.mul(l[role(Role::CoinbaseBalance)], e_cb);
        e = cx.add(e, t);
        let t = cx.mul(l[role(Role::SenderNonce)], e_sn);
        e = cx.add(e, t);
        cx.gated(value, e);
        // The sender's nonce is the transfer's (limbs 2.. are zero).
        let nonce = if i < 2 { l[NONCE.start + i] } else { zero };
        let d = cx.sub(old, nonce);
        let g = cx.mul(value, l[role(Role::SenderNonce)]);
        cx.gated(g, d);
    }
    cx.gated(value, l[CARRY.end - 1]);

    cx.section("leaf rows");
    // ---- LEAF rows: the terminal of each path.
    let leaf = l[LEAF];
    let next_leaf = n[LEAF];
    for (lane, term_k, term_l, term_e, node, out) in [
        (LANE_A, TERM_K_A, TERM_L_A, TERM_E_A, NODE_A, out_a),
        (LANE_B, TERM_K_B, TERM_L_B, TERM_E_B, NODE_B, out_b),
    ] {
        for j in 0..4 {
            let dk = cx.sub(l[input(lane, j)], l[RKEY.start + j]);
            let dk = cx.mul(l[term_k], dk);
            let dl = cx.sub(l[input(lane, j)], l[RKEY_OTHER.start + j]);
            let dl = cx.mul(l[term_l], dl);
            let d = cx.add(dk, dl);
            cx.gated(leaf, d);
            // Value hash: the VALUE row's output for the key's leaf, the register for another's.
            let prev_out = l[output(lane, j)];
            let dk = cx.sub(n[input(lane, 4 + j)], prev_out);
            let dk = cx.mul(n[term_k], dk);
            let dl = cx.sub(n[input(lane, 4 + j)], n[OTHER_VALUE_HASH.start + j]);
            let dl = cx.mul(n[term_l], dl);
            let d = cx.add(dk, dl);
            cx.gated_transition(next_leaf, d);
            // Node: zero for an empty subtree.
            let present = cx.not(l[term_e]);
            let v = cx.mul(present, out[j]);
            let d = cx.sub(l[node.start + j], v);
            cx.gated(leaf, d);
        }
        let present = cx.not(l[term_e]);
        let g = cx.mul(leaf, present);
        let d = cx.sub(l[input(lane, 8)], one);
        cx.gated(g, d);
        for j in 9..12 {
            cx.gated(g, l[input(lane, j)]);
        }
    }
    // Remaining keys at the leaf depth: the key's as bytes with its top 16 bits, the other's from
    // its register; the shifts start at 1.
    for j in 0..4 {
        let bytes: Vec<_> = (0..8).map(|k| l[BYTES.start + 8 * j + k]).collect();
        let composed = cx.compose(&bytes, 8);
        let d = cx.sub(l[RKEY.start + j], composed);
        cx.gated(leaf, d);
        let top = cx.compose(&bytes[6..], 8);
        let d = cx.sub(l[TOP_KEY.start + j], top);
        cx.gated(leaf, d);
        let d = cx.sub(l[RKEY_OTHER.start + j], l[OTHER_DEEP.start + j]);
        cx.gated(leaf, d);
        let d = cx.sub(l[SHIFT.start + j], one);
        cx.gated(leaf, d);
    }
    // Another key's leaf at the same depth (no split) has another remaining key.
    let mut differs = zero;
    for j in 0..4 {
        let d = cx.sub(l[RKEY_OTHER.start + j], l[RKEY.start + j]);
        let t = cx.mul(d, l[AUX.start + j]);
        differs = cx.add(differs, t);
    }
    let d = cx.sub(differs, l[TERM_L_B]);
    cx.gated(leaf, d);

    cx.section("branch rows");
    // ---- BRANCH rows.
    let branch = l[BRANCH];
    let next_branch = n[BRANCH];
    for j in 0..4 {
        let d = cx.sub(l[NODE_A.start + j], out_a[j]);
        cx.gated(branch, d);
        let d = cx.sub(l[NODE_B.start + j], out_b[j]);
        cx.gated(branch, d);
    }
    for c in [BIT, ZONE, ZONE_FIRST, ZONE_LAST] {
        let b = cx.boolean(l[c]);
        cx.zero(b);
    }
    for c in POS {
        let b = cx.boolean(l[c]);
        cx.zero(b);
    }
    let pos: Vec<_> = POS.map(|c| l[c]).collect();
    let s = cx.sum(&pos);
    let d = cx.sub(s, one);
    let path_row = cx.add(leaf, branch);
    cx.gated(path_row, d);
    cx.gated(l[ZONE], not_branch);
    let not_zone = cx.not(l[ZONE]);
    cx.gated(l[ZONE_LAST], not_zone);
    cx.gated(l[ZONE_FIRST], not_zone);
    // Lane B always, lane A outside the zone: (node, sibling) ordered by the bit.
    let next_outside_zone = cx.sub(n[BRANCH], n[ZONE]);
    let outside_zone = cx.sub(l[BRANCH], l[ZONE]);
    for (lane, node, gate) in [
        (LANE_B, NODE_B, next_branch),
        (LANE_A, NODE_A, next_outside_zone),
    ] {
        for j in 0..4 {
            let bit = n[BIT];
            let not_bit = cx.not(bit);
            let sib = n[SIBLING.start + j];
            let prev = l[node.start + j];
            let t1 = cx.mul(bit, sib);
            let t2 = cx.mul(not_bit, prev);
            let left = cx.add(t1, t2);
            let d = cx.sub(n[input(lane, j)], left);
            cx.gated_transition(gate, d);
            let t1 = cx.mul(bit, prev);
            let t2 = cx.mul(not_bit, sib);
            let right = cx.add(t1, t2);
            let d = cx.sub(n[input(lane, 4 + j)], right);
            cx.gated_transition(gate, d);
        }
    }
    for j in 8..12 {
        cx.gated(branch, l[in_b(j)]);
        cx.gated(outside_zone, l[in_a(j)]);
    }
    // The zone's last row: lane A hashes the other leaf at its old depth.
    let zone_last = l[ZONE_LAST];
    for j in 0..4 {
        let d = cx.sub(l[in_a(j)], l[RKEY_OTHER.start + j]);
        cx.gated(zone_last, d);
        let d = cx.sub(l[in_a(4 + j)], l[OTHER_VALUE_HASH.start + j]);
        cx.gated(zone_last, d);
    }
    let d = cx.sub(l[in_a(8)], one);
    cx.gated(zone_last, d);
    for j in 9..12 {
        cx.gated(zone_last, l[in_a(j)]);
    }
    // Zone siblings: the other leaf moved down first, then empty subtrees.
    for j in 0..4 {
        let d = cx.sub(n[SIBLING.start + j], l[output(LANE_A, j)]);
        cx.gated_transition(n[ZONE_FIRST], d);
        let rest = cx.sub(l[ZONE], l[ZONE_FIRST]);
        cx.gated(rest, l[SIBLING.start + j]);
    }
    let first = cx.mul(leaf, n[ZONE]);
    let d = cx.sub(n[ZONE_FIRST], first);
    cx.zero_transition(d);
    let d = cx.sub(n[ZONE], l[SPLIT]);
    cx.gated_transition(leaf, d);
    let both_branch = cx.mul(branch, next_branch);
    let mut d = cx.sub(n[ZONE], l[ZONE]);
    d = cx.add(d, l[ZONE_LAST]);
    cx.gated_transition(both_branch, d);
    let d = cx.sub(l[ZONE], l[ZONE_LAST]);
    cx.gated(l[IS_ROOT], d);
    // The other key's bit is the key's, flipped where the two part (the zone's first level).
    let two_bits = cx.scale(l[BIT], F::TWO);
    let flip = cx.not(two_bits);
    let t = cx.mul(l[ZONE_FIRST], flip);
    let expected = cx.add(l[BIT], t);
    let d = cx.sub(l[BIT_OTHER], expected);
    cx.zero(d);
    // Remaining keys gain this level's bit on the element the level reads.
    for j in 0..4 {
        let p = n[POS.start + j];
        for (rk, bit, gate) in [(RKEY, BIT, next_branch), (RKEY_OTHER, BIT_OTHER, n[ZONE])] {
            let prev = l[rk.start + j];
            let grown = cx.add(prev, n[bit]);
            let t = cx.mul(p, grown);
            let mut d = cx.sub(n[rk.start + j], prev);
            d = cx.sub(d, t);
            cx.gated_transition(gate, d);
        }
        let d = cx.sub(n[POS.start + j], l[POS.start + (j + 1) % 4]);
        cx.gated_transition(next_branch, d);
        let doubled = cx.mul(p, l[SHIFT.start + j]);
        let mut d = cx.sub(n[SHIFT.start + j], l[SHIFT.start + j]);
        d = cx.sub(d, doubled);
        cx.gated_transition(next_branch, d);
    }
    // The root: level 0, the full key, the current state root.
    let root = l[IS_ROOT];
    let d = cx.sub(l[POS.start], one);
    cx.gated(root, d);
    for j in 0..4 {
        // The bits consumed from element j (log2 of the shift, at most 16) are zero at the top of
        // both deep remaining keys: top · shift < 2^16, and shift ≤ 2^16.
        let shift = l[SHIFT.start + j];
        for (k, value) in [
            cx.mul(l[TOP_KEY.start + j], shift),
            cx.mul(l[TOP_OTHER.start + j], shift),
            cx.sub(shift, one),
        ]
        .into_iter()
        .enumerate()
        {
            let pair = [
                l[BYTES.start + 8 * k + 2 * j],
                l[BYTES.start + 8 * k + 2 * j + 1],
            ];
            let composed = cx.compose(&pair, 8);
            let d = cx.sub(value, composed);
            cx.gated(root, d);
        }
        let d = cx.sub(l[RKEY.start + j], l[KEY_REG.start + j]);
        cx.gated(root, d);
        let d = cx.sub(l[NODE_A.start + j], l[ROOT.start + j]);
        cx.gated(root, d);
    }

    cx.section("chain registers");
    // ---- Chain registers.
    for j in 0..4 {
        let r = ROOT.start + j;
        let step = cx.sub(l[NODE_B.start + j], l[r]);
        let step = cx.mul(root, step);
        let mut d = cx.sub(n[r], l[r]);
        d = cx.sub(d, step);
        cx.zero_transition(d);
        let d = cx.sub(l[r], pi[layout::OLD_STATE_ROOT.start + j]);
        cx.zero_first_row(d);
        let d = cx.sub(l[r], pi[layout::NEW_STATE_ROOT.start + j]);
        cx.zero_last_row(d);

        let c = COMMIT.start + j;
        let step = cx.sub(out_b[j], l[c]);
        let step = cx.mul(l[TX2], step);
        let mut d = cx.sub(n[c], l[c]);
        d = cx.sub(d, step);
        cx.zero_transition(d);
        cx.zero_first_row(l[c]);
        let d = cx.sub(l[c], pi[COMMITMENT_PI.start + j]);
        cx.zero_last_row(d);
    }

    cx.section("tx rows");
    // ---- TX rows: absorb the record, load the registers.
    let tx1 = l[TX1];
    let tx2 = l[TX2];
    let record_a1: Vec<usize> = FROM.chain(TO.start..TO.start + 3).collect();
    let record_b1: Vec<usize> = (TO.start + 3..TO.end)
        .chain(AMOUNT.start..AMOUNT.start + 6)
        .collect();
    let record_a2: Vec<usize> = (AMOUNT.start + 6..AMOUNT.end)
        .chain(NONCE)
        .chain(PRICE)
        .collect();
    let record_b2: Vec<usize> = GAS_LIMIT.chain(COINBASE).collect();
    for (gate, lane, regs) in [
        (tx1, LANE_A, &record_a1),
        (tx1, LANE_B, &record_b1),
        (tx2, LANE_A, &record_a2),
        (tx2, LANE_B, &record_b2),
    ] {
        for i in 0..8 {
            let expected = regs.get(i).map_or(zero, |&c| l[c]);
            let d = cx.sub(l[input(lane, i)], expected);
            cx.gated(gate, d);
        }
    }
    for j in 0..4 {
        let d = cx.sub(l[in_a(8 + j)], l[COMMIT.start + j]);
        cx.gated(tx1, d);
        let d = cx.sub(l[in_b(8 + j)], out_a[j]);
        cx.gated(tx1, d);
        let d = cx.sub(n[in_a(8 + j)], l[output(LANE_B, j)]);
        cx.gated_transition(n[TX2], d);
        let d = cx.sub(l[in_b(8 + j)], out_a[j]);
        cx.gated(tx2, d);
    }
    // Range-checked bytes of the amount (TX1), debit (TX2), price and fee (TX3), fee carries (TX4).
    let byte = |i: usize| l[BYTES.start + i];
    for i in 0..8 {
        let limb: Vec<_> = (0..4).map(|k| byte(4 * i + k)).collect();
        let composed = cx.compose(&limb, 8);
        let d = cx.sub(l[AMOUNT.start + i], composed);
        cx.gated(tx1, d);
        let d = cx.sub(l[DEBIT.start + i], composed);
        cx.gated(tx2, d);
        let target = if i < 4 {
            PRICE.start + i
        } else {
            FEE.start + i - 4
        };
        let d = cx.sub(l[target], composed);
        cx.gated(l[TX3], d);
    }
    for i in 0..4 {
        let pair = [byte(2 * i), byte(2 * i + 1)];
        let composed = cx.compose(&pair, 8);
        let d = cx.sub(l[FEE_CARRY.start + i], composed);
        cx.gated(l[TX4], d);
    }

    cx.section("transfer registers");
    // ---- Transfer registers: constant until the next TX1 row; fee, debit and non-zero flags.
    let not_next_tx1 = cx.not(n[TX1]);
    let tx_regs = FROM.start..NONZERO_INV.end;
    for c in tx_regs {
        let d = cx.sub(n[c], l[c]);
        cx.gated_transition(not_next_tx1, d);
    }
    let gas = F::from_canonical_u64(TRANSFER_GAS);
    for i in 0..4 {
        let carry_in = if i > 0 {
            l[FEE_CARRY.start + i - 1]
        } else {
            zero
        };
        let mut d = cx.add_scaled(
            l[FEE.start + i],
            l[FEE_CARRY.start + i],
            F::from_canonical_u64(TWO_32),
        );
        let product = cx.scale(l[PRICE.start + i], gas);
        d = cx.sub(d, product);
        d = cx.sub(d, carry_in);
        cx.zero(d);
    }
    let d = cx.sub(l[FEE.start + 4], l[FEE_CARRY.start + 3]);
    cx.zero(d);
    for c in DEBIT_CARRY {
        let b = cx.boolean(l[c]);
        cx.zero(b);
    }
    for i in 0..8 {
        let carry_in = if i > 0 {
            l[DEBIT_CARRY.start + i - 1]
        } else {
            zero
        };
        let mut d = cx.add_scaled(
            l[DEBIT.start + i],
            l[DEBIT_CARRY.start + i],
            F::from_canonical_u64(TWO_32),
        );
        d = cx.sub(d, l[AMOUNT.start + i]);
        if i < 5 {
            d = cx.sub(d, l[FEE.start + i]);
        }
        d = cx.sub(d, carry_in);
        cx.zero(d);
    }
    cx.zero(l[DEBIT_CARRY.end - 1]);
    for (k, range) in [(NZ_AMOUNT, AMOUNT), (NZ_FEE, FEE), (NZ_DEBIT, DEBIT)] {
        let limbs: Vec<_> = range.map(|c| l[c]).collect();
        let s = cx.sum(&limbs);
        let flag = l[NONZERO.start + k];
        let t = cx.mul(s, l[NONZERO_INV.start + k]);
        let d = cx.sub(t, flag);
        cx.zero(d);
        let not_flag = cx.not(flag);
        cx.gated(s, not_flag);
        let b = cx.boolean(flag);
        cx.zero(b);
    }

    cx.section("transfer writes");
    // ---- Transfers own exactly their writes.
    let key_block = cx.mul(key, l[role(Role::Block)]);
    let mut d = cx.sub(l[BOUNDARY], l[TX1]);
    d = cx.sub(d, l[PAD]);
    d = cx.sub(d, key_block);
    cx.zero(d);
    let not_next_boundary = cx.not(n[BOUNDARY]);
    let carried = cx.mul(not_next_boundary, l[ACTIVE]);
    let mut d = cx.sub(n[ACTIVE], n[TX1]);
    d = cx.sub(d, carried);
    cx.zero_transition(d);
    let d = cx.sub(l[ACTIVE], l[TX1]);
    cx.zero_first_row(d);
    let ends = cx.mul(n[BOUNDARY], l[ACTIVE]);
    let expected_counts = [
        (Role::SenderBalance, l[NONZERO.start + NZ_DEBIT]),
        (Role::SenderNonce, one),
        (Role::RecipientBalance, l[NONZERO.start + NZ_AMOUNT]),
        (Role::CoinbaseBalance, l[NONZERO.start + NZ_FEE]),
    ];
    for (r, expected) in expected_counts {
        let c = COUNT.start + r as usize;
        let started = cx.mul(n[KEY], n[role(r)]);
        let counted = cx.add(l[c], started);
        let not_tx1 = cx.not(n[TX1]);
        let next_value = cx.mul(not_tx1, counted);
        let d = cx.sub(n[c], next_value);
        cx.zero_transition(d);
        let first = cx.mul(key, l[role(r)]);
        let d = cx.sub(l[c], first);
        cx.zero_first_row(d);
        let d = cx.sub(l[c], expected);
        cx.gated_transition(ends, d);
    }
    let not_active = cx.not(l[ACTIVE]);
    let g = cx.mul(key, not_active);
    cx.gated(g, not_block);

    cx.section("byte table");
    // ---- The byte table: 0, 1, …, 255 in steps of 0 or 1.
    cx.zero_first_row(l[TABLE]);
    let step = cx.sub(n[TABLE], l[TABLE]);
    let step_minus_1 = cx.sub(step, one);
    let d = cx.mul(step, step_minus_1);
    cx.zero_transition(d);
    let d = cx.sub_const(l[TABLE], 255);
    cx.zero_last_row(d);
}
