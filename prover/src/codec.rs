//! A stable binary encoding of [`StarkProofWithPublicInputs`] (Goldilocks, Poseidon), independent of
//! serde's and plonky2's internal layouts so that it only changes when [`FORMAT_VERSION`] does.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic  b"ZKNSTARK"            8 bytes
//! version u32 (= 1), D u32
//! public_inputs                 vec<F>
//! trace_cap                     cap
//! auxiliary_polys_cap           opt<cap>
//! quotient_polys_cap            opt<cap>
//! openings: local_values vec<E>, next_values vec<E>, auxiliary_polys opt<vec<E>>,
//!           auxiliary_polys_next opt<vec<E>>, ctl_zs_first opt<vec<F>>, quotient_polys opt<vec<E>>
//! fri: commit_phase_merkle_caps vec<cap>,
//!      query_round_proofs vec<{ initial vec<(vec<F>, path)>, steps vec<(vec<E>, path)> }>,
//!      final_poly vec<E>, pow_witness F
//! ```
//!
//! where `F` is a canonical Goldilocks element as `u64`, `E` an extension element as `D` of them
//! (`to_basefield_array` order), a digest 4 of them, `vec<T>` a `u32` count then the items, `opt<T>` a
//! byte 0 (absent) or 1 then `T`, `cap` and `path` a `vec` of digests. Decoding rejects non-canonical
//! elements, unknown tags, counts beyond the remaining input and trailing bytes.

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::polynomial::PolynomialCoeffs;
use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::fri::proof::{FriInitialTreeProof, FriProof, FriQueryRound, FriQueryStep};
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::merkle_proofs::MerkleProof;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::GenericConfig;
use starky::proof::{StarkOpeningSet, StarkProof, StarkProofWithPublicInputs};
use zknode_kernels::Goldilocks;

use crate::error::{ProverError, Result};

/// The first bytes of every encoded proof.
pub const MAGIC: &[u8; 8] = b"ZKNSTARK";
/// The encoding version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

type Ext<const D: usize> = <Goldilocks as Extendable<D>>::Extension;

/// Encodes a proof (see the module documentation for the layout).
pub fn encode<C, const D: usize>(proof: &StarkProofWithPublicInputs<Goldilocks, C, D>) -> Vec<u8>
where
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
{
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.u32(FORMAT_VERSION);
    w.u32(D as u32);
    w.fields(&proof.public_inputs);
    let p = &proof.proof;
    w.cap(&p.trace_cap);
    w.opt(p.auxiliary_polys_cap.as_ref(), Writer::cap);
    w.opt(p.quotient_polys_cap.as_ref(), Writer::cap);
    let o = &p.openings;
    w.exts::<D>(&o.local_values);
    w.exts::<D>(&o.next_values);
    w.opt(o.auxiliary_polys.as_ref(), |w, v| w.exts::<D>(v));
    w.opt(o.auxiliary_polys_next.as_ref(), |w, v| w.exts::<D>(v));
    w.opt(o.ctl_zs_first.as_ref(), |w, v| w.fields(v));
    w.opt(o.quotient_polys.as_ref(), |w, v| w.exts::<D>(v));
    let fri = &p.opening_proof;
    w.len(fri.commit_phase_merkle_caps.len());
    for cap in &fri.commit_phase_merkle_caps {
        w.cap(cap);
    }
    w.len(fri.query_round_proofs.len());
    for round in &fri.query_round_proofs {
        w.len(round.initial_trees_proof.evals_proofs.len());
        for (evals, path) in &round.initial_trees_proof.evals_proofs {
            w.fields(evals);
            w.digests(&path.siblings);
        }
        w.len(round.steps.len());
        for step in &round.steps {
            w.exts::<D>(&step.evals);
            w.digests(&step.merkle_proof.siblings);
        }
    }
    w.exts::<D>(&fri.final_poly.coeffs);
    w.field(fri.pow_witness);
    w.0
}

/// Decodes what [`encode`] wrote; any other input is a [`ProverError::Decode`], never a panic.
pub fn decode<C, const D: usize>(
    bytes: &[u8],
) -> Result<StarkProofWithPublicInputs<Goldilocks, C, D>>
where
    Goldilocks: Extendable<D>,
    C: GenericConfig<D, F = Goldilocks, Hasher = PoseidonHash>,
{
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(r.error(0, "not a zkNode STARK proof (bad magic)"));
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(r.error(
            8,
            format!("format version {version}, this build reads {FORMAT_VERSION}"),
        ));
    }
    let d = r.u32()?;
    if d as usize != D {
        return Err(r.error(12, format!("extension degree {d}, expected {D}")));
    }
    let public_inputs = r.fields()?;
    let trace_cap = r.cap()?;
    let auxiliary_polys_cap = r.opt(Reader::cap)?;
    let quotient_polys_cap = r.opt(Reader::cap)?;
    let openings = StarkOpeningSet {
        local_values: r.exts::<D>()?,
        next_values: r.exts::<D>()?,
        auxiliary_polys: r.opt(|r| r.exts::<D>())?,
        auxiliary_polys_next: r.opt(|r| r.exts::<D>())?,
        ctl_zs_first: r.opt(Reader::fields)?,
        quotient_polys: r.opt(|r| r.exts::<D>())?,
    };
    let commit_phase_merkle_caps = r.vec(4, Reader::cap)?;
    let query_round_proofs = r.vec(8, |r| {
        let evals_proofs = r.vec(8, |r| {
            let evals = r.fields()?;
            let siblings = r.digests()?;
            Ok((evals, MerkleProof { siblings }))
        })?;
        let steps = r.vec(8, |r| {
            let evals = r.exts::<D>()?;
            let siblings = r.digests()?;
            Ok(FriQueryStep {
                evals,
                merkle_proof: MerkleProof { siblings },
            })
        })?;
        Ok(FriQueryRound {
            initial_trees_proof: FriInitialTreeProof { evals_proofs },
            steps,
        })
    })?;
    let final_poly = PolynomialCoeffs::new(r.exts::<D>()?);
    let pow_witness = r.field()?;
    if r.at != bytes.len() {
        return Err(r.error(r.at, format!("{} trailing bytes", bytes.len() - r.at)));
    }
    Ok(StarkProofWithPublicInputs {
        proof: StarkProof {
            trace_cap,
            auxiliary_polys_cap,
            quotient_polys_cap,
            openings,
            opening_proof: FriProof {
                commit_phase_merkle_caps,
                query_round_proofs,
                final_poly,
                pow_witness,
            },
        },
        public_inputs,
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        // A proof's vectors are bounded by query rounds, columns and tree heights: far below 2^32.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn field(&mut self, f: Goldilocks) {
        self.0
            .extend_from_slice(&f.to_canonical_u64().to_le_bytes());
    }
    fn fields(&mut self, v: &[Goldilocks]) {
        self.len(v.len());
        v.iter().for_each(|&f| self.field(f));
    }
    fn exts<const D: usize>(&mut self, v: &[Ext<D>])
    where
        Goldilocks: Extendable<D>,
    {
        self.len(v.len());
        for e in v {
            e.to_basefield_array()
                .into_iter()
                .for_each(|f| self.field(f));
        }
    }
    fn digests(&mut self, v: &[HashOut<Goldilocks>]) {
        self.len(v.len());
        for h in v {
            h.elements.into_iter().for_each(|f| self.field(f));
        }
    }
    fn cap(&mut self, cap: &MerkleCap<Goldilocks, PoseidonHash>) {
        self.digests(&cap.0);
    }
    fn opt<T>(&mut self, v: Option<&T>, write: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                write(self, v);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, offset: usize, reason: impl Into<String>) -> ProverError {
        ProverError::Decode {
            offset,
            reason: reason.into(),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(self.at, format!("{n} more bytes expected, input ends")))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }
    /// A count of items of at least `min_item_bytes` each; refused when the rest of the input could
    /// not hold them, so a forged count cannot make us allocate.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize> {
        let at = self.at;
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes) > self.bytes.len() - self.at {
            return Err(self.error(at, format!("count {n} exceeds the remaining input")));
        }
        Ok(n)
    }
    fn vec<T>(
        &mut self,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = self.count(min_item_bytes)?;
        (0..n).map(|_| item(self)).collect()
    }
    fn field(&mut self) -> Result<Goldilocks> {
        let at = self.at;
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        let v = u64::from_le_bytes(b);
        if v >= Goldilocks::ORDER {
            return Err(self.error(at, "non-canonical field element"));
        }
        Ok(Goldilocks::from_canonical_u64(v))
    }
    fn fields(&mut self) -> Result<Vec<Goldilocks>> {
        self.vec(8, Reader::field)
    }
    fn exts<const D: usize>(&mut self) -> Result<Vec<Ext<D>>>
    where
        Goldilocks: Extendable<D>,
    {
        self.vec(8 * D, |r| {
            let mut limbs = [Goldilocks::default(); D];
            for l in &mut limbs {
                *l = r.field()?;
            }
            Ok(Ext::<D>::from_basefield_array(limbs))
        })
    }
    fn digests(&mut self) -> Result<Vec<HashOut<Goldilocks>>> {
        self.vec(32, |r| {
            Ok(HashOut {
                elements: [r.field()?, r.field()?, r.field()?, r.field()?],
            })
        })
    }
    fn cap(&mut self) -> Result<MerkleCap<Goldilocks, PoseidonHash>> {
        Ok(MerkleCap(self.digests()?))
    }
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        let at = self.at;
        match self.take(1)?[0] {
            0 => Ok(None),
            1 => read(self).map(Some),
            tag => Err(self.error(at, format!("option tag {tag}"))),
        }
    }
}
