//! What the circuits are built for: the batch STARK's configuration and degree range, and the plonky2
//! configuration of the recursion circuits.

use std::ops::RangeInclusive;

use plonky2::fri::FriParams;
use plonky2::plonk::circuit_data::CircuitConfig;
use starky::config::StarkConfig;
use zknode_executor::BatchPublicValues;

use crate::{AggregatorError, BatchStark, Result};

/// Parameters of a set of aggregation circuits. Part of the cache key.
#[derive(Clone, Debug)]
pub struct AggregatorParams {
    /// The configuration batch STARK proofs are made with.
    pub stark_config: StarkConfig,
    /// Degrees (log2 of trace rows) of batch STARK proofs the batch circuit accepts. Proofs must be
    /// made with [`AggregatorParams::stark_verifier_fri_params`] so that smaller ones fit; the
    /// prover then requires the largest degree to be big enough for FRI to end on its configured
    /// final polynomial (2^6 rows or more with starky's standard fast config).
    pub stark_degree_bits: RangeInclusive<usize>,
    /// plonky2 configuration of the recursion circuits.
    pub circuit_config: CircuitConfig,
}

impl AggregatorParams {
    /// starky's fast config for the STARKs and plonky2's standard recursion config.
    pub fn new(stark_degree_bits: RangeInclusive<usize>) -> Self {
        Self {
            stark_config: StarkConfig::standard_fast_config(),
            stark_degree_bits,
            circuit_config: CircuitConfig::standard_recursion_config(),
        }
    }

    /// The FRI parameters batch STARK proofs must be made with (`verifier_circuit_fri_params` of the
    /// prover): those of the largest supported degree.
    pub fn stark_verifier_fri_params(&self) -> FriParams {
        self.stark_config.fri_params(*self.stark_degree_bits.end())
    }

    pub(crate) fn validate<S: BatchStark>(&self) -> Result<()> {
        let (min, max) = (
            *self.stark_degree_bits.start(),
            *self.stark_degree_bits.end(),
        );
        let rate_bits = self.stark_config.fri_config.rate_bits;
        let cap_height = self.stark_config.fri_config.cap_height;
        if min > max || min < 1 || max > 28 {
            return Err(AggregatorError::UnsupportedBatchProof(format!(
                "degree range {min}..={max} must be non-empty within 1..=28"
            )));
        }
        if min + rate_bits < cap_height {
            return Err(AggregatorError::UnsupportedBatchProof(format!(
                "degree 2^{min} with rate_bits {rate_bits} is below the cap height {cap_height}"
            )));
        }
        if S::PUBLIC_INPUTS < BatchPublicValues::NUM_ELEMENTS {
            return Err(AggregatorError::UnsupportedBatchProof(format!(
                "the STARK has {} public inputs; the first {} must be the batch public values",
                S::PUBLIC_INPUTS,
                BatchPublicValues::NUM_ELEMENTS
            )));
        }
        Ok(())
    }

    /// A stable text form of everything that shapes the circuits (the cache key's input).
    pub(crate) fn definition<S: BatchStark>(&self, stark: &S) -> String {
        format!(
            "stark={} columns={} public_inputs={} constraint_degree={} stark_config={:?} \
             degree_bits={}..={} circuit_config={:?}",
            S::NAME,
            S::COLUMNS,
            S::PUBLIC_INPUTS,
            stark.constraint_degree(),
            self.stark_config,
            self.stark_degree_bits.start(),
            self.stark_degree_bits.end(),
            self.circuit_config,
        )
    }
}
