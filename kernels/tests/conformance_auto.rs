//! The shared conformance suite through `AnyBackend` in `Auto` mode: with an adapter (lavapipe in CI)
//! small inputs stay on the CPU and large ones go to the device, so this checks the routing as well.
zknode_kernels::conformance_suite!(
    device zknode_kernels::AnyBackend,
    zknode_kernels::AnyBackend::open(zknode_kernels::BackendKind::Auto).and_then(|b| {
        if b.has_device() {
            Ok(b)
        } else {
            Err(zknode_kernels::KernelError::BackendUnavailable {
                backend: "wgpu",
                reason: "Auto fell back to the CPU backend".into(),
            })
        }
    })
);
