//! Every phase of the prover opens its own `tracing` span.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use plonky2::field::types::Field;
use starky::config::StarkConfig;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use zknode_kernels::CpuBackend;

/// A subscriber that only records the names of the spans created.
struct Names {
    names: Arc<Mutex<Vec<&'static str>>>,
    next: AtomicU64,
}

impl Subscriber for Names {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if let Ok(mut names) = self.names.lock() {
            names.push(span.metadata().name());
        }
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn phases_have_spans() {
    let names = Arc::new(Mutex::new(Vec::new()));
    let subscriber = Names {
        names: names.clone(),
        next: AtomicU64::new(0),
    };
    let (trace, pis) = Fib::<F, D>::trace(1 << 6, F::ZERO, F::ONE);
    tracing::subscriber::with_default(subscriber, || {
        zknode_prover::prove::<_, C, _, D>(
            &CpuBackend::new(),
            &Fib::<F, D>::new(),
            &StarkConfig::standard_fast_config(),
            &trace,
            &pis,
            None,
        )
        .expect("proves");
    });
    let names = names.lock().expect("not poisoned").clone();
    for phase in [
        "prove",
        "commit",
        "bind_constraints",
        "quotient",
        "openings",
        "fri_combine",
        "fri_commit",
        "pow",
        "queries",
    ] {
        assert!(names.contains(&phase), "no span {phase} in {names:?}");
    }
    // Two commitments on the backend: the trace and the quotient.
    assert_eq!(
        names.iter().filter(|&&n| n == "commit").count(),
        2,
        "{names:?}"
    );
}
