//! [`AggregationProof`]: a batch wrap proof or an aggregation proof, with its public values, and its
//! versioned byte encoding.
//!
//! Encoding (v1): `b"ZKNAGG"` ‖ version `0x01` ‖ kind (`0x00` batch, `0x01` aggregate) ‖ plonky2's
//! `ProofWithPublicInputs::to_bytes()`. Both kinds have the aggregation circuits' common data, which
//! decoding needs ([`crate::AggregatorCircuits::decode_proof`]).

use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::proof::ProofWithPublicInputs;
use zknode_executor::BatchPublicValues;

use crate::{AggregatorError, Result, C, D, F};

const MAGIC: &[u8; 6] = b"ZKNAGG";
const VERSION: u8 = 1;

/// What a proof is a proof of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofKind {
    /// One batch, wrapped into the aggregation shape (`prove_batch`).
    Batch,
    /// One or more consecutive batches under the aggregation circuit's key (`aggregate`).
    Aggregate,
}

/// A proof the aggregation tree takes or produces.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregationProof {
    kind: ProofKind,
    proof: ProofWithPublicInputs<F, C, D>,
    public_values: BatchPublicValues,
}

impl AggregationProof {
    pub(crate) fn new(kind: ProofKind, proof: ProofWithPublicInputs<F, C, D>) -> Result<Self> {
        let values = proof
            .public_inputs
            .get(..BatchPublicValues::NUM_ELEMENTS)
            .ok_or_else(|| AggregatorError::InvalidProof("too few public inputs".into()))?;
        let public_values = BatchPublicValues::from_field_elements(values)?;
        Ok(Self {
            kind,
            proof,
            public_values,
        })
    }

    pub fn kind(&self) -> ProofKind {
        self.kind
    }

    /// The statement: what the proof claims (only meaningful once it verifies).
    pub fn public_values(&self) -> &BatchPublicValues {
        &self.public_values
    }

    /// The plonky2 proof.
    pub fn plonky2_proof(&self) -> &ProofWithPublicInputs<F, C, D> {
        &self.proof
    }

    /// The versioned encoding (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.proof.to_bytes();
        let mut out = Vec::with_capacity(MAGIC.len() + 2 + body.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.kind {
            ProofKind::Batch => 0,
            ProofKind::Aggregate => 1,
        });
        out.extend_from_slice(&body);
        out
    }

    /// Decodes [`Self::to_bytes`]; `common` is the aggregation circuits' common data.
    pub fn from_bytes(bytes: &[u8], common: &CommonCircuitData<F, D>) -> Result<Self> {
        let decode_error = |reason: String| AggregatorError::Decode {
            what: "aggregation proof",
            reason,
        };
        let header = MAGIC.len() + 2;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            return Err(decode_error("missing the ZKNAGG header".into()));
        }
        if bytes[MAGIC.len()] != VERSION {
            return Err(decode_error(format!(
                "unsupported version {}",
                bytes[MAGIC.len()]
            )));
        }
        let kind = match bytes[MAGIC.len() + 1] {
            0 => ProofKind::Batch,
            1 => ProofKind::Aggregate,
            other => return Err(decode_error(format!("unknown proof kind {other}"))),
        };
        // plonky2's reader can index out of bounds on some truncated inputs; a decoding failure must
        // stay an error.
        let body = bytes[header..].to_vec();
        let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ProofWithPublicInputs::from_bytes(body, common)
        }))
        .map_err(|_| decode_error("malformed plonky2 proof".into()))?
        .map_err(|e| decode_error(format!("malformed plonky2 proof: {e}")))?;
        if proof.public_inputs.len() != common.num_public_inputs {
            return Err(decode_error("wrong number of public inputs".into()));
        }
        Self::new(kind, proof)
    }
}
