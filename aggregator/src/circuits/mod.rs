//! The circuits: [`batch`] (STARK verifier and wrap) and [`aggregation`] (2→1, cyclic), and
//! [`AggregatorCircuits`], which builds them into one common shape.
//!
//! Shape: the aggregation circuit verifies proofs of its own common data `C`, which is not known
//! before the circuit exists. We find it as a fixed point: start from the batch wrap circuit's shape,
//! build the aggregation circuit for children of that shape, take its shape, and repeat until the
//! shape no longer changes (two or three rounds: the verifier's size grows only logarithmically with
//! the inner degree). Then the wrap circuit is padded to `C` and the final aggregation circuit is built
//! with the final wrap key; both are checked to have exactly `C`.

pub mod aggregation;
pub mod batch;

use std::fmt::Display;

use plonky2::hash::hash_types::{HashOutTarget, MerkleCapTarget};
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierCircuitTarget};
use tracing::{debug, info, info_span};

use self::aggregation::AggregationCircuit;
use self::batch::{BatchStarkCircuit, BatchWrapCircuit};
use crate::{AggregatorError, AggregatorParams, BatchStark, Result, D, F};

/// Rounds of the shape fixed point before giving up.
const MAX_SHAPE_ROUNDS: usize = 6;

/// The three circuits of one batch STARK and parameter set.
#[derive(Debug)]
pub struct AggregatorCircuits<S: BatchStark> {
    pub(crate) stark: S,
    pub(crate) params: AggregatorParams,
    pub(crate) batch_stark: BatchStarkCircuit,
    pub(crate) batch_wrap: BatchWrapCircuit,
    pub(crate) aggregation: AggregationCircuit,
}

impl<S: BatchStark> AggregatorCircuits<S> {
    /// Builds the circuits from scratch (seconds; see [`Self::load_or_build`] for the cached path).
    pub fn build(stark: S, params: AggregatorParams) -> Result<Self> {
        params.validate::<S>()?;
        let _span = info_span!("build_circuits", stark = S::NAME).entered();
        let batch_stark = {
            let _span = info_span!("batch_stark_circuit").entered();
            BatchStarkCircuit::build(stark, &params)
        };
        debug!(
            degree_bits = batch_stark.data.common.degree_bits(),
            "batch STARK verifier built"
        );
        let unpadded_wrap = BatchWrapCircuit::build(&batch_stark, &params, None);

        let mut shape = unpadded_wrap.data.common.clone();
        let mut round = 0;
        let aggregation_shape = loop {
            round += 1;
            if round > MAX_SHAPE_ROUNDS {
                return Err(AggregatorError::CircuitShape(format!(
                    "the aggregation circuit's shape did not settle in {MAX_SHAPE_ROUNDS} rounds"
                )));
            }
            let _span = info_span!("aggregation_shape_round", round).entered();
            let probe = AggregationCircuit::build(
                &shape,
                &unpadded_wrap.data.verifier_only,
                &params,
                false,
            )?;
            let next = probe.data.common.clone();
            debug!(round, degree_bits = next.degree_bits(), "aggregation shape");
            if next == shape {
                break next;
            }
            // Keep the gates of both: the wrap circuit must end up with exactly the same set.
            shape = next;
            for gate in &unpadded_wrap.data.common.gates {
                if !shape.gates.contains(gate) {
                    shape.gates.push(gate.clone());
                }
            }
        };

        let batch_wrap = BatchWrapCircuit::build(&batch_stark, &params, Some(&aggregation_shape));
        check_shape("batch wrap", &batch_wrap.data.common, &aggregation_shape)?;
        let aggregation = AggregationCircuit::build(
            &aggregation_shape,
            &batch_wrap.data.verifier_only,
            &params,
            true,
        )?;
        check_shape("aggregation", &aggregation.data.common, &aggregation_shape)?;
        let circuits = Self {
            stark,
            params,
            batch_stark,
            batch_wrap,
            aggregation,
        };
        info!(
            verifier_key = %circuits.verifier_key_digest(),
            degree_bits = aggregation_shape.degree_bits(),
            "aggregation circuits built"
        );
        Ok(circuits)
    }

    /// The batch STARK this set of circuits verifies.
    pub fn stark(&self) -> &S {
        &self.stark
    }

    pub fn params(&self) -> &AggregatorParams {
        &self.params
    }

    /// The common data of every proof `aggregate` takes or returns (batch wrap and aggregation).
    pub fn common_data(&self) -> &CommonCircuitData<F, D> {
        &self.aggregation.data.common
    }

    /// The digest of the aggregation circuit's verifier key (its plonky2 circuit digest, which
    /// commits to the constants and permutation), as 0x-prefixed hex of its four elements, each
    /// big-endian. The one key every aggregate verifies under.
    pub fn verifier_key_digest(&self) -> String {
        hex_elements(&self.aggregation.data.verifier_only.circuit_digest.elements)
    }
}

/// 0x-hex of field elements, each as 16 big-endian hex digits.
pub(crate) fn hex_elements(elements: &[F]) -> String {
    use plonky2::field::types::PrimeField64;
    let mut out = String::from("0x");
    for e in elements {
        out.push_str(&format!("{:016x}", e.to_canonical_u64()));
    }
    out
}

fn check_shape(
    name: &str,
    actual: &CommonCircuitData<F, D>,
    expected: &CommonCircuitData<F, D>,
) -> Result<()> {
    if actual == expected {
        return Ok(());
    }
    let mut differences = Vec::new();
    if actual.degree_bits() != expected.degree_bits() {
        differences.push(format!(
            "degree 2^{} vs 2^{}",
            actual.degree_bits(),
            expected.degree_bits()
        ));
    }
    if actual.gates != expected.gates {
        differences.push(format!(
            "gates {:?} vs {:?}",
            actual.gates.iter().map(|g| g.0.id()).collect::<Vec<_>>(),
            expected.gates.iter().map(|g| g.0.id()).collect::<Vec<_>>()
        ));
    }
    if actual.num_public_inputs != expected.num_public_inputs {
        differences.push(format!(
            "public inputs {} vs {}",
            actual.num_public_inputs, expected.num_public_inputs
        ));
    }
    if actual.num_constants != expected.num_constants {
        differences.push(format!(
            "constants {} vs {}",
            actual.num_constants, expected.num_constants
        ));
    }
    Err(AggregatorError::CircuitShape(format!(
        "the {name} circuit does not have the aggregation shape: {}",
        if differences.is_empty() {
            "other fields differ".to_string()
        } else {
            differences.join("; ")
        }
    )))
}

/// The verifier-data targets at the end of `public_inputs`, laid out as plonky2's cyclic recursion
/// registers them: circuit digest, then the constants/sigmas cap.
pub(crate) fn verifier_data_target_from_public_inputs(
    public_inputs: &[Target],
    common: &CommonCircuitData<F, D>,
) -> Result<VerifierCircuitTarget> {
    let cap_len = common.config.fri_config.num_cap_elements();
    let needed = 4 + 4 * cap_len;
    let start = public_inputs.len().checked_sub(needed).ok_or_else(|| {
        AggregatorError::CircuitShape(format!(
            "{} public inputs cannot end with {needed} verifier-data elements",
            public_inputs.len()
        ))
    })?;
    let tail = &public_inputs[start..];
    let hash = |at: usize| HashOutTarget {
        elements: [tail[at], tail[at + 1], tail[at + 2], tail[at + 3]],
    };
    Ok(VerifierCircuitTarget {
        circuit_digest: hash(0),
        constants_sigmas_cap: MerkleCapTarget((0..cap_len).map(|i| hash(4 + 4 * i)).collect()),
    })
}

/// Maps a plonky2 error (an `anyhow::Error`) of `circuit` into ours.
pub(crate) fn proving_error<E: Display>(
    circuit: &'static str,
) -> impl Fn(E) -> AggregatorError + Copy {
    move |e| AggregatorError::Proving {
        circuit,
        reason: e.to_string(),
    }
}

/// Proves `data` on `witness`. plonky2's witness generators assert (panic) on some unsatisfiable
/// witnesses, e.g. a value that does not fit its bit decomposition; such a panic is the witness's
/// fault, not a bug here, so it becomes a [`AggregatorError::Proving`] like any other failure.
pub(crate) fn prove_circuit(
    circuit: &'static str,
    data: &plonky2::plonk::circuit_data::CircuitData<F, crate::C, D>,
    witness: plonky2::iop::witness::PartialWitness<F>,
) -> Result<plonky2::plonk::proof::ProofWithPublicInputs<F, crate::C, D>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| data.prove(witness)))
        .map_err(|panic| AggregatorError::Proving {
            circuit,
            reason: panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the witness generator panicked".into()),
        })?
        .map_err(proving_error(circuit))
}
