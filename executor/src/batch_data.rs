//! batchL2Data: the byte format of a batch's transactions, as the sequencer writes it to L1 and the
//! executor reads it.
//!
//! # Format
//!
//! The format is the zkEVM's batchL2Data v2 (fork ETROG and later; zkevm-node
//! `state/encoding_batch_v2.go`, `state/helper.go`), extended to typed transactions. A batch is a
//! sequence of items, each recognised by its first byte:
//!
//! | first byte    | item                                                                      |
//! |---------------|---------------------------------------------------------------------------|
//! | `0x0b`        | change-L2-block marker: starts a new L2 block                             |
//! | `0x01`,`0x02` | typed transaction (EIP-2930, EIP-1559) of the current L2 block (extension) |
//! | `0xc0..=0xff` | legacy transaction of the current L2 block                                |
//! | anything else | malformed                                                                 |
//!
//! **Change-L2-block marker** (9 bytes): `0x0b ‖ deltaTimestamp (u32 BE) ‖ indexL1InfoTree (u32 BE)`.
//!
//! **Transaction**: `signingPayload ‖ r (32 bytes BE) ‖ s (32 bytes BE) ‖ v (1 byte) ‖
//! effectivePercentage (1 byte)`, where `signingPayload` is the exact byte string whose keccak the
//! sender signed:
//!
//! - legacy with EIP-155 replay protection: `RLP([nonce, gasPrice, gas, to, value, data, chainId,
//!   0, 0])` (nine fields, the last two always the empty string `0x80`), as the zkEVM writes it;
//! - legacy pre-EIP-155: `RLP([nonce, gasPrice, gas, to, value, data])` (six fields);
//! - EIP-2930: `0x01 ‖ RLP([chainId, nonce, gasPrice, gas, to, value, data, accessList])`;
//! - EIP-1559: `0x02 ‖ RLP([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
//!   data, accessList])`.
//!
//! `v` is `27 + yParity` (`0x1b` or `0x1c`) for every kind of transaction: the zkEVM writes legacy
//! transactions that way whatever their chain id (the chain id is in the payload), and typed
//! transactions use the same byte so that the signature trailer is uniform. `to` is the empty
//! string for a contract creation and exactly 20 bytes otherwise. The effective percentage
//! (0–255) scales the gas price the sender pays: `effectiveGasPrice = gasPrice · (p + 1) / 256`.
//!
//! A batch must start with a change-L2-block marker (as in the zkEVM: a transaction before any
//! marker is an error); the empty byte string is the batch with no L2 blocks. A change-L2-block
//! marker may be followed by no transactions (an empty L2 block).
//!
//! ## Why the item kinds cannot be confused
//!
//! An RLP list — every legacy transaction — begins with a byte in `0xc0..=0xff`; EIP-2718 reserves
//! type bytes `0x00..=0x7f` for typed transactions, and only `0x01`/`0x02` are accepted here; the
//! marker `0x0b` lies in neither of those sets (it would be the EIP-2718 type 11, which does not
//! exist and is refused as a type). The three ranges are disjoint, so one byte decides the kind.
//! Each item's length follows from its content (the RLP list header gives the payload length; the
//! trailer and the marker have fixed lengths), so no separators are needed. Types `0x03` (EIP-4844
//! blobs, which have no place on an L2) and `0x04` (EIP-7702) are not part of the format.
//!
//! ## Canonical form
//!
//! Decoding is strict: integers without leading zeros, the shortest RLP length prefixes, single
//! bytes below `0x80` written as themselves, `v` either `0x1b` or `0x1c`, and for EIP-155 legacy
//! transactions the two trailing fields exactly `0x80 0x80`. Hence a batch that decodes re-encodes
//! to the identical bytes, and every accepted batch has exactly one meaning. (The zkEVM node is
//! looser — it accepts seven or more legacy fields and any length of `to` — but its own encoder
//! writes only the canonical form accepted here.) A legacy transaction with EIP-155 chain id 0 is
//! written with nine fields (`chainId = 0`) and one without replay protection with six, so both
//! decode back to what was encoded.
//!
//! ## Example
//!
//! ```
//! use zknode_executor::batch_data::{decode_batch, encode_batch};
//! use zknode_executor::ExecutorError;
//!
//! // One empty L2 block, 5 s after the previous one, L1 info tree leaf 2.
//! let data = [0x0b, 0, 0, 0, 5, 0, 0, 0, 2];
//! let batch = decode_batch(&data)?;
//! assert_eq!((batch.blocks[0].delta_timestamp, batch.blocks[0].l1_info_index), (5, 2));
//! assert_eq!(encode_batch(&batch)?, data);
//!
//! // Truncated: the error names the offset where bytes are missing.
//! let err = decode_batch(&data[..7]).unwrap_err();
//! assert!(matches!(err, ExecutorError::MalformedBatchData { offset: 7, .. }));
//! # Ok::<(), ExecutorError>(())
//! ```
//!
//! ## Errors
//!
//! Malformed input gives [`ExecutorError::MalformedBatchData`] with the byte offset of the fault
//! (the field, length prefix or trailer byte that is wrong, or the end of the input when it is
//! truncated) and the reason. Decoding never panics and allocates only in proportion to the input
//! (no length field is trusted before it is checked against the bytes that remain).

use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Bytes, Signature, TxKind, U256};
use alloy_rlp::{Decodable, Header};

use crate::error::{ExecutorError, Result};

/// First byte of a change-L2-block marker.
pub const CHANGE_L2_BLOCK_MARKER: u8 = 0x0b;
/// Length of a change-L2-block marker: marker, deltaTimestamp, indexL1InfoTree.
pub const CHANGE_L2_BLOCK_LEN: usize = 1 + 4 + 4;
/// Length of the bytes after a transaction's signing payload: r, s, v, effectivePercentage.
pub const TX_TRAILER_LEN: usize = 32 + 32 + 1 + 1;
/// `v` byte of a signature with y parity 0 (`v = 27 + yParity`).
pub const V_BASE: u8 = 27;
/// The effective percentage that charges the full gas price.
pub const MAX_EFFECTIVE_PERCENTAGE: u8 = u8::MAX;
/// EIP-2718 type byte of an EIP-2930 transaction.
pub const EIP2930_TYPE: u8 = 0x01;
/// EIP-2718 type byte of an EIP-1559 transaction.
pub const EIP1559_TYPE: u8 = 0x02;

/// A decoded batch: its L2 blocks in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedBatch {
    pub blocks: Vec<L2BlockData>,
}

impl DecodedBatch {
    /// Number of transactions over all blocks.
    pub fn transaction_count(&self) -> usize {
        self.blocks
            .iter()
            .map(|block| block.transactions.len())
            .sum()
    }
}

/// One L2 block of a batch: the fields of its change-L2-block marker and its transactions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2BlockData {
    /// Seconds since the previous L2 block (for the batch's first block: since the previous
    /// batch's last block).
    pub delta_timestamp: u32,
    /// Index of the L1 info tree leaf the block refers to (0: none).
    pub l1_info_index: u32,
    pub transactions: Vec<BatchTransaction>,
}

/// A signed transaction with the effective percentage the sequencer assigned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchTransaction {
    /// The transaction as Ethereum defines it: `tx.tx_hash()` is its Ethereum hash and
    /// `recover_signer` gives its sender.
    pub tx: TxEnvelope,
    /// Share of the gas price charged: `gasPrice · (effective_percentage + 1) / 256`.
    pub effective_percentage: u8,
}

/// Decodes batchL2Data (see the module docs for the format).
pub fn decode_batch(data: &[u8]) -> Result<DecodedBatch> {
    let mut blocks: Vec<L2BlockData> = Vec::new();
    let mut pos = 0usize;
    while let Some(&first) = data.get(pos) {
        if first == CHANGE_L2_BLOCK_MARKER {
            let (block, next) = decode_block_header(data, pos)?;
            blocks.push(block);
            pos = next;
            continue;
        }
        let kind = item_kind(first).ok_or_else(|| malformed(pos, unexpected_byte_reason(first)))?;
        let Some(block) = blocks.last_mut() else {
            return Err(malformed(
                pos,
                "transaction before the first change-L2-block marker (0x0b): a batch must start \
                 with a marker"
                    .to_string(),
            ));
        };
        let (tx, next) = decode_transaction_at(data, pos, kind)?;
        block.transactions.push(tx);
        pos = next;
    }
    Ok(DecodedBatch { blocks })
}

/// Encodes a batch as batchL2Data; `decode_batch` of the result gives `batch` back. A batch with
/// no blocks encodes to the empty string. Fails only for transaction kinds the format does not
/// carry (EIP-4844, EIP-7702).
pub fn encode_batch(batch: &DecodedBatch) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(encoded_len_hint(batch));
    for (block_index, block) in batch.blocks.iter().enumerate() {
        encode_block_header(block.delta_timestamp, block.l1_info_index, &mut out);
        for (tx_index, tx) in block.transactions.iter().enumerate() {
            encode_transaction(tx, &mut out).map_err(|reason| ExecutorError::BatchEncoding {
                block: block_index,
                transaction: tx_index,
                reason,
            })?;
        }
    }
    Ok(out)
}

/// Appends a change-L2-block marker.
pub fn encode_block_header(delta_timestamp: u32, l1_info_index: u32, out: &mut Vec<u8>) {
    out.push(CHANGE_L2_BLOCK_MARKER);
    out.extend_from_slice(&delta_timestamp.to_be_bytes());
    out.extend_from_slice(&l1_info_index.to_be_bytes());
}

/// Appends one transaction item; `Err` names why the transaction has no batch encoding.
pub fn encode_transaction(
    tx: &BatchTransaction,
    out: &mut Vec<u8>,
) -> std::result::Result<(), &'static str> {
    let signature = match &tx.tx {
        TxEnvelope::Legacy(signed) => {
            signed.tx().encode_for_signing(out);
            signed.signature()
        }
        TxEnvelope::Eip2930(signed) => {
            signed.tx().encode_for_signing(out);
            signed.signature()
        }
        TxEnvelope::Eip1559(signed) => {
            signed.tx().encode_for_signing(out);
            signed.signature()
        }
        TxEnvelope::Eip4844(_) => {
            return Err("EIP-4844 (blob) transactions are not part of batch data")
        }
        TxEnvelope::Eip7702(_) => return Err("EIP-7702 transactions are not part of batch data"),
    };
    out.extend_from_slice(&signature.r().to_be_bytes::<32>());
    out.extend_from_slice(&signature.s().to_be_bytes::<32>());
    out.push(V_BASE + u8::from(signature.v()));
    out.push(tx.effective_percentage);
    Ok(())
}

/// The kinds of transaction item, by first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemKind {
    Legacy,
    Eip2930,
    Eip1559,
}

fn item_kind(first: u8) -> Option<ItemKind> {
    match first {
        EIP2930_TYPE => Some(ItemKind::Eip2930),
        EIP1559_TYPE => Some(ItemKind::Eip1559),
        0xc0..=0xff => Some(ItemKind::Legacy),
        _ => None,
    }
}

fn unexpected_byte_reason(first: u8) -> String {
    match first {
        0x03 => "transaction type 0x03 (EIP-4844) is not part of batch data".to_string(),
        0x04 => "transaction type 0x04 (EIP-7702) is not part of batch data".to_string(),
        _ => format!(
            "unexpected byte {first:#04x}: expected a change-L2-block marker (0x0b), a transaction \
             type (0x01, 0x02) or a legacy transaction's RLP list (0xc0..=0xff)"
        ),
    }
}

fn malformed(offset: usize, reason: String) -> ExecutorError {
    ExecutorError::MalformedBatchData { offset, reason }
}

fn encoded_len_hint(batch: &DecodedBatch) -> usize {
    // Transfers take about 110 bytes; this is only a capacity hint.
    batch.blocks.len() * CHANGE_L2_BLOCK_LEN + batch.transaction_count() * 128
}

fn read_u32_be(data: &[u8], at: usize, what: &str) -> Result<u32> {
    let bytes = at
        .checked_add(4)
        .and_then(|end| data.get(at..end))
        .ok_or_else(|| {
            malformed(
                data.len(),
                format!(
                    "truncated change-L2-block marker: {what} needs 4 bytes at offset {at}, {} left",
                    data.len().saturating_sub(at)
                ),
            )
        })?;
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    Ok(u32::from_be_bytes(word))
}

fn decode_block_header(data: &[u8], pos: usize) -> Result<(L2BlockData, usize)> {
    let delta_timestamp = read_u32_be(data, pos + 1, "deltaTimestamp")?;
    let l1_info_index = read_u32_be(data, pos + 5, "indexL1InfoTree")?;
    let block = L2BlockData {
        delta_timestamp,
        l1_info_index,
        transactions: Vec::new(),
    };
    Ok((block, pos + CHANGE_L2_BLOCK_LEN))
}

/// Reads the RLP fields of one list, tracking each field's absolute offset for errors.
struct FieldReader<'a> {
    /// The list payload not yet read.
    rest: &'a [u8],
    /// Absolute offset of `rest[0]` in the batch data.
    offset: usize,
}

impl<'a> FieldReader<'a> {
    fn field<T: Decodable>(&mut self, name: &str) -> Result<T> {
        let start = self.offset;
        if self.rest.is_empty() {
            return Err(malformed(
                start,
                format!("transaction RLP list ends before field `{name}`"),
            ));
        }
        let mut buf = self.rest;
        let value = T::decode(&mut buf)
            .map_err(|e| malformed(start, format!("field `{name}`: {}", rlp_error(e))))?;
        self.offset += self.rest.len() - buf.len();
        self.rest = buf;
        Ok(value)
    }

    /// A field that must be the empty string (`0x80`): the EIP-155 placeholders.
    fn empty_field(&mut self, name: &str) -> Result<()> {
        match self.rest.first() {
            Some(&alloy_rlp::EMPTY_STRING_CODE) => {
                self.rest = self.rest.get(1..).unwrap_or_default();
                self.offset += 1;
                Ok(())
            }
            Some(&other) => Err(malformed(
                self.offset,
                format!("field `{name}` must be the empty string 0x80, found byte {other:#04x}"),
            )),
            None => Err(malformed(
                self.offset,
                format!("transaction RLP list ends before field `{name}`"),
            )),
        }
    }

    fn finish(&self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(
                self.offset,
                "unexpected extra field in transaction RLP list".to_string(),
            ))
        }
    }
}

fn rlp_error(e: alloy_rlp::Error) -> String {
    match e {
        alloy_rlp::Error::UnexpectedLength => "wrong length (an address must be 20 bytes, a hash \
                                               32)"
        .to_string(),
        other => other.to_string(),
    }
}

/// Decodes the transaction item starting at `pos`; returns it and the offset after it.
fn decode_transaction_at(
    data: &[u8],
    pos: usize,
    kind: ItemKind,
) -> Result<(BatchTransaction, usize)> {
    let list_start = if kind == ItemKind::Legacy {
        pos
    } else {
        pos + 1
    };
    let rest = data.get(list_start..).unwrap_or_default();
    if rest.is_empty() {
        return Err(malformed(
            list_start,
            "typed transaction without its RLP list".to_string(),
        ));
    }
    let mut buf = rest;
    let header = Header::decode(&mut buf).map_err(|e| {
        let reason = match e {
            alloy_rlp::Error::InputTooShort => format!(
                "transaction RLP list runs past the end of the batch data ({} bytes left)",
                rest.len()
            ),
            other => format!("transaction RLP list header: {}", rlp_error(other)),
        };
        malformed(list_start, reason)
    })?;
    if !header.list {
        return Err(malformed(
            list_start,
            "a typed transaction's payload must be an RLP list".to_string(),
        ));
    }
    let payload_start = list_start + (rest.len() - buf.len());
    // `Header::decode` checked that the payload fits in what remains.
    let payload_end = payload_start + header.payload_length;
    let payload = data.get(payload_start..payload_end).unwrap_or_default();
    let mut fields = FieldReader {
        rest: payload,
        offset: payload_start,
    };

    let trailer: Option<&[u8; TX_TRAILER_LEN]> = payload_end
        .checked_add(TX_TRAILER_LEN)
        .and_then(|end| data.get(payload_end..end))
        .and_then(|bytes| bytes.try_into().ok());

    let tx = match kind {
        ItemKind::Legacy => {
            let nonce = fields.field("nonce")?;
            let gas_price = fields.field("gasPrice")?;
            let gas_limit = fields.field("gas")?;
            let to: TxKind = fields.field("to")?;
            let value = fields.field("value")?;
            let input: Bytes = fields.field("data")?;
            let chain_id = if fields.rest.is_empty() {
                None
            } else {
                let chain_id = fields.field("chainId")?;
                fields.empty_field("EIP-155 r (0)")?;
                fields.empty_field("EIP-155 s (0)")?;
                Some(chain_id)
            };
            fields.finish()?;
            let (signature, effective_percentage) = decode_trailer(data, payload_end, trailer)?;
            let tx = TxLegacy {
                chain_id,
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                input,
            };
            BatchTransaction {
                tx: TxEnvelope::Legacy(Signed::new_unhashed(tx, signature)),
                effective_percentage,
            }
        }
        ItemKind::Eip2930 => {
            let chain_id = fields.field("chainId")?;
            let nonce = fields.field("nonce")?;
            let gas_price = fields.field("gasPrice")?;
            let gas_limit = fields.field("gas")?;
            let to = fields.field("to")?;
            let value = fields.field("value")?;
            let input = fields.field("data")?;
            let access_list: AccessList = fields.field("accessList")?;
            fields.finish()?;
            let (signature, effective_percentage) = decode_trailer(data, payload_end, trailer)?;
            let tx = TxEip2930 {
                chain_id,
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                access_list,
                input,
            };
            BatchTransaction {
                tx: TxEnvelope::Eip2930(Signed::new_unhashed(tx, signature)),
                effective_percentage,
            }
        }
        ItemKind::Eip1559 => {
            let chain_id = fields.field("chainId")?;
            let nonce = fields.field("nonce")?;
            let max_priority_fee_per_gas = fields.field("maxPriorityFeePerGas")?;
            let max_fee_per_gas = fields.field("maxFeePerGas")?;
            let gas_limit = fields.field("gas")?;
            let to = fields.field("to")?;
            let value = fields.field("value")?;
            let input = fields.field("data")?;
            let access_list: AccessList = fields.field("accessList")?;
            fields.finish()?;
            let (signature, effective_percentage) = decode_trailer(data, payload_end, trailer)?;
            let tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to,
                value,
                access_list,
                input,
            };
            BatchTransaction {
                tx: TxEnvelope::Eip1559(Signed::new_unhashed(tx, signature)),
                effective_percentage,
            }
        }
    };
    let end = payload_end + TX_TRAILER_LEN;
    check_canonical(data, pos, end, &tx)?;
    Ok((tx, end))
}

/// Reads r, s, v and the effective percentage that follow a signing payload ending at `at`.
fn decode_trailer(
    data: &[u8],
    at: usize,
    trailer: Option<&[u8; TX_TRAILER_LEN]>,
) -> Result<(Signature, u8)> {
    let Some(trailer) = trailer else {
        return Err(malformed(
            data.len(),
            format!(
                "truncated transaction: r, s, v and effective percentage need {TX_TRAILER_LEN} \
                 bytes after the RLP list ending at offset {at}, {} left",
                data.len().saturating_sub(at)
            ),
        ));
    };
    // Constant positions in a fixed-size array: r 0..32, s 32..64, v 64, percentage 65.
    let (r, s) = (&trailer[..32], &trailer[32..64]);
    let (v, effective_percentage) = (trailer[64], trailer[65]);
    let y_parity = match v.checked_sub(V_BASE) {
        Some(0) => false,
        Some(1) => true,
        _ => {
            return Err(malformed(
                at + 64,
                format!("signature v must be 0x1b or 0x1c (27 + y parity), found {v:#04x}"),
            ))
        }
    };
    let signature = Signature::new(U256::from_be_slice(r), U256::from_be_slice(s), y_parity);
    Ok((signature, effective_percentage))
}

/// Rejects an item whose bytes differ from the canonical encoding of what it decoded to, so that
/// decode → encode is the identity on every accepted input.
fn check_canonical(data: &[u8], pos: usize, end: usize, tx: &BatchTransaction) -> Result<()> {
    let original = data.get(pos..end).unwrap_or_default();
    let mut canonical = Vec::with_capacity(original.len());
    if let Err(reason) = encode_transaction(tx, &mut canonical) {
        return Err(malformed(pos, reason.to_string()));
    }
    if canonical.as_slice() == original {
        return Ok(());
    }
    let first_difference = original
        .iter()
        .zip(&canonical)
        .position(|(a, b)| a != b)
        .unwrap_or(original.len());
    Err(malformed(
        pos + first_difference,
        "non-canonical transaction encoding (re-encoding the decoded transaction differs from \
         this byte on)"
            .to_string(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloy_primitives::{address, hex};

    fn error_offset(data: &[u8]) -> (usize, String) {
        match decode_batch(data) {
            Err(ExecutorError::MalformedBatchData { offset, reason }) => (offset, reason),
            other => panic!("expected MalformedBatchData, got {other:?}"),
        }
    }

    #[test]
    fn empty_input_is_the_empty_batch_and_round_trips() {
        let batch = decode_batch(&[]).unwrap();
        assert!(batch.blocks.is_empty());
        assert!(encode_batch(&batch).unwrap().is_empty());
    }

    #[test]
    fn block_headers_encode_like_the_zkevm() {
        // zkevm-node state/encoding_batch_v2_test.go TestEncodeBatchV2.
        let batch = DecodedBatch {
            blocks: vec![
                L2BlockData {
                    delta_timestamp: 123,
                    l1_info_index: 456,
                    transactions: vec![],
                },
                L2BlockData {
                    delta_timestamp: 789,
                    l1_info_index: 101112,
                    transactions: vec![],
                },
            ],
        };
        let expected = [
            0xb, 0x0, 0x0, 0x0, 0x7b, 0x0, 0x0, 0x1, 0xc8, 0xb, 0x0, 0x0, 0x3, 0x15, 0x0, 0x1,
            0x8a, 0xf8,
        ];
        assert_eq!(encode_batch(&batch).unwrap(), expected);
        assert_eq!(decode_batch(&expected).unwrap(), batch);
    }

    #[test]
    fn truncated_headers_and_stray_bytes_are_located() {
        assert_eq!(error_offset(&hex!("0b010203")).0, 4);
        assert_eq!(error_offset(&hex!("0b01020304010203")).0, 8);
        let (offset, reason) = error_offset(&hex!("0c"));
        assert_eq!(offset, 0);
        assert!(reason.contains("unexpected byte 0x0c"), "{reason}");
        let (offset, _) = error_offset(&hex!("0b0102030401020304" "7f"));
        assert_eq!(offset, 9);
        let (offset, reason) = error_offset(&hex!("0b0102030401020304" "03"));
        assert_eq!(offset, 9);
        assert!(reason.contains("EIP-4844"), "{reason}");
    }

    #[test]
    fn legacy_fields_are_checked_in_place() {
        // A 9-field legacy transaction whose EIP-155 r placeholder is 0x01 instead of 0x80.
        let mut item = hex!(
            "df" "80" "01" "825208" "940000000000000000000000000000000000000001" "01" "80" "01"
            "01" "80"
        )
        .to_vec();
        item.extend_from_slice(&[0u8; 64]);
        item.extend_from_slice(&[0x1b, 0xff]);
        let mut data = hex!("0b0000000000000000").to_vec();
        data.extend_from_slice(&item);
        let (offset, reason) = error_offset(&data);
        // marker (9) + list header (1) + nonce, gasPrice, gas, to, value, data, chainId (29).
        assert_eq!(offset, 9 + 1 + 29);
        assert!(reason.contains("EIP-155 r"), "{reason}");
    }

    #[test]
    fn decodes_known_zkevm_transactions() {
        let to = address!("4d5cf5032b2a844602278b01199ed191a86c93ff");
        // zkevm-node state/encoding_batch_v2_test.go: codedL2BlockHeader + codedRLP2Txs1.
        let data = hex!(
            "0b73e6af6f00000000"
            "ee02843b9aca00830186a0944d5cf5032b2a844602278b01199ed191a86c93ff88016345785d8a0000808203e88080"
            "bff0e780ba7db409339fd3f71969fa2cbf1b8535f6c725a1499d3318d3ef9c2b"
            "6340ddfab84add2c188f9efddb99771db1fe621c981846394ea4f035c85bcdd5"
            "1bff"
        );
        let batch = decode_batch(&data).unwrap();
        assert_eq!(batch.blocks.len(), 1);
        assert_eq!(batch.blocks[0].delta_timestamp, 0x73e6af6f);
        let tx = &batch.blocks[0].transactions[0];
        assert_eq!(tx.effective_percentage, 0xff);
        let TxEnvelope::Legacy(signed) = &tx.tx else {
            panic!("legacy expected")
        };
        assert_eq!(signed.tx().chain_id, Some(1000));
        assert_eq!(signed.tx().nonce, 2);
        assert_eq!(signed.tx().gas_price, 1_000_000_000);
        assert_eq!(signed.tx().gas_limit, 100_000);
        assert_eq!(signed.tx().to, TxKind::Call(to));
        assert_eq!(signed.tx().value, U256::from(100_000_000_000_000_000u128));
        assert!(!signed.signature().v());
        assert_eq!(encode_batch(&batch).unwrap(), data);
    }
}
