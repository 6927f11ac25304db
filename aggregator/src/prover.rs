//! Proving: one batch STARK proof into a batch proof, two proofs into one, many into one.

use std::panic::{catch_unwind, AssertUnwindSafe};

use starky::proof::StarkProofWithPublicInputs;
use starky::verifier::verify_stark_proof;
use tracing::{info, info_span};
use zknode_executor::BatchPublicValues;

use crate::circuits::aggregation::Child;
use crate::{
    AggregationProof, AggregatorCircuits, AggregatorError, BatchStark, ProofKind, Result, C, D, F,
};

/// A batch STARK proof as the batch circuit takes it.
pub type BatchStarkProof = StarkProofWithPublicInputs<F, C, D>;

impl<S: BatchStark> AggregatorCircuits<S> {
    /// Proves one batch: verifies the STARK proof natively (a proof that does not verify is an
    /// error, not a wasted proving attempt), then proves the batch circuit and its wrap.
    pub fn prove_batch(&self, stark_proof: &BatchStarkProof) -> Result<AggregationProof> {
        let degree_bits = self.check_batch_stark_proof(stark_proof)?;
        self.prove_batch_unchecked(stark_proof, degree_bits)
    }

    /// Checks a batch STARK proof natively; returns its degree (log2 of its trace rows).
    pub fn check_batch_stark_proof(&self, stark_proof: &BatchStarkProof) -> Result<usize> {
        if stark_proof.public_inputs.len() != S::PUBLIC_INPUTS {
            return Err(AggregatorError::UnsupportedBatchProof(format!(
                "{} public inputs, the STARK has {}",
                stark_proof.public_inputs.len(),
                S::PUBLIC_INPUTS
            )));
        }
        BatchPublicValues::from_field_elements(
            &stark_proof.public_inputs[..BatchPublicValues::NUM_ELEMENTS],
        )?;
        let config = &self.params.stark_config;
        // starky indexes into the proof while recovering its degree and deriving challenges; a
        // malformed proof must come back as an error.
        let degree_bits = catch_unwind(AssertUnwindSafe(|| {
            stark_proof.proof.recover_degree_bits(config)
        }))
        .map_err(|_| AggregatorError::InvalidBatchProof("malformed proof shape".into()))?;
        if !self.params.stark_degree_bits.contains(&degree_bits) {
            return Err(AggregatorError::UnsupportedBatchProof(format!(
                "degree 2^{degree_bits} is outside the circuits' range 2^{}..=2^{}",
                self.params.stark_degree_bits.start(),
                self.params.stark_degree_bits.end()
            )));
        }
        let fri_params = self.params.stark_verifier_fri_params();
        catch_unwind(AssertUnwindSafe(|| {
            verify_stark_proof(self.stark, stark_proof.clone(), config, Some(fri_params))
        }))
        .map_err(|_| AggregatorError::InvalidBatchProof("malformed proof shape".into()))?
        .map_err(|e| AggregatorError::InvalidBatchProof(e.to_string()))?;
        Ok(degree_bits)
    }

    /// Proves the batch circuit without the native check. For tests that show the circuit itself
    /// rejects what the check would have caught.
    #[doc(hidden)]
    pub fn prove_batch_unchecked(
        &self,
        stark_proof: &BatchStarkProof,
        degree_bits: usize,
    ) -> Result<AggregationProof> {
        let _span = info_span!("prove_batch", degree_bits).entered();
        let inner = {
            let _span = info_span!("batch_stark_circuit").entered();
            self.batch_stark.prove(stark_proof, degree_bits)?
        };
        let wrapped = {
            let _span = info_span!("batch_wrap").entered();
            self.batch_wrap.prove(&inner)?
        };
        AggregationProof::new(ProofKind::Batch, wrapped)
    }

    /// One aggregation step: `left` followed by `right` (consecutive batches), or `left` alone
    /// carried up to the aggregation key. Both children are verified natively first.
    pub fn aggregate(
        &self,
        left: &AggregationProof,
        right: Option<&AggregationProof>,
    ) -> Result<AggregationProof> {
        self.verify_child(left)?;
        if let Some(right) = right {
            self.verify_child(right)?;
            left.public_values()
                .check_continues_into(right.public_values())
                .map_err(AggregatorError::NotConsecutive)?;
        }
        self.aggregate_unchecked(left, right)
    }

    /// The aggregation step without native checks. For tests that show the circuit itself rejects
    /// what the checks would have caught.
    #[doc(hidden)]
    pub fn aggregate_unchecked(
        &self,
        left: &AggregationProof,
        right: Option<&AggregationProof>,
    ) -> Result<AggregationProof> {
        let _span = info_span!(
            "aggregate",
            first_batch = left.public_values().old_batch_number + 1,
            last_batch = right.unwrap_or(left).public_values().new_batch_number,
        )
        .entered();
        let proof = self.aggregation.prove(child(left), right.map(child))?;
        AggregationProof::new(ProofKind::Aggregate, proof)
    }

    /// Aggregates consecutive batch (or aggregate) proofs, in order, into one aggregation proof: a
    /// binary tree, level by level, an odd last proof carried to the next level unchanged.
    pub fn aggregate_all(&self, proofs: Vec<AggregationProof>) -> Result<AggregationProof> {
        if proofs.is_empty() {
            return Err(AggregatorError::Empty);
        }
        for pair in proofs.windows(2) {
            pair[0]
                .public_values()
                .check_continues_into(pair[1].public_values())
                .map_err(AggregatorError::NotConsecutive)?;
        }
        let mut level = proofs;
        let mut depth = 0;
        while level.len() > 1 {
            depth += 1;
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut proofs = level.into_iter();
            while let Some(left) = proofs.next() {
                match proofs.next() {
                    Some(right) => next.push(self.aggregate(&left, Some(&right))?),
                    None => next.push(left),
                }
            }
            info!(depth, proofs = next.len(), "aggregation level done");
            level = next;
        }
        let top = level.pop().ok_or(AggregatorError::Empty)?;
        match top.kind() {
            ProofKind::Aggregate => Ok(top),
            ProofKind::Batch => self.aggregate(&top, None),
        }
    }
}

fn child(proof: &AggregationProof) -> Child<'_> {
    Child {
        proof: proof.plonky2_proof(),
        is_aggregate: proof.kind() == ProofKind::Aggregate,
    }
}
