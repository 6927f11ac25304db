//! The wgpu backend against the CPU backend, in the same run. Each group times the CPU backend
//! (`reference`), the wgpu backend with data already on the device (`wgpu`: the kernels and the wait
//! for them), and the wgpu backend including the host transfers (`wgpu+transfers`: upload, kernels,
//! download of the results).
//!
//! Sizes come from `ZKNODE_BENCH_LOG_SIZES` (defaults are small so the benches also run on Mesa's
//! lavapipe); on a GPU host: `ZKNODE_BENCH_LOG_SIZES=16..24 cargo bench -p zknode-benches --features gpu --bench gpu`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use plonky2::field::types::Field;
use rand::Rng;
use zknode_benches::{bench_rng, log_sizes, size_label, REFERENCE};
use zknode_kernels::wgpu::WgpuBackend;
use zknode_kernels::{
    Backend, Bn254FftKind, ColumnBatch, CpuBackend, Fr, G1Affine, G1Projective, Goldilocks,
    NttDirection, Order,
};

const RESIDENT: &str = "wgpu";
const WITH_TRANSFERS: &str = "wgpu+transfers";

fn gpu() -> WgpuBackend {
    WgpuBackend::new().unwrap_or_else(|e| panic!("the GPU benches need a wgpu adapter: {e}"))
}

fn goldilocks_vec(n: usize) -> Vec<Goldilocks> {
    let mut rng = bench_rng();
    (0..n)
        .map(|_| Goldilocks::from_noncanonical_u64(rng.gen()))
        .collect()
}

fn ntt(c: &mut Criterion) {
    let (cpu, gpu) = (CpuBackend::new(), gpu());
    let mut group = c.benchmark_group("gpu_ntt");
    group.sample_size(10);
    for log_n in log_sizes(&[16], 10, 24) {
        let shape = ColumnBatch::new(log_n, 1);
        let input = goldilocks_vec(shape.len());
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &input,
            |b, input| {
                let mut buf = input.clone();
                b.iter(|| {
                    cpu.ntt(
                        &mut buf,
                        shape,
                        NttDirection::Forward,
                        Order::Natural,
                        Order::BitReversed,
                    )
                    .expect("cpu ntt")
                })
            },
        );
        let mut resident = gpu.upload(&input).expect("upload");
        group.bench_function(BenchmarkId::new(RESIDENT, size_label(log_n)), |b| {
            b.iter(|| {
                gpu.ntt(
                    &mut resident,
                    shape,
                    NttDirection::Forward,
                    Order::Natural,
                    Order::BitReversed,
                )
                .expect("gpu ntt")
            })
        });
        group.bench_with_input(
            BenchmarkId::new(WITH_TRANSFERS, size_label(log_n)),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut buf = gpu.upload(input).expect("upload");
                    gpu.ntt(
                        &mut buf,
                        shape,
                        NttDirection::Forward,
                        Order::Natural,
                        Order::BitReversed,
                    )
                    .expect("gpu ntt");
                    gpu.download(&buf).expect("download")
                })
            },
        );
    }
    group.finish();
}

/// The commitment of a trace: iNTT of 64 columns, coset LDE with rate_bits 3, Merkle tree (cap 4).
/// With transfers: the values go up, only the cap and digests come back.
fn lde_commit(c: &mut Criterion) {
    fn commit<B: Backend>(
        b: &B,
        values: &mut B::Buffer<Goldilocks>,
        shape: ColumnBatch,
    ) -> (B::Buffer<Goldilocks>, B::Buffer<Goldilocks>) {
        b.ntt(
            values,
            shape,
            NttDirection::Inverse,
            Order::Natural,
            Order::Natural,
        )
        .expect("intt");
        let lde = b
            .coset_lde_rows(values, shape, 3, Goldilocks::coset_shift())
            .expect("lde");
        let tree = b.merkle_tree(&lde, shape.num_cols, 4).expect("merkle");
        (tree.digests, tree.cap)
    }
    let (cpu, gpu) = (CpuBackend::new(), gpu());
    let mut group = c.benchmark_group("gpu_lde_commit_64cols_r3");
    group.sample_size(10);
    for log_n in log_sizes(&[12], 10, 20) {
        let shape = ColumnBatch::new(log_n, 64);
        let values = goldilocks_vec(shape.len());
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &values,
            |b, values| b.iter(|| commit(&cpu, &mut values.clone(), shape)),
        );
        group.bench_function(BenchmarkId::new(RESIDENT, size_label(log_n)), |b| {
            // The commitment transforms its input in place: each iteration gets a fresh device copy,
            // uploaded outside the timing.
            b.iter_batched(
                || gpu.upload(&values).expect("upload"),
                |mut buf| commit(&gpu, &mut buf, shape),
                criterion::BatchSize::LargeInput,
            )
        });
        group.bench_with_input(
            BenchmarkId::new(WITH_TRANSFERS, size_label(log_n)),
            &values,
            |b, values| {
                b.iter(|| {
                    let mut buf = gpu.upload(values).expect("upload");
                    let (digests, cap) = commit(&gpu, &mut buf, shape);
                    (
                        gpu.download(&digests).expect("digests"),
                        gpu.download(&cap).expect("cap"),
                    )
                })
            },
        );
    }
    group.finish();
}

/// Merkle trees over leaves of 8 elements (one permutation per leaf), cap height 4.
fn merkle(c: &mut Criterion) {
    let (cpu, gpu) = (CpuBackend::new(), gpu());
    let mut group = c.benchmark_group("gpu_merkle_8wide");
    group.sample_size(10);
    for log_n in log_sizes(&[14], 10, 24) {
        let leaves = goldilocks_vec(8 << log_n);
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &leaves,
            |b, leaves| b.iter(|| cpu.merkle_tree(leaves, 8, 4).expect("cpu merkle")),
        );
        let resident = gpu.upload(&leaves).expect("upload");
        group.bench_function(BenchmarkId::new(RESIDENT, size_label(log_n)), |b| {
            b.iter(|| gpu.merkle_tree(&resident, 8, 4).expect("gpu merkle"))
        });
        group.bench_with_input(
            BenchmarkId::new(WITH_TRANSFERS, size_label(log_n)),
            &leaves,
            |b, leaves| {
                b.iter(|| {
                    let buf = gpu.upload(leaves).expect("upload");
                    let tree = gpu.merkle_tree(&buf, 8, 4).expect("gpu merkle");
                    (
                        gpu.download(&tree.digests).expect("digests"),
                        gpu.download(&tree.cap).expect("cap"),
                    )
                })
            },
        );
    }
    group.finish();
}

fn fr_vec(n: usize) -> Vec<Fr> {
    let mut rng = bench_rng();
    (0..n)
        .map(|_| <Fr as ark_std::UniformRand>::rand(&mut rng))
        .collect()
}

fn bn254_fft(c: &mut Criterion) {
    let (cpu, gpu) = (CpuBackend::new(), gpu());
    let mut group = c.benchmark_group("gpu_bn254_fft");
    group.sample_size(10);
    for log_n in log_sizes(&[12], 10, 22) {
        let input = fr_vec(1 << log_n);
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &input,
            |b, input| {
                let mut buf = input.clone();
                b.iter(|| {
                    cpu.bn254_fft(&mut buf, Bn254FftKind::Forward)
                        .expect("cpu fft")
                })
            },
        );
        let mut resident = gpu.upload(&input).expect("upload");
        group.bench_function(BenchmarkId::new(RESIDENT, size_label(log_n)), |b| {
            b.iter(|| {
                gpu.bn254_fft(&mut resident, Bn254FftKind::Forward)
                    .expect("gpu fft")
            })
        });
        group.bench_with_input(
            BenchmarkId::new(WITH_TRANSFERS, size_label(log_n)),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut buf = gpu.upload(input).expect("upload");
                    gpu.bn254_fft(&mut buf, Bn254FftKind::Forward)
                        .expect("gpu fft");
                    gpu.download(&buf).expect("download")
                })
            },
        );
    }
    group.finish();
}

fn msm(c: &mut Criterion) {
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::AdditiveGroup;
    let (cpu, gpu) = (CpuBackend::new(), gpu());
    let mut group = c.benchmark_group("gpu_bn254_msm");
    group.sample_size(10);
    for log_n in log_sizes(&[10], 10, 22) {
        let n = 1usize << log_n;
        let scalars = fr_vec(n);
        // Bases by a walk of additions from a random point: cheap to make, as good as random here.
        let step = G1Projective::generator() * fr_vec(1)[0];
        let mut acc = G1Projective::generator();
        let bases: Vec<G1Affine> = G1Projective::normalize_batch(
            &(0..n)
                .map(|_| {
                    acc += step;
                    acc.double()
                })
                .collect::<Vec<_>>(),
        );
        group.bench_function(BenchmarkId::new(REFERENCE, size_label(log_n)), |b| {
            b.iter(|| cpu.bn254_msm(&bases, &scalars).expect("cpu msm"))
        });
        let (gb, gs) = (
            gpu.upload(&bases).expect("upload"),
            gpu.upload(&scalars).expect("upload"),
        );
        group.bench_function(BenchmarkId::new(RESIDENT, size_label(log_n)), |b| {
            b.iter(|| gpu.bn254_msm(&gb, &gs).expect("gpu msm"))
        });
        group.bench_function(BenchmarkId::new(WITH_TRANSFERS, size_label(log_n)), |b| {
            b.iter(|| {
                let (gb, gs) = (
                    gpu.upload(&bases).expect("upload"),
                    gpu.upload(&scalars).expect("upload"),
                );
                gpu.bn254_msm(&gb, &gs).expect("gpu msm")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ntt, lde_commit, merkle, bn254_fft, msm);
criterion_main!(benches);
