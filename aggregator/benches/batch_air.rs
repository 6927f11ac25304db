//! Time and peak heap of the batch AIR path on the fixture chain (`fixtures/batches/chain.json`:
//! consecutive batches of 1, 10, 100 and 1000 native transfers): per batch, executing it (the
//! executor producing the witness), trace generation, the batch STARK proof and the batch circuit
//! (native STARK check, recursive STARK verifier and wrap: `AggregatorCircuits::prove_batch`); then
//! one `aggregate_all` of the proven batches and the final `verify`. Also building (cold) and loading
//! (disk cache) the circuits, and per batch its shape: transfers, tree writes, trace rows used,
//! degree, columns.
//!
//! The phases are those of `pipeline::prove_batch` (trace and STARK timed apart so each has its own
//! peak heap; the STARK's peak is above the trace it reads, whose size the shape table gives).
//!
//! A plain `main` rather than criterion: the 1000-transfer batch takes tens of seconds on two cores.
//! Medians and maxima over the runs are reported; peak = heap high-water mark above what was
//! allocated before the phase (counting allocator; GPU memory is not counted).
//!
//! Knobs (environment):
//! - `ZKNODE_BENCH_RUNS`: runs per batch (default 3 for batches of up to 100 transfers, 1 above).
//! - `ZKNODE_BENCH_TRANSFERS`: the batch sizes to prove, comma-separated (default all: `1,10,100,1000`).
//!   Earlier batches are still executed (the chain is consecutive); aggregation needs consecutive ones.
//! - `ZKNODE_BENCH_QUICK=1` (or `-- --test`, or running the binary without `--bench` as
//!   `cargo test --benches` does): the 1- and 10-transfer batches, one run, circuits from the cache
//!   when there (a smoke test for CI).
//! - `ZKNODE_BENCH_COLD=0|1`: build the circuits from scratch before loading them (default 1, quick 0).
//! - `ZKNODE_BACKEND=cpu|gpu|auto` (comma-separated for several): the kernel backends of the STARK
//!   proof. Unset: the CPU backend, plus the wgpu backend when this build has it
//!   (`--features zknode-kernels/wgpu`) and a hardware adapter is found (software rasterizers such as
//!   llvmpipe are skipped unless asked for with `ZKNODE_BACKEND=gpu`).
//!
//! Run: `cargo bench -p zknode-aggregator --bench batch_air`
//! Quick: `ZKNODE_BENCH_QUICK=1 cargo bench -p zknode-aggregator --bench batch_air`

// The tables on stdout are this binary's output.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use zknode_aggregator::cache::CacheOutcome;
use zknode_aggregator::pipeline::{batch_air_params, genesis_values, next_public_values};
use zknode_aggregator::{AggregatorCircuits, BatchPublicValues, C, D};
use zknode_benches::peak_heap::{measure, CountingAllocator};
use zknode_executor::execution::{BatchWitness, Executor, ExecutorConfig};
use zknode_kernels::{AnyBackend, Backend, BackendKind, CpuBackend, BACKEND_ENV};
use zknode_prover::batch::columns::NUM_COLUMNS;
use zknode_prover::batch::{commitment, generate_trace_with, BatchAir};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MIB: f64 = (1 << 20) as f64;

fn env_flag(name: &str) -> Option<bool> {
    std::env::var(name)
        .ok()
        .map(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn env_list(name: &str) -> Option<Vec<usize>> {
    let v = std::env::var(name).ok()?;
    let list: Vec<usize> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    (!list.is_empty()).then_some(list)
}

/// Times and peaks of one phase over its runs.
#[derive(Default)]
struct Samples {
    times: Vec<Duration>,
    peaks: Vec<usize>,
}

impl Samples {
    fn push(&mut self, time: Duration, peak: usize) {
        self.times.push(time);
        self.peaks.push(peak);
    }
    fn median(&self) -> Duration {
        let mut times = self.times.clone();
        times.sort();
        times.get(times.len() / 2).copied().unwrap_or_default()
    }
    fn max(&self) -> Duration {
        self.times.iter().max().copied().unwrap_or_default()
    }
    fn peak_mib(&self) -> f64 {
        self.peaks.iter().max().copied().unwrap_or(0) as f64 / MIB
    }
}

/// The phases of one batch on one backend.
#[derive(Default)]
struct BatchPhases {
    trace: Samples,
    stark: Samples,
    circuit: Samples,
}

/// What one batch is, from its trace.
#[derive(Clone, Copy, Default)]
struct Shape {
    transfers: usize,
    writes: usize,
    rows_used: usize,
    degree_bits: usize,
    batch_proof_bytes: usize,
}

/// The backends to run: `ZKNODE_BACKEND` if set, else the CPU backend and, when one can be opened
/// on real hardware, the wgpu backend.
fn backends() -> Vec<AnyBackend> {
    if let Ok(names) = std::env::var(BACKEND_ENV) {
        return names
            .split(',')
            .map(|name| {
                let kind: BackendKind = name.parse().expect("ZKNODE_BACKEND: auto, cpu or gpu");
                AnyBackend::open(kind).expect("the backend ZKNODE_BACKEND names")
            })
            .collect();
    }
    let mut list = vec![AnyBackend::Cpu(CpuBackend::new())];
    match AnyBackend::open(BackendKind::Gpu) {
        Ok(gpu) => {
            let name = gpu.name().to_lowercase();
            if ["llvmpipe", "lavapipe", "swiftshader"]
                .iter()
                .any(|soft| name.contains(soft))
            {
                eprintln!("wgpu backend skipped: {name} is a software rasterizer (ZKNODE_BACKEND=gpu runs it)");
            } else {
                list.push(gpu);
            }
        }
        Err(e) => eprintln!("wgpu backend not run: {e}"),
    }
    list
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_string())
}

/// Runs the whole chain (up to batch index `last`) in a fresh executor store: the witnesses and the
/// time and peak heap of each batch's execution.
fn execute_chain(
    chain: &zknode_fixtures::FixtureChain,
    last: usize,
    run: usize,
    samples: &mut [Samples],
) -> Vec<BatchWitness> {
    let dir = std::env::temp_dir().join(format!(
        "zknode-batch-air-bench-{}-{run}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("executor store directory");
    let witnesses = {
        let executor = Executor::open(&dir, ExecutorConfig::default()).expect("executor store");
        let root = executor.set_genesis(&chain.genesis).expect("genesis");
        assert_eq!(root, chain.genesis_root, "genesis root");
        (0..=last)
            .map(|i| {
                let request = chain.request(i).expect("fixture request");
                let (response, time, peak) =
                    measure(|| executor.process_batch(&request).expect("batch executes"));
                samples[i].push(time, peak);
                assert_eq!(
                    response.new_state_root, chain.batches[i].new_state_root,
                    "batch {} executes to the recorded root",
                    chain.batches[i].batch_number
                );
                response.witness.expect("the executor returns the witness")
            })
            .collect()
    };
    let _ = std::fs::remove_dir_all(&dir);
    witnesses
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = env_flag("ZKNODE_BENCH_QUICK").unwrap_or(false)
        || args.iter().any(|a| a == "--test")
        || !args.iter().any(|a| a == "--bench");
    let cold = env_flag("ZKNODE_BENCH_COLD").unwrap_or(!quick);
    let runs_for = |transfers: usize| {
        if quick {
            1
        } else {
            env_usize("ZKNODE_BENCH_RUNS")
                .unwrap_or(if transfers <= 100 { 3 } else { 1 })
                .max(1)
        }
    };
    let started = Instant::now();
    let load_before = load_average();

    let chain = zknode_fixtures::load_named("chain").expect("fixture chain");
    let wanted: Vec<usize> = if quick {
        vec![1, 10]
    } else {
        env_list("ZKNODE_BENCH_TRANSFERS").unwrap_or_else(|| vec![1, 10, 100, 1000])
    };
    let selected: Vec<usize> = (0..chain.batches.len())
        .filter(|&i| wanted.contains(&chain.batches[i].transfers))
        .collect();
    assert!(
        !selected.is_empty(),
        "no fixture batch has one of the sizes {wanted:?}"
    );
    let last = *selected.last().expect("non-empty");
    let backends = backends();

    // Circuits: cold build (then saved to the cache), then a load from the cache.
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("batch-air-circuit-cache");
    std::fs::create_dir_all(&cache).expect("circuit cache directory");
    let mut circuit_rows: Vec<(String, Duration, usize)> = Vec::new();
    if cold {
        let (built, time, peak) =
            measure(|| AggregatorCircuits::build(BatchAir, batch_air_params()).expect("circuits"));
        circuit_rows.push(("build circuits (cold)".into(), time, peak));
        built.save(&cache).expect("circuit cache");
    }
    let ((circuits, outcome), time, peak) = measure(|| {
        AggregatorCircuits::load_or_build(BatchAir, batch_air_params(), &cache).expect("circuits")
    });
    if cold {
        assert_eq!(outcome, CacheOutcome::Loaded);
    }
    circuit_rows.push((
        match outcome {
            CacheOutcome::Loaded => "load circuits (disk cache)".into(),
            CacheOutcome::Built => "load_or_build circuits (built: no cache)".into(),
        },
        time,
        peak,
    ));
    eprintln!("circuits ready ({:.1} s)", started.elapsed().as_secs_f64());

    // Execution: the chain from genesis, as many times as the most runs of a selected batch.
    let exec_runs = selected
        .iter()
        .map(|&i| runs_for(chain.batches[i].transfers))
        .max()
        .unwrap_or(1);
    let mut execute: Vec<Samples> = (0..=last).map(|_| Samples::default()).collect();
    let witnesses = execute_chain(&chain, last, 0, &mut execute);
    for run in 1..exec_runs {
        execute_chain(&chain, last, run, &mut execute);
    }
    eprintln!("executed ({:.1} s)", started.elapsed().as_secs_f64());

    // Public values before and after each batch (cheap; also for the batches not proven).
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut previous = genesis_values(chain.chain_id, chain.fork_id, chain.genesis_root);
    for witness in &witnesses {
        let transfers = zknode_prover::batch::trace::transfers(witness).expect("transfers");
        let values = next_public_values(&previous, witness, &commitment(&transfers));
        before.push(previous);
        after.push(values);
        previous = values;
    }

    let params = circuits.params().clone();
    let fri_params = params.stark_verifier_fri_params();
    let mut shapes = vec![Shape::default(); last + 1];
    let mut phases: Vec<Vec<BatchPhases>> = backends
        .iter()
        .map(|_| (0..=last).map(|_| BatchPhases::default()).collect())
        .collect();
    let mut proofs = Vec::new();
    for (b, backend) in backends.iter().enumerate() {
        for &i in &selected {
            let witness = &witnesses[i];
            let runs = runs_for(chain.batches[i].transfers);
            for run in 0..runs {
                let p = &mut phases[b][i];
                // As `pipeline::prove_batch_stark`: the public values follow from the commitment.
                let (trace, time, peak) = measure(|| {
                    generate_trace_with(witness, |commitment| {
                        next_public_values(&before[i], witness, commitment)
                    })
                });
                let trace = trace.expect("trace");
                p.trace.push(time, peak);
                let (proof, time, peak) = measure(|| {
                    zknode_prover::prove::<_, C, BatchAir, D>(
                        backend,
                        &BatchAir,
                        &params.stark_config,
                        &trace.columns,
                        &trace.public_inputs,
                        Some(fri_params.clone()),
                    )
                });
                let proof = proof.expect("batch STARK proof");
                p.stark.push(time, peak);
                let shape = Shape {
                    transfers: trace.transfers.len(),
                    writes: trace.writes,
                    rows_used: trace.rows_used,
                    degree_bits: trace.degree_bits(),
                    batch_proof_bytes: 0,
                };
                drop(trace);
                let (batch, time, peak) =
                    measure(|| circuits.prove_batch(&proof).expect("batch circuit proof"));
                p.circuit.push(time, peak);
                drop(proof);
                let values: BatchPublicValues = circuits
                    .verify_batch(&batch)
                    .expect("the batch proof verifies");
                assert_eq!(values, after[i], "batch proof public values");
                shapes[i] = Shape {
                    batch_proof_bytes: batch.to_bytes().len(),
                    ..shape
                };
                eprintln!(
                    "{} batch {} ({} transfers) run {}/{runs}: trace {:.2} s, STARK {:.2} s, \
                     batch circuit {:.2} s",
                    backend.name(),
                    chain.batches[i].batch_number,
                    shape.transfers,
                    run + 1,
                    p.trace.times[run].as_secs_f64(),
                    p.stark.times[run].as_secs_f64(),
                    p.circuit.times[run].as_secs_f64(),
                );
                if b == 0 && run + 1 == runs {
                    proofs.push(batch);
                }
            }
        }
    }

    // One aggregation of the proven batches (when consecutive) and its verification.
    let consecutive = selected.windows(2).all(|w| w[1] == w[0] + 1);
    let mut aggregate_rows: Vec<(String, Duration, usize)> = Vec::new();
    let mut aggregate_bytes = 0;
    if consecutive {
        let count = proofs.len();
        let (aggregate, time, peak) =
            measure(|| circuits.aggregate_all(proofs).expect("aggregate_all"));
        let plural = if count == 1 { "" } else { "es" };
        aggregate_rows.push((format!("aggregate_all ({count} batch{plural})"), time, peak));
        aggregate_bytes = aggregate.to_bytes().len();
        let (values, time, peak) = measure(|| circuits.verify(&aggregate));
        let values = values.expect("the aggregate verifies");
        aggregate_rows.push(("verify aggregate".into(), time, peak));
        assert_eq!(values.old_state_root, before[selected[0]].new_state_root);
        assert_eq!(values.new_state_root, after[last].new_state_root);
        assert_eq!(values.new_acc_input_hash, after[last].new_acc_input_hash);
    } else {
        eprintln!("selected batches are not consecutive: no aggregation");
    }
    let load_after = load_average();

    // Report.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let knobs: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ZKNODE_") || k == "RAYON_NUM_THREADS")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "batch AIR bench{}: {cores} cores (available_parallelism), {} rayon threads; backends: {}",
        if quick { " (quick)" } else { "" },
        rayon::current_num_threads(),
        backends
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("command: {} {}", knobs.join(" "), args.join(" "));
    println!(
        "load average (1/5/15 min): {load_before} at start, {load_after} at end; total {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "circuits: batch STARK degrees 2^{}..=2^{}, aggregation circuit 2^{} rows, verifier key {}",
        params.stark_degree_bits.start(),
        params.stark_degree_bits.end(),
        circuits.common_data().degree_bits(),
        circuits.verifier_key_digest()
    );
    println!();
    println!("| batch | transfers | tree writes | rows used | degree | columns | trace MiB | batch proof bytes |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &i in &selected {
        let s = &shapes[i];
        println!(
            "| {} | {} | {} | {} | 2^{} | {} | {:.1} | {} |",
            chain.batches[i].batch_number,
            s.transfers,
            s.writes,
            s.rows_used,
            s.degree_bits,
            NUM_COLUMNS,
            (NUM_COLUMNS << s.degree_bits) as f64 * 8.0 / MIB,
            s.batch_proof_bytes
        );
    }
    println!();
    println!("| transfers | backend | phase | runs | median s | max s | share | peak MiB |");
    println!("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (b, backend) in backends.iter().enumerate() {
        for &i in &selected {
            let p = &phases[b][i];
            let rows = [
                ("execute (executor, witness)", &execute[i]),
                ("trace generation", &p.trace),
                ("batch STARK proof", &p.stark),
                ("batch circuit (verify + recursion + wrap)", &p.circuit),
            ];
            let total: f64 = rows.iter().map(|(_, s)| s.median().as_secs_f64()).sum();
            for (phase, s) in rows {
                println!(
                    "| {} | {} | {phase} | {} | {:.3} | {:.3} | {:.0}% | {:.1} |",
                    chain.batches[i].transfers,
                    backend.name(),
                    s.times.len(),
                    s.median().as_secs_f64(),
                    s.max().as_secs_f64(),
                    100.0 * s.median().as_secs_f64() / total.max(f64::MIN_POSITIVE),
                    s.peak_mib()
                );
            }
        }
    }
    println!();
    println!("| once | runs | s | peak MiB |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, time, peak) in circuit_rows.iter().chain(&aggregate_rows) {
        println!(
            "| {name} | 1 | {:.3} | {:.1} |",
            time.as_secs_f64(),
            *peak as f64 / MIB
        );
    }
    if aggregate_bytes > 0 {
        println!("aggregate proof: {aggregate_bytes} bytes");
    }
}
