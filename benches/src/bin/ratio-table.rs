//! Prints ours/reference median ratios of the last criterion run as a Markdown table.
//!
//! Usage: `cargo run -p zknode-benches --bin ratio-table [-- <criterion dir>]`. The criterion directory
//! defaults to `$CARGO_TARGET_DIR/criterion` or `target/criterion`. Every implementation in a group
//! is compared with the group's `reference` (plonky2/arkworks for the kernel benches, the CPU backend
//! for the GPU benches); a ratio below 1 means faster than the reference.

// A command-line tool: its table goes to stdout.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zknode_benches::REFERENCE;

/// Medians of one (group, size): the reference and every other implementation.
#[derive(Default)]
struct Row {
    reference_ns: Option<f64>,
    others: BTreeMap<String, f64>,
}

fn criterion_dir() -> PathBuf {
    if let Some(dir) = std::env::args().nth(1) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// Every `<...>/new/benchmark.json` under `dir`.
fn find_benchmarks(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file()
            {
                out.push(path);
            } else {
                find_benchmarks(&path, out)?;
            }
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn human(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.3} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.3} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}

/// Sort key of a size label "2^k" (numeric, so 2^9 < 2^10).
fn size_key(label: &str) -> (u64, String) {
    let k = label
        .strip_prefix("2^")
        .and_then(|k| k.parse().ok())
        .unwrap_or(u64::MAX);
    (k, label.to_string())
}

fn main() -> Result<()> {
    let dir = criterion_dir();
    if !dir.is_dir() {
        bail!(
            "no criterion results at {} (run `cargo bench -p zknode-benches` first)",
            dir.display()
        );
    }
    let mut found = Vec::new();
    find_benchmarks(&dir, &mut found)?;

    let mut rows: BTreeMap<(String, (u64, String)), Row> = BTreeMap::new();
    for new_dir in found {
        let bench = read_json(&new_dir.join("benchmark.json"))?;
        let estimates = read_json(&new_dir.join("estimates.json"))?;
        let group = bench["group_id"].as_str().unwrap_or_default().to_string();
        let function = bench["function_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let size = bench["value_str"].as_str().unwrap_or("-");
        let median = estimates["median"]["point_estimate"]
            .as_f64()
            .with_context(|| format!("no median in {}", new_dir.display()))?;
        let row = rows.entry((group, size_key(size))).or_default();
        if function == REFERENCE {
            row.reference_ns = Some(median);
        } else {
            row.others.insert(function, median);
        }
    }

    println!("| benchmark | size | implementation | median | reference median | implementation / reference |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    for ((group, (_, size)), row) in &rows {
        let reference = row.reference_ns.map_or_else(|| "—".to_string(), human);
        for (function, &median) in &row.others {
            let ratio = match row.reference_ns {
                Some(r) if r > 0.0 => format!("{:.2}", median / r),
                _ => "—".to_string(),
            };
            println!(
                "| {group} | {size} | {function} | {} | {reference} | {ratio} |",
                human(median)
            );
        }
    }
    Ok(())
}
