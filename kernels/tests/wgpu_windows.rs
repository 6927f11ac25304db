//! The wgpu backend's windowed paths: with storage bindings capped far below the data size, every
//! operation must still equal the unwindowed result (as it must on a GPU for buffers beyond the
//! adapter's own binding limit, e.g. a 2^20 x 64 LDE at rate 3, 4 GiB).

use plonky2::field::types::Field;
use zknode_kernels::conformance::{gpu_required, TestRng, REQUIRE_GPU_ENV};
use zknode_kernels::wgpu::WgpuBackend;
use zknode_kernels::{
    Backend, ColumnBatch, CpuBackend, Goldilocks, KernelError, NttDirection, Order,
};

/// 16 KiB bindings: a 2^11-element column fits, everything larger is windowed.
const LIMIT: u64 = 16 << 10;

fn windowed() -> Option<WgpuBackend> {
    match WgpuBackend::with_binding_limit(LIMIT) {
        Ok(b) => Some(b),
        Err(e) if gpu_required() => panic!("{REQUIRE_GPU_ENV}=1 but no wgpu adapter: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: no wgpu adapter ({e})");
            None
        }
    }
}

#[test]
fn ntt_over_many_windows_matches_cpu() {
    let Some(gpu) = windowed() else { return };
    let cpu = CpuBackend::new();
    let mut rng = TestRng::new("ntt_over_many_windows_matches_cpu");
    for (log_n, cols) in [(5usize, 300usize), (11, 9), (8, 33)] {
        let shape = ColumnBatch::new(log_n, cols);
        let input = rng.goldilocks_vec(shape.len());
        for (direction, input_order, output_order) in [
            (NttDirection::Forward, Order::Natural, Order::BitReversed),
            (NttDirection::Inverse, Order::Natural, Order::Natural),
            (NttDirection::Forward, Order::BitReversed, Order::Natural),
        ] {
            let mut expected = input.clone();
            cpu.ntt(&mut expected, shape, direction, input_order, output_order)
                .expect("cpu");
            let mut buf = gpu.upload(&input).expect("upload");
            gpu.ntt(&mut buf, shape, direction, input_order, output_order)
                .expect("windowed ntt");
            assert!(
                gpu.download(&buf).expect("download") == expected,
                "2^{log_n} x {cols} {direction:?} {input_order:?}->{output_order:?}"
            );
        }
    }
}

#[test]
fn lde_in_column_groups_and_row_windows_matches_cpu() {
    let Some(gpu) = windowed() else { return };
    let cpu = CpuBackend::new();
    let mut rng = TestRng::new("lde_in_column_groups_and_row_windows_matches_cpu");
    for (log_n, cols, rate_bits) in [
        (3usize, 37usize, 2usize),
        (6, 9, 1),
        (8, 20, 3),
        (2, 600, 0),
    ] {
        let shape = ColumnBatch::new(log_n, cols);
        let coeffs = rng.goldilocks_vec(shape.len());
        let expected = cpu
            .coset_lde_rows(&coeffs, shape, rate_bits, Goldilocks::coset_shift())
            .expect("cpu");
        let buf = gpu.upload(&coeffs).expect("upload");
        let lde = gpu
            .coset_lde_rows(&buf, shape, rate_bits, Goldilocks::coset_shift())
            .expect("windowed lde");
        assert!(
            gpu.download(&lde).expect("download") == expected,
            "LDE 2^{log_n} x {cols}, rate_bits {rate_bits}"
        );
    }
}

#[test]
fn a_column_larger_than_one_binding_is_a_clear_error() {
    let Some(gpu) = windowed() else { return };
    let mut rng = TestRng::new("a_column_larger_than_one_binding_is_a_clear_error");
    let shape = ColumnBatch::new(12, 1);
    let mut buf = gpu
        .upload(&rng.goldilocks_vec(shape.len()))
        .expect("upload");
    let err = gpu
        .ntt(
            &mut buf,
            shape,
            NttDirection::Forward,
            Order::Natural,
            Order::Natural,
        )
        .expect_err("a 32 KiB column cannot be bound in 16 KiB");
    assert!(
        matches!(err, KernelError::Device { .. }),
        "unexpected error {err:?}"
    );
}
