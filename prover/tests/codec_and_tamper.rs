//! The proof encoding round trip, decoding of malformed input, and tampering: every part of a proof
//! (caps, openings, FRI layers, final polynomial, proof of work, public inputs) is bound by starky's
//! verifier.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use starky::config::StarkConfig;
use starky::stark::Stark;
use zknode_kernels::CpuBackend;
use zknode_prover::{codec, ProverError};

type E = <F as Extendable<D>>::Extension;
/// A change to one part of a proof.
type Tamper = Box<dyn Fn(&mut Proof)>;

fn fib_proof() -> (Proof, StarkConfig) {
    let config = StarkConfig::standard_fast_config();
    let (trace, pis) = Fib::<F, D>::trace(1 << 9, F::ONE, F::TWO);
    let proof = assert_identical(&CpuBackend::new(), Fib::new(), &config, &trace, &pis, "fib");
    (proof, config)
}

fn lookup_proof() -> (Proof, StarkConfig) {
    let config = config(2, 3, FriReductionStrategy::ConstantArityBits(3, 3));
    let trace = Lookups::<F, D>::trace(1 << 8);
    let proof = assert_identical(
        &CpuBackend::new(),
        Lookups::new(),
        &config,
        &trace,
        &[],
        "lookups",
    );
    (proof, config)
}

/// Whether starky's verifier rejects `proof`; a panic in the verifier (malformed shapes) counts as a
/// rejection but is reported so that it shows up in the test output.
fn rejected<S: Stark<F, D> + Copy>(
    stark: S,
    proof: &Proof,
    config: &StarkConfig,
    what: &str,
) -> bool {
    match catch_unwind(AssertUnwindSafe(|| {
        starky::verifier::verify_stark_proof(stark, proof.clone(), config, None)
    })) {
        Ok(Ok(())) => false,
        Ok(Err(_)) => true,
        Err(_) => {
            eprintln!("{what}: starky's verifier panicked (counted as a rejection)");
            true
        }
    }
}

fn bump(x: &mut F) {
    *x += F::ONE;
}
fn bump_ext(x: &mut E) {
    *x += E::ONE;
}

#[test]
fn round_trip_is_exact() {
    for (proof, _) in [fib_proof(), lookup_proof()] {
        let bytes = codec::encode(&proof);
        assert_eq!(&bytes[..8], codec::MAGIC);
        let back: Proof = codec::decode(&bytes).expect("decodes");
        assert!(codec::encode(&back) == bytes, "re-encoding differs");
        assert!(
            format!("{back:?}") == format!("{proof:?}"),
            "decoded proof differs"
        );
    }
    let (proof, config) = fib_proof();
    let back: Proof = codec::decode(&codec::encode(&proof)).expect("decodes");
    starky::verifier::verify_stark_proof(Fib::<F, D>::new(), back, &config, None)
        .expect("verifies");
}

#[test]
fn malformed_input_is_an_error() {
    let (proof, _) = fib_proof();
    let bytes = codec::encode(&proof);
    // Every proper prefix is refused (and nothing panics).
    for len in 0..bytes.len() {
        assert!(
            matches!(
                codec::decode::<C, D>(&bytes[..len]),
                Err(ProverError::Decode { .. })
            ),
            "prefix {len} accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(
        codec::decode::<C, D>(&longer).is_err(),
        "trailing byte accepted"
    );
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert!(codec::decode::<C, D>(&bad).is_err(), "bad magic accepted");
    let mut bad = bytes.clone();
    bad[8] = 2;
    assert!(
        codec::decode::<C, D>(&bad).is_err(),
        "unknown version accepted"
    );
    let mut bad = bytes.clone();
    bad[12] = 4;
    assert!(
        codec::decode::<C, D>(&bad).is_err(),
        "wrong extension degree accepted"
    );
    // A non-canonical public input (the first field element, right after the count at 16..20).
    let mut bad = bytes.clone();
    bad[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        codec::decode::<C, D>(&bad).is_err(),
        "non-canonical element accepted"
    );
    // A huge count must not allocate.
    let mut bad = bytes.clone();
    bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(
        codec::decode::<C, D>(&bad).is_err(),
        "forged count accepted"
    );
    // Flipped bytes: the decoder refuses them or the verifier does.
    let stark = Fib::<F, D>::new();
    let config = StarkConfig::standard_fast_config();
    let step = (bytes.len() / 200).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        if let Ok(p) = codec::decode::<C, D>(&bad) {
            assert!(
                rejected(stark, &p, &config, &format!("byte {at}")),
                "flipped byte {at} verifies"
            );
        }
    }
}

#[test]
fn tampering_is_rejected() {
    let (proof, config) = fib_proof();
    let stark = Fib::<F, D>::new();
    assert!(!rejected(stark, &proof, &config, "untouched"));
    let mut cases: Vec<(&str, Tamper)> = vec![
        ("public input", Box::new(|p| bump(&mut p.public_inputs[2]))),
        (
            "trace cap",
            Box::new(|p| bump(&mut p.proof.trace_cap.0[3].elements[1])),
        ),
        (
            "quotient cap",
            Box::new(|p| {
                bump(&mut p.proof.quotient_polys_cap.as_mut().expect("quotient").0[0].elements[0])
            }),
        ),
        (
            "local opening",
            Box::new(|p| bump_ext(&mut p.proof.openings.local_values[0])),
        ),
        (
            "next opening",
            Box::new(|p| bump_ext(&mut p.proof.openings.next_values[1])),
        ),
        (
            "quotient opening",
            Box::new(|p| {
                bump_ext(&mut p.proof.openings.quotient_polys.as_mut().expect("quotient")[0])
            }),
        ),
        (
            "FRI layer cap",
            Box::new(|p| {
                bump(&mut p.proof.opening_proof.commit_phase_merkle_caps[0].0[0].elements[2])
            }),
        ),
        (
            "last FRI layer cap",
            Box::new(|p| {
                let caps = &mut p.proof.opening_proof.commit_phase_merkle_caps;
                let last = caps.len() - 1;
                bump(&mut caps[last].0[1].elements[0]);
            }),
        ),
        (
            "FRI query step evals",
            Box::new(|p| {
                bump_ext(&mut p.proof.opening_proof.query_round_proofs[5].steps[0].evals[1])
            }),
        ),
        (
            "FRI query step path",
            Box::new(|p| {
                bump(
                    &mut p.proof.opening_proof.query_round_proofs[7].steps[0]
                        .merkle_proof
                        .siblings[0]
                        .elements[3],
                )
            }),
        ),
        (
            "initial tree leaf",
            Box::new(|p| {
                bump(
                    &mut p.proof.opening_proof.query_round_proofs[0]
                        .initial_trees_proof
                        .evals_proofs[0]
                        .0[1],
                )
            }),
        ),
        (
            "initial tree path",
            Box::new(|p| {
                bump(
                    &mut p.proof.opening_proof.query_round_proofs[83]
                        .initial_trees_proof
                        .evals_proofs[1]
                        .1
                        .siblings[2]
                        .elements[0],
                )
            }),
        ),
        (
            "final polynomial",
            Box::new(|p| bump_ext(&mut p.proof.opening_proof.final_poly.coeffs[0])),
        ),
        (
            "proof-of-work witness",
            Box::new(|p| bump(&mut p.proof.opening_proof.pow_witness)),
        ),
    ];
    // The trace cap: each of its digests.
    for i in 0..proof.proof.trace_cap.0.len() {
        cases.push((
            "trace cap digest",
            Box::new(move |p| bump(&mut p.proof.trace_cap.0[i].elements[0])),
        ));
    }
    for (what, tamper) in &cases {
        let mut bad = proof.clone();
        tamper(&mut bad);
        assert!(
            rejected(stark, &bad, &config, what),
            "tampered {what} verifies"
        );
        // And through the codec: the encoding carries the change.
        let again: Proof = codec::decode(&codec::encode(&bad)).expect("decodes");
        assert!(
            rejected(stark, &again, &config, what),
            "tampered {what} verifies after a round trip"
        );
    }
}

#[test]
fn tampered_auxiliary_commitment_is_rejected() {
    let (proof, config) = lookup_proof();
    let stark = Lookups::<F, D>::new();
    assert!(!rejected(stark, &proof, &config, "untouched"));
    let mut bad = proof.clone();
    bump(&mut bad.proof.auxiliary_polys_cap.as_mut().expect("aux").0[0].elements[0]);
    assert!(
        rejected(stark, &bad, &config, "auxiliary cap"),
        "tampered auxiliary cap verifies"
    );
    let mut bad = proof.clone();
    bump_ext(&mut bad.proof.openings.auxiliary_polys.as_mut().expect("aux")[0]);
    assert!(
        rejected(stark, &bad, &config, "auxiliary opening"),
        "tampered auxiliary opening verifies"
    );
    let mut bad = proof;
    bump_ext(
        &mut bad
            .proof
            .openings
            .auxiliary_polys_next
            .as_mut()
            .expect("aux")[0],
    );
    assert!(
        rejected(stark, &bad, &config, "auxiliary next opening"),
        "tampered auxiliary next opening verifies"
    );
}
