//! The shared conformance suite on the wgpu backend (lavapipe in CI, a real GPU elsewhere).
//!
//! Opening the adapter fails the tests rather than skipping them: a machine that runs this suite is
//! meant to have one (CI installs Mesa's lavapipe).
zknode_kernels::conformance_suite!(
    zknode_kernels::wgpu::WgpuBackend,
    zknode_kernels::wgpu::WgpuBackend::new().unwrap_or_else(|e| panic!("wgpu backend required for this suite: {e}"))
);
