//! Fuzzing the batchL2Data decoder with random byte strings and mutations of valid encodings.
//!
//! Seeded: the seed is printed on stderr; `ZKNODE_FUZZ_SEED=<seed>` replays a run and
//! `ZKNODE_FUZZ_CASES=<n>` sets the number of cases per kind (default 5000).
//!
//! Properties checked on every input:
//! - decoding never panics;
//! - an error is `MalformedBatchData` whose offset lies within the input (`offset <= len`, the
//!   length itself meaning "truncated") and, for a mutation, not before the item holding the first
//!   changed byte (the items before it are untouched, so they still decode);
//! - an input that decodes re-encodes to exactly the same bytes (one meaning per batch);
//! - valid encodings round-trip decode → encode byte-identically and decode to what was encoded.

#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use alloy_consensus::{Signed, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{hex, Address, Bytes, Signature, TxKind, B256, U256};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zknode_executor::batch_data::{
    decode_batch, encode_batch, encode_block_header, encode_transaction, BatchTransaction,
    DecodedBatch, L2BlockData,
};
use zknode_executor::ExecutorError;

fn seed_and_cases(test: &str) -> (u64, usize) {
    let seed = match std::env::var("ZKNODE_FUZZ_SEED") {
        Ok(s) => s.parse().expect("ZKNODE_FUZZ_SEED must be a u64"),
        Err(_) => rand::thread_rng().gen(),
    };
    let cases = std::env::var("ZKNODE_FUZZ_CASES")
        .map(|s| s.parse().expect("ZKNODE_FUZZ_CASES must be a number"))
        .unwrap_or(5000);
    eprintln!("{test}: seed {seed}, {cases} cases (replay with ZKNODE_FUZZ_SEED={seed})");
    (seed, cases)
}

/// A value from a distribution that favours the edges (0, 1, max, byte-length boundaries).
fn edgy_u64(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..6) {
        0 => 0,
        1 => rng.gen_range(1..0x80),
        2 => u64::MAX,
        3 => 1u64 << rng.gen_range(0..64),
        _ => rng.gen::<u64>() >> rng.gen_range(0..64),
    }
}

fn edgy_u128(rng: &mut ChaCha8Rng) -> u128 {
    match rng.gen_range(0..4) {
        0 => 0,
        1 => u128::MAX,
        _ => rng.gen::<u128>() >> rng.gen_range(0..128),
    }
}

fn edgy_u256(rng: &mut ChaCha8Rng) -> U256 {
    match rng.gen_range(0..4) {
        0 => U256::ZERO,
        1 => U256::MAX,
        _ => U256::from_be_bytes(rng.gen::<[u8; 32]>()) >> rng.gen_range(0..256),
    }
}

fn random_bytes(rng: &mut ChaCha8Rng, max_len: usize) -> Vec<u8> {
    let len = match rng.gen_range(0..4) {
        0 => 0,
        1 => 1,
        _ => rng.gen_range(0..=max_len),
    };
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

fn random_to(rng: &mut ChaCha8Rng) -> TxKind {
    if rng.gen_bool(0.2) {
        TxKind::Create
    } else {
        TxKind::Call(Address::from(rng.gen::<[u8; 20]>()))
    }
}

fn random_access_list(rng: &mut ChaCha8Rng) -> AccessList {
    let items = (0..rng.gen_range(0..3))
        .map(|_| AccessListItem {
            address: Address::from(rng.gen::<[u8; 20]>()),
            storage_keys: (0..rng.gen_range(0..3))
                .map(|_| B256::from(rng.gen::<[u8; 32]>()))
                .collect(),
        })
        .collect();
    AccessList(items)
}

/// A transaction with random fields and a random (not necessarily valid) signature: the codec
/// carries r and s as opaque 32-byte words.
fn random_transaction(rng: &mut ChaCha8Rng) -> BatchTransaction {
    let signature = Signature::new(edgy_u256(rng), edgy_u256(rng), rng.gen());
    let input = Bytes::from(random_bytes(rng, 300));
    let tx = match rng.gen_range(0..4) {
        0 | 1 => TxEnvelope::Legacy(Signed::new_unhashed(
            TxLegacy {
                chain_id: if rng.gen_bool(0.5) {
                    Some(edgy_u64(rng))
                } else {
                    None
                },
                nonce: edgy_u64(rng),
                gas_price: edgy_u128(rng),
                gas_limit: edgy_u64(rng),
                to: random_to(rng),
                value: edgy_u256(rng),
                input,
            },
            signature,
        )),
        2 => TxEnvelope::Eip2930(Signed::new_unhashed(
            TxEip2930 {
                chain_id: edgy_u64(rng),
                nonce: edgy_u64(rng),
                gas_price: edgy_u128(rng),
                gas_limit: edgy_u64(rng),
                to: random_to(rng),
                value: edgy_u256(rng),
                access_list: random_access_list(rng),
                input,
            },
            signature,
        )),
        _ => TxEnvelope::Eip1559(Signed::new_unhashed(
            TxEip1559 {
                chain_id: edgy_u64(rng),
                nonce: edgy_u64(rng),
                gas_limit: edgy_u64(rng),
                max_fee_per_gas: edgy_u128(rng),
                max_priority_fee_per_gas: edgy_u128(rng),
                to: random_to(rng),
                value: edgy_u256(rng),
                access_list: random_access_list(rng),
                input,
            },
            signature,
        )),
    };
    BatchTransaction {
        tx,
        effective_percentage: rng.gen(),
    }
}

fn random_batch(rng: &mut ChaCha8Rng) -> DecodedBatch {
    let blocks = (0..rng.gen_range(0..4))
        .map(|_| L2BlockData {
            delta_timestamp: edgy_u64(rng) as u32,
            l1_info_index: edgy_u64(rng) as u32,
            transactions: (0..rng.gen_range(0..4))
                .map(|_| random_transaction(rng))
                .collect(),
        })
        .collect();
    DecodedBatch { blocks }
}

/// Encodes piece by piece, returning the bytes and the start offset of every item.
fn encode_with_boundaries(batch: &DecodedBatch) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut starts = Vec::new();
    for block in &batch.blocks {
        starts.push(out.len());
        encode_block_header(block.delta_timestamp, block.l1_info_index, &mut out);
        for tx in &block.transactions {
            starts.push(out.len());
            encode_transaction(tx, &mut out).unwrap();
        }
    }
    (out, starts)
}

/// Decodes `data` and checks the properties in the module docs; `first_change` is the offset of
/// the first byte that differs from a valid encoding whose items start at `starts`.
fn check(data: &[u8], origin: &str, first_change: Option<(usize, &[usize])>) {
    let result = catch_unwind(AssertUnwindSafe(|| decode_batch(data)));
    let result = match result {
        Ok(result) => result,
        Err(_) => panic!("decode_batch panicked on {origin}: {}", hex::encode(data)),
    };
    match result {
        Ok(batch) => {
            let again = encode_batch(&batch).unwrap();
            assert_eq!(
                hex::encode(&again),
                hex::encode(data),
                "accepted input does not re-encode identically ({origin})"
            );
        }
        Err(ExecutorError::MalformedBatchData { offset, reason }) => {
            assert!(
                offset <= data.len(),
                "offset {offset} beyond input of {} bytes ({origin}): {reason}",
                data.len()
            );
            assert!(!reason.is_empty());
            if let Some((changed_at, starts)) = first_change {
                let item_start = starts.iter().rev().find(|&&s| s <= changed_at).copied();
                let item_start = item_start.unwrap_or(0);
                assert!(
                    offset >= item_start,
                    "error at {offset} precedes the changed item at {item_start} \
                     (first change at {changed_at}, {origin}): {reason}\n{}",
                    hex::encode(data)
                );
            }
        }
        Err(other) => panic!("unexpected error kind ({origin}): {other}"),
    }
}

#[test]
fn valid_encodings_round_trip() {
    let (seed, cases) = seed_and_cases("valid_encodings_round_trip");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for case in 0..cases {
        let batch = random_batch(&mut rng);
        let (pieces, _) = encode_with_boundaries(&batch);
        let data = encode_batch(&batch).unwrap();
        assert_eq!(data, pieces);
        let decoded = decode_batch(&data)
            .unwrap_or_else(|e| panic!("case {case}: valid encoding rejected: {e}"));
        assert_eq!(decoded, batch, "case {case}");
        assert_eq!(encode_batch(&decoded).unwrap(), data, "case {case}");
        for (a, b) in decoded
            .blocks
            .iter()
            .flat_map(|b| &b.transactions)
            .zip(batch.blocks.iter().flat_map(|b| &b.transactions))
        {
            assert_eq!(a.tx.tx_hash(), b.tx.tx_hash(), "case {case}");
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let (seed, cases) = seed_and_cases("random_bytes_never_panic");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut accepted = 0;
    for case in 0..cases * 2 {
        let mut data = random_bytes(&mut rng, 400);
        // Start most inputs with a marker, and often put plausible item starts after it, so that
        // the decoder gets past the first byte.
        if !data.is_empty() && rng.gen_bool(0.8) {
            data[0] = 0x0b;
            if data.len() > 9 {
                data[9] = *[0x01, 0x02, 0xc0 + rng.gen_range(0..64), 0x0b, 0x03]
                    .get(rng.gen_range(0..5))
                    .unwrap();
            }
        }
        check(&data, &format!("random case {case}"), None);
        accepted += usize::from(decode_batch(&data).is_ok());
    }
    eprintln!(
        "random_bytes_never_panic: {accepted} of {} random inputs decoded",
        cases * 2
    );
}

#[test]
fn mutated_encodings_error_precisely() {
    let (seed, cases) = seed_and_cases("mutated_encodings_error_precisely");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut errors = 0;
    let mut total = 0;
    for case in 0..cases {
        let batch = random_batch(&mut rng);
        let (valid, starts) = encode_with_boundaries(&batch);
        if valid.is_empty() {
            continue;
        }
        for _ in 0..4 {
            let mut data = valid.clone();
            let at = rng.gen_range(0..data.len());
            let kind = rng.gen_range(0..6);
            let first_change = match kind {
                // Bit flips (1 to 3, from `at` on).
                0 => {
                    for _ in 0..rng.gen_range(1..=3) {
                        let i = rng.gen_range(at..data.len());
                        data[i] ^= 1 << rng.gen_range(0..8);
                    }
                    data.iter().zip(&valid).position(|(a, b)| a != b)
                }
                // Truncation: a cut strictly inside an item must fail, one at a boundary must not.
                1 => {
                    data.truncate(at);
                    let at_boundary = starts.contains(&at);
                    let result = decode_batch(&data);
                    assert_eq!(
                        result.is_ok(),
                        at_boundary,
                        "case {case}: truncation at {at} (boundary: {at_boundary}) gave {result:?}"
                    );
                    Some(at)
                }
                // Insertion of 1 to 8 random bytes.
                2 => {
                    let extra = random_bytes(&mut rng, 8);
                    data.splice(at..at, extra);
                    Some(at)
                }
                // Deletion of 1 to 8 bytes.
                3 => {
                    let end = (at + rng.gen_range(1..=8)).min(data.len());
                    data.drain(at..end);
                    Some(at)
                }
                // Length-field edit: change the RLP list header of a transaction item.
                4 => {
                    let tx_starts: Vec<usize> = starts
                        .iter()
                        .copied()
                        .filter(|&s| valid[s] != 0x0b)
                        .collect();
                    let Some(&start) = tx_starts.get(rng.gen_range(0..tx_starts.len().max(1)))
                    else {
                        continue;
                    };
                    let header = if valid[start] < 0xc0 {
                        start + 1
                    } else {
                        start
                    };
                    let delta: i16 = *[-2, -1, 1, 2, 0x40].get(rng.gen_range(0..5)).unwrap();
                    data[header] = (i16::from(data[header]) + delta).rem_euclid(256) as u8;
                    if data[header] >= 0xf8 && header + 1 < data.len() && rng.gen_bool(0.5) {
                        // Also disturb the long-form length.
                        data[header + 1] = rng.gen();
                    }
                    data.iter().zip(&valid).position(|(a, b)| a != b)
                }
                // Overwrite the byte at an item boundary (the kind byte).
                _ => {
                    let start = starts[rng.gen_range(0..starts.len())];
                    data[start] = rng.gen();
                    data.iter().zip(&valid).position(|(a, b)| a != b)
                }
            };
            let Some(first_change) = first_change else {
                continue;
            };
            total += 1;
            errors += usize::from(decode_batch(&data).is_err());
            check(
                &data,
                &format!("case {case} mutation {kind} at {at}"),
                Some((first_change, &starts)),
            );
        }
    }
    eprintln!("mutated_encodings_error_precisely: {errors} of {total} mutations rejected");
    assert!(
        errors * 2 > total,
        "most mutations of valid encodings should be rejected"
    );
}
