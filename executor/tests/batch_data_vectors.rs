//! batchL2Data against the zkEVM's own test vectors, and typed transactions signed here: hashes are
//! Ethereum's, senders recover, encodings round-trip byte for byte.

#![allow(clippy::unwrap_used)]

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{
    SignableTransaction, Signed, Transaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{address, b256, hex, keccak256, Address, Bytes, Signature, TxKind, U256};
use zknode_executor::batch_data::{
    decode_batch, encode_batch, encode_transaction, BatchTransaction, DecodedBatch, L2BlockData,
};
use zknode_executor::ExecutorError;

/// The zkEVM's well-known test account (zkevm-node test/config, "0x617b3a35…"): its key signed the
/// transactions in zkevm-node `state/encoding_batch_v2_test.go`.
const ZKEVM_TEST_KEY: [u8; 32] =
    hex!("28b2b0318721be8c8339199172cd7cc8f5e273800a35616ec893083a4b32c02e");
const ZKEVM_TEST_ADDRESS: Address = address!("617b3a3528f9cdd6630fd3301b9c8911f7bf063d");

// From zkevm-node state/encoding_batch_v2_test.go (commit 10782ad7): `codedL2BlockHeader`,
// `codedRLP2Txs1`, `codedRLP2Txs2` and `realBatchIncaberry` ("Batch 420.000 (Incaberry) from
// Testnet"), whose Etrog form is the header followed by the legacy items.
const CODED_L2_BLOCK_HEADER: &str = "0b73e6af6f00000000";
const CODED_RLP_2_TXS_1: &str = "ee02843b9aca00830186a0944d5cf5032b2a844602278b01199ed191a86c93ff88016345785d8a0000808203e88080bff0e780ba7db409339fd3f71969fa2cbf1b8535f6c725a1499d3318d3ef9c2b6340ddfab84add2c188f9efddb99771db1fe621c981846394ea4f035c85bcdd51bffee03843b9aca00830186a0944d5cf5032b2a844602278b01199ed191a86c93ff88016345785d8a0000808203e880805b346aa02230b22e62f73608de9ff39a162a6c24be9822209c770e3685b92d0756d5316ef954eefc58b068231ccea001fb7ac763ebe03afd009ad71cab36861e1bff";
const CODED_RLP_2_TXS_2: &str = "ee80843b9aca00830186a0944d5cf5032b2a844602278b01199ed191a86c93ff88016345785d8a0000808203e880801cee7e01dc62f69a12c3510c6d64de04ee6346d84b6a017f3e786c7d87f963e75d8cc91fa983cd6d9cf55fff80d73bd26cd333b0f098acc1e58edb1fd484ad731bffee01843b9aca00830186a0944d5cf5032b2a844602278b01199ed191a86c93ff88016345785d8a0000808203e880803ee20a0764440b016c4a2ee4e7e4eb3a5a97f1e6a6c9f40bf5ecf50f95ff636d63878ddb3e997e519826c7bb26fb7c5950a208e1ec722a9f1c568c4e479b40341cff";
const REAL_BATCH_INCABERRY: &str = "ee8307c4848402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a28080e8c76f8b8ec579362a4ef92dc1c8c372ad4ef6372a20903b3997408743e86239394ad6decc3bc080960b6c62ad78bc09913cba88fd98d595457b3462ed1494b91cffee8307c4858402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a28080ed0de9758ff75ae777821e45178da0163c719341188220050cc4ad33048cd9cb272951662ae72269cf611528d591fcf682c8bad4402d98dbac4abc1b2be1ca431cffee8307c4868402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a280807c94882ecf48d65b6240e7355c32e7d1a56366fd9571471cb664463ad2afecdd564d24abbea5b38b74dda029cdac3109f199f5e3e683acfbe43e7f27fe23b60b1cffee8307c4878402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a280801b5e85cc1b402403a625610d4319558632cffd2b14a15bc031b9ba644ecc48a332bcc608e894b9ede61220767558e1d9e02780b53dbdd9bcc01de0ab2b1742951bffee8307c4888402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a2808089eee14afeead54c815953a328ec52d441128e71d08ff75b4e5cd23db6fa67e774ca24e8878368eee5ad4562340edebcfb595395d40f8a5b0301e19ced92af5f1cffee8307c4898402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a280807b672107c41caf91cff9061241686dd37e8d1e013d81f7f383b76afa93b7ff85413d4fc4c7e9613340b8fc29aefd0c42a3db6d75340b1bec0b895d324bcfa02e1cffee8307c48a8402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a28080efadeca94da405cf44881670bc8b2464d006af41f20517e82339c72d73543c5c4e1e546eea07b4b751e3e2f909bd4026f742684c923bf666985f9a5a1cd91cde1bffee8307c48b8402faf08082520894417a7ba2d8d0060ae6c54fd098590db854b9c1d58609184e72a000808205a2808092ac34e2d6a38c7df5df96c78f9d837daaa7f74352d8c42fe671ef8ba6565ae350648c7e736a0017bf90370e766720c410441f6506765c70fad91ce046c1fad61bfff86c8206838402faf08082803194828f7ceca102de66a6ed4f4b6abee0bd1bd4f9dc80b844095ea7b3000000000000000000000000e907ec70b4efbb28efbf6f4ffb3ae0d34012eaa00000000000000000000000000000000000000000000000011a8297a4dca080008205a28080579cfefee3fa664c8b59190de80454da9642b7647a46b929c9fcc89105b2d5575d28665bef2bb1052db0d36ec1e92bc7503efaa74798fe3630b8867318c20d4e1cff";

fn unhex(parts: &[&str]) -> Vec<u8> {
    hex::decode(parts.concat()).unwrap()
}

fn signing_key(secret: &[u8; 32]) -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_slice(secret).unwrap()
}

fn address_of(key: &k256::ecdsa::SigningKey) -> Address {
    Address::from_public_key(key.verifying_key())
}

/// Signs with RFC 6979 deterministic nonces, as geth and ethers do.
fn sign<T: SignableTransaction<Signature>>(tx: T, key: &k256::ecdsa::SigningKey) -> Signed<T> {
    let hash = tx.signature_hash();
    let (sig, recovery_id) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    let signature = Signature::from_signature_and_parity(sig, recovery_id.is_y_odd());
    tx.into_signed(signature)
}

fn sender(tx: &TxEnvelope) -> Address {
    tx.recover_signer().unwrap()
}

#[test]
fn zkevm_vector_is_reproduced_by_signing_its_fields() {
    let key = signing_key(&ZKEVM_TEST_KEY);
    assert_eq!(address_of(&key), ZKEVM_TEST_ADDRESS);

    // codedRLP2Txs1 + codedRLP2Txs2 are transfers of 0.1 ether at 1 gwei on chain 1000 with nonces
    // 2, 3, 0, 1; signing those fields with the test key must give exactly their bytes.
    let transfer = |nonce| BatchTransaction {
        tx: TxEnvelope::Legacy(sign(
            TxLegacy {
                chain_id: Some(1000),
                nonce,
                gas_price: 1_000_000_000,
                gas_limit: 100_000,
                to: TxKind::Call(address!("4d5cf5032b2a844602278b01199ed191a86c93ff")),
                value: U256::from(100_000_000_000_000_000u128),
                input: Bytes::new(),
            },
            &key,
        )),
        effective_percentage: 0xff,
    };
    let block = |delta_timestamp, nonces: [u64; 2]| L2BlockData {
        delta_timestamp,
        l1_info_index: 0,
        transactions: nonces.into_iter().map(transfer).collect(),
    };
    let batch = DecodedBatch {
        blocks: vec![block(0x73e6af6f, [2, 3]), block(0x73e6af6f, [0, 1])],
    };
    let expected = unhex(&[
        CODED_L2_BLOCK_HEADER,
        CODED_RLP_2_TXS_1,
        CODED_L2_BLOCK_HEADER,
        CODED_RLP_2_TXS_2,
    ]);
    assert_eq!(
        hex::encode(encode_batch(&batch).unwrap()),
        hex::encode(&expected)
    );

    let decoded = decode_batch(&expected).unwrap();
    assert_eq!(decoded, batch);
    for (decoded, signed) in decoded.blocks.iter().zip(&batch.blocks) {
        for (a, b) in decoded.transactions.iter().zip(&signed.transactions) {
            assert_eq!(a.tx.tx_hash(), b.tx.tx_hash());
            assert_eq!(*a.tx.tx_hash(), keccak256(a.tx.encoded_2718()));
            assert_eq!(sender(&a.tx), ZKEVM_TEST_ADDRESS);
        }
    }
    assert_eq!(
        *decoded.blocks[0].transactions[0].tx.tx_hash(),
        b256!("2799865cc2e40485f8b93ab4d9d1544b19e1eb37e54185621e250cc191226bdd")
    );
}

#[test]
fn zkevm_testnet_batch_decodes_and_round_trips() {
    let data = unhex(&[CODED_L2_BLOCK_HEADER, REAL_BATCH_INCABERRY]);
    let batch = decode_batch(&data).unwrap();
    assert_eq!(batch.blocks.len(), 1);
    let txs = &batch.blocks[0].transactions;
    assert_eq!(txs.len(), 9);
    for (i, tx) in txs.iter().enumerate() {
        let TxEnvelope::Legacy(signed) = &tx.tx else {
            panic!("legacy expected")
        };
        // Chain 1442: the zkEVM testnet.
        assert_eq!(signed.tx().chain_id, Some(1442));
        sender(&tx.tx);
        if i < 8 {
            assert_eq!(signed.tx().nonce, 509_060 + i as u64);
        }
    }
    // The last one calls approve(address,uint256).
    assert_eq!(txs[8].tx.input()[..4], hex!("095ea7b3"));
    assert_eq!(encode_batch(&batch).unwrap(), data);

    // Without the change-L2-block marker it is a pre-Etrog batch, which this format refuses.
    let err = decode_batch(&unhex(&[REAL_BATCH_INCABERRY])).unwrap_err();
    assert!(
        matches!(err, ExecutorError::MalformedBatchData { offset: 0, .. }),
        "{err}"
    );
}

fn typed_batch() -> (DecodedBatch, Vec<Address>) {
    let key = signing_key(&hex!(
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    ));
    let access_list = AccessList(vec![AccessListItem {
        address: address!("00000000000000000000000000000000000000aa"),
        storage_keys: vec![b256!(
            "0000000000000000000000000000000000000000000000000000000000000007"
        )],
    }]);
    let eip2930 = sign(
        TxEip2930 {
            chain_id: 1101,
            nonce: 7,
            gas_price: 2_000_000_000,
            gas_limit: 60_000,
            to: TxKind::Call(address!("00000000000000000000000000000000000000bb")),
            value: U256::from(5u64),
            access_list: access_list.clone(),
            input: Bytes::from_static(&[1, 2, 3]),
        },
        &key,
    );
    let eip1559 = sign(
        TxEip1559 {
            chain_id: 1101,
            nonce: 8,
            gas_limit: 1_000_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Create,
            value: U256::ZERO,
            access_list,
            // Longer than 55 bytes, so the list and the data use long-form RLP headers.
            input: Bytes::from(vec![0x60; 300]),
        },
        &key,
    );
    let legacy_pre_155 = sign(
        TxLegacy {
            chain_id: None,
            nonce: 9,
            gas_price: 1,
            gas_limit: 21_000,
            to: TxKind::Call(address!("00000000000000000000000000000000000000cc")),
            value: U256::MAX,
            input: Bytes::new(),
        },
        &key,
    );
    let batch = DecodedBatch {
        blocks: vec![
            L2BlockData {
                delta_timestamp: 2,
                l1_info_index: 1,
                transactions: vec![
                    BatchTransaction {
                        tx: TxEnvelope::Eip2930(eip2930),
                        effective_percentage: 0,
                    },
                    BatchTransaction {
                        tx: TxEnvelope::Eip1559(eip1559),
                        effective_percentage: 200,
                    },
                ],
            },
            L2BlockData {
                delta_timestamp: 0,
                l1_info_index: 0,
                transactions: vec![],
            },
            L2BlockData {
                delta_timestamp: u32::MAX,
                l1_info_index: u32::MAX,
                transactions: vec![BatchTransaction {
                    tx: TxEnvelope::Legacy(legacy_pre_155),
                    effective_percentage: 255,
                }],
            },
        ],
    };
    (batch, vec![address_of(&key); 3])
}

#[test]
fn typed_and_pre_eip155_transactions_round_trip_with_ethereum_hashes() {
    let (batch, senders) = typed_batch();
    let data = encode_batch(&batch).unwrap();
    // The documented layout: marker, then type byte ‖ RLP list for typed transactions.
    assert_eq!(data[0], 0x0b);
    assert_eq!(data[9], 0x01);
    assert!(data[10] >= 0xc0);

    let decoded = decode_batch(&data).unwrap();
    assert_eq!(decoded, batch);
    assert_eq!(encode_batch(&decoded).unwrap(), data);
    let decoded_txs = decoded.blocks.iter().flat_map(|b| &b.transactions);
    let original_txs = batch.blocks.iter().flat_map(|b| &b.transactions);
    for ((decoded, original), expected_sender) in decoded_txs.zip(original_txs).zip(&senders) {
        // The hash is keccak of the EIP-2718 encoding (what eth_getTransactionByHash uses).
        assert_eq!(*decoded.tx.tx_hash(), keccak256(original.tx.encoded_2718()));
        assert_eq!(sender(&decoded.tx), *expected_sender);
    }
    let TxEnvelope::Legacy(legacy) = &decoded.blocks[2].transactions[0].tx else {
        panic!()
    };
    assert_eq!(legacy.tx().chain_id, None);
    // v of a pre-EIP-155 transaction in the Ethereum encoding is 27 or 28.
    let raw = decoded.blocks[2].transactions[0].tx.encoded_2718();
    let v_byte = raw[raw.len() - 67];
    assert!(v_byte == 27 || v_byte == 28);
}

#[test]
fn typed_transaction_faults_are_located() {
    let (batch, _) = typed_batch();
    let data = encode_batch(&batch).unwrap();
    // The EIP-2930 item starts at 9 with its type byte; its RLP list header follows.
    let mut item = Vec::new();
    encode_transaction(&batch.blocks[0].transactions[0], &mut item).unwrap();
    let trailer = 9 + item.len() - 66;
    let mut header_buf = &data[10..];
    let header = alloy_rlp::Header::decode(&mut header_buf).unwrap();
    let payload_start = data.len() - header_buf.len();

    // v outside {0x1b, 0x1c}.
    let mut bad_v = data.clone();
    bad_v[trailer + 64] = 0x00;
    let err = decode_batch(&bad_v).unwrap_err();
    assert!(
        matches!(&err, ExecutorError::MalformedBatchData { offset, .. } if *offset == trailer + 64),
        "{err}"
    );

    // chainId 1101 with a leading zero byte: 0x82 0x04 0x4d → 0x83 0x00 0x04 0x4d, the list one
    // byte longer.
    assert_eq!(data[payload_start..payload_start + 3], [0x82, 0x04, 0x4d]);
    let mut leading_zero = data[..10].to_vec();
    let longer = alloy_rlp::Header {
        list: true,
        payload_length: header.payload_length + 1,
    };
    longer.encode(&mut leading_zero);
    let chain_id_at = leading_zero.len();
    leading_zero.extend_from_slice(&[0x83, 0x00]);
    leading_zero.extend_from_slice(&data[payload_start + 1..]);
    let err = decode_batch(&leading_zero).unwrap_err();
    match &err {
        ExecutorError::MalformedBatchData { offset, reason } => {
            assert_eq!(*offset, chain_id_at);
            assert!(
                reason.contains("chainId") && reason.contains("leading zero"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }

    // A typed transaction whose payload is a string, not a list.
    let err = decode_batch(&hex!("0b0000000000000000" "0283010203")).unwrap_err();
    assert!(
        matches!(err, ExecutorError::MalformedBatchData { offset: 10, .. }),
        "{err}"
    );

    // Truncated inside the trailer: the fault is the end of the input.
    let cut = &data[..trailer + 10];
    let err = decode_batch(cut).unwrap_err();
    assert!(
        matches!(&err, ExecutorError::MalformedBatchData { offset, .. } if *offset == cut.len()),
        "{err}"
    );
}

#[test]
fn blob_and_set_code_transactions_are_refused_by_the_encoder() {
    use alloy_consensus::TxEip7702;
    let key = signing_key(&ZKEVM_TEST_KEY);
    let tx = sign(
        TxEip7702 {
            chain_id: 1,
            ..Default::default()
        },
        &key,
    );
    let batch = DecodedBatch {
        blocks: vec![L2BlockData {
            delta_timestamp: 0,
            l1_info_index: 0,
            transactions: vec![BatchTransaction {
                tx: TxEnvelope::Eip7702(tx),
                effective_percentage: 255,
            }],
        }],
    };
    let err = encode_batch(&batch).unwrap_err();
    assert!(
        matches!(
            err,
            ExecutorError::BatchEncoding {
                block: 0,
                transaction: 0,
                ..
            }
        ),
        "{err}"
    );
}

/// Ethereum's encoding of a transaction item, rebuilt from the batch bytes with plain RLP (no
/// transaction types involved): the signing payload's fields, then v, r, s.
fn ethereum_encoding(item: &[u8]) -> Vec<u8> {
    use alloy_rlp::{Decodable, Encodable, Header};
    let (body, trailer) = item.split_at(item.len() - 66);
    let r = U256::from_be_slice(&trailer[..32]);
    let s = U256::from_be_slice(&trailer[32..64]);
    let y_parity = trailer[64] - 27;
    let (type_byte, list) = if body[0] >= 0xc0 {
        (None, body)
    } else {
        (Some(body[0]), &body[1..])
    };
    let mut rest = list;
    let header = Header::decode(&mut rest).unwrap();
    assert!(header.list);
    let mut fields = rest.to_vec();
    let v: u128 = match type_byte {
        Some(_) => u128::from(y_parity),
        None => {
            // Count the fields: six (pre-EIP-155, v = 27 + parity) or nine (EIP-155, drop chainId,
            // 0, 0 and use v = chainId·2 + 35 + parity).
            let mut cursor = rest;
            let mut starts = Vec::new();
            while !cursor.is_empty() {
                starts.push(rest.len() - cursor.len());
                let h = Header::decode(&mut cursor).unwrap();
                cursor = &cursor[h.payload_length..];
            }
            if starts.len() == 9 {
                let mut chain_id_field = &rest[starts[6]..starts[7]];
                let chain_id = u64::decode(&mut chain_id_field).unwrap();
                fields.truncate(starts[6]);
                u128::from(chain_id) * 2 + 35 + u128::from(y_parity)
            } else {
                27 + u128::from(y_parity)
            }
        }
    };
    v.encode(&mut fields);
    r.encode(&mut fields);
    s.encode(&mut fields);
    let mut out = Vec::new();
    out.extend(type_byte);
    Header {
        list: true,
        payload_length: fields.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&fields);
    out
}

#[test]
fn hashes_are_keccak_of_the_ethereum_encoding_rebuilt_from_batch_bytes() {
    let (typed, _) = typed_batch();
    let zkevm = decode_batch(&unhex(&[CODED_L2_BLOCK_HEADER, CODED_RLP_2_TXS_1])).unwrap();
    for batch in [typed, zkevm] {
        for tx in batch.blocks.iter().flat_map(|b| &b.transactions) {
            let mut item = Vec::new();
            encode_transaction(tx, &mut item).unwrap();
            let ethereum = ethereum_encoding(&item);
            assert_eq!(*tx.tx.tx_hash(), keccak256(&ethereum));
        }
    }
}
