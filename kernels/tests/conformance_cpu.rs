//! The shared conformance suite on the CPU backend.
zknode_kernels::conformance_suite!(
    zknode_kernels::CpuBackend,
    zknode_kernels::CpuBackend::new()
);
