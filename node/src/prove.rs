//! `zknode prove`: fixture batches end to end — batch data → execute → witness → batch STARK →
//! batch circuit → aggregation → verification — with progress and phase timings.
//!
//! The batches run in chain order from the genesis. Batches before the first selected one are
//! executed (their roots and transfer commitments are needed for the public values) but not proven.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zknode_aggregator::pipeline::{
    batch_air_params, genesis_values, next_public_values, prove_batch,
};
use zknode_aggregator::{AggregationProof, AggregatorCircuits, BatchPublicValues};
use zknode_executor::execution::{Executor, ExecutorConfig};
use zknode_fixtures::FixtureChain;
use zknode_kernels::{AnyBackend, BackendKind};
use zknode_prover::batch::BatchAir;

use crate::error::NodeError;

/// What to prove.
#[derive(Clone, Debug)]
pub struct ProveOptions {
    /// The fixture chain file.
    pub fixture: PathBuf,
    /// 1-based batch numbers, an inclusive range within the chain; no last batch: the chain's last.
    pub first_batch: u64,
    pub last_batch: Option<u64>,
    pub backend: BackendKind,
    /// Where the aggregation circuits are cached (built on first use, tens of seconds).
    pub circuit_cache: PathBuf,
    /// Write the aggregate proof's bytes here.
    pub proof_out: Option<PathBuf>,
}

/// Progress of a run, reported as it happens.
#[derive(Clone, Debug)]
pub enum ProveEvent {
    Backend(String),
    Circuits {
        loaded: bool,
        took: Duration,
    },
    Executed {
        batch: u64,
        transfers: usize,
        took: Duration,
    },
    Proved {
        batch: u64,
        transfers: usize,
        writes: usize,
        rows_used: usize,
        degree_bits: usize,
        trace: Duration,
        stark: Duration,
        batch_circuit: Duration,
    },
    Aggregated {
        batches: usize,
        took: Duration,
    },
    Verified {
        values: BatchPublicValues,
        took: Duration,
        proof_bytes: usize,
    },
}

/// The outcome of a run.
#[derive(Debug)]
pub struct ProveSummary {
    pub values: BatchPublicValues,
    pub proof: AggregationProof,
    pub total: Duration,
}

fn fixture_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Prove(format!("fixture: {e}"))
}

fn prove_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Prove(e.to_string())
}

/// Runs the path described in the module docs; `report` sees every step.
pub fn prove_fixture(
    options: &ProveOptions,
    mut report: impl FnMut(ProveEvent),
) -> Result<ProveSummary, NodeError> {
    let started = Instant::now();
    let chain = zknode_fixtures::load(&options.fixture)
        .map_err(|e| NodeError::Prove(format!("loading {}: {e}", options.fixture.display())))?;
    let count = chain.batches.len() as u64;
    let last_batch = options.last_batch.unwrap_or(count);
    if options.first_batch < 1 || options.first_batch > last_batch || last_batch > count {
        return Err(NodeError::Prove(format!(
            "batches {}..={last_batch} are not within the chain's 1..={count}",
            options.first_batch
        )));
    }
    let mut backend = AnyBackend::open(options.backend).map_err(prove_error)?;
    if options.backend == BackendKind::Auto {
        backend = backend.prefer_hardware();
    }
    report(ProveEvent::Backend(zknode_kernels::Backend::name(&backend)));

    let t = Instant::now();
    std::fs::create_dir_all(&options.circuit_cache).map_err(|e| {
        NodeError::Prove(format!(
            "circuit cache {}: {e}",
            options.circuit_cache.display()
        ))
    })?;
    let (circuits, outcome) =
        AggregatorCircuits::load_or_build(BatchAir, batch_air_params(), &options.circuit_cache)
            .map_err(prove_error)?;
    report(ProveEvent::Circuits {
        loaded: matches!(outcome, zknode_aggregator::cache::CacheOutcome::Loaded),
        took: t.elapsed(),
    });

    let store = tempfile::tempdir().map_err(|e| NodeError::Prove(format!("temp dir: {e}")))?;
    let executor = open_executor(store.path(), &chain)?;
    let mut previous = genesis_values(chain.chain_id, chain.fork_id, chain.genesis_root);
    let mut proofs = Vec::new();
    for (index, batch) in chain.batches.iter().enumerate().take(last_batch as usize) {
        let prove = batch.batch_number >= options.first_batch;
        let t = Instant::now();
        let request = chain.request(index).map_err(fixture_error)?;
        let response = executor.process_batch(&request).map_err(prove_error)?;
        if response.new_state_root != batch.new_state_root {
            return Err(NodeError::Prove(format!(
                "batch {} executes to {}, the fixture expects {}",
                batch.batch_number, response.new_state_root, batch.new_state_root
            )));
        }
        let witness = response.witness.ok_or_else(|| {
            NodeError::Prove(format!("batch {}: no witness returned", batch.batch_number))
        })?;
        report(ProveEvent::Executed {
            batch: batch.batch_number,
            transfers: witness.transactions.len(),
            took: t.elapsed(),
        });
        if !prove {
            let transfers =
                zknode_prover::batch::trace::transfers(&witness).map_err(prove_error)?;
            let commitment = zknode_prover::batch::commitment(&transfers);
            previous = next_public_values(&previous, &witness, &commitment);
            continue;
        }
        let proven = prove_batch(&circuits, &backend, &witness, &previous).map_err(prove_error)?;
        report(ProveEvent::Proved {
            batch: batch.batch_number,
            transfers: proven.stark.transfers,
            writes: proven.stark.writes,
            rows_used: proven.stark.rows_used,
            degree_bits: proven.stark.degree_bits,
            trace: proven.stark.trace_time,
            stark: proven.stark.stark_time,
            batch_circuit: proven.batch_circuit_time,
        });
        previous = proven.stark.values;
        proofs.push(proven.proof);
    }

    let t = Instant::now();
    let batches = proofs.len();
    let proof = circuits.aggregate_all(proofs).map_err(prove_error)?;
    report(ProveEvent::Aggregated {
        batches,
        took: t.elapsed(),
    });
    let t = Instant::now();
    let bytes = proof.to_bytes();
    let values = if batches == 1 && proof.kind() == zknode_aggregator::ProofKind::Batch {
        circuits.verify_batch(&proof)
    } else {
        circuits.verify(&proof)
    }
    .map_err(prove_error)?;
    if values.new_state_root != previous.new_state_root
        || values.new_acc_input_hash != previous.new_acc_input_hash
    {
        return Err(NodeError::Prove(
            "the aggregate's public values are not the last batch's".to_string(),
        ));
    }
    report(ProveEvent::Verified {
        values,
        took: t.elapsed(),
        proof_bytes: bytes.len(),
    });
    if let Some(path) = &options.proof_out {
        std::fs::write(path, &bytes)
            .map_err(|e| NodeError::Prove(format!("writing {}: {e}", path.display())))?;
    }
    Ok(ProveSummary {
        values,
        proof,
        total: started.elapsed(),
    })
}

fn open_executor(path: &Path, chain: &FixtureChain) -> Result<Executor, NodeError> {
    let executor = Executor::open(path, ExecutorConfig::default()).map_err(prove_error)?;
    let root = executor.set_genesis(&chain.genesis).map_err(prove_error)?;
    if root != chain.genesis_root {
        return Err(NodeError::Prove(format!(
            "the genesis root is {root}, the fixture expects {}",
            chain.genesis_root
        )));
    }
    Ok(executor)
}
