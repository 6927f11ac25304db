//! Differential test: random sequences of transfers, deployments and contract calls executed by the
//! executor (over the Poseidon state tree) and by revm over an in-memory `CacheDB<EmptyDB>` must
//! give the same results (status, gas, logs, output, created addresses, receipts) and the same
//! post-state (balances, nonces, code, storage); the tree root must equal a root rebuilt from
//! scratch from the reference's post-state; past roots stay readable; witnesses verify.
//!
//! Seeded: the seed is printed; replay with `ZKNODE_DIFF_SEED=<seed>`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use common::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
use zknode_executor::execution::block::{
    block_hash_slot, LAST_BLOCK_NUMBER_SLOT, LAST_TIMESTAMP_SLOT,
};
use zknode_executor::execution::{
    Executor, ExecutorConfig, GenesisAccount, ProcessBatchRequest, ProcessBatchResponse, TxStatus,
    SYSTEM_ADDRESS,
};
use zknode_executor::state::hash::linear_bytecode_hash;
use zknode_executor::state::{account_key, root_from_entries, storage_key, Key, LeafKind};
use zknode_executor::{ExecutorError, StateRoot};

const COINBASE: Address = Address::new([0xcb; 20]);
const GENESIS_KV: Address = Address::new([0xc0; 20]);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContractKind {
    Kv,
    Factory,
    SelfCall,
}

struct Generator {
    rng: ChaCha8Rng,
    wallets: Vec<Wallet>,
    nonces: HashMap<Address, u64>,
    contracts: Vec<(Address, ContractKind)>,
    strangers: Vec<Address>,
}

impl Generator {
    /// A fixed opening that covers every kind of transaction at least once: deployments of each
    /// contract, a storage write and its clearing (refund), a revert with reason, a CREATE from a
    /// contract, nested self-calls, an out-of-gas halt, an invalid transaction and typed
    /// transactions.
    fn scripted(&mut self) -> Vec<(u32, Vec<TxEnvelope>)> {
        let w = self.wallets[0].clone();
        let mut txs = Vec::new();
        let next = |g: &mut Generator, mut spec: TxSpec| {
            spec.nonce = g.nonces[&w.address];
            *g.nonces.get_mut(&w.address).unwrap() += 1;
            sign(&w, &spec)
        };
        let deploy = |g: &mut Generator, runtime: Vec<u8>, kind| {
            let address = w.address.create(g.nonces[&w.address]);
            g.contracts.push((address, kind));
            let mut spec = TxSpec::transfer(0, Address::ZERO, U256::ZERO);
            spec.to = None;
            spec.input = initcode(&runtime).into();
            spec.gas_limit = 600_000;
            (address, spec)
        };
        let (kv, spec) = deploy(self, kv_runtime(), ContractKind::Kv);
        txs.push(next(self, spec));
        let (factory, spec) = deploy(self, factory_runtime(), ContractKind::Factory);
        txs.push(next(self, spec));
        let (selfcall, spec) = deploy(self, selfcall_runtime(), ContractKind::SelfCall);
        txs.push(next(self, spec));
        let call = |to: Address, input: Bytes, gas: u64, tx_type: TxType| {
            let mut spec = TxSpec::transfer(0, to, U256::ZERO);
            spec.input = input;
            spec.gas_limit = gas;
            spec.tx_type = tx_type;
            spec
        };
        txs.push(next(
            self,
            call(kv, kv_call(1, U256::from(77)), 100_000, TxType::Eip1559),
        ));
        txs.push(next(
            self,
            call(kv, kv_call(1, U256::ZERO), 100_000, TxType::Eip2930),
        ));
        txs.push(next(self, call(kv, Bytes::new(), 100_000, TxType::Legacy)));
        txs.push(next(
            self,
            call(factory, Bytes::new(), 300_000, TxType::Legacy),
        ));
        txs.push(next(
            self,
            call(selfcall, word(3), 300_000, TxType::LegacyNoChainId),
        ));
        txs.push(next(
            self,
            call(kv, kv_call(2, U256::from(1)), 25_000, TxType::Legacy),
        ));
        let mut bad = TxSpec::transfer(self.nonces[&w.address] + 7, kv, U256::ZERO);
        bad.gas_limit = 50_000;
        txs.push(sign(&w, &bad));
        let transfer = TxSpec::transfer(0, self.wallets[1].address, U256::from(1234));
        txs.push(next(self, transfer));
        vec![(1, txs)]
    }

    fn tx_type(&mut self) -> TxType {
        match self.rng.gen_range(0..10) {
            0..=3 => TxType::Legacy,
            4 => TxType::LegacyNoChainId,
            5..=6 => TxType::Eip2930,
            _ => TxType::Eip1559,
        }
    }

    fn spec(&mut self, sender: Address) -> TxSpec {
        let nonce = self.nonces[&sender];
        let gas_price = self.rng.gen_range(1..=3u128) * 1_000_000_000;
        let priority_fee = match self.rng.gen_range(0..3) {
            0 => gas_price,
            1 => gas_price / 2,
            _ => gas_price * 2, // above the max fee: invalid for EIP-1559, the price for others
        };
        let mut spec = TxSpec::transfer(nonce, Address::ZERO, U256::ZERO);
        spec.tx_type = self.tx_type();
        spec.gas_price = gas_price;
        spec.priority_fee = priority_fee.min(gas_price);
        if spec.tx_type == TxType::Eip1559 && self.rng.gen_ratio(1, 20) {
            spec.priority_fee = gas_price + 1; // invalid: priority fee above max fee
        }
        spec
    }

    /// One random transaction; returns it and whether it is meant to be valid (to track nonces).
    fn next_tx(&mut self) -> TxEnvelope {
        let wallet_index = self.rng.gen_range(0..self.wallets.len());
        let wallet = self.wallets[wallet_index].clone();
        let mut spec = self.spec(wallet.address);
        let mut valid = true;
        match self.rng.gen_range(0..100) {
            // Plain transfer to a wallet, a fresh address or a contract.
            0..=34 => {
                spec.to = Some(match self.rng.gen_range(0..4) {
                    0 => {
                        let a = Address::from(self.rng.gen::<[u8; 20]>());
                        self.strangers.push(a);
                        a
                    }
                    1 if !self.strangers.is_empty() => {
                        self.strangers[self.rng.gen_range(0..self.strangers.len())]
                    }
                    2 if !self.contracts.is_empty() => {
                        self.contracts[self.rng.gen_range(0..self.contracts.len())].0
                    }
                    _ => self.wallets[self.rng.gen_range(0..self.wallets.len())].address,
                });
                spec.value = random_value(&mut self.rng, 10u64.pow(18));
                // Calls to contracts need more than 21000 gas.
                spec.gas_limit = if self.rng.gen_ratio(1, 2) {
                    21_000
                } else {
                    100_000
                };
                if spec.tx_type != TxType::Legacy
                    && spec.tx_type != TxType::LegacyNoChainId
                    && self.rng.gen_ratio(1, 3)
                {
                    spec.access_list = access_list_for(spec.to.unwrap_or_default(), &[0, 1]);
                }
            }
            // Deploy a contract.
            35..=47 => {
                let kind = match self.rng.gen_range(0..3) {
                    0 => ContractKind::Kv,
                    1 => ContractKind::Factory,
                    _ => ContractKind::SelfCall,
                };
                let runtime = match kind {
                    ContractKind::Kv => kv_runtime(),
                    ContractKind::Factory => factory_runtime(),
                    ContractKind::SelfCall => selfcall_runtime(),
                };
                spec.to = None;
                spec.input = initcode(&runtime).into();
                spec.gas_limit = 600_000;
                spec.value = random_value(&mut self.rng, 1000);
                let address = wallet.address.create(spec.nonce);
                self.contracts.push((address, kind));
            }
            // Call a contract.
            48..=89 if !self.contracts.is_empty() => {
                let (address, kind) = self.contracts[self.rng.gen_range(0..self.contracts.len())];
                spec.to = Some(address);
                spec.gas_limit = 400_000;
                spec.input = match kind {
                    ContractKind::Kv => match self.rng.gen_range(0..10) {
                        0 => Bytes::new(), // reverts with Error("empty")
                        1..=3 => kv_call(self.rng.gen_range(0..4), U256::ZERO), // clear: refund
                        _ => kv_call(
                            self.rng.gen_range(0..4),
                            random_value(&mut self.rng, 1 << 40),
                        ),
                    },
                    ContractKind::Factory => {
                        spec.value = random_value(&mut self.rng, 100);
                        Bytes::new()
                    }
                    ContractKind::SelfCall => word(self.rng.gen_range(0..5)),
                };
                if self.rng.gen_ratio(1, 10) {
                    spec.gas_limit = 30_000; // runs out of gas: halts
                }
            }
            // Invalid transactions: nonce too high, value beyond any balance, gas below intrinsic.
            _ => {
                valid = false;
                spec.to = Some(self.wallets[0].address);
                match self.rng.gen_range(0..3) {
                    0 => spec.nonce += 3,
                    1 => spec.value = U256::from(u128::MAX),
                    _ => spec.gas_limit = 20_000,
                }
            }
        }
        if spec.tx_type == TxType::Eip1559 && spec.priority_fee > spec.gas_price {
            valid = false;
        }
        if !valid {
            if let Some(&(address, _)) = self.contracts.last() {
                if spec.to.is_none() && address == wallet.address.create(spec.nonce) {
                    self.contracts.pop();
                }
            }
        }
        let tx = sign(&wallet, &spec);
        if valid {
            *self.nonces.get_mut(&wallet.address).unwrap() += 1;
        }
        tx
    }
}

/// The Ethereum mapping of a signed transaction to revm's environment (effective percentage 255).
fn reference_tx_env(tx: &TxEnvelope, caller: Address) -> TxEnv {
    let (tx_type, gas_price, priority) = match tx {
        TxEnvelope::Legacy(t) => (0, t.tx().gas_price, None),
        TxEnvelope::Eip2930(t) => (1, t.tx().gas_price, None),
        TxEnvelope::Eip1559(t) => (
            2,
            t.tx().max_fee_per_gas,
            Some(t.tx().max_priority_fee_per_gas),
        ),
        _ => unreachable!("the generator signs only these"),
    };
    TxEnv {
        tx_type,
        caller,
        gas_limit: tx.gas_limit(),
        gas_price,
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: priority,
        ..Default::default()
    }
}

struct RefTx {
    result: Option<ExecutionResult>,
}

fn run_reference(
    db: &mut CacheDB<EmptyDB>,
    number: u64,
    timestamp: u64,
    txs: &[TxEnvelope],
) -> Vec<RefTx> {
    let block = BlockEnv {
        number: U256::from(number),
        beneficiary: COINBASE,
        timestamp: U256::from(timestamp),
        gas_limit: ExecutorConfig::default().block_gas_limit,
        basefee: 0,
        difficulty: U256::ZERO,
        prevrandao: Some(B256::ZERO),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
        )),
        ..Default::default()
    };
    let mut evm = Context::mainnet()
        .with_db(&mut *db)
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(SpecId::CANCUN);
            cfg.chain_id = CHAIN_ID;
        })
        .with_block(block)
        .build_mainnet();
    txs.iter()
        .map(|tx| {
            let caller = tx.recover_signer().unwrap();
            RefTx {
                result: evm.transact_commit(reference_tx_env(tx, caller)).ok(),
            }
        })
        .collect()
}

fn genesis(wallets: &[Wallet]) -> (Vec<GenesisAccount>, CacheDB<EmptyDB>) {
    let mut accounts: Vec<GenesisAccount> = wallets
        .iter()
        .map(|w| GenesisAccount {
            address: w.address,
            balance: U256::from(10u128.pow(22)),
            ..Default::default()
        })
        .collect();
    accounts.push(GenesisAccount {
        address: GENESIS_KV,
        balance: U256::from(5),
        nonce: 1,
        code: kv_runtime().into(),
        storage: vec![
            (U256::from(1), U256::from(7)),
            (U256::from(3), U256::from(9)),
        ],
    });
    let mut db = CacheDB::new(EmptyDB::default());
    for account in &accounts {
        let code = Bytecode::new_legacy(account.code.clone());
        db.insert_account_info(
            account.address,
            AccountInfo {
                balance: account.balance,
                nonce: account.nonce,
                code_hash: keccak256(&account.code),
                code: Some(code),
                ..Default::default()
            },
        );
        for (slot, value) in &account.storage {
            db.insert_account_storage(account.address, *slot, *value)
                .unwrap();
        }
    }
    (accounts, db)
}

/// Every tree entry the reference state implies, plus the system contract's block data.
fn expected_entries(db: &CacheDB<EmptyDB>, system: &BTreeMap<U256, U256>) -> Vec<(Key, U256)> {
    let mut out = Vec::new();
    for (address, account) in &db.cache.accounts {
        let info = &account.info;
        out.push((account_key(*address, LeafKind::Balance), info.balance));
        out.push((
            account_key(*address, LeafKind::Nonce),
            U256::from(info.nonce),
        ));
        let code = info
            .code
            .as_ref()
            .map(|c| c.original_bytes())
            .unwrap_or_default();
        if !code.is_empty() {
            let hash = linear_bytecode_hash(&code);
            out.push((
                account_key(*address, LeafKind::CodeHash),
                U256::from_limbs(hash),
            ));
            out.push((
                account_key(*address, LeafKind::CodeLength),
                U256::from(code.len()),
            ));
        }
        for (slot, value) in &account.storage {
            out.push((storage_key(*address, *slot), *value));
        }
    }
    for (slot, value) in system {
        out.push((storage_key(SYSTEM_ADDRESS, *slot), *value));
    }
    out
}

fn compare_results(response: &ProcessBatchResponse, reference: &[Vec<RefTx>], context: &str) {
    for (block, ref_block) in response.blocks.iter().zip(reference) {
        let mut cumulative = 0u64;
        for (i, (ours, theirs)) in block.transactions.iter().zip(ref_block).enumerate() {
            let at = format!("{context} block {} tx {i}", block.number);
            match &theirs.result {
                None => {
                    assert_eq!(
                        ours.status,
                        TxStatus::Invalid,
                        "{at}: reference rejected it"
                    );
                    assert!(ours.receipt.is_none() && ours.error.is_some(), "{at}");
                }
                Some(result) => {
                    let status = match result {
                        ExecutionResult::Success { .. } => TxStatus::Success,
                        ExecutionResult::Revert { .. } => TxStatus::Reverted,
                        ExecutionResult::Halt { .. } => TxStatus::Halted,
                    };
                    assert_eq!(ours.status, status, "{at}: status ({:?})", ours.error);
                    assert_eq!(ours.gas_used, result.tx_gas_used(), "{at}: gas used");
                    assert_eq!(ours.logs, result.logs(), "{at}: logs");
                    let output = result.output().cloned().unwrap_or_default();
                    assert_eq!(ours.output, output, "{at}: output");
                    let created = match result {
                        ExecutionResult::Success {
                            output: Output::Create(_, a),
                            ..
                        } => *a,
                        _ => None,
                    };
                    assert_eq!(ours.contract_address, created, "{at}: created address");
                    cumulative += result.tx_gas_used();
                    let receipt = ours
                        .receipt
                        .as_ref()
                        .expect("included transactions have receipts");
                    assert_eq!(
                        receipt.cumulative_gas_used(),
                        cumulative,
                        "{at}: cumulative gas"
                    );
                    assert_eq!(
                        receipt.status(),
                        status == TxStatus::Success,
                        "{at}: receipt status"
                    );
                    assert_eq!(receipt.logs(), result.logs(), "{at}: receipt logs");
                }
            }
        }
        assert_eq!(
            block.gas_used, cumulative,
            "{context} block {} gas",
            block.number
        );
    }
}

fn compare_state(executor: &Executor, root: StateRoot, db: &CacheDB<EmptyDB>, context: &str) {
    for (address, account) in &db.cache.accounts {
        let at = format!("{context} account {address}");
        assert_eq!(
            executor.balance(root, *address).unwrap(),
            account.info.balance,
            "{at}: balance"
        );
        assert_eq!(
            executor.nonce(root, *address).unwrap(),
            account.info.nonce,
            "{at}: nonce"
        );
        let code = account
            .info
            .code
            .as_ref()
            .map(|c| c.original_bytes())
            .unwrap_or_default();
        assert_eq!(executor.code(root, *address).unwrap(), code, "{at}: code");
        for (slot, value) in &account.storage {
            assert_eq!(
                executor.storage(root, *address, *slot).unwrap(),
                *value,
                "{at} slot {slot}"
            );
        }
    }
}

#[test]
fn executor_matches_revm_over_an_in_memory_database() {
    let (rng, _) = seeded_rng("ZKNODE_DIFF_SEED", 0x5eed);
    let wallets: Vec<Wallet> = (0..6).map(Wallet::from_seed).collect();
    let dir = tempfile::tempdir().unwrap();
    let executor = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    let (accounts, mut reference) = genesis(&wallets);
    let mut root = executor.set_genesis(&accounts).unwrap();

    let mut generator = Generator {
        rng,
        nonces: wallets.iter().map(|w| (w.address, 0)).collect(),
        wallets: wallets.clone(),
        contracts: vec![(GENESIS_KV, ContractKind::Kv)],
        strangers: Vec::new(),
    };
    let mut system: BTreeMap<U256, U256> = BTreeMap::new();
    let mut number = 0u64;
    let mut timestamp = 0u64;
    let mut last_hash = B256::ZERO;
    let mut history: Vec<(StateRoot, Vec<(Address, U256)>)> = Vec::new();
    let mut executed = 0usize;

    let mut tally: HashMap<TxStatus, usize> = HashMap::new();
    let (mut creations, mut logs, mut factory_creates) = (0, 0, 0);
    for batch_index in 0..10 {
        let blocks = if batch_index == 0 {
            generator.scripted()
        } else {
            let block_count = generator.rng.gen_range(1..=3);
            let mut blocks = Vec::new();
            for _ in 0..block_count {
                let tx_count = generator.rng.gen_range(0..=8);
                let txs: Vec<TxEnvelope> = (0..tx_count).map(|_| generator.next_tx()).collect();
                blocks.push((generator.rng.gen_range(0..5u32), txs));
            }
            blocks
        };
        let data = batch_bytes(&blocks);
        let mut request = ProcessBatchRequest {
            old_state_root: root,
            batch_data: data,
            chain_id: CHAIN_ID,
            fork_id: 0,
            timestamp_limit: u64::MAX,
            coinbase: COINBASE,
            update_tree: false,
            include_witness: batch_index % 2 == 0,
        };
        // A dry run gives the same results and persists nothing.
        let dry = executor.process_batch(&request).unwrap();
        request.update_tree = true;
        let response = executor.process_batch(&request).unwrap();
        assert!(!dry.committed && response.committed);
        assert_eq!(dry.new_state_root, response.new_state_root);
        assert_eq!(dry.blocks, response.blocks);

        let mut ref_results = Vec::new();
        for ((delta, txs), block) in blocks.iter().zip(&response.blocks) {
            number += 1;
            timestamp += u64::from(*delta);
            assert_eq!((block.number, block.timestamp), (number, timestamp));
            assert_eq!(block.parent_hash, last_hash, "blocks chain");
            ref_results.push(run_reference(&mut reference, number, timestamp, txs));
            executed += txs.len();
            system.insert(LAST_BLOCK_NUMBER_SLOT, U256::from(number));
            system.insert(LAST_TIMESTAMP_SLOT, U256::from(timestamp));
            system.insert(block_hash_slot(number), U256::from_be_bytes(block.hash.0));
            last_hash = block.hash;
        }
        let context = format!("batch {batch_index}");
        compare_results(&response, &ref_results, &context);
        for tx in response.blocks.iter().flat_map(|b| &b.transactions) {
            *tally.entry(tx.status).or_default() += 1;
            creations += usize::from(tx.contract_address.is_some());
            logs += tx.logs.len();
            factory_creates += tx.logs.iter().filter(|l| l.topics().len() == 2).count();
        }
        root = response.new_state_root;
        compare_state(&executor, root, &reference, &context);

        // The root is the root of exactly the reference's state, rebuilt from scratch.
        let expected = expected_entries(&reference, &system);
        assert_eq!(
            StateRoot(root_from_entries(&expected)),
            root,
            "{context}: rebuilt root"
        );

        if let Some(witness) = &response.witness {
            witness.verify().unwrap();
            assert_eq!(witness.new_state_root, root);
            for tx in &witness.transactions {
                if tx.provability.is_provable() {
                    let fee = U256::from(tx.gas_used) * U256::from(tx.effective_gas_price);
                    let moved = if tx.recipient == Some(tx.sender) {
                        U256::ZERO
                    } else {
                        tx.value
                    };
                    assert_eq!(
                        tx.sender_balance_after,
                        tx.sender_balance_before - moved - fee
                    );
                    assert_eq!(tx.gas_used, 21_000);
                }
            }
        }
        let balances = wallets
            .iter()
            .map(|w| (w.address, reference.cache.accounts[&w.address].info.balance))
            .collect();
        history.push((root, balances));
    }
    assert!(
        executed > 20,
        "the sequence executed {executed} transactions"
    );
    for status in [
        TxStatus::Success,
        TxStatus::Reverted,
        TxStatus::Halted,
        TxStatus::Invalid,
    ] {
        assert!(
            tally.get(&status).copied().unwrap_or(0) > 0,
            "no {status:?} transaction: {tally:?}"
        );
    }
    assert!(
        creations >= 3 && logs > 0 && factory_creates > 0,
        "{creations} {logs} {factory_creates}"
    );

    // Every past root is still readable after later batches.
    for (past_root, balances) in &history {
        for (address, balance) in balances {
            assert_eq!(executor.balance(*past_root, *address).unwrap(), *balance);
        }
    }
    // Reopening the store gives the same latest root.
    drop(executor);
    let reopened = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    assert_eq!(reopened.latest_root().unwrap(), root);
    compare_state(&reopened, root, &reference, "after reopen");
}

#[test]
fn dry_run_roots_are_not_readable_and_unknown_roots_are_not_found() {
    let wallets: Vec<Wallet> = (0..2).map(Wallet::from_seed).collect();
    let dir = tempfile::tempdir().unwrap();
    let executor = Executor::open(dir.path(), ExecutorConfig::default()).unwrap();
    let (accounts, _) = genesis(&wallets);
    let root = executor.set_genesis(&accounts).unwrap();
    let tx = sign(
        &wallets[0],
        &TxSpec::transfer(0, wallets[1].address, U256::from(5)),
    );
    let request = ProcessBatchRequest {
        old_state_root: root,
        batch_data: batch_bytes(&[(1, vec![tx])]),
        chain_id: CHAIN_ID,
        timestamp_limit: u64::MAX,
        coinbase: COINBASE,
        ..Default::default()
    };
    let response = executor.process_batch(&request).unwrap();
    assert_ne!(response.new_state_root, root);
    let err = executor
        .balance(response.new_state_root, wallets[1].address)
        .unwrap_err();
    assert!(matches!(err, ExecutorError::UnknownStateRoot(r) if r == response.new_state_root));
    assert!(err.is_not_found());
    let again = ProcessBatchRequest {
        old_state_root: response.new_state_root,
        ..request.clone()
    };
    assert!(executor.process_batch(&again).unwrap_err().is_not_found());

    // Timestamp over the limit: the whole request fails, as a bad argument.
    let late = ProcessBatchRequest {
        timestamp_limit: 0,
        ..request.clone()
    };
    let err = executor.process_batch(&late).unwrap_err();
    assert!(matches!(
        err,
        ExecutorError::TimestampOverLimit {
            block_index: 0,
            timestamp: 1,
            limit: 0
        }
    ));
    assert!(err.is_invalid_argument());

    // Malformed batch data: a precise error, as a bad argument.
    let bad = ProcessBatchRequest {
        batch_data: vec![0x0b, 0, 0],
        ..request.clone()
    };
    let err = executor.process_batch(&bad).unwrap_err();
    assert!(
        matches!(err, ExecutorError::MalformedBatchData { .. }),
        "{err}"
    );
    assert!(err.is_invalid_argument());
}
