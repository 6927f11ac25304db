//! `zknode prove` as users run it: the checked-in fixture batches of 1, 10 and 100 transfers are
//! executed, proven (batch STARK, batch circuit), aggregated and verified; bad requests fail with a
//! clear message and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

/// The aggregation-circuit cache shared by this package's test binaries (cargo's per-target
/// scratch space), so the circuits are built once per target directory.
fn circuit_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("batch-air-circuit-cache")
}

fn zknode(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zknode"))
        .arg("prove")
        .args(["--backend", "cpu", "--circuit-cache"])
        .arg(circuit_cache())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("zknode runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn proves_fixture_batches_and_verifies_the_aggregate() {
    let proof_file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prove-test-aggregate.bin");
    let _ = std::fs::remove_file(&proof_file);
    let (ok, stdout, stderr) = zknode(&[
        "--batches",
        "1..3",
        "--proof-out",
        proof_file.to_str().expect("utf-8 path"),
    ]);
    eprintln!("{stdout}");
    assert!(ok, "zknode prove failed:\n{stdout}\n{stderr}");
    let chain = zknode_fixtures::load_named("chain").expect("fixture");
    for (batch, transfers) in [(1, 1), (2, 10), (3, 100)] {
        assert!(
            stdout.contains(&format!("batch {batch}: proved {transfers} transfers")),
            "batch {batch} not proven:\n{stdout}"
        );
    }
    assert!(stdout.contains("aggregated 3 batch proofs"), "{stdout}");
    assert!(stdout.contains("verified in"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "state root {} -> {}",
            chain.genesis_root, chain.batches[2].new_state_root
        )),
        "the aggregate does not go from the genesis to batch 3's root:\n{stdout}"
    );
    assert!(stdout.contains("batches 1..=3"), "{stdout}");
    let bytes = std::fs::read(&proof_file).expect("the aggregate proof was written");
    assert!(!bytes.is_empty());
}

#[test]
fn bad_requests_fail_clearly() {
    let (ok, _, stderr) = zknode(&["--batches", "3..1"]);
    assert!(!ok);
    assert!(stderr.contains("not within the chain"), "{stderr}");
    let (ok, _, stderr) = zknode(&["--batches", "9"]);
    assert!(!ok);
    assert!(stderr.contains("not within the chain"), "{stderr}");
    let (ok, _, stderr) = zknode(&["--batches", "x..2"]);
    assert!(!ok);
    assert!(stderr.contains("batch number"), "{stderr}");

    // A fixture whose recorded root disagrees with execution is refused before any proving.
    let mut chain = zknode_fixtures::load_named("chain").expect("fixture");
    chain.batches[0].new_state_root = chain.genesis_root;
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prove-test-bad-fixture.json");
    zknode_fixtures::save(&chain, &path).expect("writes");
    let (ok, _, stderr) = zknode(&["--batches", "1", "--fixture", path.to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(stderr.contains("the fixture expects"), "{stderr}");
    let (ok, _, stderr) = zknode(&["--fixture", "/nonexistent/chain.json"]);
    assert!(!ok);
    assert!(
        stderr.contains("loading /nonexistent/chain.json"),
        "{stderr}"
    );
}

/// The same path with the kernels on the wgpu backend (Mesa's lavapipe in CI, a GPU elsewhere): the
/// aggregate states the same roots. Without an adapter this fails when `ZKNODE_REQUIRE_GPU=1` (CI)
/// and is skipped with a message otherwise, like the kernels' wgpu suite.
#[test]
fn proves_on_the_wgpu_backend() {
    let output = Command::new(env!("CARGO_BIN_EXE_zknode"))
        .args([
            "prove",
            "--backend",
            "gpu",
            "--batches",
            "1..2",
            "--circuit-cache",
        ])
        .arg(circuit_cache())
        .env("RUST_LOG", "warn")
        .output()
        .expect("zknode runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success()
        && stderr.contains("unavailable")
        && std::env::var("ZKNODE_REQUIRE_GPU").as_deref() != Ok("1")
    {
        eprintln!("skipped: no wgpu adapter: {stderr}");
        return;
    }
    assert!(
        output.status.success(),
        "zknode prove --backend gpu failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("backend wgpu("), "{stdout}");
    let chain = zknode_fixtures::load_named("chain").expect("fixture");
    assert!(
        stdout.contains(&format!(
            "state root {} -> {}",
            chain.genesis_root, chain.batches[1].new_state_root
        )),
        "{stdout}"
    );
}
