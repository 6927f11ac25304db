//! Prove time and peak heap of our prover against `starky::prover::prove`, in the same run, on the
//! 130-column AIR with a public input (`Wide` of the tests) and `standard_fast_config`, plus the
//! phase breakdown of our prover from its `tracing` spans.
//!
//! A plain `main` rather than criterion: one proof at 2^20 rows takes seconds, and criterion's
//! sampling would need minutes per size.
//!
//! `ZKNODE_BENCH_LOG_SIZES` (`16`, `16,18,20` or `16..20`; default `16`) picks the sizes,
//! `ZKNODE_BENCH_RUNS` (default 3) the runs per prover; medians are reported. With `--features wgpu`
//! our prover also runs on the wgpu backend when an adapter opens.
//!
//! Run: `ZKNODE_BENCH_LOG_SIZES=16,18 cargo bench -p zknode-prover --bench prove_vs_starky`

// The table on stdout is this binary's output.
#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{C, D, F};
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use zknode_benches::peak_heap::{self, CountingAllocator};
use zknode_kernels::{Backend, CpuBackend};

/// The AIR benched: ≥ 100 columns, so that the trace commitment dominates as in a zkEVM table.
const COLUMNS: usize = 130;
type Air = common::Wide<F, D, COLUMNS>;

// ---- peak heap: the benches crate's counting allocator ------------------------------------------

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f`, returning its wall time and peak heap; the result is dropped outside the measurement.
fn measure<R>(f: impl FnOnce() -> R) -> (Duration, usize) {
    let (result, elapsed, peak) = peak_heap::measure(f);
    drop(result);
    (elapsed, peak)
}

// ---- phase breakdown: a subscriber timing spans by name ---------------------------------------

/// The spans of our prover, in pipeline order. `prove` itself is reported as `other`: its own time
/// outside every phase (argument checks, transcript prefix).
const PHASES: [&str; 8] = [
    "commit",
    "bind_constraints",
    "quotient",
    "openings",
    "fri_combine",
    "fri_commit",
    "pow",
    "queries",
];

/// Self time per span name: a span's time minus that of the spans entered inside it, so that the
/// quotient commitment (a `commit` inside `quotient`) counts once, under `commit`.
#[derive(Default)]
struct PhaseTimes {
    names: Mutex<Vec<&'static str>>,
    totals: Mutex<HashMap<&'static str, Duration>>,
}

struct Frame {
    id: u64,
    start: Instant,
    children: Duration,
}

thread_local! {
    // Spans are entered and exited on one thread (the prover opens none on rayon workers), so the
    // nesting is a per-thread stack.
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

struct PhaseTimer {
    times: Arc<PhaseTimes>,
    next: AtomicU64,
}

impl Subscriber for PhaseTimer {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut names = self.times.names.lock().expect("not poisoned");
        names.push(span.metadata().name());
        // Ids are 1-based indices into `names`.
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, id: &Id) {
        STACK.with(|s| {
            s.borrow_mut().push(Frame {
                id: id.into_u64(),
                start: Instant::now(),
                children: Duration::ZERO,
            })
        });
    }
    fn exit(&self, id: &Id) {
        let Some(frame) = STACK.with(|s| s.borrow_mut().pop()) else {
            return;
        };
        debug_assert_eq!(frame.id, id.into_u64(), "spans exit in LIFO order");
        let elapsed = frame.start.elapsed();
        STACK.with(|s| {
            if let Some(parent) = s.borrow_mut().last_mut() {
                parent.children += elapsed;
            }
        });
        let index = usize::try_from(frame.id - 1).expect("a span index");
        let name = self.times.names.lock().expect("not poisoned")[index];
        *self
            .times
            .totals
            .lock()
            .expect("not poisoned")
            .entry(name)
            .or_default() += elapsed.saturating_sub(frame.children);
    }
}

// ---- the runs -----------------------------------------------------------------------------------

/// Time, peak heap and (ours only) phase self-times of one proof.
struct Sample {
    wall: Duration,
    peak: usize,
    phases: HashMap<&'static str, Duration>,
}

/// All samples of one prover at one size.
struct Series {
    prover: String,
    samples: Vec<Sample>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

impl Series {
    fn wall(&self) -> Duration {
        median(self.samples.iter().map(|s| s.wall).collect())
    }
    fn peak(&self) -> usize {
        let mut v: Vec<usize> = self.samples.iter().map(|s| s.peak).collect();
        v.sort_unstable();
        v[v.len() / 2]
    }
    fn phase(&self, name: &str) -> Duration {
        median(
            self.samples
                .iter()
                .map(|s| s.phases.get(name).copied().unwrap_or_default())
                .collect(),
        )
    }
}

struct Input {
    config: StarkConfig,
    trace: Vec<PolynomialValues<F>>,
    public_inputs: Vec<F>,
}

fn run_starky(input: &Input) -> Sample {
    // starky takes the trace by value: the copy is made before the measurement, like our borrowed one.
    let trace = input.trace.clone();
    let (wall, peak) = measure(|| {
        starky::prover::prove::<F, C, Air, D>(
            Air::new(),
            &input.config,
            trace,
            &input.public_inputs,
            None,
            &mut TimingTree::default(),
        )
        .expect("starky proves")
    });
    Sample {
        wall,
        peak,
        phases: HashMap::new(),
    }
}

fn run_ours<B: Backend>(backend: &B, input: &Input, check: bool) -> Sample {
    let times = Arc::new(PhaseTimes::default());
    let timer = PhaseTimer {
        times: times.clone(),
        next: AtomicU64::new(0),
    };
    let prove = || {
        zknode_prover::prove::<B, C, Air, D>(
            backend,
            &Air::new(),
            &input.config,
            &input.trace,
            &input.public_inputs,
            None,
        )
        .expect("our prover proves")
    };
    let (wall, peak) = tracing::subscriber::with_default(timer, || measure(prove));
    if check {
        // Once per size and backend, outside the measurement: a fast wrong prover is no result.
        starky::verifier::verify_stark_proof(Air::new(), prove(), &input.config, None)
            .expect("starky accepts our proof");
    }
    let mut phases = times.totals.lock().expect("not poisoned").clone();
    // The `prove` span's self time is everything outside the named phases.
    if let Some(other) = phases.remove("prove") {
        phases.insert("other", other);
    }
    Sample { wall, peak, phases }
}

/// `16`, `16,18,20` or `16..20` (inclusive), sorted and deduplicated.
fn log_sizes() -> Vec<usize> {
    const VAR: &str = "ZKNODE_BENCH_LOG_SIZES";
    let Ok(spec) = std::env::var(VAR) else {
        return vec![16];
    };
    let parse = |s: &str| -> usize {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{VAR}={spec:?}: {s:?} is not a number"))
    };
    let mut sizes: Vec<usize> = spec
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .flat_map(|part| match part.split_once("..") {
            Some((lo, hi)) => (parse(lo)..=parse(hi)).collect::<Vec<_>>(),
            None => vec![parse(part)],
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

fn runs() -> usize {
    std::env::var("ZKNODE_BENCH_RUNS")
        .ok()
        .map(|v| v.trim().parse().expect("ZKNODE_BENCH_RUNS is a number"))
        .unwrap_or(3)
        .max(1)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`. Without it (`cargo test --all-targets` in CI) this is a smoke
    // run: one small proof per prover, checked by the verifier, so the bench cannot rot unnoticed.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    let (runs, sizes) = if smoke {
        (1, vec![10])
    } else {
        (runs(), log_sizes())
    };

    let cpu = CpuBackend::new();
    #[cfg(feature = "wgpu")]
    let gpu = match zknode_kernels::wgpu::WgpuBackend::new() {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("wgpu backend unavailable, skipped: {e}");
            None
        }
    };

    let mut results: Vec<(usize, Vec<Series>)> = Vec::new();
    for &log_n in &sizes {
        let (trace, public_inputs) = Air::trace(1 << log_n, F::from_canonical_u64(11));
        let input = Input {
            config: StarkConfig::standard_fast_config(),
            trace,
            public_inputs,
        };
        let mut series = vec![Series {
            prover: "starky".into(),
            samples: Vec::new(),
        }];
        series.push(Series {
            prover: format!("ours ({})", cpu.name()),
            samples: Vec::new(),
        });
        #[cfg(feature = "wgpu")]
        if let Some(gpu) = &gpu {
            series.push(Series {
                prover: format!("ours ({})", gpu.name()),
                samples: Vec::new(),
            });
        }
        pool.install(|| {
            // Interleaved, so that a change of machine load hits every prover alike.
            for run in 0..runs {
                eprintln!("2^{log_n}: run {}/{runs}", run + 1);
                series[0].samples.push(run_starky(&input));
                series[1].samples.push(run_ours(&cpu, &input, run == 0));
                #[cfg(feature = "wgpu")]
                if let Some(gpu) = &gpu {
                    series[2].samples.push(run_ours(gpu, &input, run == 0));
                }
            }
        });
        results.push((log_n, series));
    }

    println!(
        "AIR: {COLUMNS} columns, 1 public input, standard_fast_config; {threads} rayon threads; \
         median of {runs} runs; peak heap above the inputs"
    );
    println!();
    println!(
        "| rows | prover | median wall (ms) | ours/starky | peak heap (MiB) | peak ours/starky |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (log_n, series) in &results {
        let (starky_wall, starky_peak) = (series[0].wall(), series[0].peak());
        for s in series {
            println!(
                "| 2^{log_n} | {} | {:.1} | {:.2} | {:.1} | {:.2} |",
                s.prover,
                s.wall().as_secs_f64() * 1e3,
                s.wall().as_secs_f64() / starky_wall.as_secs_f64(),
                mib(s.peak()),
                s.peak() as f64 / starky_peak as f64,
            );
        }
    }
    println!();
    println!("Phase breakdown of our prover (median self time per span, ms):");
    println!();
    let mut header = String::from("| rows | prover |");
    let mut rule = String::from("| --- | --- |");
    for phase in PHASES.iter().chain(&["other"]) {
        header.push_str(&format!(" {phase} |"));
        rule.push_str(" ---: |");
    }
    println!("{header}");
    println!("{rule}");
    for (log_n, series) in &results {
        for s in &series[1..] {
            let mut row = format!("| 2^{log_n} | {} |", s.prover);
            for phase in PHASES.iter().chain(&["other"]) {
                row.push_str(&format!(" {:.1} |", s.phase(phase).as_secs_f64() * 1e3));
            }
            println!("{row}");
        }
    }
}
