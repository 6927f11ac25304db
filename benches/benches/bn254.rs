//! BN254 kernels against arkworks, in the same run: FFT, inverse FFT and coset FFT against ark-poly's
//! `Radix2EvaluationDomain`, MSM against ark-ec's `VariableBaseMSM::msm`. Both sides run on rayon's
//! global pool.

use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use rand::Rng;
use zknode_benches::{bench_rng, log_sizes, size_label, OURS, REFERENCE};
use zknode_kernels::field::{Fr, G1Affine, G1Projective};
use zknode_kernels::{Backend, Bn254FftKind, CpuBackend};

/// From this size on a group takes 10 samples: one iteration is tens of milliseconds.
const LARGE_LOG: usize = 16;

fn random_scalars(n: usize) -> Vec<Fr> {
    let mut rng = bench_rng();
    (0..n).map(|_| Fr::rand(&mut rng)).collect()
}

/// `n` distinct pseudo-random points without `n` scalar multiplications: a running sum of a few random
/// multiples of the generator, normalised with one batch inversion.
fn random_bases(n: usize) -> Vec<G1Affine> {
    let mut rng = bench_rng();
    let steps: Vec<G1Projective> = (0..64).map(|_| G1Projective::rand(&mut rng)).collect();
    let mut acc = G1Projective::rand(&mut rng);
    let points: Vec<G1Projective> = (0..n)
        .map(|_| {
            acc += steps[rng.gen_range(0..steps.len())];
            acc
        })
        .collect();
    G1Projective::normalize_batch(&points)
}

fn fft_group(c: &mut Criterion, name: &str, kind: Bn254FftKind) {
    let backend = CpuBackend::new();
    let mut group = c.benchmark_group(name);
    for log_n in log_sizes(&[10, 16], 10, 20) {
        if log_n >= LARGE_LOG {
            group.sample_size(10);
        }
        let n = 1usize << log_n;
        let input = random_scalars(n);
        let domain =
            Radix2EvaluationDomain::<Fr>::new(n).expect("2^log_n <= 2^28 is a valid domain");
        let domain = match kind {
            Bn254FftKind::CosetForward(offset) | Bn254FftKind::CosetInverse(offset) => domain
                .get_coset(offset)
                .expect("the bench offset is non-zero"),
            Bn254FftKind::Forward | Bn254FftKind::Inverse => domain,
        };
        let inverse = matches!(kind, Bn254FftKind::Inverse | Bn254FftKind::CosetInverse(_));
        // Inputs are cloned outside the timing; each iteration transforms a fresh copy in place.
        group.bench_with_input(
            BenchmarkId::new(OURS, size_label(log_n)),
            &input,
            |b, input| {
                b.iter_batched_ref(
                    || input.clone(),
                    |v| backend.bn254_fft(v, kind).expect("valid size"),
                    BatchSize::LargeInput,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new(REFERENCE, size_label(log_n)),
            &input,
            |b, input| {
                b.iter_batched_ref(
                    || input.clone(),
                    |v| {
                        if inverse {
                            domain.ifft_in_place(v)
                        } else {
                            domain.fft_in_place(v)
                        }
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

fn bn254_fft(c: &mut Criterion) {
    fft_group(c, "bn254_fft", Bn254FftKind::Forward);
}

fn bn254_ifft(c: &mut Criterion) {
    fft_group(c, "bn254_ifft", Bn254FftKind::Inverse);
}

fn bn254_coset_fft(c: &mut Criterion) {
    // The coset offset ark-poly's own coset domains default to: the field's multiplicative generator.
    fft_group(
        c,
        "bn254_coset_fft",
        Bn254FftKind::CosetForward(<Fr as ark_ff::FftField>::GENERATOR),
    );
}

fn bn254_msm(c: &mut Criterion) {
    let backend = CpuBackend::new();
    let mut group = c.benchmark_group("bn254_msm");
    group.sample_size(10);
    for log_n in log_sizes(&[16, 18], 10, 20) {
        let n = 1usize << log_n;
        let bases = random_bases(n);
        let scalars = random_scalars(n);
        let (bases_buf, scalars_buf) = (
            backend.upload(&bases).expect("cpu upload"),
            backend.upload(&scalars).expect("cpu upload"),
        );
        // Same inputs, same result: a wrong kernel must not be timed.
        let ours = backend
            .bn254_msm(&bases_buf, &scalars_buf)
            .expect("equal lengths");
        let reference = G1Projective::msm(&bases, &scalars).expect("equal lengths");
        assert_eq!(
            ours, reference,
            "bn254 msm 2^{log_n}: result differs from ark-ec"
        );
        group.bench_function(BenchmarkId::new(OURS, size_label(log_n)), |b| {
            b.iter(|| {
                backend
                    .bn254_msm(&bases_buf, &scalars_buf)
                    .expect("equal lengths")
            })
        });
        group.bench_function(BenchmarkId::new(REFERENCE, size_label(log_n)), |b| {
            b.iter(|| G1Projective::msm(&bases, &scalars).expect("equal lengths"))
        });
    }
    group.finish();
}

criterion_group!(benches, bn254_fft, bn254_ifft, bn254_coset_fft, bn254_msm);
criterion_main!(benches);
