//! Verifying aggregation proofs: the plonky2 proof under the aggregation key, and the key the proof
//! carries in its public inputs equal to that key (the cyclic-recursion check that binds every level
//! of the tree to the same key).

use plonky2::recursion::cyclic_recursion::check_cyclic_proof_verifier_data;
use zknode_executor::BatchPublicValues;

use crate::{AggregationProof, AggregatorCircuits, AggregatorError, BatchStark, ProofKind, Result};

impl<S: BatchStark> AggregatorCircuits<S> {
    /// Verifies an aggregation proof and returns the statement it proves.
    pub fn verify(&self, proof: &AggregationProof) -> Result<BatchPublicValues> {
        if proof.kind() != ProofKind::Aggregate {
            return Err(AggregatorError::InvalidProof(
                "a batch proof, not an aggregate: aggregate it first".into(),
            ));
        }
        let data = &self.aggregation.data;
        check_cyclic_proof_verifier_data(proof.plonky2_proof(), &data.verifier_only, &data.common)
            .map_err(|e| AggregatorError::InvalidProof(format!("verifier key mismatch: {e}")))?;
        data.verify(proof.plonky2_proof().clone())
            .map_err(|e| AggregatorError::InvalidProof(e.to_string()))?;
        Ok(*proof.public_values())
    }

    /// Verifies a batch proof (a `prove_batch` result).
    pub fn verify_batch(&self, proof: &AggregationProof) -> Result<BatchPublicValues> {
        if proof.kind() != ProofKind::Batch {
            return Err(AggregatorError::InvalidProof("not a batch proof".into()));
        }
        self.batch_wrap
            .data
            .verify(proof.plonky2_proof().clone())
            .map_err(|e| AggregatorError::InvalidProof(e.to_string()))?;
        Ok(*proof.public_values())
    }

    /// Verifies either kind.
    pub(crate) fn verify_child(&self, proof: &AggregationProof) -> Result<()> {
        match proof.kind() {
            ProofKind::Batch => self.verify_batch(proof).map(|_| ()),
            ProofKind::Aggregate => self.verify(proof).map(|_| ()),
        }
    }

    /// Decodes an [`AggregationProof::to_bytes`] encoding made with these circuits.
    pub fn decode_proof(&self, bytes: &[u8]) -> Result<AggregationProof> {
        AggregationProof::from_bytes(bytes, self.common_data())
    }
}
