//! Time and peak heap of the aggregator's steps on this machine: building (and loading) the
//! circuits, wrapping one batch STARK proof into a batch proof, one 2→1 aggregation step, and
//! verification; plus proof sizes. The batch STARK is the stand-in `ChainStark`; the wrap and
//! aggregation circuits have one fixed shape whatever the STARK, so the step figures carry over.
//!
//! A plain `main` rather than criterion: each step takes about a second and the circuits take tens
//! of seconds to build. `ZKNODE_BENCH_RUNS` (default 5) picks the runs per step; medians and maxima
//! are reported. `ZKNODE_BENCH_STARK_DEGREES` (default `10..14`) the batch STARK degree range.
//!
//! Run: `cargo bench -p zknode-aggregator --bench aggregation`

// The table on stdout is this binary's output.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use zknode_aggregator::cache::CacheOutcome;
use zknode_aggregator::chain_stark::{prove_batch_stark, ChainStark};
use zknode_aggregator::{AggregatorCircuits, AggregatorParams, BatchPublicValues, StateRoot};
use zknode_benches::peak_heap::{measure, CountingAllocator};
use zknode_kernels::CpuBackend;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn degree_range(default: (usize, usize)) -> (usize, usize) {
    std::env::var("ZKNODE_BENCH_STARK_DEGREES")
        .ok()
        .and_then(|v| {
            let (lo, hi) = v.split_once("..")?;
            Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?))
        })
        .unwrap_or(default)
}

struct Samples {
    name: &'static str,
    times: Vec<Duration>,
    peaks: Vec<usize>,
}

impl Samples {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            times: Vec::new(),
            peaks: Vec::new(),
        }
    }
    fn push(&mut self, time: Duration, peak: usize) {
        self.times.push(time);
        self.peaks.push(peak);
    }
    fn row(&self) -> String {
        let mut times = self.times.clone();
        times.sort();
        let median = times[times.len() / 2];
        let max = times[times.len() - 1];
        let peak = self.peaks.iter().max().copied().unwrap_or(0);
        format!(
            "| {:<34} | {:>4} | {:>9.3} | {:>9.3} | {:>10.1} |",
            self.name,
            times.len(),
            median.as_secs_f64(),
            max.as_secs_f64(),
            peak as f64 / (1 << 20) as f64
        )
    }
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --all-targets` in CI) this is a smoke
    // run with small sizes and one run, so the bench cannot rot unnoticed.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs = if smoke {
        1
    } else {
        env_usize("ZKNODE_BENCH_RUNS", 5).max(1)
    };
    let (lo, hi) = if smoke {
        (4, 6)
    } else {
        degree_range((10, 14))
    };
    let params = AggregatorParams::new(lo..=hi);
    let cache =
        std::env::temp_dir().join(format!("zknode-aggregator-bench-{}", std::process::id()));

    let ((circuits, outcome), build_time, build_peak) = measure(|| {
        AggregatorCircuits::load_or_build(ChainStark, params.clone(), &cache).expect("circuits")
    });
    assert_eq!(outcome, CacheOutcome::Built);
    let (loaded, load_time, load_peak) = measure(|| {
        AggregatorCircuits::load_or_build(ChainStark, params.clone(), &cache).expect("circuits")
    });
    assert_eq!(loaded.1, CacheOutcome::Loaded);
    assert_eq!(
        loaded.0.verifier_key_digest(),
        circuits.verifier_key_digest()
    );
    drop(loaded);

    let backend = CpuBackend::new();
    let mut stark = Samples::new("batch STARK (stand-in, 2^hi rows)");
    let mut wrap = Samples::new("batch wrap (STARK verifier + wrap)");
    let mut step = Samples::new("2→1 aggregation step");
    let mut verify = Samples::new("verify aggregate");
    let mut root = StateRoot([1, 2, 3, 4]);
    let mut batches = Vec::new();
    for number in 1..=(2 * runs) as u64 {
        let values = BatchPublicValues {
            chain_id: 1101,
            fork_id: 12,
            old_batch_number: number - 1,
            new_batch_number: number,
            old_state_root: root,
            ..Default::default()
        };
        let (result, time, peak) =
            measure(|| prove_batch_stark(&backend, &params, values, hi).expect("STARK"));
        stark.push(time, peak);
        let (proof, values) = result;
        root = values.new_state_root;
        let (batch, time, peak) = measure(|| circuits.prove_batch(&proof).expect("batch proof"));
        wrap.push(time, peak);
        batches.push(batch);
    }
    let mut sizes = (batches[0].to_bytes().len(), 0);
    for pair in batches.chunks(2) {
        let (aggregate, time, peak) = measure(|| {
            circuits
                .aggregate(&pair[0], Some(&pair[1]))
                .expect("aggregate")
        });
        step.push(time, peak);
        sizes.1 = aggregate.to_bytes().len();
        let (result, time, peak) = measure(|| circuits.verify(&aggregate));
        result.expect("the aggregate verifies");
        verify.push(time, peak);
    }

    let threads = rayon::current_num_threads();
    println!(
        "aggregator bench: {threads} threads, batch STARK degrees 2^{lo}..=2^{hi}, aggregation \
         circuit 2^{} rows, verifier key {}",
        circuits.common_data().degree_bits(),
        circuits.verifier_key_digest()
    );
    println!("| step                               | runs | median s  | max s     | peak MiB   |");
    println!("|------------------------------------|------|-----------|-----------|------------|");
    let mut once = Samples::new("build circuits (cold)");
    once.push(build_time, build_peak);
    println!("{}", once.row());
    let mut once = Samples::new("load circuits (cache)");
    once.push(load_time, load_peak);
    println!("{}", once.row());
    for samples in [&stark, &wrap, &step, &verify] {
        println!("{}", samples.row());
    }
    println!(
        "proof sizes: batch {} bytes, aggregate {} bytes",
        sizes.0, sizes.1
    );
    let _ = std::fs::remove_dir_all(&cache);
}
