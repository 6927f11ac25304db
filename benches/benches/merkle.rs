//! Poseidon permutation, leaf hashing and Merkle tree construction: zkNode's CPU kernels against
//! plonky2 in the same run.
//!
//! Inputs are generated once per size outside the timed closures and shared by both sides. plonky2's
//! `MerkleTree::new` consumes a `Vec<Vec<F>>`, so its copy is made by `iter_batched` (untimed); ours
//! reads the flat row matrix in place, which is how the prover hands it over.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use plonky2::hash::merkle_tree::MerkleTree;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::Hasher;
use plonky2_field::types::Sample;
use zknode_benches::{bench_rng, log_sizes, size_label, OURS, REFERENCE};
use zknode_kernels::{poseidon, Backend, CpuBackend, Goldilocks};

/// Leaf width of the Merkle benches: the LDE rows of a 64-column trace.
const COLS: usize = 64;
/// plonky2's default FRI cap height.
const CAP_HEIGHT: usize = 4;

fn random_elements(n: usize) -> Vec<Goldilocks> {
    let mut rng = bench_rng();
    (0..n).map(|_| Goldilocks::sample(&mut rng)).collect()
}

/// Fewer samples for the sizes that take tens of milliseconds, so a run stays short.
fn samples_for(log_n: usize) -> usize {
    if log_n >= 16 {
        10
    } else {
        30
    }
}

fn bench_permutation(c: &mut Criterion) {
    let mut group = c.benchmark_group("poseidon_permutation");
    for log_n in log_sizes(&[12], 10, 20) {
        let n = 1usize << log_n;
        group
            .sample_size(samples_for(log_n))
            .throughput(Throughput::Elements(n as u64));
        let flat = random_elements(n * poseidon::WIDTH);
        let states: Vec<[Goldilocks; poseidon::WIDTH]> = flat
            .chunks_exact(poseidon::WIDTH)
            .map(|c| c.try_into().expect("WIDTH elements"))
            .collect();

        // Both sides permute every state once, on one thread, results kept alive by black_box. Ours is
        // the batch entry point (several states per vector permutation where the CPU allows).
        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &states,
            |b, states| {
                b.iter_batched_ref(
                    || states.clone(),
                    |s| {
                        poseidon::permute_many(s);
                        std::hint::black_box(&*s);
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &states,
            |b, states| {
                b.iter_batched_ref(
                    || states.clone(),
                    |s| {
                        for st in s.iter_mut() {
                            *st = <Goldilocks as Poseidon>::poseidon(*st);
                        }
                        std::hint::black_box(&*s);
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

/// The one-state-at-a-time permutation (what `hash_no_pad`, `two_to_one` and a challenger call), on
/// the same states: no batching on either side.
fn bench_permutation_single(c: &mut Criterion) {
    let mut group = c.benchmark_group("poseidon_permutation_single");
    for log_n in log_sizes(&[12], 10, 20) {
        let n = 1usize << log_n;
        group
            .sample_size(samples_for(log_n))
            .throughput(Throughput::Elements(n as u64));
        let flat = random_elements(n * poseidon::WIDTH);
        let states: Vec<[Goldilocks; poseidon::WIDTH]> = flat
            .chunks_exact(poseidon::WIDTH)
            .map(|c| c.try_into().expect("WIDTH elements"))
            .collect();
        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &states,
            |b, states| {
                b.iter_batched_ref(
                    || states.clone(),
                    |s| {
                        for st in s.iter_mut() {
                            poseidon::permute(st);
                        }
                        std::hint::black_box(&*s);
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &states,
            |b, states| {
                b.iter_batched_ref(
                    || states.clone(),
                    |s| {
                        for st in s.iter_mut() {
                            *st = <Goldilocks as Poseidon>::poseidon(*st);
                        }
                        std::hint::black_box(&*s);
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

fn bench_hash_no_pad(c: &mut Criterion) {
    let mut group = c.benchmark_group("poseidon_hash_no_pad_64");
    // One thread on both sides: this group times the hashing itself; the Merkle group times the
    // parallel whole.
    let backend = CpuBackend::with_threads(1).expect("a one-thread pool");
    for log_n in log_sizes(&[12], 10, 20) {
        let n = 1usize << log_n;
        group
            .sample_size(samples_for(log_n))
            .throughput(Throughput::Elements(n as u64));
        let rows = random_elements(n * COLS);

        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &rows,
            |b, rows| b.iter(|| backend.hash_rows(rows, COLS).expect("valid row matrix")),
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &rows,
            |b, rows| {
                b.iter(|| {
                    rows.chunks_exact(COLS)
                        .map(<PoseidonHash as Hasher<Goldilocks>>::hash_no_pad)
                        .collect::<Vec<_>>()
                })
            },
        );
    }
    group.finish();
}

fn bench_merkle_tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle_tree_64cols");
    let backend = CpuBackend::new();
    for log_n in log_sizes(&[17, 18, 19], 10, 20) {
        let n = 1usize << log_n;
        group
            .sample_size(samples_for(log_n))
            .throughput(Throughput::Elements(n as u64));
        let rows = random_elements(n * COLS);

        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &rows,
            |b, rows| {
                // Output dropped outside the timing, as the reference's.
                b.iter_with_large_drop(|| {
                    backend
                        .merkle_tree(rows, COLS, CAP_HEIGHT)
                        .expect("valid tree")
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &rows,
            |b, rows| {
                b.iter_batched(
                    || {
                        rows.chunks_exact(COLS)
                            .map(<[Goldilocks]>::to_vec)
                            .collect::<Vec<_>>()
                    },
                    // The tree is returned so that its drop (freeing the leaves) is not timed either.
                    |leaves| MerkleTree::<Goldilocks, PoseidonHash>::new(leaves, CAP_HEIGHT),
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_permutation,
    bench_permutation_single,
    bench_hash_no_pad,
    bench_merkle_tree
);
criterion_main!(benches);
