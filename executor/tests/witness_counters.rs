//! Provability verdicts, counters (recomputed from the witness by their documented formulas), the
//! effective percentage and coinbase fees, and the witness (proofs chain, per-transaction data,
//! serde round trip, tampering detected).
#![allow(clippy::unwrap_used)]

mod common;

use alloy_primitives::{Address, U256};
use common::*;
use zknode_executor::execution::{
    AccessOp, AccessOrigin, CounterLimits, Executor, ExecutorConfig, GenesisAccount,
    NotProvableReason, ProcessBatchRequest, Provability, TxStatus,
};
use zknode_executor::state::hash::bytecode_hash_permutations;
use zknode_executor::state::LeafKind;

const COINBASE: Address = Address::new([0xcb; 20]);
const KV: Address = Address::new([0xc0; 20]);

#[test]
fn verdicts_counters_fees_and_witness() {
    let a = Wallet::from_seed(1);
    let b = Wallet::from_seed(2);
    let dir = tempfile::tempdir().unwrap();
    let executor = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    let genesis = [
        GenesisAccount {
            address: a.address,
            balance: U256::from(10u128.pow(20)),
            ..Default::default()
        },
        GenesisAccount {
            address: b.address,
            balance: U256::from(10u128.pow(20)),
            ..Default::default()
        },
        GenesisAccount {
            address: KV,
            code: kv_runtime().into(),
            ..Default::default()
        },
    ];
    let root = executor.set_genesis(&genesis).unwrap();

    let transfer = sign(&a, &TxSpec::transfer(0, b.address, U256::from(1000)));
    let mut call = TxSpec::transfer(1, KV, U256::ZERO);
    call.gas_limit = 100_000; // empty calldata: reverts with Error("empty")
    let call = sign(&a, &call);
    let mut deploy = TxSpec::transfer(2, Address::ZERO, U256::ZERO);
    deploy.to = None;
    deploy.input = initcode(&kv_runtime()).into();
    deploy.gas_limit = 300_000;
    let deploy = sign(&a, &deploy);
    let bad_nonce = sign(&a, &TxSpec::transfer(9, b.address, U256::from(1)));
    let mut with_list = TxSpec::transfer(0, a.address, U256::from(5));
    with_list.tx_type = TxType::Eip1559;
    with_list.gas_limit = 30_000;
    with_list.access_list = access_list_for(KV, &[1]);
    let with_list = sign(&b, &with_list);

    let data = batch_bytes_with_pct(&[(
        3,
        vec![
            (transfer, 127),
            (call, 255),
            (deploy, 255),
            (bad_nonce, 255),
            (with_list, 255),
        ],
    )]);
    let request = ProcessBatchRequest {
        old_state_root: root,
        batch_data: data.clone(),
        chain_id: CHAIN_ID,
        timestamp_limit: 100,
        coinbase: COINBASE,
        update_tree: true,
        include_witness: true,
        ..Default::default()
    };
    let response = executor.process_batch(&request).unwrap();
    let block = &response.blocks[0];
    let txs = &block.transactions;
    let verdicts: Vec<Provability> = txs.iter().map(|t| t.provability).collect();
    let not = |reason| Provability::NotProvable { reason };
    assert_eq!(
        verdicts,
        [
            Provability::Provable,
            not(NotProvableReason::RecipientHasCode),
            not(NotProvableReason::ContractCreation),
            not(NotProvableReason::NotIncluded),
            not(NotProvableReason::HasAccessList),
        ]
    );
    assert_eq!(txs[1].status, TxStatus::Reverted);
    assert_eq!(txs[1].error.as_deref(), Some("execution reverted: empty"));
    assert_eq!(txs[3].status, TxStatus::Invalid);
    assert!(
        txs[3]
            .error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("nonce"),
        "{:?}",
        txs[3].error
    );

    // Effective percentage 127 halves the price: 1 gwei × 128 / 256.
    assert_eq!(txs[0].effective_gas_price, 500_000_000);
    let fees: u128 = txs
        .iter()
        .map(|t| u128::from(t.gas_used) * t.effective_gas_price)
        .sum();
    assert_eq!(
        executor.balance(response.new_state_root, COINBASE).unwrap(),
        U256::from(fees)
    );
    assert_eq!(
        executor
            .balance(response.new_state_root, b.address)
            .unwrap(),
        U256::from(10u128.pow(20) + 1000 - 5)
            - U256::from(u128::from(txs[4].gas_used) * txs[4].effective_gas_price)
    );

    // Counters, recomputed from the witness with the documented formulas.
    let witness = response.witness.as_ref().unwrap();
    witness.verify().unwrap();
    let c = response.counters;
    assert_eq!(c.transactions, 4);
    assert_eq!(c.signatures, 5);
    assert_eq!(c.transfer_rows, 1);
    assert_eq!(c.batch_bytes, data.len() as u64);
    assert_eq!(c.gas_used, block.gas_used);
    assert_eq!(
        (c.smt_reads + c.smt_writes) as usize,
        witness.accesses.len()
    );
    let mut smt_rows = 0;
    let mut poseidon = 0;
    for access in &witness.accesses {
        let key = if access.kind == LeafKind::Storage {
            2
        } else {
            1
        };
        let proof_cost = |p: &zknode_executor::state::MerkleProof| {
            p.siblings.len() as u64
                + if matches!(p.terminal, zknode_executor::state::ProofTerminal::Empty) {
                    0
                } else {
                    2
                }
        };
        smt_rows += access.old_proof.siblings.len() as u64 + 1;
        poseidon += key + proof_cost(&access.old_proof);
        if let Some(new_proof) = &access.new_proof {
            smt_rows += new_proof.siblings.len() as u64 + 1;
            poseidon += proof_cost(new_proof);
        }
    }
    poseidon += bytecode_hash_permutations(kv_runtime().len()) as u64;
    assert_eq!(c.smt_rows, smt_rows);
    assert_eq!(c.poseidon_rows, poseidon);
    assert!(c.keccak_rows >= 24 * 2 * 5);
    assert_eq!(CounterLimits::default().check(&c), Ok(()));
    let tight = CounterLimits {
        smt_rows: smt_rows - 1,
        ..CounterLimits::default()
    };
    assert_eq!(tight.check(&c).unwrap_err().counter, "smt_rows");

    // The block's bookkeeping comes first, then each transaction's accesses in its range.
    assert_eq!(
        witness.accesses[0].origin,
        AccessOrigin::Block { block_index: 0 }
    );
    assert_eq!(witness.transactions.len(), 4);
    let t0 = &witness.transactions[0];
    assert_eq!(
        (t0.sender, t0.recipient, t0.value),
        (a.address, Some(b.address), U256::from(1000))
    );
    assert_eq!(
        t0.recipient_balance_after - t0.recipient_balance_before,
        U256::from(1000)
    );
    assert_eq!(
        t0.coinbase_balance_after - t0.coinbase_balance_before,
        U256::from(21_000u64 * 500_000_000)
    );
    let (start, end) = t0.accesses;
    assert!(end > start);
    for access in &witness.accesses[start as usize..end as usize] {
        assert_eq!(access.origin, AccessOrigin::Transaction { tx_index: 0 });
    }
    let writes: Vec<_> = witness.accesses[start as usize..end as usize]
        .iter()
        .filter(|x| x.op == AccessOp::Write)
        .map(|x| (x.address, x.kind))
        .collect();
    // Sender balance and nonce, recipient balance, coinbase balance: sorted by address.
    let mut expected = vec![
        (a.address, LeafKind::Balance),
        (a.address, LeafKind::Nonce),
        (b.address, LeafKind::Balance),
        (COINBASE, LeafKind::Balance),
    ];
    expected.sort_by_key(|(addr, _)| *addr);
    assert_eq!(writes, expected);

    // Plain serde: a JSON round trip gives the same witness; tampering is detected.
    let json = serde_json::to_string(witness).unwrap();
    let back: zknode_executor::execution::BatchWitness = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, witness);
    let mut tampered = witness.clone();
    let i = tampered
        .accesses
        .iter()
        .position(|x| x.op == AccessOp::Write)
        .unwrap();
    tampered.accesses[i].new_value += U256::from(1);
    assert!(tampered.verify().is_err());
}
