//! Soundness of the batch AIR: each test forges a witness that is wrong in exactly one property and
//! shows that it cannot be proven (the prover refuses or starky's verifier rejects the proof), and
//! which constraint section catches it.
//!
//! The forged witnesses are kept consistent everywhere but in the property under test: balances and
//! nonces are rewritten by replaying the batch's writes on an in-memory tree of the pre-batch state
//! ([`replay_writes`]), so every Merkle proof, root and later access still agrees with the tampered
//! value. A failure then shows that the AIR itself enforces the property, not that some unrelated
//! inconsistency tripped it.
//!
//! The positive control runs once, in the shared setup: the honest 10-transfer batch proves and
//! verifies, and its writes replayed without a tamper rebuild the executor's witness and trace
//! exactly (so the forging machinery itself introduces nothing).

use std::cell::Cell;
use std::ops::RangeInclusive;
use std::panic::AssertUnwindSafe;
use std::sync::{Once, OnceLock};

use alloy_primitives::U256;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Field64};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use starky::config::StarkConfig;
use zknode_executor::execution::{AccessOp, BatchWitness, TreeAccess, TxWitness};
use zknode_executor::state::hash::{is_canonical, linear_bytecode_hash};
use zknode_executor::state::smt::NoNodes;
use zknode_executor::state::{account_key, storage_key, Key, LeafKind, WorkingTree, EMPTY};
use zknode_executor::{BatchPublicValues, StateRoot};
use zknode_fixtures::{ChainSpec, FixtureChain};
use zknode_kernels::CpuBackend;
use zknode_prover::batch::columns::{IS_ROOT, KEY, KINDS, TRANSFER_GAS, TX1};
use zknode_prover::batch::{
    check_witness, commitment, first_unsatisfied, generate_trace, generate_trace_unchecked,
    BatchAir, BatchTrace, Transfer, COMMITMENT_PI,
};

type C = PoseidonGoldilocksConfig;
type F = GoldilocksField;
const D: usize = 2;

/// Names of the row-kind columns, in [`KINDS`] order (for the reports).
const KIND_NAMES: [&str; 9] = [
    "KEY", "VALUE", "LEAF", "BRANCH", "TX1", "TX2", "TX3", "TX4", "PAD",
];

/// The honest 10-transfer batch and what the forgeries are built from.
struct Setup {
    chain: FixtureChain,
    /// Index of the batch in `chain.batches`.
    batch: usize,
    witness: BatchWitness,
    values: BatchPublicValues,
    transfers: Vec<Transfer>,
    honest: BatchTrace,
    /// Every key/value of the tree before the batch.
    pre_state: Vec<(Key, U256)>,
    /// The batch's writes, in order (reads change no root and the AIR does not see them).
    writes: Vec<TreeAccess>,
    /// The transaction (index into `witness.transactions`) that made each write; `None` for block
    /// bookkeeping.
    owner: Vec<Option<usize>>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(build_setup)
}

fn build_setup() -> Setup {
    let chain = zknode_fixtures::generate(&ChainSpec {
        batch_sizes: vec![1, 10],
        ..ChainSpec::standard()
    })
    .expect("fixture chain");
    let mut executed = zknode_fixtures::execute_all(&chain).expect("replays");
    let batch = 1;
    let witness = executed.remove(batch).1;
    let previous = &executed[0].1;

    // The pre-batch state, rebuilt in memory: the genesis as the executor writes it, then the
    // previous batch's writes. Every write must reproduce the executor's roots, so this tree is the
    // executor's tree.
    let mut tree = genesis_tree(&chain);
    assert_eq!(
        tree.root(),
        chain.genesis_root.0,
        "the genesis tree is the executor's"
    );
    for access in previous.accesses.iter().filter(|a| a.op == AccessOp::Write) {
        let outcome = tree
            .set(&access.key, access.new_value)
            .expect("replays a write");
        assert_eq!(
            (outcome.old_root, outcome.new_root),
            (access.old_root, access.new_root),
            "the previous batch's writes replay to the executor's roots"
        );
    }
    assert_eq!(tree.root(), witness.old_state_root.0);
    let pre_state = tree.entries().expect("entries");

    let mut owner_of_access = vec![None; witness.accesses.len()];
    for (t, tx) in witness.transactions.iter().enumerate() {
        for slot in &mut owner_of_access[tx.accesses.0 as usize..tx.accesses.1 as usize] {
            *slot = Some(t);
        }
    }
    let (writes, owner): (Vec<TreeAccess>, Vec<Option<usize>>) = witness
        .accesses
        .iter()
        .zip(owner_of_access)
        .filter(|(a, _)| a.op == AccessOp::Write)
        .map(|(a, o)| (a.clone(), o))
        .unzip();

    let values = public_values(&chain, batch, witness.new_state_root);
    let honest = generate_trace(&witness, &values).expect("the honest batch traces");
    let transfers = honest.transfers.clone();
    assert_eq!(transfers.len(), 10);
    assert_eq!(
        first_unsatisfied(&honest),
        None,
        "the honest trace satisfies the AIR"
    );
    let started = std::time::Instant::now();
    prove_and_verify(&honest).expect("the honest batch proves and verifies");
    eprintln!(
        "positive control: {} transfers, {} writes, 2^{} rows, proved and verified in {:?}",
        transfers.len(),
        honest.writes,
        honest.degree_bits(),
        started.elapsed()
    );

    let setup = Setup {
        chain,
        batch,
        witness,
        values,
        transfers,
        honest,
        pre_state,
        writes,
        owner,
    };

    // The forging machinery without a tamper: the replay rebuilds the executor's writes exactly, and
    // the writes-only witness passes the checked generator and gives the honest trace column for
    // column.
    let untouched: Vec<U256> = setup.writes.iter().map(|a| a.new_value).collect();
    let replayed = replay_writes(&setup.pre_state, &pairs(&setup.writes, &untouched));
    assert!(
        replayed == setup.writes,
        "the replay reproduces the executor's writes"
    );
    let forged = forged_witness(&setup, &untouched, setup.witness.transactions.clone());
    let trace = generate_trace(&forged, &forged_values(&setup, &forged))
        .expect("the untampered forgery traces");
    assert!(
        trace.columns == setup.honest.columns && trace.public_inputs == setup.honest.public_inputs,
        "the untampered forgery is the honest trace"
    );
    setup
}

/// The genesis tree, written as [`zknode_executor::execution::Executor::set_genesis`] writes it.
fn genesis_tree(chain: &FixtureChain) -> WorkingTree<NoNodes> {
    let mut tree = WorkingTree::new(NoNodes, EMPTY);
    for account in &chain.genesis {
        let a = account.address;
        let mut set = |key: Key, value: U256| {
            tree.set(&key, value).expect("genesis write");
        };
        set(account_key(a, LeafKind::Balance), account.balance);
        set(account_key(a, LeafKind::Nonce), U256::from(account.nonce));
        if !account.code.is_empty() {
            let hash = linear_bytecode_hash(&account.code);
            set(account_key(a, LeafKind::CodeHash), U256::from_limbs(hash));
            set(
                account_key(a, LeafKind::CodeLength),
                U256::from(account.code.len()),
            );
        }
        for (slot, value) in &account.storage {
            set(storage_key(a, *slot), *value);
        }
    }
    tree
}

fn public_values(chain: &FixtureChain, batch: usize, new_root: StateRoot) -> BatchPublicValues {
    let b = &chain.batches[batch];
    BatchPublicValues {
        chain_id: chain.chain_id,
        fork_id: chain.fork_id,
        old_batch_number: b.batch_number - 1,
        new_batch_number: b.batch_number,
        old_state_root: b.old_state_root,
        new_state_root: new_root,
        ..Default::default()
    }
}

/// Applies `writes` (each access's key, origin and kind with the value to write) in order to the
/// tree holding `pre_state`, and returns them as write accesses with the proofs and roots the tree
/// gives: the witness an honest executor would have produced for these values.
fn replay_writes(pre_state: &[(Key, U256)], writes: &[(TreeAccess, U256)]) -> Vec<TreeAccess> {
    let mut tree = WorkingTree::new(NoNodes, EMPTY);
    for (key, value) in pre_state {
        tree.set(key, *value).expect("pre-state write");
    }
    writes
        .iter()
        .map(|(template, value)| {
            let outcome = tree.set(&template.key, *value).expect("replayed write");
            TreeAccess {
                op: AccessOp::Write,
                origin: template.origin,
                address: template.address,
                kind: template.kind,
                slot: template.slot,
                key: template.key,
                old_root: outcome.old_root,
                old_value: outcome.old_value,
                old_proof: outcome.old_proof,
                new_root: outcome.new_root,
                new_value: *value,
                new_proof: Some(outcome.new_proof),
            }
        })
        .collect()
}

fn pairs(writes: &[TreeAccess], values: &[U256]) -> Vec<(TreeAccess, U256)> {
    writes.iter().cloned().zip(values.iter().copied()).collect()
}

/// A witness of the batch's writes with new values `values` (one per write), re-proved by
/// [`replay_writes`], and `transactions` with their access ranges recomputed over the writes.
fn forged_witness(setup: &Setup, values: &[U256], transactions: Vec<TxWitness>) -> BatchWitness {
    assert_eq!(values.len(), setup.writes.len());
    let writes: Vec<(usize, U256)> = values.iter().copied().enumerate().collect();
    forged_witness_of(setup, &writes, transactions)
}

/// A witness of the writes `writes` (index among the batch's writes, new value), in that order,
/// re-proved by [`replay_writes`]; a write left out is not made at all. Each transaction's access
/// range is recomputed to cover exactly its remaining writes.
fn forged_witness_of(
    setup: &Setup,
    writes: &[(usize, U256)],
    mut transactions: Vec<TxWitness>,
) -> BatchWitness {
    let replay: Vec<(TreeAccess, U256)> = writes
        .iter()
        .map(|&(i, value)| (setup.writes[i].clone(), value))
        .collect();
    let accesses = replay_writes(&setup.pre_state, &replay);
    assert_eq!(accesses[0].old_root, setup.witness.old_state_root.0);
    for (t, tx) in transactions.iter_mut().enumerate() {
        let mine: Vec<usize> = (0..writes.len())
            .filter(|&k| setup.owner[writes[k].0] == Some(t))
            .collect();
        let (first, last) = (mine[0], mine[mine.len() - 1]);
        // A transaction's writes were contiguous among all accesses, so they are among the writes.
        assert_eq!(
            last - first + 1,
            mine.len(),
            "transaction {t}'s writes are contiguous"
        );
        tx.accesses = (first as u32, last as u32 + 1);
    }
    let new_root = StateRoot(accesses.last().expect("writes").new_root);
    let witness = BatchWitness {
        old_state_root: setup.witness.old_state_root,
        new_state_root: new_root,
        chain_id: setup.witness.chain_id,
        coinbase: setup.witness.coinbase,
        accesses,
        transactions,
    };
    // Consistent by construction: every proof verifies and the roots chain.
    witness
        .verify()
        .expect("the forged witness's proofs and roots are consistent");
    witness
}

fn forged_values(setup: &Setup, witness: &BatchWitness) -> BatchPublicValues {
    public_values(&setup.chain, setup.batch, witness.new_state_root)
}

/// The honest new values of the writes (to tamper with).
fn honest_values(setup: &Setup) -> Vec<U256> {
    setup.writes.iter().map(|a| a.new_value).collect()
}

/// Adds `delta` (mod 2^256) to the value written at `index` and at every later write of the same
/// key: the tamper at `index` then carries through, and every later write of that key still moves
/// its value by exactly what the transfer implies.
fn shift_key_from(setup: &Setup, values: &mut [U256], index: usize, delta: U256) {
    let key = setup.writes[index].key;
    for (value, access) in values.iter_mut().zip(&setup.writes).skip(index) {
        if access.key == key {
            *value = value.wrapping_add(delta);
        }
    }
}

/// The index (among the writes) of transaction `t`'s write of `kind` of `address`.
fn write_of(setup: &Setup, t: usize, kind: LeafKind, address: alloy_primitives::Address) -> usize {
    (0..setup.writes.len())
        .find(|&i| {
            setup.owner[i] == Some(t)
                && setup.writes[i].kind == kind
                && setup.writes[i].address == address
        })
        .unwrap_or_else(|| panic!("transaction {t} writes {kind:?} of {address}"))
}

fn fee(transfer: &Transfer) -> U256 {
    U256::from(transfer.effective_gas_price) * U256::from(TRANSFER_GAS)
}

/// Whether a write after `index` touches the key written at `index`.
fn written_later(setup: &Setup, index: usize) -> bool {
    let key = setup.writes[index].key;
    setup.writes[index + 1..].iter().any(|a| a.key == key)
}

/// A transfer in the middle of the batch whose sender, recipient and coinbase are distinct (so its
/// roles are unambiguous) and which moves a non-zero amount, satisfying `also`.
fn pick_transfer(setup: &Setup, also: impl Fn(usize) -> bool) -> usize {
    let n = setup.transfers.len();
    (0..n)
        .map(|k| (n / 2 + k) % n)
        .find(|&t| {
            let tr = &setup.transfers[t];
            tr.sender != tr.recipient
                && tr.recipient != tr.coinbase
                && tr.sender != tr.coinbase
                && !tr.amount.is_zero()
                && also(t)
        })
        .expect("a suitable transfer")
}

fn prove_and_verify(trace: &BatchTrace) -> Result<(), String> {
    let config = StarkConfig::standard_fast_config();
    let proof = zknode_prover::prove::<_, C, _, D>(
        &CpuBackend::new(),
        &BatchAir,
        &config,
        &trace.columns,
        &trace.public_inputs,
        None,
    )
    .map_err(|e| format!("the prover refused: {e}"))?;
    starky::verifier::verify_stark_proof(BatchAir, proof, &config, None)
        .map_err(|e| format!("proved, but the verifier rejected the proof: {e:#}"))
}

thread_local! {
    /// Set while this thread proves a tampered trace, where the prover's panics are expected.
    static EXPECTING_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// Silences the panic hook for expected panics: starky's debug constraint check panics on every
/// tampered trace, and with `RUST_BACKTRACE` set each would print a long backtrace that buries the
/// reports (the prover turns the panic into an error, which the reports print). Every other panic,
/// a failing assertion included, still goes to the previous hook.
fn quiet_expected_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTING_PANIC.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// The first failing row and its failing constraints.
type Failure = (usize, Vec<(&'static str, usize)>);

/// Asserts that `trace` cannot be proven: the prover errs or panics, or starky's verifier rejects
/// what it produced. Also asserts that some constraint fails (the row-by-row check) and returns the
/// first failing row, which the caller compares with the tamper.
fn assert_unprovable(trace: &BatchTrace, why: &str) -> Failure {
    let failure = first_unsatisfied(trace)
        .unwrap_or_else(|| panic!("{why}: every constraint holds on the tampered trace"));
    let (row, failures) = &failure;
    eprintln!(
        "{why}: first failing row {row} ({}), constraints {failures:?}",
        row_kind(trace, *row)
    );
    quiet_expected_panics();
    EXPECTING_PANIC.with(|e| e.set(true));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| prove_and_verify(trace)));
    EXPECTING_PANIC.with(|e| e.set(false));
    match outcome {
        Err(_) => eprintln!("{why}: the prover panicked"),
        Ok(Err(e)) => eprintln!("{why}: {e}"),
        Ok(Ok(())) => panic!("{why}: SOUNDNESS: the tampered trace proved and verified"),
    }
    failure
}

fn row_kind(trace: &BatchTrace, row: usize) -> &'static str {
    KINDS
        .zip(KIND_NAMES)
        .find(|&(c, _)| trace.columns[c].values[row] == F::ONE)
        .map_or("no kind", |(_, name)| name)
}

/// Asserts the first failure is in `section` and within `rows`.
fn assert_caught(failure: &Failure, section: &str, rows: RangeInclusive<usize>, why: &str) {
    let (row, failures) = failure;
    assert!(
        failures.iter().any(|(s, _)| *s == section),
        "{why}: expected a failure in section {section:?}, got {failures:?} at row {row}"
    );
    assert!(
        rows.contains(row),
        "{why}: expected the first failure in rows {rows:?}, got row {row}"
    );
}

/// The rows of the segment of write `w` (its KEY row to its root row).
fn segment_rows(trace: &BatchTrace, w: usize) -> RangeInclusive<usize> {
    let is = |c: usize, r: usize| trace.columns[c].values[r] == F::ONE;
    let rows = trace.columns[0].values.len();
    let start = (0..rows)
        .filter(|&r| is(KEY, r))
        .nth(w)
        .unwrap_or_else(|| panic!("write {w} has a segment"));
    let end = (start..rows)
        .find(|&r| is(IS_ROOT, r))
        .expect("a segment ends at a root row");
    start..=end
}

/// The rows of transfer `t` (its TX1 row to the end of its last segment).
fn transfer_rows(trace: &BatchTrace, t: usize) -> RangeInclusive<usize> {
    let is = |c: usize, r: usize| trace.columns[c].values[r] == F::ONE;
    let rows = trace.columns[0].values.len();
    let starts: Vec<usize> = (0..rows).filter(|&r| is(TX1, r)).collect();
    let end = starts.get(t + 1).map_or(rows, |&s| s) - 1;
    starts[t]..=end
}

fn last_row(trace: &BatchTrace) -> RangeInclusive<usize> {
    let last = trace.columns[0].values.len() - 1;
    last..=last
}

#[test]
fn honest_batch_proves_and_verifies() {
    // The positive control runs in the shared setup; this names it in the test list.
    let s = setup();
    assert_eq!(s.honest.writes, s.writes.len());
}

#[test]
fn wrong_new_root() {
    let s = setup();
    let old = s.witness.old_state_root;
    let mut plus_one = s.witness.new_state_root;
    plus_one.0[0] = (plus_one.0[0] + 1) % F::ORDER;
    for (name, root) in [("old root", old), ("new root + 1", plus_one)] {
        let why = format!("new_state_root replaced by the {name}");
        let values = BatchPublicValues {
            new_state_root: root,
            ..s.values
        };
        let err = generate_trace(&s.witness, &values).expect_err("the checked generator refuses");
        eprintln!("{why}: generate_trace: {err}");
        let trace = generate_trace_unchecked(&s.witness, &s.transfers, &values).expect("trace");
        let failure = assert_unprovable(&trace, &why);
        assert_caught(&failure, "chain registers", last_row(&trace), &why);
    }
}

#[test]
fn wrong_balance() {
    let s = setup();
    let t = pick_transfer(s, |_| true);
    let tr = s.transfers[t];
    for (role, address) in [
        ("recipient", tr.recipient),
        ("sender", tr.sender),
        ("coinbase", tr.coinbase),
    ] {
        let why = format!("transfer {t}: the {role}'s balance written 1 wei higher");
        let w = write_of(s, t, LeafKind::Balance, address);
        let mut values = honest_values(s);
        shift_key_from(s, &mut values, w, U256::from(1));
        let forged = forged_witness(s, &values, s.witness.transactions.clone());
        let err = check_witness(&forged, &s.transfers).expect_err("the checker refuses");
        eprintln!("{why}: check_witness: {err}");
        let trace = generate_trace_unchecked(&forged, &s.transfers, &forged_values(s, &forged))
            .expect("trace");
        let failure = assert_unprovable(&trace, &why);
        assert_caught(&failure, "value rows", segment_rows(&trace, w), &why);
    }
}

#[test]
fn skipped_nonce() {
    let s = setup();
    let t = pick_transfer(s, |_| true);
    let sender = s.transfers[t].sender;
    let w = write_of(s, t, LeafKind::Nonce, sender);

    // The transfer list says nonce + 1 (and the public commitment is the tampered list's); the tree
    // moves the sender's nonce as executed.
    let why = format!("transfer {t}: nonce in the transfer list + 1");
    let mut transfers = s.transfers.clone();
    transfers[t].nonce += 1;
    let trace = generate_trace_unchecked(&s.witness, &transfers, &s.values).expect("trace");
    assert_eq!(trace.commitment, commitment(&transfers));
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "value rows", segment_rows(&trace, w), &why);

    // The tree moves the sender's nonce from n to n + 2; the sender's later transfers carry the
    // shifted nonces so that only this write skips one.
    let why = format!("transfer {t}: the sender's nonce written old + 2");
    let mut values = honest_values(s);
    shift_key_from(s, &mut values, w, U256::from(1));
    let mut transactions = s.witness.transactions.clone();
    for tx in transactions.iter_mut().skip(t + 1) {
        if tx.sender == sender {
            tx.nonce += 1;
        }
    }
    let forged = forged_witness(s, &values, transactions);
    let transfers = zknode_prover::batch::trace::transfers(&forged).expect("transfers");
    let err = check_witness(&forged, &transfers).expect_err("the checker refuses");
    eprintln!("{why}: check_witness: {err}");
    let trace =
        generate_trace_unchecked(&forged, &transfers, &forged_values(s, &forged)).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "value rows", segment_rows(&trace, w), &why);
}

#[test]
fn value_larger_than_balance() {
    let s = setup();
    let t = pick_transfer(s, |_| true);
    let tr = s.transfers[t];
    let ws = write_of(s, t, LeafKind::Balance, tr.sender);
    let wr = write_of(s, t, LeafKind::Balance, tr.recipient);
    let balance = s.writes[ws].old_value;
    let amount = balance + U256::from(1);
    let why = format!("transfer {t}: sends {amount} wei from a balance of {balance}");

    // The sender's balance wraps: old − (amount + fee) mod 2^256; the recipient gets the amount.
    let mut values = honest_values(s);
    let wrapped = balance.wrapping_sub(amount + fee(&tr));
    let delta = wrapped.wrapping_sub(values[ws]);
    shift_key_from(s, &mut values, ws, delta);
    shift_key_from(s, &mut values, wr, amount - tr.amount);
    let mut transactions = s.witness.transactions.clone();
    transactions[t].value = amount;
    let forged = forged_witness(s, &values, transactions);
    assert_eq!(forged.accesses[ws].new_value, wrapped);
    let transfers = zknode_prover::batch::trace::transfers(&forged).expect("transfers");
    assert_eq!(transfers[t].amount, amount);
    let err = check_witness(&forged, &transfers).expect_err("the checker refuses");
    eprintln!("{why}: check_witness: {err}");
    let trace =
        generate_trace_unchecked(&forged, &transfers, &forged_values(s, &forged)).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "value rows", segment_rows(&trace, ws), &why);
}

#[test]
fn forged_merkle_path() {
    let s = setup();
    let t = pick_transfer(s, |_| true);
    let tr = s.transfers[t];
    let w = write_of(s, t, LeafKind::Balance, tr.recipient);
    let i = s
        .witness
        .accesses
        .iter()
        .position(|a| *a == s.writes[w])
        .expect("the write among the accesses");

    // One sibling of the old proof flipped (the deepest, which the new path shares).
    let mut witness = s.witness.clone();
    let siblings = &mut witness.accesses[i].old_proof.siblings;
    let level = siblings.len() - 1;
    siblings[level][0] ^= 1;
    assert!(is_canonical(&siblings[level]));
    let why = format!("write {w}: old proof's sibling at level {level} flipped");
    assert!(witness.verify().is_err());
    let trace = generate_trace_unchecked(&witness, &s.transfers, &s.values).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "branch rows", segment_rows(&trace, w), &why);

    // The old value claimed 1 wei higher, the proofs unchanged; the new value moves with it so that
    // the credit's arithmetic still holds and only the Merkle path can catch it.
    let mut witness = s.witness.clone();
    witness.accesses[i].old_value += U256::from(1);
    witness.accesses[i].new_value += U256::from(1);
    let why = format!("write {w}: old (and new) value + 1 under the same proofs");
    assert!(witness.verify().is_err());
    let trace = generate_trace_unchecked(&witness, &s.transfers, &s.values).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "branch rows", segment_rows(&trace, w), &why);
}

#[test]
fn transfer_list_differs_from_commitment() {
    let s = setup();

    // The trace absorbs the real list; the public commitment is another list's.
    let mut swapped = s.transfers.clone();
    swapped.swap(0, 1);
    let mut changed = s.transfers.clone();
    changed[0].amount += U256::from(1);
    for (name, list) in [
        ("transfers 0 and 1 swapped", swapped),
        ("amount 0 + 1", changed),
    ] {
        let why = format!("public commitment of the list with {name}");
        let mut trace =
            generate_trace_unchecked(&s.witness, &s.transfers, &s.values).expect("trace");
        let other = commitment(&list);
        assert_ne!(other, trace.commitment);
        for (pi, &x) in trace.public_inputs[COMMITMENT_PI].iter_mut().zip(&other) {
            *pi = F::from_canonical_u64(x);
        }
        let failure = assert_unprovable(&trace, &why);
        assert_caught(&failure, "chain registers", last_row(&trace), &why);
    }

    // The converse: the trace (and its commitment) from a list with one amount changed, the tree
    // writes as executed.
    let t = pick_transfer(s, |_| true);
    let why = format!("transfer {t}: amount + 1 in the list, writes as executed");
    let mut transfers = s.transfers.clone();
    transfers[t].amount += U256::from(1);
    let trace = generate_trace_unchecked(&s.witness, &transfers, &s.values).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "value rows", transfer_rows(&trace, t), &why);
}

#[test]
fn deletion_is_refused() {
    let s = setup();
    // A sender that sends its whole balance but the fee: a legitimate transfer whose balance write
    // deletes the leaf, with consistent arithmetic, which this rung does not prove.
    let t = pick_transfer(s, |t| {
        let tr = &s.transfers[t];
        let ws = write_of(s, t, LeafKind::Balance, tr.sender);
        !written_later(s, ws) && s.writes[ws].old_value > fee(tr)
    });
    let tr = s.transfers[t];
    let ws = write_of(s, t, LeafKind::Balance, tr.sender);
    let wr = write_of(s, t, LeafKind::Balance, tr.recipient);
    let amount = s.writes[ws].old_value - fee(&tr);
    let mut values = honest_values(s);
    values[ws] = U256::ZERO;
    shift_key_from(s, &mut values, wr, amount - tr.amount);
    let mut transactions = s.witness.transactions.clone();
    transactions[t].value = amount;
    let forged = forged_witness(s, &values, transactions);
    let transfers = zknode_prover::batch::trace::transfers(&forged).expect("transfers");
    check_witness(&forged, &transfers).expect("the arithmetic and proofs are consistent");
    let err = generate_trace(&forged, &forged_values(s, &forged))
        .expect_err("the checked generator refuses a deletion");
    eprintln!("transfer {t}: sender's balance deleted: generate_trace: {err}");
    assert!(
        err.to_string().contains("deleting a leaf is not provable"),
        "a clear error: {err}"
    );
    // Structural: the unchecked generator cannot lay it out either.
    assert!(generate_trace_unchecked(&forged, &transfers, &forged_values(s, &forged)).is_err());
}

#[test]
fn recipient_not_credited() {
    let s = setup();
    let t = pick_transfer(s, |t| {
        let w = write_of(s, t, LeafKind::Balance, s.transfers[t].recipient);
        !written_later(s, w)
    });
    let wr = write_of(s, t, LeafKind::Balance, s.transfers[t].recipient);

    // The recipient's balance written back unchanged: the sender pays, nobody receives.
    let mut values = honest_values(s);
    values[wr] = s.writes[wr].old_value;
    let why = format!("transfer {t}: the recipient's balance written unchanged");
    let forged = forged_witness(s, &values, s.witness.transactions.clone());
    let trace =
        generate_trace_unchecked(&forged, &s.transfers, &forged_values(s, &forged)).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "value rows", segment_rows(&trace, wr), &why);

    // The recipient's write left out altogether (the other writes re-proved without it): only the
    // per-transfer write counts can catch it.
    let writes: Vec<(usize, U256)> = honest_values(s)
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| i != wr)
        .collect();
    let why = format!("transfer {t}: the recipient's write left out");
    let forged = forged_witness_of(s, &writes, s.witness.transactions.clone());
    let trace =
        generate_trace_unchecked(&forged, &s.transfers, &forged_values(s, &forged)).expect("trace");
    let failure = assert_unprovable(&trace, &why);
    assert_caught(&failure, "transfer writes", transfer_rows(&trace, t), &why);
}
