//! Shared helpers for the executor's integration tests: keys and signing, a tiny EVM assembler, the
//! test contracts, and batch building.
#![allow(dead_code)]

use std::collections::HashMap;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, Bytes, Signature, TxKind, B256, U256};
use k256::ecdsa::SigningKey;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zknode_executor::batch_data::{encode_batch, BatchTransaction, DecodedBatch, L2BlockData};

pub mod server;

pub const CHAIN_ID: u64 = 1001;

/// A seeded RNG; the seed comes from `env_var` when set (to replay a failure) and is printed.
pub fn seeded_rng(env_var: &str, default: u64) -> (ChaCha8Rng, u64) {
    let seed = std::env::var(env_var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(default);
            t ^ default
        });
    eprintln!("seed: {seed} (replay with {env_var}={seed})");
    (ChaCha8Rng::seed_from_u64(seed), seed)
}

/// A key pair with its address.
#[derive(Clone)]
pub struct Wallet {
    pub key: SigningKey,
    pub address: Address,
}

impl Wallet {
    pub fn from_seed(seed: u64) -> Wallet {
        let mut bytes = [0u8; 32];
        bytes[24..].copy_from_slice(&seed.wrapping_add(1).to_be_bytes());
        bytes[0] = 0x42;
        let key = SigningKey::from_slice(&bytes).unwrap();
        let address = Address::from_public_key(key.verifying_key());
        Wallet { key, address }
    }

    pub fn sign_hash(&self, hash: &B256) -> Signature {
        let (sig, recid) = self.key.sign_prehash_recoverable(hash.as_slice()).unwrap();
        Signature::from((sig, recid))
    }
}

/// Transaction kinds the tests sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxType {
    Legacy,
    LegacyNoChainId,
    Eip2930,
    Eip1559,
}

/// What to sign.
#[derive(Clone, Debug)]
pub struct TxSpec {
    pub tx_type: TxType,
    pub nonce: u64,
    pub gas_price: u128,
    pub priority_fee: u128,
    pub gas_limit: u64,
    pub to: Option<Address>,
    pub value: U256,
    pub input: Bytes,
    pub access_list: AccessList,
}

impl TxSpec {
    pub fn transfer(nonce: u64, to: Address, value: U256) -> TxSpec {
        TxSpec {
            tx_type: TxType::Legacy,
            nonce,
            gas_price: 1_000_000_000,
            priority_fee: 1_000_000_000,
            gas_limit: 21_000,
            to: Some(to),
            value,
            input: Bytes::new(),
            access_list: AccessList::default(),
        }
    }
}

pub fn sign(wallet: &Wallet, spec: &TxSpec) -> TxEnvelope {
    let kind = spec.to.map_or(TxKind::Create, TxKind::Call);
    match spec.tx_type {
        TxType::Legacy | TxType::LegacyNoChainId => {
            let tx = TxLegacy {
                chain_id: (spec.tx_type == TxType::Legacy).then_some(CHAIN_ID),
                nonce: spec.nonce,
                gas_price: spec.gas_price,
                gas_limit: spec.gas_limit,
                to: kind,
                value: spec.value,
                input: spec.input.clone(),
            };
            let sig = wallet.sign_hash(&tx.signature_hash());
            TxEnvelope::Legacy(tx.into_signed(sig))
        }
        TxType::Eip2930 => {
            let tx = TxEip2930 {
                chain_id: CHAIN_ID,
                nonce: spec.nonce,
                gas_price: spec.gas_price,
                gas_limit: spec.gas_limit,
                to: kind,
                value: spec.value,
                access_list: spec.access_list.clone(),
                input: spec.input.clone(),
            };
            let sig = wallet.sign_hash(&tx.signature_hash());
            TxEnvelope::Eip2930(tx.into_signed(sig))
        }
        TxType::Eip1559 => {
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: spec.nonce,
                gas_limit: spec.gas_limit,
                max_fee_per_gas: spec.gas_price,
                max_priority_fee_per_gas: spec.priority_fee,
                to: kind,
                value: spec.value,
                access_list: spec.access_list.clone(),
                input: spec.input.clone(),
            };
            let sig = wallet.sign_hash(&tx.signature_hash());
            TxEnvelope::Eip1559(tx.into_signed(sig))
        }
    }
}

pub fn access_list_for(address: Address, slots: &[u64]) -> AccessList {
    AccessList(vec![AccessListItem {
        address,
        storage_keys: slots.iter().map(|s| B256::from(U256::from(*s))).collect(),
    }])
}

/// One L2 block of a batch: delta timestamp and transactions (effective percentage 255).
pub fn batch_bytes(blocks: &[(u32, Vec<TxEnvelope>)]) -> Vec<u8> {
    batch_bytes_with_pct(
        &blocks
            .iter()
            .map(|(d, txs)| (*d, txs.iter().map(|t| (t.clone(), 255u8)).collect()))
            .collect::<Vec<_>>(),
    )
}

pub fn batch_bytes_with_pct(blocks: &[(u32, Vec<(TxEnvelope, u8)>)]) -> Vec<u8> {
    let batch = DecodedBatch {
        blocks: blocks
            .iter()
            .map(|(delta, txs)| L2BlockData {
                delta_timestamp: *delta,
                l1_info_index: 0,
                transactions: txs
                    .iter()
                    .map(|(tx, pct)| BatchTransaction {
                        tx: tx.clone(),
                        effective_percentage: *pct,
                    })
                    .collect(),
            })
            .collect(),
    };
    encode_batch(&batch).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A tiny EVM assembler with labels (jump targets are PUSH2).

pub mod op {
    pub const STOP: u8 = 0x00;
    pub const ADD: u8 = 0x01;
    pub const SUB: u8 = 0x03;
    pub const LT: u8 = 0x10;
    pub const GT: u8 = 0x11;
    pub const EQ: u8 = 0x14;
    pub const ISZERO: u8 = 0x15;
    pub const ADDRESS: u8 = 0x30;
    pub const CALLER: u8 = 0x33;
    pub const CALLVALUE: u8 = 0x34;
    pub const CALLDATALOAD: u8 = 0x35;
    pub const CALLDATASIZE: u8 = 0x36;
    pub const CODECOPY: u8 = 0x39;
    pub const RETURNDATASIZE: u8 = 0x3d;
    pub const SELFBALANCE: u8 = 0x47;
    pub const POP: u8 = 0x50;
    pub const MLOAD: u8 = 0x51;
    pub const MSTORE: u8 = 0x52;
    pub const SLOAD: u8 = 0x54;
    pub const SSTORE: u8 = 0x55;
    pub const JUMP: u8 = 0x56;
    pub const JUMPI: u8 = 0x57;
    pub const GAS: u8 = 0x5a;
    pub const JUMPDEST: u8 = 0x5b;
    pub const PUSH0: u8 = 0x5f;
    pub const PUSH1: u8 = 0x60;
    pub const PUSH2: u8 = 0x61;
    pub const PUSH32: u8 = 0x7f;
    pub const DUP1: u8 = 0x80;
    pub const DUP2: u8 = 0x81;
    pub const SWAP1: u8 = 0x90;
    pub const LOG1: u8 = 0xa1;
    pub const LOG2: u8 = 0xa2;
    pub const CREATE: u8 = 0xf0;
    pub const CALL: u8 = 0xf1;
    pub const RETURN: u8 = 0xf3;
    pub const REVERT: u8 = 0xfd;
    pub const INVALID: u8 = 0xfe;
}

#[derive(Default)]
pub struct Asm {
    code: Vec<u8>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, &'static str)>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }
    pub fn op(mut self, byte: u8) -> Asm {
        self.code.push(byte);
        self
    }
    pub fn ops(mut self, bytes: &[u8]) -> Asm {
        self.code.extend_from_slice(bytes);
        self
    }
    /// The shortest PUSH of `value` (PUSH0 for zero).
    pub fn push(mut self, value: U256) -> Asm {
        if value.is_zero() {
            self.code.push(op::PUSH0);
            return self;
        }
        let bytes = value.to_be_bytes_trimmed_vec();
        self.code.push(op::PUSH1 + bytes.len() as u8 - 1);
        self.code.extend_from_slice(&bytes);
        self
    }
    pub fn push_u64(self, value: u64) -> Asm {
        self.push(U256::from(value))
    }
    pub fn push_label(mut self, label: &'static str) -> Asm {
        self.code.push(op::PUSH2);
        self.fixups.push((self.code.len(), label));
        self.code.extend_from_slice(&[0, 0]);
        self
    }
    pub fn label(mut self, label: &'static str) -> Asm {
        self.labels.insert(label, self.code.len());
        self.code.push(op::JUMPDEST);
        self
    }
    pub fn build(mut self) -> Vec<u8> {
        for (at, label) in &self.fixups {
            let target = self.labels[label];
            self.code[*at..*at + 2].copy_from_slice(&(target as u16).to_be_bytes());
        }
        self.code
    }
}

/// Initcode that returns `runtime` (and runs `constructor` first).
pub fn initcode_with(constructor: &[u8], runtime: &[u8]) -> Vec<u8> {
    // constructor ‖ PUSH2 len PUSH2 offset PUSH0 CODECOPY PUSH2 len PUSH0 RETURN ‖ runtime
    let header_len = constructor.len() + 3 + 3 + 1 + 1 + 3 + 1 + 1;
    let len = runtime.len() as u16;
    let offset = header_len as u16;
    let mut out = constructor.to_vec();
    out.push(op::PUSH2);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(op::PUSH2);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&[op::PUSH0, op::CODECOPY, op::PUSH2]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[op::PUSH0, op::RETURN]);
    assert_eq!(out.len(), header_len);
    out.extend_from_slice(runtime);
    out
}

pub fn initcode(runtime: &[u8]) -> Vec<u8> {
    initcode_with(&[], runtime)
}

/// Key/value contract. Calldata `slot (32) ‖ value (32)`: `sstore(slot, value)`, then
/// `log1(value as data, topic = slot)`. Empty calldata reverts with `Error("empty")`. Writing zero
/// to a set slot earns the SSTORE-clear refund.
///
/// ```text
/// CALLDATASIZE ISZERO PUSH2 @revert JUMPI
/// PUSH1 0x20 CALLDATALOAD PUSH0 CALLDATALOAD SSTORE         ; sstore(cd[0], cd[32])
/// PUSH1 0x20 CALLDATALOAD PUSH0 MSTORE                       ; mem[0] = value
/// PUSH0 CALLDATALOAD PUSH1 0x20 PUSH0 LOG1 STOP              ; log1(0, 32, slot)
/// @revert: abi.encodeWithSignature("Error(string)", "empty") at mem[0..100]; REVERT(0, 100)
/// ```
pub fn kv_runtime() -> Vec<u8> {
    use op::*;
    let mut selector = [0u8; 32];
    selector[..4].copy_from_slice(&[0x08, 0xc3, 0x79, 0xa0]);
    let mut text = [0u8; 32];
    text[..5].copy_from_slice(b"empty");
    Asm::new()
        .ops(&[CALLDATASIZE, ISZERO])
        .push_label("revert")
        .op(JUMPI)
        .push_u64(0x20)
        .ops(&[CALLDATALOAD, PUSH0, CALLDATALOAD, SSTORE])
        .push_u64(0x20)
        .ops(&[CALLDATALOAD, PUSH0, MSTORE, PUSH0, CALLDATALOAD])
        .push_u64(0x20)
        .ops(&[PUSH0, LOG1, STOP])
        .label("revert")
        .push(U256::from_be_bytes(selector))
        .ops(&[PUSH0, MSTORE])
        .push_u64(0x20)
        .push_u64(4)
        .op(MSTORE)
        .push_u64(5)
        .push_u64(36)
        .op(MSTORE)
        .push(U256::from_be_bytes(text))
        .push_u64(68)
        .op(MSTORE)
        .push_u64(100)
        .ops(&[PUSH0, REVERT])
        .build()
}

/// Factory: each call CREATEs a kv contract (forwarding the call's value), stores the new address in
/// slot 0, bumps a counter in slot 1 and logs the address (LOG2 with topic 0xfac).
///
/// ```text
/// PUSH2 len PUSH2 @child PUSH0 CODECOPY            ; mem[0..len] = child initcode
/// PUSH2 len PUSH0 CALLVALUE CREATE                 ; addr = create(callvalue, 0, len)
/// DUP1 PUSH0 SSTORE                                ; sstore(0, addr)
/// PUSH1 1 SLOAD PUSH1 1 ADD PUSH1 1 SSTORE         ; sstore(1, sload(1) + 1)
/// PUSH0 MSTORE PUSH2 0xfac PUSH0 PUSH1 0x20 SWAP1 LOG2 ... STOP
/// @child: <kv initcode>
/// ```
pub fn factory_runtime() -> Vec<u8> {
    use op::*;
    let child = initcode(&kv_runtime());
    let len = child.len() as u64;
    let mut head = Asm::new()
        .push_u64(len)
        .push_label("child")
        .ops(&[PUSH0, CODECOPY])
        .push_u64(len)
        .ops(&[PUSH0, CALLVALUE, CREATE])
        .ops(&[DUP1, PUSH0, SSTORE])
        .push_u64(1)
        .op(SLOAD)
        .push_u64(1)
        .op(ADD)
        .push_u64(1)
        .op(SSTORE)
        .ops(&[PUSH0, MSTORE])
        .push_u64(0xfac)
        .push_u64(0xbee)
        .push_u64(0x20)
        .ops(&[PUSH0, LOG2, STOP])
        .label("child")
        .build();
    // The label's JUMPDEST byte precedes the child: CODECOPY starts one byte later.
    let child_at = head.len();
    head.extend_from_slice(&child);
    // Patch the PUSH2 of @child (bytes 3..5 after a PUSH1/PUSH2 of len) to point past the JUMPDEST.
    let push_len = if len < 256 { 2 } else { 3 };
    head[push_len + 1..push_len + 3].copy_from_slice(&(child_at as u16).to_be_bytes());
    head
}

/// Recursive self-caller. Calldata `n (32)`: `sstore(n, n + 1)`, and if `n > 0`,
/// `call(gas, address, 0, n - 1)` (a self-call), then `sstore(0x100 + n, returndatasize)`.
///
/// ```text
/// PUSH0 CALLDATALOAD DUP1 PUSH1 1 ADD SWAP1 SSTORE           ; sstore(n, n + 1)
/// PUSH0 CALLDATALOAD ISZERO PUSH2 @end JUMPI
/// PUSH1 1 PUSH0 CALLDATALOAD SUB PUSH0 MSTORE                ; mem[0] = n - 1
/// PUSH0 PUSH0 PUSH1 0x20 PUSH0 PUSH0 ADDRESS GAS CALL POP    ; call(gas, self, 0, 0, 32, 0, 0)
/// RETURNDATASIZE PUSH0 CALLDATALOAD PUSH2 0x100 ADD SSTORE
/// @end: STOP
/// ```
pub fn selfcall_runtime() -> Vec<u8> {
    use op::*;
    Asm::new()
        .ops(&[PUSH0, CALLDATALOAD, DUP1])
        .push_u64(1)
        .ops(&[ADD, SWAP1, SSTORE])
        .ops(&[PUSH0, CALLDATALOAD, ISZERO])
        .push_label("end")
        .op(JUMPI)
        .push_u64(1)
        .ops(&[PUSH0, CALLDATALOAD, SUB, PUSH0, MSTORE])
        .ops(&[PUSH0, PUSH0])
        .push_u64(0x20)
        .ops(&[PUSH0, PUSH0, ADDRESS, GAS, CALL, POP])
        .ops(&[RETURNDATASIZE, PUSH0, CALLDATALOAD])
        .push_u64(0x100)
        .ops(&[ADD, SSTORE])
        .label("end")
        .op(STOP)
        .build()
}

/// Calldata for the kv contract.
pub fn kv_call(slot: u64, value: U256) -> Bytes {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&U256::from(slot).to_be_bytes::<32>());
    data.extend_from_slice(&value.to_be_bytes::<32>());
    data.into()
}

pub fn word(n: u64) -> Bytes {
    U256::from(n).to_be_bytes::<32>().to_vec().into()
}

pub fn random_value(rng: &mut ChaCha8Rng, max: u64) -> U256 {
    U256::from(rng.gen_range(0..=max))
}
