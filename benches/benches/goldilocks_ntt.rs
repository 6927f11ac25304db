//! Goldilocks NTT, iNTT and coset LDE: zkNode's CPU backend against plonky2 in the same run.
//!
//! - `goldilocks_fft` / `goldilocks_ifft`: one column, natural order in and out (plonky2 `fft` /
//!   `ifft`, which compute their root table on every call, as a caller without one does).
//! - `goldilocks_lde_64cols_r{1,2,3}`: 64 columns of coefficients to the bit-reversed row matrix of LDE
//!   values on the coset, i.e. the leaves of `PolynomialBatch::from_coeffs` before its Merkle tree:
//!   plonky2's `lde` + `coset_fft_with_options` per column in parallel, `transpose`, and
//!   `reverse_index_bits_in_place` on the rows.
//! - `goldilocks_from_values_64cols_r{1,2,3}`: the front half of `PolynomialBatch::from_values`: the
//!   `ifft` of every column, then the LDE leaves above.
//!
//! Fairness: inputs are generated once, outside the timed closures; where a side consumes its input
//! (plonky2's `fft` takes the polynomial by value, our NTT works in place) both sides get a fresh
//! copy from `iter_batched`, untimed; outputs are dropped outside the timing on both sides. Both run on
//! all cores of rayon's global pool: ours through `CpuBackend::new()`, plonky2's per-column maps with
//! `par_iter`, exactly as `PolynomialBatch` does.
//! - `goldilocks_commit_64cols_r{1,2,3}`: the whole commitment, `PolynomialBatch::from_values` (cap
//!   height 4, no blinding) against our iNTT + coset LDE + Merkle tree.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use plonky2::util::timing::TimingTree;
use plonky2::util::{reverse_index_bits_in_place, transpose};
use plonky2_field::fft::{fft, ifft};
use plonky2_field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2_field::types::{Field, Sample};
use rayon::prelude::*;
use zknode_benches::{bench_rng, log_sizes, size_label, OURS, REFERENCE};
use zknode_kernels::{Backend, ColumnBatch, CpuBackend, Goldilocks, NttDirection, Order};

/// Columns of the batched benches (a typical trace width).
const COLS: usize = 64;

fn random_elements(n: usize) -> Vec<Goldilocks> {
    let mut rng = bench_rng();
    (0..n).map(|_| Goldilocks::sample(&mut rng)).collect()
}

/// Fewer samples for the sizes that take milliseconds, so a run stays short.
fn samples_for(elements: usize) -> usize {
    if elements >= 1 << 18 {
        10
    } else {
        50
    }
}

/// plonky2's LDE leaves: what `PolynomialBatch::from_coeffs` hashes (no blinding).
fn plonky2_lde_leaves(
    polys: &[PolynomialCoeffs<Goldilocks>],
    rate_bits: usize,
) -> Vec<Vec<Goldilocks>> {
    let lde_values: Vec<Vec<Goldilocks>> = polys
        .par_iter()
        .map(|p| {
            p.lde(rate_bits)
                .coset_fft_with_options(Goldilocks::coset_shift(), Some(rate_bits), None)
                .values
        })
        .collect();
    let mut leaves = transpose(&lde_values);
    reverse_index_bits_in_place(&mut leaves);
    leaves
}

fn bench_single_column(c: &mut Criterion, direction: NttDirection) {
    let name = match direction {
        NttDirection::Forward => "goldilocks_fft",
        NttDirection::Inverse => "goldilocks_ifft",
    };
    let backend = CpuBackend::new();
    let mut group = c.benchmark_group(name);
    for log_n in log_sizes(&[10, 16], 10, 20) {
        let n = 1usize << log_n;
        group
            .sample_size(samples_for(n))
            .throughput(Throughput::Elements(n as u64));
        let input = random_elements(n);
        let shape = ColumnBatch::new(log_n, 1);

        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &input,
            |b, input| {
                b.iter_batched(
                    || backend.upload(input).expect("upload"),
                    |mut buf| {
                        backend
                            .ntt(&mut buf, shape, direction, Order::Natural, Order::Natural)
                            .expect("ntt");
                        buf
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &input,
            |b, input| match direction {
                NttDirection::Forward => b.iter_batched(
                    || PolynomialCoeffs::new(input.clone()),
                    fft,
                    BatchSize::LargeInput,
                ),
                NttDirection::Inverse => b.iter_batched(
                    || PolynomialValues::new(input.clone()),
                    ifft,
                    BatchSize::LargeInput,
                ),
            },
        );
    }
    group.finish();
}

fn bench_fft(c: &mut Criterion) {
    bench_single_column(c, NttDirection::Forward);
}

fn bench_ifft(c: &mut Criterion) {
    bench_single_column(c, NttDirection::Inverse);
}

fn bench_lde(c: &mut Criterion) {
    let backend = CpuBackend::new();
    for rate_bits in 1..=3usize {
        let mut group = c.benchmark_group(format!("goldilocks_lde_{COLS}cols_r{rate_bits}"));
        for log_n in log_sizes(&[16], 10, 20) {
            let shape = ColumnBatch::new(log_n, COLS);
            let n = shape.n();
            group
                .sample_size(10)
                .throughput(Throughput::Elements((shape.len() << rate_bits) as u64));
            let coeffs = random_elements(shape.len());
            let buf = backend.upload(&coeffs).expect("upload");
            let polys: Vec<PolynomialCoeffs<Goldilocks>> = coeffs
                .chunks(n)
                .map(|c| PolynomialCoeffs::new(c.to_vec()))
                .collect();

            group.bench_function(BenchmarkId::new(OURS, size_label(log_n)), |b| {
                b.iter_with_large_drop(|| {
                    backend
                        .coset_lde_rows(&buf, shape, rate_bits, Goldilocks::coset_shift())
                        .expect("lde")
                })
            });
            group.bench_function(BenchmarkId::new(REFERENCE, size_label(log_n)), |b| {
                b.iter_with_large_drop(|| plonky2_lde_leaves(&polys, rate_bits))
            });
        }
        group.finish();
    }
}

fn bench_from_values(c: &mut Criterion) {
    let backend = CpuBackend::new();
    for rate_bits in 1..=3usize {
        let mut group =
            c.benchmark_group(format!("goldilocks_from_values_{COLS}cols_r{rate_bits}"));
        for log_n in log_sizes(&[16], 10, 20) {
            let shape = ColumnBatch::new(log_n, COLS);
            let n = shape.n();
            group
                .sample_size(10)
                .throughput(Throughput::Elements((shape.len() << rate_bits) as u64));
            let values = random_elements(shape.len());
            let polys: Vec<PolynomialValues<Goldilocks>> = values
                .chunks(n)
                .map(|c| PolynomialValues::new(c.to_vec()))
                .collect();

            group.bench_function(BenchmarkId::new(OURS, size_label(log_n)), |b| {
                b.iter_batched(
                    || backend.upload(&values).expect("upload"),
                    |mut buf| {
                        backend
                            .ntt(
                                &mut buf,
                                shape,
                                NttDirection::Inverse,
                                Order::Natural,
                                Order::Natural,
                            )
                            .expect("intt");
                        let leaves = backend
                            .coset_lde_rows(&buf, shape, rate_bits, Goldilocks::coset_shift())
                            .expect("lde");
                        (buf, leaves)
                    },
                    BatchSize::PerIteration,
                )
            });
            group.bench_function(BenchmarkId::new(REFERENCE, size_label(log_n)), |b| {
                b.iter_batched(
                    || polys.clone(),
                    |polys| {
                        let coeffs: Vec<_> =
                            polys.into_par_iter().map(PolynomialValues::ifft).collect();
                        let leaves = plonky2_lde_leaves(&coeffs, rate_bits);
                        (coeffs, leaves)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

/// The whole trace commitment: plonky2's `PolynomialBatch::from_values` against our chain.
fn bench_commit(c: &mut Criterion) {
    let backend = CpuBackend::new();
    for rate_bits in 1..=3usize {
        let mut group = c.benchmark_group(format!("goldilocks_commit_{COLS}cols_r{rate_bits}"));
        for log_n in log_sizes(&[16], 10, 20) {
            let shape = ColumnBatch::new(log_n, COLS);
            group
                .sample_size(10)
                .throughput(Throughput::Elements((shape.len() << rate_bits) as u64));
            let values = random_elements(shape.len());
            let polys: Vec<PolynomialValues<Goldilocks>> = values
                .chunks(shape.n())
                .map(|c| PolynomialValues::new(c.to_vec()))
                .collect();
            group.bench_function(BenchmarkId::new(OURS, size_label(log_n)), |b| {
                b.iter_batched(
                    || backend.upload(&values).expect("upload"),
                    |mut buf| {
                        backend
                            .ntt(
                                &mut buf,
                                shape,
                                NttDirection::Inverse,
                                Order::Natural,
                                Order::Natural,
                            )
                            .expect("intt");
                        let leaves = backend
                            .coset_lde_rows(&buf, shape, rate_bits, Goldilocks::coset_shift())
                            .expect("lde");
                        let tree = backend.merkle_tree(&leaves, COLS, 4).expect("merkle");
                        (buf, leaves, tree)
                    },
                    BatchSize::PerIteration,
                )
            });
            group.bench_function(BenchmarkId::new(REFERENCE, size_label(log_n)), |b| {
                b.iter_batched(
                    || polys.clone(),
                    |polys| {
                        PolynomialBatch::<Goldilocks, PoseidonGoldilocksConfig, 2>::from_values(
                            polys,
                            rate_bits,
                            false,
                            4,
                            &mut TimingTree::default(),
                            None,
                        )
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(
    benches,
    bench_fft,
    bench_ifft,
    bench_lde,
    bench_from_values,
    bench_commit
);
criterion_main!(benches);
