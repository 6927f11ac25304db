//! Aggregation end to end on the stand-in batch STARK: trees of 1, 2, 3 and 5 batches under one key,
//! the chain enforced in-circuit, tampering rejected, proofs and circuits round-tripping to bytes.

// A failed unwrap is a failed test, with the error in the panic message.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use plonky2::field::types::Field;
use zknode_aggregator::cache::CacheOutcome;
use zknode_aggregator::chain_stark::{prove_batch_stark, ChainStark};
use zknode_aggregator::prover::BatchStarkProof;
use zknode_aggregator::{
    AggregationProof, AggregatorCircuits, AggregatorError, AggregatorParams, BatchPublicValues,
    ProofKind, StateRoot, F,
};
use zknode_kernels::CpuBackend;

type Circuits = AggregatorCircuits<ChainStark>;

/// Degrees of the stand-in batches: proofs of different sizes share one batch circuit.
const DEGREE_BITS: std::ops::RangeInclusive<usize> = 4..=6;

fn params() -> AggregatorParams {
    AggregatorParams::new(DEGREE_BITS)
}

/// The circuit cache of this test binary: one directory under cargo's per-target scratch space,
/// emptied when the binary starts, so runs neither leak directories into `/tmp` nor see an old cache.
fn cache_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aggregator-circuit-cache");
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot empty {}: {e}", dir.display()),
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn circuits() -> &'static Circuits {
    static CIRCUITS: OnceLock<Circuits> = OnceLock::new();
    CIRCUITS.get_or_init(|| {
        let (circuits, outcome) =
            Circuits::load_or_build(ChainStark, params(), cache_dir()).unwrap();
        assert_eq!(
            outcome,
            CacheOutcome::Built,
            "a fresh directory holds no cache"
        );
        circuits
    })
}

fn bytes32(tag: u8, n: u64) -> [u8; 32] {
    let mut out = [tag; 32];
    out[24..].copy_from_slice(&n.to_be_bytes());
    out
}

/// The values of batch `number` (old batch number `number - 1`) starting from `old_root`.
fn values(number: u64, old_root: StateRoot) -> BatchPublicValues {
    BatchPublicValues {
        chain_id: 1101,
        fork_id: 12,
        old_batch_number: number - 1,
        new_batch_number: number,
        old_state_root: old_root,
        new_state_root: StateRoot::EMPTY, // set by the trace
        old_acc_input_hash: bytes32(0xa0, number - 1),
        new_acc_input_hash: bytes32(0xa0, number),
        local_exit_root: bytes32(0xe0, number),
    }
}

fn stark_proof(
    values: BatchPublicValues,
    degree_bits: usize,
) -> (BatchStarkProof, BatchPublicValues) {
    prove_batch_stark(&CpuBackend::new(), &params(), values, degree_bits).unwrap()
}

/// Five consecutive batch proofs of degrees 2^4, 2^5, 2^6, 2^4, 2^5.
fn batches() -> &'static Vec<AggregationProof> {
    static BATCHES: OnceLock<Vec<AggregationProof>> = OnceLock::new();
    BATCHES.get_or_init(|| {
        let mut root = StateRoot([11, 22, 33, 44]);
        (1..=5u64)
            .map(|number| {
                let degree_bits = 4 + (number as usize - 1) % 3;
                let (proof, values) = stark_proof(values(number, root), degree_bits);
                root = values.new_state_root;
                let batch = circuits().prove_batch(&proof).unwrap();
                assert_eq!(batch.kind(), ProofKind::Batch);
                assert_eq!(*batch.public_values(), values);
                assert_eq!(circuits().verify_batch(&batch).unwrap(), values);
                batch
            })
            .collect()
    })
}

fn expected(batches: &[AggregationProof]) -> BatchPublicValues {
    let first = batches[0].public_values();
    batches[1..]
        .iter()
        .fold(*first, |acc, next| acc.merged_with(next.public_values()))
}

#[test]
fn aggregates_of_1_2_3_and_5_batches_verify_under_one_key() {
    let key = circuits().verifier_key_digest();
    for n in [1usize, 2, 3, 5] {
        let aggregate = circuits().aggregate_all(batches()[..n].to_vec()).unwrap();
        assert_eq!(aggregate.kind(), ProofKind::Aggregate);
        let statement = circuits().verify(&aggregate).unwrap();
        assert_eq!(statement, expected(&batches()[..n]), "{n} batches");
        assert_eq!(statement.old_batch_number, 0);
        assert_eq!(statement.new_batch_number, n as u64);
        // The key is a property of the circuits, the same for every tree.
        assert_eq!(circuits().verifier_key_digest(), key);
    }
}

#[test]
fn a_non_consecutive_pair_cannot_be_proven() {
    let (first, third) = (&batches()[0], &batches()[2]);
    match circuits().aggregate(first, Some(third)) {
        Err(AggregatorError::NotConsecutive(reason)) => {
            assert_eq!(reason, "batch numbers are not consecutive")
        }
        other => panic!("expected NotConsecutive, got {other:?}"),
    }
    assert!(matches!(
        circuits().aggregate_all(vec![first.clone(), third.clone()]),
        Err(AggregatorError::NotConsecutive(_))
    ));
    // Without the native check, the circuit itself refuses: no verifying proof comes out.
    assert_unprovable(circuits().aggregate_unchecked(first, Some(third)));
}

#[test]
fn a_state_root_mismatch_cannot_be_proven() {
    let first = &batches()[0];
    // Batch 2 with the right number and accumulated input hash but another starting root.
    let (proof, values) = stark_proof(values(2, StateRoot([5, 6, 7, 8])), 4);
    let second = circuits().prove_batch(&proof).unwrap();
    assert_eq!(second.public_values().old_batch_number, 1);
    assert_ne!(values.old_state_root, first.public_values().new_state_root);
    match circuits().aggregate(first, Some(&second)) {
        Err(AggregatorError::NotConsecutive(reason)) => {
            assert_eq!(reason, "state roots do not chain")
        }
        other => panic!("expected NotConsecutive, got {other:?}"),
    }
    assert_unprovable(circuits().aggregate_unchecked(first, Some(&second)));
}

#[test]
fn a_tampered_inner_proof_cannot_produce_a_batch_proof() {
    let (proof, _) = stark_proof(values(1, StateRoot([1, 2, 3, 4])), 5);

    // A public input changed after proving (here: the claimed new state root).
    let mut tampered = proof.clone();
    tampered.public_inputs[13] += F::ONE;
    assert!(matches!(
        circuits().prove_batch(&tampered),
        Err(AggregatorError::InvalidBatchProof(_))
    ));
    assert_batch_unprovable(circuits().prove_batch_unchecked(&tampered, 5));

    // An opening changed.
    let mut tampered = proof.clone();
    tampered.proof.openings.local_values[0] +=
        <F as plonky2::field::extension::Extendable<2>>::Extension::ONE;
    assert!(matches!(
        circuits().prove_batch(&tampered),
        Err(AggregatorError::InvalidBatchProof(_))
    ));
    assert_batch_unprovable(circuits().prove_batch_unchecked(&tampered, 5));

    // A degree outside the circuits' range.
    let (small, _) = prove_batch_stark(
        &CpuBackend::new(),
        &params(),
        values(1, StateRoot([1, 2, 3, 4])),
        3,
    )
    .unwrap();
    assert!(matches!(
        circuits().prove_batch(&small),
        Err(AggregatorError::UnsupportedBatchProof(_))
    ));
}

#[test]
fn a_tampered_aggregate_is_rejected() {
    let aggregate = circuits().aggregate_all(batches()[..2].to_vec()).unwrap();
    circuits().verify(&aggregate).unwrap();
    let bytes = aggregate.to_bytes();

    // A public value (the new batch number's low limb) changed.
    let mut proof = aggregate.plonky2_proof().clone();
    proof.public_inputs[6] += F::ONE;
    let tampered =
        AggregationProof::from_bytes(&with_proof(&bytes, &proof), circuits().common_data())
            .unwrap();
    assert_eq!(tampered.public_values().new_batch_number, 3);
    assert!(matches!(
        circuits().verify(&tampered),
        Err(AggregatorError::InvalidProof(_))
    ));

    // The verifier key in the public inputs replaced by the batch wrap key's digest bits.
    let mut proof = aggregate.plonky2_proof().clone();
    let last = proof.public_inputs.len() - 1;
    proof.public_inputs[last] += F::ONE;
    let tampered =
        AggregationProof::from_bytes(&with_proof(&bytes, &proof), circuits().common_data())
            .unwrap();
    assert!(matches!(
        circuits().verify(&tampered),
        Err(AggregatorError::InvalidProof(_))
    ));

    // Every 97th byte of the proof body flipped in turn: a decoding error or a rejection, no panic.
    let mut rejected = 0;
    for at in (16..bytes.len()).step_by(bytes.len() / 12) {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x40;
        match circuits().decode_proof(&flipped) {
            Ok(decoded) => assert!(circuits().verify(&decoded).is_err(), "byte {at}"),
            Err(AggregatorError::Decode { .. }) | Err(AggregatorError::InvalidPublicValues(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
        rejected += 1;
    }
    assert!(rejected >= 10);

    // A batch proof is not an aggregate.
    assert!(matches!(
        circuits().verify(&batches()[0]),
        Err(AggregatorError::InvalidProof(_))
    ));
}

#[test]
fn proofs_round_trip_through_bytes() {
    let batch = &batches()[3];
    let decoded = circuits().decode_proof(&batch.to_bytes()).unwrap();
    assert_eq!(&decoded, batch);
    let bytes = batch.to_bytes();
    for cut in [0, 5, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            circuits().decode_proof(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut wrong_version = bytes.clone();
    wrong_version[6] = 9;
    assert!(matches!(
        circuits().decode_proof(&wrong_version),
        Err(AggregatorError::Decode { .. })
    ));
}

#[test]
fn circuits_load_from_the_cache_with_the_same_key() {
    let built = circuits();
    let (loaded, outcome) = Circuits::load_or_build(ChainStark, params(), cache_dir()).unwrap();
    assert_eq!(outcome, CacheOutcome::Loaded);
    assert_eq!(loaded.verifier_key_digest(), built.verifier_key_digest());
    assert_eq!(loaded.common_data(), built.common_data());
    // The loaded circuits prove, and the two sets accept each other's proofs.
    let carried = loaded.aggregate(&batches()[4], None).unwrap();
    assert_eq!(
        built.verify(&carried).unwrap(),
        *batches()[4].public_values()
    );

    // Another definition is another key.
    let other = AggregatorParams::new(4..=7);
    assert_ne!(
        Circuits::definition_digest(&ChainStark, &other),
        Circuits::definition_digest(&ChainStark, &params())
    );
}

/// The aggregation key of these test parameters, as recorded when the circuits last changed.
/// Building is deterministic, so a change here means the circuits changed: then bump
/// `cache::CIRCUITS_VERSION` and update this value.
const TEST_VERIFIER_KEY: &str =
    "0x1d9469ae7794afec10bb5d7cd893a6e02bf6118453e7f7b55b3511e819a1a9d7";

#[test]
fn the_verifier_key_is_stable_across_runs() {
    assert_eq!(circuits().verifier_key_digest(), TEST_VERIFIER_KEY);
}

/// `bytes` (an encoded aggregate) with its plonky2 proof replaced by `proof`.
fn with_proof(
    bytes: &[u8],
    proof: &plonky2::plonk::proof::ProofWithPublicInputs<F, zknode_aggregator::C, 2>,
) -> Vec<u8> {
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(&proof.to_bytes());
    out
}

fn assert_unprovable(result: Result<AggregationProof, AggregatorError>) {
    match result {
        Err(AggregatorError::Proving { .. }) => {}
        Ok(proof) => assert!(
            circuits().verify(&proof).is_err(),
            "a proof of a broken chain verified"
        ),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn assert_batch_unprovable(result: Result<AggregationProof, AggregatorError>) {
    match result {
        Err(AggregatorError::Proving { .. }) => {}
        Ok(proof) => assert!(
            circuits().verify_batch(&proof).is_err(),
            "a tampered batch verified"
        ),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}
