//! Witness generation: from the executor's [`BatchWitness`] to the batch AIR's trace and public
//! inputs.
//!
//! The trace covers every tree *write* of the batch in order (reads change no root; the values the
//! transfer constraints need are the writes' old values). Each transfer's writes are preceded by its
//! four TX rows. [`generate_trace`] also checks the witness's semantics first, so a bad witness gets
//! an error naming the access instead of an unprovable trace; [`generate_trace_unchecked`] skips that
//! (the soundness tests use it to try to prove bad witnesses).

use alloy_primitives::U256;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::{Field, PrimeField64};
use rayon::prelude::*;
use zknode_executor::execution::{AccessOp, AccessOrigin, BatchWitness, TreeAccess};
use zknode_executor::state::hash::{address_to_limbs, hash_leaf, u256_to_limbs};
use zknode_executor::state::{Digest, Key, LeafKind, ProofTerminal, EMPTY};
use zknode_executor::BatchPublicValues;

use super::air::NUM_PUBLIC_INPUTS;
use super::columns::*;
use super::poseidon::fill_lane;
use super::record::{commitment, Transfer};
use super::stark::BatchAir;
use crate::{ProverError, Result};

type F = GoldilocksField;

/// A trace ready to prove, with what it was built from.
#[derive(Clone, Debug)]
pub struct BatchTrace {
    pub columns: Vec<PolynomialValues<F>>,
    pub public_inputs: Vec<F>,
    pub transfers: Vec<Transfer>,
    pub commitment: Digest,
    /// Rows before padding.
    pub rows_used: usize,
    /// Tree writes proven.
    pub writes: usize,
}

impl BatchTrace {
    pub fn degree_bits(&self) -> usize {
        self.columns
            .first()
            .map_or(0, |c| c.values.len().trailing_zeros() as usize)
    }
}

fn invalid(message: String) -> ProverError {
    ProverError::InvalidWitness(message)
}

fn f(x: u64) -> F {
    F::from_noncanonical_u64(x)
}

/// The transfers of a witness, checked to be the native transfers this rung proves.
pub fn transfers(witness: &BatchWitness) -> Result<Vec<Transfer>> {
    witness
        .transactions
        .iter()
        .map(|tx| {
            if let zknode_executor::execution::Provability::NotProvable { reason } = tx.provability
            {
                return Err(invalid(format!(
                    "transaction {} is not provable by this rung: {reason}",
                    tx.tx_index
                )));
            }
            if tx.gas_used != TRANSFER_GAS {
                return Err(invalid(format!(
                    "transaction {} used {} gas; a native transfer uses {TRANSFER_GAS}",
                    tx.tx_index, tx.gas_used
                )));
            }
            Transfer::from_witness(tx)
        })
        .collect()
}

/// Checks what the constraints will check, with errors that say where: every write's proofs, the
/// chain of roots, and that each transfer's writes move exactly the values the transfer implies.
pub fn check_witness(witness: &BatchWitness, transfers: &[Transfer]) -> Result<()> {
    witness
        .verify()
        .map_err(|e| invalid(format!("the witness does not verify: {e}")))?;
    for (t, (tx, transfer)) in witness.transactions.iter().zip(transfers).enumerate() {
        let fee = U256::from(transfer.effective_gas_price) * U256::from(TRANSFER_GAS);
        let debit = transfer
            .amount
            .checked_add(fee)
            .ok_or_else(|| invalid(format!("transfer {t}: amount + fee overflows")))?;
        let (start, end) = (tx.accesses.0 as usize, tx.accesses.1 as usize);
        let accesses = witness.accesses.get(start..end).ok_or_else(|| {
            invalid(format!(
                "transfer {t}: access range {start}..{end} out of bounds"
            ))
        })?;
        for access in accesses.iter().filter(|a| a.op == AccessOp::Write) {
            let role = role_of(access, transfer).ok_or_else(|| {
                invalid(format!(
                    "transfer {t}: writes {:?} of {}, which is none of its roles",
                    access.kind, access.address
                ))
            })?;
            let (old, new) = (access.old_value, access.new_value);
            let expected = match role {
                Role::SenderBalance => old.checked_sub(debit),
                Role::SenderNonce => {
                    if old != U256::from(transfer.nonce) {
                        return Err(invalid(format!(
                            "transfer {t}: the sender's nonce is {old}, the transfer's {}",
                            transfer.nonce
                        )));
                    }
                    old.checked_add(U256::from(1))
                }
                Role::RecipientBalance => old.checked_add(transfer.amount),
                Role::CoinbaseBalance => old.checked_add(fee),
                Role::Block => Some(new),
            };
            if expected != Some(new) {
                return Err(invalid(format!(
                    "transfer {t}: {role:?} goes from {old} to {new}, the transfer implies {}",
                    expected.map_or("an underflow".to_string(), |v| v.to_string())
                )));
            }
        }
    }
    Ok(())
}

fn role_of(access: &TreeAccess, transfer: &Transfer) -> Option<Role> {
    match access.kind {
        LeafKind::Balance if access.address == transfer.sender => Some(Role::SenderBalance),
        LeafKind::Nonce if access.address == transfer.sender => Some(Role::SenderNonce),
        LeafKind::Balance if access.address == transfer.recipient => Some(Role::RecipientBalance),
        LeafKind::Balance if access.address == transfer.coinbase => Some(Role::CoinbaseBalance),
        _ => None,
    }
}

/// The trace and public inputs of a batch (checked first, see [`check_witness`]). `values` are the
/// batch's public values; their state roots must be the witness's.
pub fn generate_trace(witness: &BatchWitness, values: &BatchPublicValues) -> Result<BatchTrace> {
    generate_trace_with(witness, |_| *values)
}

/// [`generate_trace`] for callers whose public values depend on the transfer commitment (the
/// accumulated input hash does): `values_for` gets the commitment, computed once.
pub fn generate_trace_with(
    witness: &BatchWitness,
    values_for: impl FnOnce(&Digest) -> BatchPublicValues,
) -> Result<BatchTrace> {
    let transfers = transfers(witness)?;
    check_witness(witness, &transfers)?;
    let commitment = commitment(&transfers);
    let values = values_for(&commitment);
    if values.old_state_root != witness.old_state_root
        || values.new_state_root != witness.new_state_root
    {
        return Err(invalid(
            "the public values' state roots are not the witness's".to_string(),
        ));
    }
    build(witness, &transfers, commitment, &values, true)
}

/// The trace as the witness says, without semantic checks: for tests that try to prove what must
/// not be provable. Structural problems (a path that is not one) still fail.
pub fn generate_trace_unchecked(
    witness: &BatchWitness,
    transfers: &[Transfer],
    values: &BatchPublicValues,
) -> Result<BatchTrace> {
    build(witness, transfers, commitment(transfers), values, false)
}

/// The terminal of a path, as the AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Terminal {
    /// The key's own leaf.
    Own,
    /// Another key's leaf: its full key and value hash.
    Other {
        full_key: Key,
        value_hash: Digest,
    },
    Empty,
}

fn terminal(key: &Key, depth: usize, terminal: &ProofTerminal) -> Terminal {
    match terminal {
        ProofTerminal::Empty => Terminal::Empty,
        ProofTerminal::Leaf {
            remaining_key,
            value_hash,
        } => {
            let full_key = Key::join(key, depth, remaining_key);
            if full_key == *key {
                Terminal::Own
            } else {
                Terminal::Other {
                    full_key,
                    value_hash: *value_hash,
                }
            }
        }
    }
}

struct Builder {
    rows: Vec<F>,
    /// The register values the next row starts from.
    carry: Vec<F>,
    check: bool,
    zero_lane: Vec<F>,
}

/// Register columns: each row starts from the previous row's values.
const CARRIED: [std::ops::Range<usize>; 3] = [
    ROOT.start..COUNT.end,
    FROM.start..NONZERO_INV.end,
    ROLE.start..SEGMENT_END,
];

impl Builder {
    fn row(&self) -> Vec<F> {
        let mut row = vec![F::ZERO; NUM_COLUMNS];
        for range in CARRIED {
            row[range.clone()].copy_from_slice(&self.carry[range]);
        }
        row
    }

    fn push(&mut self, row: Vec<F>) {
        for range in CARRIED {
            self.carry[range.clone()].copy_from_slice(&row[range]);
        }
        self.rows.extend_from_slice(&row);
    }

    fn lanes_zero(&self, row: &mut [F]) {
        row[..2 * LANE_WIDTH].copy_from_slice(&self.zero_lane);
    }
}

fn digest_f(d: &Digest) -> [F; 4] {
    d.map(f)
}

fn set(row: &mut [F], start: usize, values: &[F]) {
    row[start..start + values.len()].copy_from_slice(values);
}

fn limbs_f(limbs: &[u64]) -> Vec<F> {
    limbs.iter().map(|&x| f(x)).collect()
}

fn set_bytes(row: &mut [F], offset: usize, limbs: &[u64], bytes_per_limb: usize) {
    for (i, &limb) in limbs.iter().enumerate() {
        for k in 0..bytes_per_limb {
            row[BYTES.start + offset + bytes_per_limb * i + k] = f((limb >> (8 * k)) & 0xff);
        }
    }
}

/// Limb-wise `a + b` (32-bit limbs): the sum's limbs and the carries out of each limb.
fn add_limbs(a: &[u64], b: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let mut carry = 0u64;
    let mut sum = Vec::with_capacity(a.len());
    let mut carries = Vec::with_capacity(a.len());
    for (i, &x) in a.iter().enumerate() {
        let t = x + b.get(i).copied().unwrap_or(0) + carry;
        sum.push(t & 0xffff_ffff);
        carry = t >> 32;
        carries.push(carry);
    }
    (sum, carries)
}

fn inverse_or_zero(x: F) -> F {
    x.try_inverse().unwrap_or(F::ZERO)
}

fn build(
    witness: &BatchWitness,
    transfers: &[Transfer],
    commitment: Digest,
    values: &BatchPublicValues,
    check: bool,
) -> Result<BatchTrace> {
    if transfers.len() != witness.transactions.len() {
        return Err(invalid("one transfer per transaction expected".to_string()));
    }
    let mut zero_lane = vec![F::ZERO; 2 * LANE_WIDTH];
    fill_lane(&mut zero_lane, LANE_A, [F::ZERO; WIDTH]);
    fill_lane(&mut zero_lane, LANE_B, [F::ZERO; WIDTH]);
    let mut b = Builder {
        rows: Vec::new(),
        carry: vec![F::ZERO; NUM_COLUMNS],
        check,
        zero_lane,
    };
    set(
        &mut b.carry,
        ROOT.start,
        &digest_f(&witness.old_state_root.0),
    );

    // Which transfer made each access.
    let mut owner = vec![None; witness.accesses.len()];
    for (t, tx) in witness.transactions.iter().enumerate() {
        let range = tx.accesses.0 as usize..tx.accesses.1 as usize;
        for slot in owner.get_mut(range).into_iter().flatten() {
            *slot = Some(t);
        }
    }
    let mut started = vec![false; transfers.len()];
    let mut writes = 0;
    for (i, access) in witness.accesses.iter().enumerate() {
        if access.op != AccessOp::Write {
            continue;
        }
        let role = match (access.origin, owner[i]) {
            (AccessOrigin::Block { .. }, _) => {
                if access.address != zknode_executor::execution::SYSTEM_ADDRESS
                    || access.kind != LeafKind::Storage
                {
                    return Err(invalid(format!(
                        "access {i}: block bookkeeping writes only the system contract's storage"
                    )));
                }
                Role::Block
            }
            (AccessOrigin::Transaction { .. }, Some(t)) => {
                if !started[t] {
                    started[t] = true;
                    tx_rows(&mut b, &transfers[t]);
                }
                role_of(access, &transfers[t]).ok_or_else(|| {
                    invalid(format!(
                        "access {i}: a write that is none of transfer {t}'s roles"
                    ))
                })?
            }
            (AccessOrigin::Transaction { tx_index }, None) => {
                return Err(invalid(format!(
                    "access {i}: transaction {tx_index} is not among the included transfers"
                )))
            }
        };
        segment(&mut b, i, access, role)?;
        writes += 1;
    }
    if let Some(t) = started.iter().position(|s| !s) {
        return Err(invalid(format!("transfer {t} made no write")));
    }
    let root: Vec<F> = b.carry[ROOT].to_vec();
    if check && root != digest_f(&witness.new_state_root.0) {
        return Err(invalid(
            "the writes do not end at the new state root".to_string(),
        ));
    }

    // Padding: at least one row, at least the byte table's 256.
    let rows_used = b.rows.len() / NUM_COLUMNS;
    let total = (rows_used + 1)
        .next_power_of_two()
        .max(1 << BatchAir::MIN_DEGREE_BITS);
    while b.rows.len() / NUM_COLUMNS < total {
        let mut row = b.row();
        b.lanes_zero(&mut row);
        row[PAD] = F::ONE;
        row[BOUNDARY] = F::ONE;
        row[ROLE.start..SEGMENT_END].fill(F::ZERO);
        row[ACTIVE] = F::ZERO;
        b.push(row);
    }
    let mut rows = b.rows;
    // The byte table and how often each byte occurs.
    let mut frequency = [0u64; 256];
    for (r, row) in rows.chunks_exact_mut(NUM_COLUMNS).enumerate() {
        row[TABLE] = f(r.min(255) as u64);
        for &byte in &row[BYTES] {
            let v = byte.to_canonical_u64();
            let slot = frequency.get_mut(v as usize).ok_or_else(|| {
                invalid(format!("row {r}: a range-checked value {v} is not a byte"))
            })?;
            *slot += 1;
        }
    }
    for (v, &count) in frequency.iter().enumerate() {
        rows[v * NUM_COLUMNS + FREQUENCY] = f(count);
    }

    let columns: Vec<PolynomialValues<F>> = (0..NUM_COLUMNS)
        .into_par_iter()
        .map(|c| PolynomialValues::new(rows.iter().skip(c).step_by(NUM_COLUMNS).copied().collect()))
        .collect();

    let mut public_inputs = values
        .to_field_elements()
        .map_err(|e| invalid(format!("public values: {e}")))?
        .to_vec();
    public_inputs.extend(digest_f(&commitment));
    debug_assert_eq!(public_inputs.len(), NUM_PUBLIC_INPUTS);
    Ok(BatchTrace {
        columns,
        public_inputs,
        transfers: transfers.to_vec(),
        commitment,
        rows_used,
        writes,
    })
}

fn tx_rows(b: &mut Builder, transfer: &Transfer) {
    let record = transfer.record();
    let amount = &record[10..18];
    let price = &record[20..24];
    // fee = 21000 · price, limb by limb.
    let mut fee = [0u64; 5];
    let mut fee_carry = [0u64; 4];
    let mut carry = 0u64;
    for i in 0..4 {
        let t = TRANSFER_GAS * price[i] + carry;
        fee[i] = t & 0xffff_ffff;
        carry = t >> 32;
        fee_carry[i] = carry;
    }
    fee[4] = carry;
    let (debit, debit_carry) = add_limbs(amount, &fee);

    let mut regs = b.row();
    set(&mut regs, FROM.start, &limbs_f(&record[0..5]));
    set(&mut regs, TO.start, &limbs_f(&record[5..10]));
    set(&mut regs, AMOUNT.start, &limbs_f(amount));
    set(&mut regs, NONCE.start, &limbs_f(&record[18..20]));
    set(&mut regs, PRICE.start, &limbs_f(price));
    set(&mut regs, GAS_LIMIT.start, &limbs_f(&record[24..26]));
    set(&mut regs, COINBASE.start, &limbs_f(&record[26..31]));
    set(&mut regs, FEE.start, &limbs_f(&fee));
    set(&mut regs, FEE_CARRY.start, &limbs_f(&fee_carry));
    set(&mut regs, DEBIT.start, &limbs_f(&debit));
    set(&mut regs, DEBIT_CARRY.start, &limbs_f(&debit_carry));
    for (k, limbs) in [
        (NZ_AMOUNT, amount),
        (NZ_FEE, &fee[..]),
        (NZ_DEBIT, &debit[..]),
    ] {
        let sum: F = limbs.iter().map(|&x| f(x)).sum();
        regs[NONZERO.start + k] = if sum == F::ZERO { F::ZERO } else { F::ONE };
        regs[NONZERO_INV.start + k] = inverse_or_zero(sum);
    }
    for c in COUNT {
        regs[c] = F::ZERO;
    }
    regs[ACTIVE] = F::ONE;
    // Outside segments the segment registers are zero.
    regs[ROLE.start..SEGMENT_END].fill(F::ZERO);

    let commit: [F; 4] = std::array::from_fn(|j| regs[COMMIT.start + j]);
    let rec = |range: std::ops::Range<usize>| -> [F; 8] {
        std::array::from_fn(|i| f(record[range.start + i]))
    };
    let cat = |a: [F; 8], c: [F; 4]| -> [F; WIDTH] {
        std::array::from_fn(|i| if i < 8 { a[i] } else { c[i - 8] })
    };

    let mut row = regs.clone();
    row[TX1] = F::ONE;
    row[BOUNDARY] = F::ONE;
    let out_a = fill_lane(&mut row, LANE_A, cat(rec(0..8), commit));
    let out_b = fill_lane(&mut row, LANE_B, cat(rec(8..16), out_a));
    set_bytes(&mut row, 0, amount, 4);
    b.push(row);

    let mut row = regs.clone();
    row[TX2] = F::ONE;
    let out_a = fill_lane(&mut row, LANE_A, cat(rec(16..24), out_b));
    let out_b = fill_lane(&mut row, LANE_B, cat(rec(24..32), out_a));
    set_bytes(&mut row, 0, &debit, 4);
    b.push(row);
    // The commitment moves on after TX2.
    set(&mut b.carry, COMMIT.start, &out_b);

    let mut row = b.row();
    row[TX3] = F::ONE;
    b.lanes_zero(&mut row);
    set_bytes(&mut row, 0, price, 4);
    set_bytes(&mut row, 16, &fee[..4], 4);
    b.push(row);

    let mut row = b.row();
    row[TX4] = F::ONE;
    b.lanes_zero(&mut row);
    set_bytes(&mut row, 0, &fee_carry, 2);
    b.push(row);
}

fn order(bit: bool, node: [F; 4], sibling: [F; 4]) -> [F; WIDTH] {
    let (left, right) = if bit {
        (sibling, node)
    } else {
        (node, sibling)
    };
    std::array::from_fn(|i| match i {
        0..4 => left[i],
        4..8 => right[i - 4],
        _ => F::ZERO,
    })
}

fn leaf_input(remaining: &Digest, value_hash: [F; 4]) -> [F; WIDTH] {
    std::array::from_fn(|i| match i {
        0..4 => f(remaining[i]),
        4..8 => value_hash[i - 4],
        8 => F::ONE,
        _ => F::ZERO,
    })
}

fn segment(b: &mut Builder, index: usize, access: &TreeAccess, role: Role) -> Result<()> {
    let err = |m: &str| {
        invalid(format!(
            "access {index} ({:?} of {}): {m}",
            access.kind, access.address
        ))
    };
    let key = access.key;
    let new_proof = access
        .new_proof
        .as_ref()
        .ok_or_else(|| err("a write without a new proof"))?;
    let old_proof = &access.old_proof;
    let (depth_a, depth_b) = (old_proof.depth(), new_proof.depth());
    let depth = depth_a.max(depth_b);
    if depth == 0 {
        return Err(err("a tree with fewer than two leaves is not supported"));
    }
    if depth > MAX_PATH_DEPTH {
        return Err(err(
            "a path deeper than 64 levels is not provable by this rung",
        ));
    }
    let term_a = terminal(&key, depth_a, &old_proof.terminal);
    let term_b = terminal(&key, depth_b, &new_proof.terminal);
    let split = depth_a < depth_b;
    if depth_a > depth_b || (term_a == Terminal::Own && term_b != Terminal::Own) {
        return Err(err("deleting a leaf is not provable by this rung"));
    }
    let other = match (term_a, term_b) {
        (
            Terminal::Other {
                full_key,
                value_hash,
            },
            Terminal::Own,
        ) if split => Some((full_key, value_hash)),
        (Terminal::Other { .. }, _) | (_, Terminal::Other { .. }) if split => {
            return Err(err("a split must move another key's leaf down"))
        }
        (
            Terminal::Other {
                full_key: ka,
                value_hash: va,
            },
            Terminal::Other {
                full_key: kb,
                value_hash: vb,
            },
        ) => {
            if (ka, va) != (kb, vb) {
                return Err(err("the other key's leaf changed"));
            }
            Some((ka, va))
        }
        (Terminal::Other { .. }, _) | (_, Terminal::Other { .. }) => {
            return Err(err("another key's leaf replaced at the same depth"))
        }
        _ => None,
    };
    if b.check {
        let shared = depth_a.min(depth_b);
        if old_proof.siblings[..shared] != new_proof.siblings[..shared] {
            return Err(err("the old and new paths have different siblings"));
        }
        if let (true, Some((other_key, other_hash))) = (split, other) {
            for level in depth_a..depth_b {
                let expected = if level + 1 == depth_b {
                    hash_leaf(&other_key.remaining(depth_b), &other_hash)
                } else {
                    EMPTY
                };
                if new_proof.siblings[level] != expected
                    || key.bit(level) != (other_key.bit(level) ^ (level + 1 == depth_b))
                {
                    return Err(err(
                        "the split does not move the other leaf where it belongs",
                    ));
                }
            }
        }
    }

    // KEY row.
    let mut row = b.row();
    row[KEY] = F::ONE;
    row[ROLE.start..SEGMENT_END].fill(F::ZERO);
    row[ROLE.start + role as usize] = F::ONE;
    let flag = |t: Terminal, k: usize, l: usize, e: usize, row: &mut [F]| {
        let c = match t {
            Terminal::Own => k,
            Terminal::Other { .. } => l,
            Terminal::Empty => e,
        };
        row[c] = F::ONE;
    };
    flag(term_a, TERM_K_A, TERM_L_A, TERM_E_A, &mut row);
    flag(term_b, TERM_K_B, TERM_L_B, TERM_E_B, &mut row);
    row[SPLIT] = if split { F::ONE } else { F::ZERO };
    if let Some((_, value_hash)) = other {
        set(&mut row, OTHER_VALUE_HASH.start, &digest_f(&value_hash));
    }
    let rkey = key.remaining(depth);
    let other_deep = other.map_or(EMPTY, |(k, _)| k.remaining(depth));
    set(&mut row, OTHER_DEEP.start, &digest_f(&other_deep));
    set_bytes(&mut row, 0, &other_deep, 8);
    for j in 0..4 {
        row[TOP_KEY.start + j] = f(rkey[j] >> 48);
        row[TOP_OTHER.start + j] = f(other_deep[j] >> 48);
    }
    if role == Role::Block {
        row[BOUNDARY] = F::ONE;
        row[ACTIVE] = F::ZERO;
    } else {
        row[COUNT.start + role as usize] += F::ONE;
    }
    let slot = if role == Role::Block {
        u256_to_limbs(access.slot)
    } else {
        [0; 8]
    };
    let capacity = fill_lane(
        &mut row,
        LANE_B,
        std::array::from_fn(|i| if i < 8 { f(slot[i]) } else { F::ZERO }),
    );
    let mut address = address_to_limbs(access.address);
    address[6] = access.kind as u64;
    let key_hash = fill_lane(
        &mut row,
        LANE_A,
        std::array::from_fn(|i| {
            if i < 8 {
                f(address[i])
            } else {
                capacity[i - 8]
            }
        }),
    );
    if key_hash != digest_f(&key.0) {
        return Err(err("the key is not the address's key"));
    }
    set(&mut row, KEY_REG.start, &key_hash);
    b.push(row);

    // VALUE row.
    let old = u256_to_limbs(access.old_value);
    let new = u256_to_limbs(access.new_value);
    let mut row = b.row();
    row[VALUE] = F::ONE;
    let zero_cap = |limbs: &[u64; 8]| -> [F; WIDTH] {
        std::array::from_fn(|i| if i < 8 { f(limbs[i]) } else { F::ZERO })
    };
    let value_hash_a = fill_lane(&mut row, LANE_A, zero_cap(&old));
    let value_hash_b = fill_lane(&mut row, LANE_B, zero_cap(&new));
    set_bytes(&mut row, 0, &new, 4);
    if term_b == Terminal::Own {
        if let Some(i) = new.iter().position(|&x| x != 0) {
            row[AUX.start + i] = f(new[i]).inverse();
        }
    }
    let regs = |c: std::ops::Range<usize>, row: &[F]| -> Vec<u64> {
        row[c].iter().map(|x| x.to_canonical_u64()).collect()
    };
    let carries = match role {
        Role::SenderBalance => add_limbs(&new, &regs(DEBIT, &row)).1,
        Role::RecipientBalance => add_limbs(&old, &regs(AMOUNT, &row)).1,
        Role::CoinbaseBalance => add_limbs(&old, &regs(FEE, &row)).1,
        Role::SenderNonce => add_limbs(&old, &[1]).1,
        Role::Block => vec![0; 8],
    };
    for (i, &c) in carries.iter().enumerate() {
        // A carry above 1 means the witness is wrong; keep it boolean so only the arithmetic fails.
        row[CARRY.start + i] = f(c.min(1));
    }
    b.push(row);

    // LEAF row.
    let other_key = other.map(|(k, _)| k);
    let other_hash = other.map_or([F::ZERO; 4], |(_, h)| digest_f(&h));
    let rkey_other = other_deep;
    let mut row = b.row();
    row[LEAF] = F::ONE;
    set_bytes(&mut row, 0, &rkey, 8);
    row[SHIFT].fill(F::ONE);
    let mut shift = [1u64; 4];
    set(&mut row, RKEY.start, &digest_f(&rkey));
    set(&mut row, RKEY_OTHER.start, &digest_f(&rkey_other));
    row[POS.start + depth % 4] = F::ONE;
    let mut nodes = [[F::ZERO; 4]; 2];
    for (n, (lane, term, value_hash, node)) in [
        (LANE_A, term_a, value_hash_a, NODE_A),
        (LANE_B, term_b, value_hash_b, NODE_B),
    ]
    .into_iter()
    .enumerate()
    {
        let input = match term {
            Terminal::Own => leaf_input(&rkey, value_hash),
            Terminal::Other { .. } => leaf_input(&rkey_other, other_hash),
            Terminal::Empty => [F::ZERO; WIDTH],
        };
        let out = fill_lane(&mut row, lane, input);
        nodes[n] = if term == Terminal::Empty {
            [F::ZERO; 4]
        } else {
            out
        };
        set(&mut row, node.start, &nodes[n]);
    }
    if term_b != Terminal::Own && other.is_some() {
        if let Some(j) = (0..4).find(|&j| rkey_other[j] != rkey[j]) {
            row[AUX.start + j] = (f(rkey_other[j]) - f(rkey[j])).inverse();
        }
    }
    let mut previous_lane_a_out: [F; 4] = std::array::from_fn(|j| row[output(LANE_A, j)]);
    b.push(row);

    // BRANCH rows, from the deepest level up to the root.
    for level in (0..depth).rev() {
        let mut row = b.row();
        row[BRANCH] = F::ONE;
        let bit = key.bit(level);
        let zone = split && level >= depth_a;
        let zone_first = split && level + 1 == depth;
        let zone_last = split && level == depth_a;
        row[BIT] = if bit { F::ONE } else { F::ZERO };
        row[BIT_OTHER] = if bit ^ zone_first { F::ONE } else { F::ZERO };
        row[POS.start + level % 4] = F::ONE;
        row[ZONE] = if zone { F::ONE } else { F::ZERO };
        row[ZONE_FIRST] = if zone_first { F::ONE } else { F::ZERO };
        row[ZONE_LAST] = if zone_last { F::ONE } else { F::ZERO };
        row[IS_ROOT] = if level == 0 { F::ONE } else { F::ZERO };
        shift[level % 4] <<= 1;
        set(&mut row, SHIFT.start, &shift.map(f));
        if level == 0 {
            for j in 0..4 {
                let top_key = (rkey[j] >> 48) * shift[j];
                let top_other = (other_deep[j] >> 48) * shift[j];
                for (k, value) in [top_key, top_other, shift[j] - 1].into_iter().enumerate() {
                    row[BYTES.start + 8 * k + 2 * j] = f(value & 0xff);
                    row[BYTES.start + 8 * k + 2 * j + 1] = f((value >> 8) & 0xff);
                }
            }
        }
        set(&mut row, RKEY.start, &digest_f(&key.remaining(level)));
        if zone {
            if let Some(k) = other_key {
                set(&mut row, RKEY_OTHER.start, &digest_f(&k.remaining(level)));
            }
        }
        let sibling = if split && level >= depth_a {
            if zone_first {
                previous_lane_a_out
            } else {
                digest_f(&new_proof.siblings.get(level).copied().unwrap_or(EMPTY))
            }
        } else {
            digest_f(
                old_proof
                    .siblings
                    .get(level)
                    .ok_or_else(|| err("a sibling is missing"))?,
            )
        };
        set(&mut row, SIBLING.start, &sibling);
        let out_b = fill_lane(&mut row, LANE_B, order(bit, nodes[1], sibling));
        let out_a = if zone {
            let input = if zone_last {
                let rk = other_key.map_or(EMPTY, |k| k.remaining(level));
                leaf_input(&rk, other_hash)
            } else {
                [F::ZERO; WIDTH]
            };
            fill_lane(&mut row, LANE_A, input)
        } else {
            fill_lane(&mut row, LANE_A, order(bit, nodes[0], sibling))
        };
        nodes = [out_a, out_b];
        set(&mut row, NODE_A.start, &out_a);
        set(&mut row, NODE_B.start, &out_b);
        previous_lane_a_out = out_a;
        if level == 0 {
            let current: Vec<F> = row[ROOT].to_vec();
            if b.check && (current != out_a || out_a != digest_f(&access.old_root)) {
                return Err(err("the old path does not lead to the current root"));
            }
            if b.check && out_b != digest_f(&access.new_root) {
                return Err(err("the new path does not lead to the access's new root"));
            }
            b.push(row);
            set(&mut b.carry, ROOT.start, &out_b);
        } else {
            b.push(row);
        }
    }
    Ok(())
}

/// The first row whose constraints fail, with the failing constraints (section, index within the
/// section); `None` when the trace satisfies every constraint. Slow: for diagnostics and tests.
pub fn first_unsatisfied(trace: &BatchTrace) -> Option<(usize, Vec<(&'static str, usize)>)> {
    let rows = trace.columns.first().map_or(0, |c| c.values.len());
    let row = |r: usize| -> Vec<F> { trace.columns.iter().map(|c| c.values[r]).collect() };
    let public: Vec<F> = trace.public_inputs.clone();
    for r in 0..rows {
        let local = row(r);
        let next = row((r + 1) % rows);
        let mut cx = super::expr::DebugCx::new(r == 0, r + 1 == rows);
        super::air::eval(&mut cx, &local, &next, &public);
        if !cx.failures.is_empty() {
            return Some((r, cx.failures));
        }
    }
    None
}
