//! Throughput and latency of the node's JSON-RPC server over loopback HTTP: `eth_blockNumber` and
//! `eth_getBalance` requests per second with many keep-alive clients, latency percentiles, and
//! accepted `eth_sendRawTransaction` per second (pre-signed, distinct transactions from many
//! senders, so per-sender nonce windows are not the limit; only accepted ones count).
//!
//! The server runs in this process on its own Tokio runtime (threads `rpc-server`) with the node's
//! default configuration (PostgreSQL pool of 20, events polling), over its own database on the live
//! PostgreSQL (`ZKNODE_TEST_DATABASE_URL`, as the node's tests; dropped at the end) and an
//! in-process executor, with a funded genesis and a few real blocks made by the sequencer. The
//! clients are a minimal HTTP/1.1 keep-alive client on a second runtime (threads `rpc-client`), so
//! client and server share this machine's cores; the output says how the CPU time split between
//! the server, the clients and PostgreSQL.
//!
//! `ZKNODE_BENCH_SECS` (default 5) is the duration of each measurement, `ZKNODE_BENCH_CLIENTS`
//! (default 64) the concurrent connections, `ZKNODE_BENCH_TX_SENDERS` (default 3) the senders per
//! client for `eth_sendRawTransaction` (each signs up to 60 transactions).
//!
//! Run: `cargo bench -p zknode-node --bench rpc`. Without `--bench` (`cargo test --benches`) it is a
//! smoke run of 0.2 s per measurement with a few clients.

// The table on stdout is this binary's output.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use sqlx::{Connection as _, Executor as _, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zknode_executor::execution::{CounterLimits, GenesisAccount};
use zknode_node::config::{Config, DatabaseConfig};
use zknode_node::executor::ExecutorHandle;
use zknode_node::pool::store::PoolStore;
use zknode_node::rpc::RpcServer;
use zknode_node::sequencer::Sequencer;
use zknode_node::state::StateStore;

/// Above the default minimum gas price (1 gwei).
const GAS_PRICE: u128 = 2_000_000_000;
/// Transactions signed per sender: inside the pool's window of 64 ahead of the state nonce.
const NONCES_PER_SENDER: u64 = 60;
/// Senders whose transfers fill the blocks made before measuring.
const BLOCK_SENDERS: usize = 8;
const BLOCKS: usize = 8;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key(index: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::from(U256::from(index as u64 + 1))).expect("a valid key")
}

fn transfer(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, value: u64) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: GAS_PRICE,
        max_priority_fee_per_gas: GAS_PRICE,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(value),
        ..Default::default()
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

fn call_body(method: &str, params: serde_json::Value) -> Vec<u8> {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string()
        .into_bytes()
}

/// The node under measurement and what to tear down afterwards.
struct Bench {
    server: RpcServer,
    db: sqlx::PgPool,
    admin_url: String,
    database: String,
    executor_dir: PathBuf,
    config: Config,
}

impl Bench {
    async fn setup(funded: &[Address]) -> Self {
        let admin_url = std::env::var("ZKNODE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let database = format!("zknode_bench_rpc_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "the RPC bench needs PostgreSQL like the node's tests: connecting to {admin_url} \
                 failed: {e} (set ZKNODE_TEST_DATABASE_URL to an admin URL)"
            )
        });
        admin
            .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
            .await
            .expect("drop an old bench database");
        admin
            .execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .expect("create the bench database");
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("a database URL with a path");

        let mut config = Config {
            database: DatabaseConfig {
                url: format!("{base}/{database}"),
                ..DatabaseConfig::default()
            },
            ..Config::default()
        };
        config.rpc.http_listen = "127.0.0.1:0".parse().expect("address");
        config.rpc.ws_listen = "127.0.0.1:0".parse().expect("address");
        config.rpc.rate_limit_per_ip = 0;
        // The measurement fills the pool with thousands of transactions: the global cap would
        // turn them away after 1024.
        config.pool.global_queue = 10_000_000;
        config.sequencer.coinbase = Address::repeat_byte(0xc0).to_string();
        let db = zknode_node::db::connect(&config.database)
            .await
            .expect("connects to the bench database");
        zknode_node::db::migrate(&db).await.expect("migrates");

        let executor_dir =
            std::env::temp_dir().join(format!("zknode-rpc-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&executor_dir);
        std::fs::create_dir_all(&executor_dir).expect("executor directory");
        let executor = ExecutorHandle::Local(
            zknode_executor::execution::Executor::open(
                &executor_dir,
                zknode_executor::execution::ExecutorConfig::default(),
            )
            .expect("executor opens"),
        );
        let state = StateStore::new(db.clone());
        let accounts = funded
            .iter()
            .map(|&address| GenesisAccount {
                address,
                balance: U256::from(10u64).pow(U256::from(18)),
                ..Default::default()
            })
            .collect();
        zknode_node::genesis::ensure_genesis(
            &state,
            &executor,
            accounts,
            Address::repeat_byte(0xc0),
        )
        .await
        .expect("genesis");
        let server = RpcServer::start(config.clone(), db.clone(), executor.clone())
            .await
            .expect("the RPC server starts");

        // A few real blocks: transfers through the RPC, closed by the sequencer.
        let mut sequencer = Sequencer::new(
            config.clone(),
            state.clone(),
            PoolStore::new(db.clone()),
            executor,
            CounterLimits::with_max_trace_rows(config.sequencer.max_trace_rows),
        )
        .expect("sequencer");
        let mut connection = HttpConnection::open(server.http_addr).await;
        for block in 0..BLOCKS {
            for sender in 0..BLOCK_SENDERS {
                let raw = transfer(&key(sender), config.chain.chain_id, block as u64, 1_000);
                let body = call_body(
                    "eth_sendRawTransaction",
                    serde_json::json!([Bytes::from(raw)]),
                );
                let reply = connection.call(&body).await;
                assert!(reply.ok, "block transfer refused: {}", reply.text());
            }
            let outcome = sequencer.close_block().await.expect("closes a block");
            assert!(outcome.block.is_some(), "no block made");
        }
        Self {
            server,
            db,
            admin_url,
            database,
            executor_dir,
            config,
        }
    }

    async fn teardown(self) {
        self.server.stop().await;
        self.db.close().await;
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .expect("PostgreSQL");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database).as_str())
            .await
            .expect("drop the bench database");
        let _ = std::fs::remove_dir_all(&self.executor_dir);
    }
}

/// One keep-alive HTTP/1.1 connection: requests written whole, responses read by Content-Length
/// (the server always sends one). Minimal so the clients take as little of the shared CPU as
/// they can.
struct HttpConnection {
    stream: TcpStream,
    buf: Vec<u8>,
}

struct Reply {
    ok: bool,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl HttpConnection {
    async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connects");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends one JSON-RPC call; `ok` when the status is 200 and the answer has a result.
    async fn call(&mut self, body: &[u8]) -> Reply {
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.stream
            .write_all(&request)
            .await
            .expect("writes a request");
        self.buf.clear();
        let (head_end, length) = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).expect("an ASCII head");
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or_else(|| panic!("a response without Content-Length: {head}"));
                break (end + 4, length);
            }
            self.read_more().await;
        };
        while self.buf.len() < head_end + length {
            self.read_more().await;
        }
        let status_ok = self.buf.starts_with(b"HTTP/1.1 200");
        let body = self.buf[head_end..head_end + length].to_vec();
        let ok = status_ok && find(&body, b"\"result\"").is_some();
        Reply { ok, body }
    }

    async fn read_more(&mut self) {
        let start = self.buf.len();
        self.buf.resize(start + 4096, 0);
        let n = self
            .stream
            .read(&mut self.buf[start..])
            .await
            .expect("reads a response");
        assert!(n > 0, "the server closed the connection");
        self.buf.truncate(start + n);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What one measurement gave.
struct Outcome {
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
    /// Clients that ran out of requests before the end.
    exhausted: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    cpu: CpuShare,
}

/// Runs `bodies.len()` clients against `addr` for `duration`; client `i` sends `bodies[i]` in turn,
/// cycling when `cycle`, else stopping when they run out.
async fn measure(
    addr: SocketAddr,
    bodies: Vec<Vec<Vec<u8>>>,
    cycle: bool,
    duration: Duration,
) -> Outcome {
    let clients = bodies.len();
    let start_line = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for bodies in bodies {
        let start_line = start_line.clone();
        tasks.push(tokio::spawn(async move {
            let mut connection = HttpConnection::open(addr).await;
            start_line.wait().await;
            let deadline = Instant::now() + duration;
            let (mut ok, mut failed, mut first_failure) = (0u64, 0u64, None);
            let mut latencies = Vec::with_capacity(1 << 14);
            let mut next = 0;
            let mut exhausted = false;
            while Instant::now() < deadline {
                if next == bodies.len() {
                    if !cycle {
                        exhausted = true;
                        break;
                    }
                    next = 0;
                }
                let sent = Instant::now();
                let reply = connection.call(&bodies[next]).await;
                latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                next += 1;
                if reply.ok {
                    ok += 1;
                } else {
                    failed += 1;
                    first_failure.get_or_insert_with(|| reply.text());
                }
            }
            (ok, failed, first_failure, exhausted, latencies)
        }));
    }
    start_line.wait().await;
    let before = CpuSnapshot::take();
    let started = Instant::now();
    let mut outcome = Outcome {
        ok: 0,
        failed: 0,
        first_failure: None,
        exhausted: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        cpu: CpuShare::default(),
    };
    for task in tasks {
        let (ok, failed, first_failure, exhausted, latencies) = task.await.expect("client task");
        outcome.ok += ok;
        outcome.failed += failed;
        if outcome.first_failure.is_none() {
            outcome.first_failure = first_failure;
        }
        outcome.exhausted += usize::from(exhausted);
        outcome.latencies_us.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    outcome.cpu = CpuSnapshot::take().since(&before, outcome.elapsed);
    outcome.latencies_us.sort_unstable();
    outcome
}

/// CPU time counters (clock ticks of 1/100 s, Linux's USER_HZ) from `/proc`.
#[derive(Clone, Copy, Default)]
struct CpuSnapshot {
    process: u64,
    clients: u64,
    postgres: u64,
    machine_busy: u64,
    machine_total: u64,
}

/// CPU used during a measurement, in cores (1.0 = one core busy all the time).
#[derive(Clone, Copy, Default)]
struct CpuShare {
    server: f64,
    clients: f64,
    postgres: f64,
    machine: f64,
    available: bool,
}

/// utime + stime of a `/proc/.../stat` line, and the command name.
fn stat_ticks(path: &std::path::Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // After the name: state (field 3) ... utime (14) and stime (15).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

impl CpuSnapshot {
    fn take() -> Self {
        let mut snapshot = Self::default();
        if let Some((_, ticks)) = stat_ticks(std::path::Path::new("/proc/self/stat")) {
            snapshot.process = ticks;
        }
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                if let Some((name, ticks)) = stat_ticks(&task.path().join("stat")) {
                    if name.starts_with("rpc-client") {
                        snapshot.clients += ticks;
                    }
                }
            }
        }
        if let Ok(processes) = std::fs::read_dir("/proc") {
            for process in processes.flatten() {
                if let Some((name, ticks)) = stat_ticks(&process.path().join("stat")) {
                    if name == "postgres" {
                        snapshot.postgres += ticks;
                    }
                }
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
            if let Some(line) = stat.lines().next() {
                let values: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|v| v.parse().ok())
                    .collect();
                if values.len() >= 5 {
                    // user nice system idle iowait irq softirq steal ...
                    snapshot.machine_total = values.iter().take(8).sum();
                    snapshot.machine_busy = snapshot.machine_total - values[3] - values[4];
                }
            }
        }
        snapshot
    }

    fn since(&self, before: &Self, wall: Duration) -> CpuShare {
        let cores = |ticks: u64| ticks as f64 / 100.0 / wall.as_secs_f64();
        let process = self.process.saturating_sub(before.process);
        let clients = self.clients.saturating_sub(before.clients);
        let total = self.machine_total.saturating_sub(before.machine_total);
        CpuShare {
            server: cores(process.saturating_sub(clients)),
            clients: cores(clients),
            postgres: cores(self.postgres.saturating_sub(before.postgres)),
            machine: if total == 0 {
                0.0
            } else {
                self.machine_busy.saturating_sub(before.machine_busy) as f64 / total as f64
            },
            available: self.process > 0 && self.machine_total > 0,
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

fn report(name: &str, outcome: &Outcome) {
    let rate = outcome.ok as f64 / outcome.elapsed.as_secs_f64();
    let cpu = &outcome.cpu;
    let cpu_text = if cpu.available {
        format!(
            "{:.2} | {:.2} | {:.2} | {:.0}%",
            cpu.server,
            cpu.clients,
            cpu.postgres,
            cpu.machine * 100.0
        )
    } else {
        "? | ? | ? | ? (no /proc)".to_string()
    };
    println!(
        "| {name} | {rate:.0} | {:.2} | {:.2} | {} | {cpu_text} |",
        percentile(&outcome.latencies_us, 0.50),
        percentile(&outcome.latencies_us, 0.99),
        outcome.ok,
    );
    if outcome.failed > 0 {
        println!(
            "  {name}: {} calls failed; the first: {}",
            outcome.failed,
            outcome.first_failure.as_deref().unwrap_or("?")
        );
    }
    if outcome.exhausted > 0 {
        println!(
            "  {name}: {} of the clients ran out of pre-signed transactions before the end \
             (raise ZKNODE_BENCH_TX_SENDERS); the rate is over the time actually used",
            outcome.exhausted
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) this is a smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = if smoke {
        0.2
    } else {
        env_or("ZKNODE_BENCH_SECS", 5.0)
    };
    let duration = Duration::from_secs_f64(seconds);
    let clients: usize = if smoke {
        4
    } else {
        env_or("ZKNODE_BENCH_CLIENTS", 64usize).max(1)
    };
    let senders_per_client: usize = if smoke {
        1
    } else {
        env_or("ZKNODE_BENCH_TX_SENDERS", 3usize).max(1)
    };
    let nonces = if smoke { 10 } else { NONCES_PER_SENDER };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("rpc-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("rpc-client")
        .enable_all()
        .build()
        .expect("client runtime");

    let tx_senders: Vec<PrivateKeySigner> = (0..clients * senders_per_client)
        .map(|i| key(BLOCK_SENDERS + i))
        .collect();
    let funded: Vec<Address> = (0..BLOCK_SENDERS)
        .map(|i| key(i).address())
        .chain(tx_senders.iter().map(|s| s.address()))
        .collect();
    let setup_started = Instant::now();
    let bench = server_runtime.block_on(Bench::setup(&funded));
    let chain_id = bench.config.chain.chain_id;
    let signing_started = Instant::now();
    // Client i sends the transactions of its own senders, nonce by nonce across them.
    let tx_bodies: Vec<Vec<Vec<u8>>> = (0..clients)
        .map(|c| {
            let own = &tx_senders[c * senders_per_client..(c + 1) * senders_per_client];
            (0..nonces)
                .flat_map(|nonce| {
                    own.iter().map(move |signer| {
                        call_body(
                            "eth_sendRawTransaction",
                            serde_json::json!([Bytes::from(transfer(signer, chain_id, nonce, 1))]),
                        )
                    })
                })
                .collect()
        })
        .collect();
    let signing = signing_started.elapsed();

    let addr = bench.server.http_addr;
    println!(
        "node JSON-RPC over loopback HTTP: {clients} keep-alive clients, {seconds} s per measurement{}",
        if smoke { " (smoke run)" } else { "" }
    );
    println!(
        "client and server run in this one process on the same machine ({cores} cores, shared); \
         PostgreSQL too. CPU columns: cores busy on average (server threads incl. the executor, \
         client threads, postgres processes) and the whole machine's busy share."
    );
    println!(
        "setup {:.1} s (database, genesis of {} accounts, {BLOCKS} blocks); {} transactions pre-signed in {:.1} s",
        setup_started.elapsed().as_secs_f64() - signing.as_secs_f64(),
        funded.len(),
        tx_bodies.iter().map(Vec::len).sum::<usize>(),
        signing.as_secs_f64()
    );
    println!();
    println!(
        "| call | requests/s | p50 ms | p99 ms | ok | server cores | client cores | postgres cores | machine busy |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");

    let block_number = call_body("eth_blockNumber", serde_json::json!([]));
    let balance_bodies: Vec<Vec<u8>> = funded
        .iter()
        .map(|a| call_body("eth_getBalance", serde_json::json!([a, "latest"])))
        .collect();
    let balances = |clients: usize| -> Vec<Vec<Vec<u8>>> {
        (0..clients)
            .map(|c| {
                let mut bodies = balance_bodies.clone();
                bodies.rotate_left(c % balance_bodies.len());
                bodies
            })
            .collect()
    };
    // At 64 clients the latency is mostly queueing (clients / throughput); one client shows a
    // call's own latency.
    for (label, n) in [
        (format!("{clients} clients"), clients),
        ("1 client".to_string(), 1),
    ] {
        let outcome = client_runtime.block_on(measure(
            addr,
            vec![vec![block_number.clone()]; n],
            true,
            duration,
        ));
        report(&format!("eth_blockNumber, {label}"), &outcome);
        let outcome = client_runtime.block_on(measure(addr, balances(n), true, duration));
        report(&format!("eth_getBalance (latest), {label}"), &outcome);
    }

    let outcome = client_runtime.block_on(measure(addr, tx_bodies, false, duration));
    report(
        &format!("eth_sendRawTransaction (accepted), {clients} clients"),
        &outcome,
    );
    assert_eq!(
        outcome.failed, 0,
        "every pre-signed transaction is valid and must be accepted"
    );

    drop(client_runtime);
    server_runtime.block_on(bench.teardown());
}
