//! The end-to-end path for native-transfer batches: executor witness → batch AIR trace → batch STARK
//! proof (on any kernel backend) → batch circuit → aggregation with other batches → verification.
//!
//! Executing batch data is the executor's job (`Executor::process_batch` with `include_witness`);
//! this module starts from its witness. `zknode prove` (the node binary) runs the whole path on the
//! fixture chain.
//!
//! # Accumulated input hash (stand-in)
//! Until the Keccak rung binds batch data, a batch's `new_acc_input_hash` is
//! [`stand_in_acc_input_hash`] of the previous one and the batch's transfer commitment, so the
//! aggregate's accumulated hash commits to every transfer list in order. The batch circuit checks
//! this relation (see `circuits::batch`), so it is enforced, not just computed.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use tracing::info_span;
use zknode_executor::execution::BatchWitness;
use zknode_executor::state::hash::poseidon_hash;
use zknode_executor::state::Digest;
use zknode_executor::{BatchPublicValues, StateRoot};
use zknode_kernels::Backend;
use zknode_prover::batch::{generate_trace_with, BatchAir};

use crate::prover::BatchStarkProof;
use crate::{AggregationProof, AggregatorCircuits, AggregatorParams, BatchStark, Result, C, D};

impl BatchStark for BatchAir {
    const NAME: &'static str = "zknode-batch-air-v1";
    const TRANSFER_COMMITMENT: Option<usize> = Some(zknode_prover::batch::COMMITMENT_PI.start);
}

/// Trace degrees (log2 rows) the batch circuits accept: the byte table's 256 rows up to 2^18 rows
/// (about 3,500 transfers in a tree of a million leaves).
pub const BATCH_DEGREE_BITS: RangeInclusive<usize> = BatchAir::MIN_DEGREE_BITS..=18;

/// The aggregator parameters of the batch AIR.
pub fn batch_air_params() -> AggregatorParams {
    AggregatorParams::new(BATCH_DEGREE_BITS)
}

/// `Poseidon(old as eight 32-bit big-endian words ‖ commitment)`, as a bytes32 (elements 3..0,
/// big-endian, like a state root). The stand-in for the zkEVM's Keccak accumulated input hash.
pub fn stand_in_acc_input_hash(old: &[u8; 32], commitment: &Digest) -> [u8; 32] {
    let mut words = [0u64; 8];
    for (word, chunk) in words.iter_mut().zip(old.chunks_exact(4)) {
        *word = u64::from(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
    }
    StateRoot(poseidon_hash(&words, commitment)).to_bytes32()
}

/// One proven batch: the STARK's report, its proof, and the batch circuit's proof.
#[derive(Clone, Debug)]
pub struct ProvenBatch {
    pub stark: ProvenBatchStark,
    pub stark_proof: BatchStarkProof,
    pub proof: AggregationProof,
    /// Native verification of the STARK proof, the batch circuit and its wrap.
    pub batch_circuit_time: Duration,
}

/// The public values of a batch whose witness is `witness`, following `previous` (the values of the
/// batch before, or of the genesis: batch number 0 and a zero accumulated input hash).
pub fn next_public_values(
    previous: &BatchPublicValues,
    witness: &BatchWitness,
    commitment: &Digest,
) -> BatchPublicValues {
    BatchPublicValues {
        chain_id: previous.chain_id,
        fork_id: previous.fork_id,
        old_batch_number: previous.new_batch_number,
        new_batch_number: previous.new_batch_number + 1,
        old_state_root: witness.old_state_root,
        new_state_root: witness.new_state_root,
        old_acc_input_hash: previous.new_acc_input_hash,
        new_acc_input_hash: stand_in_acc_input_hash(&previous.new_acc_input_hash, commitment),
        local_exit_root: previous.local_exit_root,
    }
}

/// Proves the batch STARK of one witness on `backend`.
pub fn prove_batch_stark<B: Backend>(
    backend: &B,
    params: &AggregatorParams,
    witness: &BatchWitness,
    previous: &BatchPublicValues,
) -> Result<(BatchStarkProof, ProvenBatchStark)> {
    let started = Instant::now();
    let trace = {
        let _span = info_span!("batch_trace", transactions = witness.transactions.len()).entered();
        // The accumulated input hash in the public values depends on the transfer commitment.
        generate_trace_with(witness, |commitment| {
            next_public_values(previous, witness, commitment)
        })?
    };
    let trace_time = started.elapsed();
    let started = Instant::now();
    let proof = {
        let _span = info_span!("batch_stark", degree_bits = trace.degree_bits()).entered();
        zknode_prover::prove::<B, C, BatchAir, D>(
            backend,
            &BatchAir,
            &params.stark_config,
            &trace.columns,
            &trace.public_inputs,
            Some(params.stark_verifier_fri_params()),
        )?
    };
    let values = BatchPublicValues::from_field_elements(
        &trace.public_inputs[..BatchPublicValues::NUM_ELEMENTS],
    )?;
    Ok((
        proof,
        ProvenBatchStark {
            values,
            transfer_commitment: trace.commitment,
            transfers: trace.transfers.len(),
            writes: trace.writes,
            rows_used: trace.rows_used,
            degree_bits: trace.degree_bits(),
            trace_time,
            stark_time: started.elapsed(),
        },
    ))
}

/// What [`prove_batch_stark`] reports besides the proof: the batch's values and trace figures, and
/// the time spent on witness checks and trace generation and on the STARK proof.
#[derive(Clone, Debug)]
pub struct ProvenBatchStark {
    pub values: BatchPublicValues,
    pub transfer_commitment: Digest,
    pub transfers: usize,
    pub writes: usize,
    pub rows_used: usize,
    pub degree_bits: usize,
    pub trace_time: Duration,
    pub stark_time: Duration,
}

/// Proves one batch through the batch circuit: STARK, then the recursive batch proof.
pub fn prove_batch<B: Backend>(
    circuits: &AggregatorCircuits<BatchAir>,
    backend: &B,
    witness: &BatchWitness,
    previous: &BatchPublicValues,
) -> Result<ProvenBatch> {
    let (stark_proof, stark) = prove_batch_stark(backend, circuits.params(), witness, previous)?;
    let started = Instant::now();
    let proof = circuits.prove_batch(&stark_proof)?;
    Ok(ProvenBatch {
        stark,
        stark_proof,
        proof,
        batch_circuit_time: started.elapsed(),
    })
}

/// The values before the first batch of a chain: batch 0 at the genesis root.
pub fn genesis_values(chain_id: u64, fork_id: u64, genesis_root: StateRoot) -> BatchPublicValues {
    BatchPublicValues {
        chain_id,
        fork_id,
        old_batch_number: 0,
        new_batch_number: 0,
        old_state_root: genesis_root,
        new_state_root: genesis_root,
        ..Default::default()
    }
}
