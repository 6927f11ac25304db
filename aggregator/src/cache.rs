//! The on-disk circuit cache. Building the circuits takes seconds (several rounds to find the common
//! shape), so they are built once and stored, keyed by a digest of their definition: the circuit code
//! version, the plonky2 version, the batch STARK's name and dimensions, and every parameter. Any
//! change gives a new key, hence a rebuild; an unreadable file is rebuilt and replaced.
//!
//! File `aggregator-<key>.bin`: `b"ZKNCIRC1"` ‖ key (32 bytes) ‖ three sections (batch STARK verifier,
//! batch wrap, aggregation), each a little-endian u64 length ‖ plonky2's `CircuitData::to_bytes`.
//! Written to a temporary file and renamed, so a crash never leaves a half-written cache.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::circuit_data::CircuitData;
use plonky2::plonk::config::Hasher;
use plonky2::util::serialization::{DefaultGateSerializer, DefaultGeneratorSerializer};
use tracing::{info, warn};

use crate::circuits::aggregation::AggregationCircuit;
use crate::circuits::batch::{BatchStarkCircuit, BatchWrapCircuit};
use crate::{AggregatorCircuits, AggregatorError, AggregatorParams, BatchStark, Result, C, D, F};

/// Version of the circuit definitions in this crate; bump it whenever circuit code changes.
pub const CIRCUITS_VERSION: u32 = 1;
const PLONKY2_VERSION: &str = "plonky2 1.1.0, starky 1.1.0";
const MAGIC: &[u8; 8] = b"ZKNCIRC1";

/// Where circuits came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Loaded,
    Built,
}

impl<S: BatchStark> AggregatorCircuits<S> {
    /// The cache key: a Poseidon digest of the circuits' definition, as 64 hex digits.
    pub fn definition_digest(stark: &S, params: &AggregatorParams) -> String {
        let definition = format!(
            "zknode-aggregator circuits v{CIRCUITS_VERSION}; {PLONKY2_VERSION}; {}",
            params.definition(stark)
        );
        // 7 bytes per element keeps every element canonical; the length is absorbed too.
        let mut elements = vec![F::from_canonical_usize(definition.len())];
        elements.extend(definition.as_bytes().chunks(7).map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            F::from_canonical_u64(u64::from_le_bytes(word))
        }));
        let digest = PoseidonHash::hash_no_pad(&elements);
        digest
            .elements
            .iter()
            .map(|e| format!("{:016x}", e.to_canonical_u64()))
            .collect()
    }

    /// The cache file for these circuits under `cache_dir`.
    pub fn cache_path(stark: &S, params: &AggregatorParams, cache_dir: &Path) -> PathBuf {
        cache_dir.join(format!(
            "aggregator-{}.bin",
            Self::definition_digest(stark, params)
        ))
    }

    /// Loads the circuits from `cache_dir`, or builds and stores them.
    pub fn load_or_build(
        stark: S,
        params: AggregatorParams,
        cache_dir: &Path,
    ) -> Result<(Self, CacheOutcome)> {
        params.validate::<S>()?;
        let path = Self::cache_path(&stark, &params, cache_dir);
        if path.exists() {
            match Self::load(stark, params.clone(), &path) {
                Ok(circuits) => {
                    info!(path = %path.display(), verifier_key = %circuits.verifier_key_digest(),
                        "aggregation circuits loaded from the cache");
                    return Ok((circuits, CacheOutcome::Loaded));
                }
                Err(e) => warn!(path = %path.display(), error = %e,
                    "unreadable circuit cache; rebuilding"),
            }
        }
        let circuits = Self::build(stark, params)?;
        circuits.save(cache_dir)?;
        Ok((circuits, CacheOutcome::Built))
    }

    /// Writes the circuits to their cache file under `cache_dir` (atomically); returns its path.
    pub fn save(&self, cache_dir: &Path) -> Result<PathBuf> {
        let path = Self::cache_path(&self.stark, &self.params, cache_dir);
        let io = |source| AggregatorError::Cache {
            path: path.clone(),
            source,
        };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&key_bytes(&self.stark, &self.params));
        for data in [
            &self.batch_stark.data,
            &self.batch_wrap.data,
            &self.aggregation.data,
        ] {
            let section = serialize(data)?;
            bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&section);
        }
        fs::create_dir_all(cache_dir).map_err(io)?;
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::File::create(&temporary).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&temporary, &path).map_err(io)?;
        info!(path = %path.display(), bytes = bytes.len(), "aggregation circuits cached");
        Ok(path)
    }

    fn load(stark: S, params: AggregatorParams, path: &Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|source| AggregatorError::Cache {
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |reason: &str| AggregatorError::Decode {
            what: "circuit cache",
            reason: reason.to_string(),
        };
        let mut rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("bad magic"))?;
        let key = key_bytes(&stark, &params);
        rest = rest
            .strip_prefix(key.as_slice())
            .ok_or_else(|| corrupt("the file's key does not match its definition"))?;
        let mut sections = Vec::with_capacity(3);
        for _ in 0..3 {
            let (length, tail) = rest
                .split_at_checked(8)
                .ok_or_else(|| corrupt("truncated"))?;
            let mut word = [0u8; 8];
            word.copy_from_slice(length);
            let length = usize::try_from(u64::from_le_bytes(word))
                .map_err(|_| corrupt("section too long"))?;
            let (section, tail) = tail
                .split_at_checked(length)
                .ok_or_else(|| corrupt("truncated"))?;
            sections.push(deserialize(section)?);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        let aggregation_data = sections.pop().ok_or_else(|| corrupt("missing section"))?;
        let wrap_data = sections.pop().ok_or_else(|| corrupt("missing section"))?;
        let stark_data = sections.pop().ok_or_else(|| corrupt("missing section"))?;
        if wrap_data.common != aggregation_data.common {
            return Err(corrupt("the wrap and aggregation circuits differ in shape"));
        }
        let batch_stark = BatchStarkCircuit::from_data(stark_data, &stark, &params);
        let batch_wrap = BatchWrapCircuit::from_data(wrap_data, &batch_stark, &params)?;
        let aggregation = AggregationCircuit::from_data(aggregation_data, &params)?;
        Ok(Self {
            stark,
            params,
            batch_stark,
            batch_wrap,
            aggregation,
        })
    }
}

fn key_bytes<S: BatchStark>(stark: &S, params: &AggregatorParams) -> Vec<u8> {
    AggregatorCircuits::<S>::definition_digest(stark, params)
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .unwrap_or_default()
        })
        .collect()
}

fn serialize(data: &CircuitData<F, C, D>) -> Result<Vec<u8>> {
    data.to_bytes(
        &DefaultGateSerializer,
        &DefaultGeneratorSerializer::<C, D>::default(),
    )
    .map_err(|e| AggregatorError::Decode {
        what: "circuit (serialising)",
        reason: e.to_string(),
    })
}

fn deserialize(bytes: &[u8]) -> Result<CircuitData<F, C, D>> {
    CircuitData::from_bytes(
        bytes,
        &DefaultGateSerializer,
        &DefaultGeneratorSerializer::<C, D>::default(),
    )
    .map_err(|e| AggregatorError::Decode {
        what: "circuit cache",
        reason: e.to_string(),
    })
}
