//! Pool admission: the zkEVM pool's checks, in its order, each failure with the message Ethereum
//! clients recognise (geth's where one exists, the zkEVM node's otherwise).
//!
//! Order (as the zkEVM node): decode and type → size → signature (sender) → chain id → blocked
//! sender → nonce (too low, window) → global capacity → minimum gas price → block gas limit →
//! intrinsic gas → balance → provability → replacement. The checks that need state take it as
//! input ([`AccountState`], [`PoolState`]) so they are pure and tested here; the RPC handler fetches
//! the state and stores the result in one database transaction.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope, TxType};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, U256};

use crate::config::PoolConfig;

/// JSON-RPC error code of every pool rejection (geth's and the zkEVM node's "server error"),
/// except [`Rejection::Malformed`], which the RPC answers as invalid params (-32602).
pub const REJECTION_CODE: i32 = -32000;

/// Why the pool refused a transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("rlp: {0}")]
    Malformed(String),
    #[error("transaction type not supported")]
    UnsupportedType,
    #[error("oversized data")]
    Oversized,
    #[error("invalid sender")]
    InvalidSignature,
    #[error("invalid chain id for signer")]
    WrongChainId,
    #[error("blocked address")]
    BlockedSender,
    #[error("nonce too low: next nonce {next}, tx nonce {nonce}")]
    NonceTooLow { next: u64, nonce: u64 },
    #[error("nonce too high: next nonce {next}, tx nonce {nonce}, at most {window} ahead")]
    NonceTooHigh { next: u64, nonce: u64, window: u64 },
    #[error("txpool is full")]
    PoolFull,
    #[error("gas price too low: {price} below the minimum {minimum}")]
    GasPriceTooLow { price: u128, minimum: u128 },
    #[error("exceeds block gas limit")]
    GasLimitTooHigh,
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGasTooLow { have: u64, want: u64 },
    #[error("insufficient funds for gas * price + value: balance {balance}, cost {cost}")]
    InsufficientFunds { balance: U256, cost: U256 },
    #[error("transaction not provable yet: {0}")]
    NotProvable(String),
    #[error("already known")]
    AlreadyKnown,
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
}

/// The sender's account at the latest state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    pub nonce: u64,
    pub balance: U256,
}

/// What the pool already holds that matters for one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Pending transactions in the whole pool.
    pub pending: u64,
    /// Whether the sender is blocked.
    pub sender_blocked: bool,
    /// The live pool transaction with the same sender and nonce: its hash and gas price.
    pub same_nonce: Option<(B256, u128)>,
}

/// A transaction that passed the checks that need no state.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedTx {
    pub tx: TxEnvelope,
    pub hash: B256,
    pub sender: Address,
    pub encoded_len: usize,
}

impl DecodedTx {
    /// The price the pool orders by and compares replacements with: the legacy gas price, or the
    /// fee cap of an EIP-1559 transaction (the zkEVM has no base fee, so the cap is what is paid at
    /// most).
    pub fn gas_price(&self) -> u128 {
        self.tx.max_fee_per_gas()
    }

    /// Gas limit × price + value: what the sender must hold. Saturating: U256 `+` wraps, and a
    /// value near 2^256 must not wrap around to a small cost that passes the balance check.
    pub fn cost(&self) -> U256 {
        (U256::from(self.tx.gas_limit()) * U256::from(self.gas_price()))
            .saturating_add(self.tx.value())
    }
}

/// Checks that need no state: decoding, type, size, signature, chain id.
pub fn decode(raw: &[u8], chain_id: u64, config: &PoolConfig) -> Result<DecodedTx, Rejection> {
    if raw.len() > config.max_tx_bytes as usize {
        return Err(Rejection::Oversized);
    }
    let mut cursor = raw;
    let tx =
        TxEnvelope::decode_2718(&mut cursor).map_err(|e| Rejection::Malformed(e.to_string()))?;
    if !cursor.is_empty() {
        return Err(Rejection::Malformed(format!(
            "{} trailing bytes",
            cursor.len()
        )));
    }
    // alloy's fallback for a first byte above 0x7f also takes a typed transaction's RLP list
    // without its type byte, even after a stray byte (0x81 ‖ list): only the transaction's own
    // EIP-2718 encoding is accepted.
    if tx.encoded_2718() != raw {
        return Err(Rejection::Malformed(
            "not the canonical EIP-2718 encoding".into(),
        ));
    }
    if !matches!(
        tx.tx_type(),
        TxType::Legacy | TxType::Eip2930 | TxType::Eip1559
    ) {
        return Err(Rejection::UnsupportedType);
    }
    let sender = tx
        .recover_signer()
        .map_err(|_| Rejection::InvalidSignature)?;
    // A legacy transaction without a chain id (pre-EIP-155) replays on any chain: refused, as the
    // zkEVM node does.
    if tx.chain_id() != Some(chain_id) {
        return Err(Rejection::WrongChainId);
    }
    Ok(DecodedTx {
        hash: *tx.tx_hash(),
        tx,
        sender,
        encoded_len: raw.len(),
    })
}

/// Gas charged before execution: 21000 (+32000 for a creation), 4 per zero and 16 per non-zero
/// calldata byte, 2400 per access-list address and 1900 per storage key, and for a creation 2 per
/// 32-byte word of init code (EIP-3860).
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let input = tx.input();
    let zeros = input.iter().filter(|&&b| b == 0).count() as u64;
    let non_zeros = input.len() as u64 - zeros;
    let mut gas = 21_000u64
        .saturating_add(zeros.saturating_mul(4))
        .saturating_add(non_zeros.saturating_mul(16));
    if tx.kind().is_create() {
        let words = (input.len() as u64).div_ceil(32);
        gas = gas
            .saturating_add(32_000)
            .saturating_add(words.saturating_mul(2));
    }
    if let Some(list) = tx.access_list() {
        for item in list.iter() {
            gas = gas
                .saturating_add(2_400)
                .saturating_add((item.storage_keys.len() as u64).saturating_mul(1_900));
        }
    }
    gas
}

/// The checks that need state, in the pool's order, for a decoded transaction. `provability` is
/// the executor's verdict (`Err(reason)` when the batch AIR cannot prove it yet).
pub fn check(
    tx: &DecodedTx,
    account: AccountState,
    pool: &PoolState,
    provability: Result<(), String>,
    block_gas_limit: u64,
    config: &PoolConfig,
) -> Result<(), Rejection> {
    if pool.sender_blocked {
        return Err(Rejection::BlockedSender);
    }
    let nonce = tx.tx.nonce();
    if nonce < account.nonce {
        return Err(Rejection::NonceTooLow {
            next: account.nonce,
            nonce,
        });
    }
    if nonce - account.nonce >= config.account_queue {
        return Err(Rejection::NonceTooHigh {
            next: account.nonce,
            nonce,
            window: config.account_queue,
        });
    }
    if pool.same_nonce.is_none() && pool.pending >= config.global_queue {
        return Err(Rejection::PoolFull);
    }
    let price = tx.gas_price();
    if price < u128::from(config.min_gas_price) {
        return Err(Rejection::GasPriceTooLow {
            price,
            minimum: u128::from(config.min_gas_price),
        });
    }
    if tx.tx.gas_limit() > block_gas_limit {
        return Err(Rejection::GasLimitTooHigh);
    }
    let want = intrinsic_gas(&tx.tx);
    if tx.tx.gas_limit() < want {
        return Err(Rejection::IntrinsicGasTooLow {
            have: tx.tx.gas_limit(),
            want,
        });
    }
    let cost = tx.cost();
    if account.balance < cost {
        return Err(Rejection::InsufficientFunds {
            balance: account.balance,
            cost,
        });
    }
    if let Err(reason) = provability {
        if !config.accept_unprovable {
            return Err(Rejection::NotProvable(reason));
        }
    }
    if let Some((hash, existing_price)) = pool.same_nonce {
        if hash == tx.hash {
            return Err(Rejection::AlreadyKnown);
        }
        // geth's rule: a replacement must pay at least 10% more.
        if price < existing_price.saturating_add(existing_price / 10) {
            return Err(Rejection::ReplacementUnderpriced);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::{Bytes, TxKind};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    use super::*;

    const CHAIN_ID: u64 = 1001;

    fn signer() -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).expect("a valid key")
    }

    fn legacy(
        nonce: u64,
        gas_price: u128,
        gas_limit: u64,
        chain_id: Option<u64>,
        input: Vec<u8>,
    ) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id,
            nonce,
            gas_price,
            gas_limit,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(1000),
            input: Bytes::from(input),
        };
        let signature = signer()
            .sign_hash_sync(&tx.signature_hash())
            .expect("signs");
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    }

    fn eip1559(nonce: u64, max_fee: u128) -> Vec<u8> {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: max_fee,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(5),
            ..Default::default()
        };
        let signature = signer()
            .sign_hash_sync(&tx.signature_hash())
            .expect("signs");
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    }

    fn config() -> PoolConfig {
        PoolConfig {
            min_gas_price: 1_000,
            ..PoolConfig::default()
        }
    }

    fn rich() -> AccountState {
        AccountState {
            nonce: 3,
            balance: U256::from(10u64.pow(18)),
        }
    }

    fn run(raw: &[u8], account: AccountState, pool: &PoolState) -> Result<DecodedTx, Rejection> {
        let tx = decode(raw, CHAIN_ID, &config())?;
        check(&tx, account, pool, Ok(()), 30_000_000, &config())?;
        Ok(tx)
    }

    #[test]
    fn a_good_transfer_is_accepted_and_names_its_sender() {
        let tx = run(
            &legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]),
            rich(),
            &PoolState::default(),
        )
        .expect("accepted");
        assert_eq!(tx.sender, signer().address());
        assert_eq!(tx.cost(), U256::from(21_000u64 * 2_000 + 1000));
        run(&eip1559(3, 5_000), rich(), &PoolState::default()).expect("typed accepted");
    }

    #[test]
    fn each_rejection_is_reached() {
        let ok = PoolState::default();
        let cases: Vec<(Vec<u8>, AccountState, PoolState, Rejection)> = vec![
            (
                vec![0xc0],
                rich(),
                ok.clone(),
                Rejection::Malformed(String::new()),
            ),
            (
                vec![0x03, 0xc0],
                rich(),
                ok.clone(),
                Rejection::Malformed(String::new()),
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![1; 200_000]),
                rich(),
                ok.clone(),
                Rejection::Oversized,
            ),
            (
                legacy(3, 2_000, 21_000, Some(7), vec![]),
                rich(),
                ok.clone(),
                Rejection::WrongChainId,
            ),
            (
                legacy(3, 2_000, 21_000, None, vec![]),
                rich(),
                ok.clone(),
                Rejection::WrongChainId,
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                PoolState {
                    sender_blocked: true,
                    ..ok.clone()
                },
                Rejection::BlockedSender,
            ),
            (
                legacy(2, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                ok.clone(),
                Rejection::NonceTooLow { next: 3, nonce: 2 },
            ),
            (
                legacy(3 + 64, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                ok.clone(),
                Rejection::NonceTooHigh {
                    next: 3,
                    nonce: 67,
                    window: 64,
                },
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                PoolState {
                    pending: 1024,
                    ..ok.clone()
                },
                Rejection::PoolFull,
            ),
            (
                legacy(3, 999, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                ok.clone(),
                Rejection::GasPriceTooLow {
                    price: 999,
                    minimum: 1_000,
                },
            ),
            (
                legacy(3, 2_000, 30_000_001, Some(CHAIN_ID), vec![]),
                rich(),
                ok.clone(),
                Rejection::GasLimitTooHigh,
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![0, 1]),
                rich(),
                ok.clone(),
                Rejection::IntrinsicGasTooLow {
                    have: 21_000,
                    want: 21_020,
                },
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                AccountState {
                    nonce: 3,
                    balance: U256::from(1),
                },
                ok.clone(),
                Rejection::InsufficientFunds {
                    balance: U256::from(1),
                    cost: U256::from(42_001_000u64),
                },
            ),
            (
                legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]),
                rich(),
                PoolState {
                    same_nonce: Some((B256::ZERO, 1_900)),
                    ..ok.clone()
                },
                Rejection::ReplacementUnderpriced,
            ),
        ];
        for (raw, account, pool, expected) in cases {
            let got = run(&raw, account, &pool).expect_err("rejected");
            match (&got, &expected) {
                (Rejection::Malformed(_), Rejection::Malformed(_)) => {}
                _ => assert_eq!(got, expected),
            }
        }
        // Same hash: already known; a 10% higher price replaces.
        let raw = legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]);
        let tx = decode(&raw, CHAIN_ID, &config()).expect("decodes");
        let known = PoolState {
            same_nonce: Some((tx.hash, 2_000)),
            ..PoolState::default()
        };
        assert_eq!(
            run(&raw, rich(), &known).expect_err("known"),
            Rejection::AlreadyKnown
        );
        let cheaper = PoolState {
            same_nonce: Some((B256::ZERO, 1_818)),
            ..PoolState::default()
        };
        run(&raw, rich(), &cheaper).expect("replaces");
    }

    #[test]
    fn unprovable_transactions_follow_the_switch() {
        let raw = legacy(3, 2_000, 30_000, Some(CHAIN_ID), vec![1, 2, 3]);
        let tx = decode(&raw, CHAIN_ID, &config()).expect("decodes");
        let verdict = Err("calls code".to_string());
        assert_eq!(
            check(
                &tx,
                rich(),
                &PoolState::default(),
                verdict.clone(),
                30_000_000,
                &config()
            ),
            Err(Rejection::NotProvable("calls code".into()))
        );
        let lenient = PoolConfig {
            accept_unprovable: true,
            ..config()
        };
        check(
            &tx,
            rich(),
            &PoolState::default(),
            verdict,
            30_000_000,
            &lenient,
        )
        .expect("accepted");
    }

    #[test]
    fn only_the_canonical_encoding_decodes() {
        let raw = eip1559(3, 5_000);
        decode(&raw, CHAIN_ID, &config()).expect("decodes");
        // The typed list without its type byte, and after a stray string header.
        for bad in [raw[1..].to_vec(), [&[0x81], &raw[1..]].concat()] {
            assert!(matches!(
                decode(&bad, CHAIN_ID, &config()),
                Err(Rejection::Malformed(_))
            ));
        }
    }

    #[test]
    fn a_bad_signature_is_an_invalid_sender() {
        let mut raw = legacy(3, 2_000, 21_000, Some(CHAIN_ID), vec![]);
        // s = 0 is never a valid signature.
        let len = raw.len();
        for byte in &mut raw[len - 33..] {
            *byte = 0;
        }
        raw[len - 34] = 0xa0;
        let got = decode(&raw, CHAIN_ID, &config()).expect_err("invalid");
        assert!(
            matches!(got, Rejection::InvalidSignature | Rejection::Malformed(_)),
            "{got:?}"
        );
    }

    #[test]
    fn intrinsic_gas_counts_creation_and_data() {
        let tx = TxLegacy {
            chain_id: Some(CHAIN_ID),
            to: TxKind::Create,
            input: Bytes::from(vec![0, 0, 5, 6, 7]),
            ..Default::default()
        };
        let signature = signer()
            .sign_hash_sync(&tx.signature_hash())
            .expect("signs");
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        assert_eq!(
            intrinsic_gas(&envelope),
            21_000 + 32_000 + 2 * 4 + 3 * 16 + 2
        );
    }
}
