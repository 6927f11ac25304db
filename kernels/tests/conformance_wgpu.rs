//! The shared conformance suite on the wgpu backend (Mesa's lavapipe in CI, a real GPU elsewhere).
//!
//! Without an adapter the tests fail when `ZKNODE_REQUIRE_GPU=1` (CI sets it) and skip with a
//! message otherwise.
zknode_kernels::conformance_suite!(device zknode_kernels::wgpu::WgpuBackend, zknode_kernels::wgpu::WgpuBackend::new());
