//! Seeded fuzzing of the JSON-RPC server over real sockets: thousands of malformed, mutated and
//! borderline requests over HTTP, a smaller burst over WebSocket, and raw transactions (random
//! bytes, byte-level mutants of signed legacy/2930/1559 transactions, and well-formed transactions
//! that break one pool rule) with valid ones mixed in.
//!
//! Each generated call knows what JSON-RPC 2.0 / EIP-1474 asks of the server (parse error -32700,
//! invalid request -32600, method not found -32601, invalid params -32602, a response for every
//! call with an id, none for a notification), and the test asserts the server answers exactly
//! that, except where jsonrpsee 0.26 (the server library) is known to differ; those exceptions are
//! spelled out in [`expected`] and counted in the output. Throughout: no 5xx, and after each burst
//! a plain `eth_blockNumber` still answers. For raw transactions: each is answered with -32602
//! (undecodable) or the pool's rejection code (decodable but invalid), the valid ones are accepted,
//! and the pool table holds exactly the accepted transactions afterwards.
//!
//! Seeds are fixed (override with `ZKNODE_FUZZ_SEED`) so a failure replays; the case that failed
//! is printed with the assertion.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use alloy_consensus::{
    SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, Bytes, Signature, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::{TestDatabase, CHAIN_ID};
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use zknode_executor::execution::GenesisAccount;
use zknode_node::config::Config;
use zknode_node::rpc::RpcServer;
use zknode_node::state::StateStore;

/// Calls per JSON-RPC batch the server accepts in these tests.
const MAX_BATCH: usize = 8;
/// Lowest gas price the pool accepts here.
const MIN_GAS_PRICE: u128 = 1_000;
/// What each genesis account holds.
const FUNDING: u64 = 1_000_000_000_000_000_000;
/// The secp256k1 group order: signatures with r or s at or above it are invalid.
const SECP256K1_N: U256 = U256::from_be_bytes([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

fn rng(stream: u64) -> ChaCha8Rng {
    let seed = std::env::var("ZKNODE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    ChaCha8Rng::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

// ---------------------------------------------------------------------------------------------
// The node under test.

struct Node {
    database: TestDatabase,
    db: sqlx::PgPool,
    server: RpcServer,
    http: reqwest::Client,
    config: Config,
}

fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x31 + i)).unwrap()
}

/// A fresh database, a genesis funding `senders` accounts, and the server on loopback ports.
async fn start(tag: &str, senders: u8) -> Node {
    let database = TestDatabase::new(tag).await;
    let db = database.pool().await;
    let executor = common::executor(tag);
    let accounts = (0..senders)
        .map(|i| GenesisAccount {
            address: signer(i).address(),
            balance: U256::from(FUNDING),
            ..Default::default()
        })
        .collect();
    zknode_node::genesis::ensure_genesis(
        &StateStore::new(db.clone()),
        &executor,
        accounts,
        Address::repeat_byte(0xc0),
    )
    .await
    .unwrap();
    let mut config = Config::default();
    config.chain.chain_id = CHAIN_ID;
    config.rpc.http_listen = "127.0.0.1:0".parse().unwrap();
    config.rpc.ws_listen = "127.0.0.1:0".parse().unwrap();
    config.rpc.max_batch_requests = MAX_BATCH as u32;
    // The limiter would answer 429 to a burst; it is tested in rpc.rs.
    config.rpc.rate_limit_per_ip = 0;
    config.pool.min_gas_price = MIN_GAS_PRICE as u64;
    let server = RpcServer::start(config.clone(), db.clone(), executor)
        .await
        .unwrap();
    Node {
        database,
        db,
        server,
        http: reqwest::Client::new(),
        config,
    }
}

impl Node {
    async fn stop(self) {
        self.server.stop().await;
        self.db.close().await;
        self.database.drop().await;
    }

    /// POSTs `body` as JSON; the status and the body.
    async fn post(&self, body: impl Into<Vec<u8>>) -> (u16, Vec<u8>) {
        let response = self
            .http
            .post(format!("http://{}", self.server.http_addr))
            .header("content-type", "application/json")
            .body(body.into())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, body) = self.post(body.to_string()).await;
        assert_eq!(status, 200, "{method}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// The server still answers a plain call.
    async fn assert_alive(&self, after: &str) {
        let reply = self.call("eth_blockNumber", json!([])).await;
        assert_eq!(
            reply["result"], "0x0",
            "eth_blockNumber after {after}: {reply}"
        );
    }

    async fn pool_hashes(&self) -> BTreeMap<B256, String> {
        let rows: Vec<(Vec<u8>, String)> =
            sqlx::query_as("SELECT hash, status FROM pool.transaction")
                .fetch_all(&self.db)
                .await
                .unwrap();
        rows.into_iter()
            .map(|(hash, status)| (B256::from_slice(&hash), status))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Generated calls and what the server must answer.

/// What the server must answer to one call (a single request or one element of a batch).
#[derive(Clone, Debug, PartialEq)]
enum Want {
    /// A notification: no response at all.
    Silence,
    /// An error with this code, echoing this id.
    Error(Value, i64),
    /// A response echoing this id: a result, or an error with one of these codes. `must_succeed`:
    /// the parameters are valid and name existing state, so only a result will do.
    Answer {
        id: Value,
        codes: &'static [i64],
        must_succeed: bool,
    },
}

/// Error codes a method may answer to parameters it does not like: invalid params, the server
/// errors (`header not found`, `filter not found`, pool rejections) and the log-range limit.
const PARAM_CODES: &[i64] = &[-32602, -32000, -32005];
/// `eth_subscribe`/`eth_unsubscribe` over HTTP: jsonrpsee answers -32603 "subscriptions not
/// supported" (geth: -32601); over WebSocket the usual codes.
const SUBSCRIPTION_CODES: &[i64] = &[-32602, -32000, -32603];
/// Methods whose parameters this file does not model (added elsewhere, e.g. eth_call): any error
/// but the protocol-level ones and internal errors, which bad input must not cause; 3 is geth's
/// "execution reverted".
const OTHER_CODES: &[i64] = &[-32602, -32000, -32005, 3];

#[derive(Clone, Debug)]
enum IdKind {
    /// A u64, a string or null: an id per the spec and for jsonrpsee.
    Valid(Value),
    /// A number the spec allows but jsonrpsee's `Id` (u64 or string) does not: negative,
    /// fractional, above u64.
    SpecOnly(String),
    /// Not an id per the spec: boolean, object, array.
    Bad(String),
    Absent,
}

#[derive(Clone, Debug)]
enum MethodKind {
    Known(String),
    Unknown(String),
    /// Present but not a string, or absent.
    Bad(Option<String>),
}

#[derive(Clone, Debug)]
enum ParamsKind {
    Absent,
    /// An array or object; `must_succeed` as in [`Want::Answer`].
    Structured {
        raw: String,
        must_succeed: bool,
    },
    /// A string, number, boolean or null: not a structured value.
    Unstructured(String),
}

#[derive(Clone, Debug)]
struct Call {
    /// `Some("\"2.0\"")` when right; otherwise another value, or none.
    jsonrpc: Option<String>,
    jsonrpc_ok: bool,
    id: IdKind,
    method: MethodKind,
    params: ParamsKind,
    /// Extra members, e.g. `"foo":1` (ignored by everyone).
    extra: Vec<(String, String)>,
}

impl Call {
    fn render(&self, rng: &mut ChaCha8Rng) -> String {
        let mut members: Vec<String> = Vec::new();
        if let Some(v) = &self.jsonrpc {
            members.push(format!("\"jsonrpc\":{v}"));
        }
        match &self.id {
            IdKind::Valid(v) => members.push(format!("\"id\":{v}")),
            IdKind::SpecOnly(raw) | IdKind::Bad(raw) => members.push(format!("\"id\":{raw}")),
            IdKind::Absent => {}
        }
        match &self.method {
            MethodKind::Known(m) | MethodKind::Unknown(m) => {
                members.push(format!("\"method\":{}", Value::String(m.clone())))
            }
            MethodKind::Bad(Some(raw)) => members.push(format!("\"method\":{raw}")),
            MethodKind::Bad(None) => {}
        }
        match &self.params {
            ParamsKind::Absent => {}
            ParamsKind::Structured { raw, .. } | ParamsKind::Unstructured(raw) => {
                members.push(format!("\"params\":{raw}"))
            }
        }
        for (k, v) in &self.extra {
            members.push(format!("{}:{v}", Value::String(k.clone())));
        }
        // Member order carries no meaning in JSON; shuffle it and the whitespace.
        for i in (1..members.len()).rev() {
            members.swap(i, rng.gen_range(0..=i));
        }
        let sep = [",", ", ", ",\n", " ,\t"][rng.gen_range(0..4)];
        format!("{{{}}}", members.join(sep))
    }
}

/// What the server must answer to `call`: JSON-RPC 2.0, except jsonrpsee's known deviations,
/// each named (the name goes into `deviations` when it applies).
fn expected(call: &Call, in_batch: bool, deviations: &mut BTreeMap<&'static str, usize>) -> Want {
    let method_is_string = matches!(call.method, MethodKind::Known(_) | MethodKind::Unknown(_));
    let id_echo = match &call.id {
        IdKind::Valid(v) => v.clone(),
        _ => Value::Null,
    };
    // jsonrpsee's order: a request (jsonrpc "2.0", an id that is a u64, a string or null, a string
    // method, params any JSON value); else a notification (the same without looking at the id);
    // else an invalid request echoing a readable id; else a parse error (-32600 inside a batch).
    let request = call.jsonrpc_ok && method_is_string && matches!(call.id, IdKind::Valid(_));
    let notification = call.jsonrpc_ok && method_is_string;
    let spec_valid = call.jsonrpc_ok
        && method_is_string
        && !matches!(call.params, ParamsKind::Unstructured(_))
        && !matches!(call.id, IdKind::Bad(_));
    let mut deviation = |name: &'static str| *deviations.entry(name).or_default() += 1;

    if spec_valid {
        if matches!(call.id, IdKind::Absent) {
            return Want::Silence;
        }
        if let IdKind::SpecOnly(_) = call.id {
            // Deviation: jsonrpsee's ids are u64 or strings; a negative, fractional or huge
            // numeric id makes the call parse as a notification, which gets no response.
            deviation("numeric id outside u64 answered as a notification (silence)");
            return Want::Silence;
        }
        return answer(call, id_echo);
    }
    // Not a valid request per the spec: -32600 (echoing the id where readable).
    if request {
        // Deviation: params that are not an array or object reach the method, which answers
        // invalid params (or ignores them when it takes none) instead of -32600.
        deviation("unstructured params passed to the method");
        return answer(call, id_echo);
    }
    if notification {
        // Deviation: a call whose id is a boolean/object/array (or that is an unstructured-params
        // notification) parses as a notification: no response instead of -32600.
        deviation("invalid id or params answered as a notification (silence)");
        return Want::Silence;
    }
    if matches!(call.id, IdKind::Valid(_)) || in_batch {
        return Want::Error(id_echo, -32600);
    }
    // Deviation: a single invalid request without a readable id is a parse error for jsonrpsee.
    deviation("invalid request without a readable id answered -32700");
    Want::Error(Value::Null, -32700)
}

fn answer(call: &Call, id: Value) -> Want {
    match &call.method {
        MethodKind::Known(m) => {
            let codes = if m.contains("subscribe") {
                SUBSCRIPTION_CODES
            } else if good_params(m, &mut rng(0)).is_some() {
                PARAM_CODES
            } else {
                OTHER_CODES
            };
            let must_succeed = matches!(
                call.params,
                ParamsKind::Structured {
                    must_succeed: true,
                    ..
                }
            );
            Want::Answer {
                id,
                codes,
                must_succeed,
            }
        }
        MethodKind::Unknown(_) => Want::Error(id, -32601),
        MethodKind::Bad(_) => unreachable!("a call with a bad method is never answered"),
    }
}

/// The registered method names, read from the RPC sources at run time so methods added later (in
/// any file of `src/rpc`) are fuzzed too: each `.register_*("name"` call.
fn registered_methods() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rpc");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices(".register_") {
            let rest = &source[at..];
            let Some(open) = rest.find('(') else { continue };
            let (kind, args) = (&rest[..open], rest[open + 1..].trim_start());
            if kind.contains(char::is_whitespace) || !args.starts_with('"') {
                continue;
            }
            let strings: Vec<&str> = args.split('"').skip(1).step_by(2).take(3).collect();
            names.push(strings[0].to_string());
            if kind.contains("subscription") {
                // (subscribe, notification, unsubscribe): the notification name is not a method.
                names.push(strings[2].to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    assert!(
        names.len() >= 30 && names.iter().all(|n| n.contains('_')),
        "method list parse: {names:?}"
    );
    names
}

fn hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    let mut out = String::from("0x");
    for _ in 0..bytes {
        out.push_str(&format!("{:02x}", rng.gen::<u8>()));
    }
    out
}

fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Block tags and numbers that name an existing block (the chain is at genesis).
fn existing_block(rng: &mut ChaCha8Rng) -> String {
    quoted(["latest", "earliest", "pending", "safe", "finalized", "0x0"][rng.gen_range(0..6)])
}

fn random_string(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "0",
        "x",
        "0x",
        " ",
        "\"",
        "\\",
        "/",
        "\u{e9}",
        "\u{1f600}",
        "\u{0}",
        "\n",
        "latest",
        "{",
        "]",
        "\u{feff}",
        "%s",
        "null",
    ];
    let len = rng.gen_range(0..12);
    let s: String = (0..len)
        .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
        .collect();
    quoted(&s)
}

/// A random JSON value, as raw text (so it can hold numbers serde_json would not produce).
fn arb_value(rng: &mut ChaCha8Rng, depth: u32) -> String {
    match rng.gen_range(0..20) {
        0 => quoted(&hex(rng, 20)),
        1 => quoted(&hex(rng, 32)),
        2 => quoted(&format!("{:#x}", rng.gen_range(0..6u64))),
        3 => {
            let digits = rng.gen_range(17..90);
            let body: String = (0..digits)
                .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
                .collect();
            quoted(&format!("0x{}{body}", rng.gen_range(1..10)))
        }
        4 => quoted(&format!("0x0{:x}", rng.gen::<u16>())),
        5 => quoted(["0x", "", "0X1", "0x-1", "-0x1", "0x 1"][rng.gen_range(0..6)]),
        6 => quoted(
            [
                "latest",
                "earliest",
                "pending",
                "safe",
                "finalized",
                "LATEST",
                "Latest",
            ][rng.gen_range(0..7)],
        ),
        7 => random_string(rng),
        8 => {
            let len = rng.gen_range(1..6);
            quoted(&format!("0x{}", &hex(rng, len)[3..]))
        }
        9 => rng.gen::<i64>().to_string(),
        10 => [
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
        ][rng.gen_range(0..3)]
        .to_string(),
        11 => "123456789012345678901234567890123456789012345678901234567890".to_string(),
        12 => {
            ["1e300", "1e400", "-0.0", "0.5", "1E-400", "-1e309"][rng.gen_range(0..6)].to_string()
        }
        13 => ["true", "false", "null"][rng.gen_range(0..3)].to_string(),
        14 => filter(rng),
        15 if depth < 3 => {
            let n = rng.gen_range(0..5);
            let items: Vec<String> = (0..n).map(|_| arb_value(rng, depth + 1)).collect();
            format!("[{}]", items.join(","))
        }
        16 if depth < 3 => {
            let n = rng.gen_range(0..4);
            let items: Vec<String> = (0..n)
                .map(|_| format!("{}:{}", random_string(rng), arb_value(rng, depth + 1)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        17 => quoted(&"x".repeat(rng.gen_range(1_000..20_000))),
        18 => {
            // Nested below serde_json's recursion limit (128) with the envelope around it.
            let d = rng.gen_range(20..100);
            format!("{}{}", "[".repeat(d), "]".repeat(d))
        }
        _ => {
            let len = rng.gen_range(0..200);
            quoted(&hex(rng, len))
        }
    }
}

/// A log filter with a random subset of members, some malformed.
fn filter(rng: &mut ChaCha8Rng) -> String {
    let mut members = Vec::new();
    let quantity = |rng: &mut ChaCha8Rng| match rng.gen_range(0..4) {
        0 => existing_block(rng),
        1 => quoted(&format!("{:#x}", rng.gen::<u64>())),
        2 => quoted(&format!("{:#x}", rng.gen_range(0..20_000u64))),
        _ => arb_value(rng, 3),
    };
    if rng.gen_bool(0.6) {
        members.push(format!("\"fromBlock\":{}", quantity(rng)));
    }
    if rng.gen_bool(0.6) {
        members.push(format!("\"toBlock\":{}", quantity(rng)));
    }
    if rng.gen_bool(0.5) {
        let address = match rng.gen_range(0..3) {
            0 => quoted(&hex(rng, 20)),
            1 => format!("[{},{}]", quoted(&hex(rng, 20)), quoted(&hex(rng, 20))),
            _ => arb_value(rng, 3),
        };
        members.push(format!("\"address\":{address}"));
    }
    if rng.gen_bool(0.5) {
        let topics = match rng.gen_range(0..3) {
            0 => format!(
                "[{},null,[{}]]",
                quoted(&hex(rng, 32)),
                quoted(&hex(rng, 32))
            ),
            1 => "[null,null,null,null,null]".to_string(),
            _ => arb_value(rng, 3),
        };
        members.push(format!("\"topics\":{topics}"));
    }
    if rng.gen_bool(0.15) {
        members.push(format!("\"blockHash\":{}", quoted(&hex(rng, 32))));
    }
    format!("{{{}}}", members.join(","))
}

/// Parameters a method takes, well formed; `true` when they name existing state so the call must
/// succeed. `None` for a method this table does not know (it gets random parameters).
fn good_params(method: &str, rng: &mut ChaCha8Rng) -> Option<(Vec<String>, bool)> {
    let address = quoted(&hex(rng, 20));
    let hash = quoted(&hex(rng, 32));
    let block = existing_block(rng);
    let boolean = if rng.gen_bool(0.5) { "true" } else { "false" }.to_string();
    let small = quoted(&format!("{:#x}", rng.gen_range(0..4u64)));
    Some(match method {
        "eth_chainId"
        | "net_version"
        | "net_listening"
        | "net_peerCount"
        | "web3_clientVersion"
        | "eth_syncing"
        | "eth_gasPrice"
        | "eth_blockNumber"
        | "zkevm_batchNumber"
        | "zkevm_virtualBatchNumber"
        | "zkevm_verifiedBatchNumber"
        | "zkevm_consolidatedBlockNumber"
        | "txpool_content"
        | "eth_newBlockFilter"
        | "eth_newPendingTransactionFilter" => (vec![], true),
        "web3_sha3" => {
            let len = rng.gen_range(0..64);
            (vec![quoted(&hex(rng, len))], true)
        }
        "eth_getBalance" | "eth_getTransactionCount" | "eth_getCode" => {
            (vec![address, block], true)
        }
        "eth_getStorageAt" => (vec![address, small, block], true),
        "eth_getBlockByNumber" => (vec![block, boolean], true),
        "eth_getBlockByHash" => (vec![hash, boolean], true),
        "eth_getBlockTransactionCountByNumber"
        | "zkevm_batchNumberByBlockNumber"
        | "zkevm_isBlockVirtualized"
        | "zkevm_isBlockConsolidated" => (vec![block], true),
        "eth_getBlockTransactionCountByHash"
        | "eth_getTransactionByHash"
        | "eth_getTransactionReceipt" => (vec![hash], true),
        "eth_getTransactionByBlockNumberAndIndex" => (vec![block, small], true),
        "eth_getTransactionByBlockHashAndIndex" => (vec![hash, small], true),
        "eth_getLogs" | "eth_newFilter" => (vec![filter(rng)], false),
        // No such filter: "filter not found".
        "eth_uninstallFilter" => (vec![small], true),
        "eth_getFilterChanges" | "eth_getFilterLogs" => (vec![small], false),
        "eth_sendRawTransaction" => {
            let len = rng.gen_range(0..120);
            (vec![quoted(&hex(rng, len))], false)
        }
        "eth_subscribe" => (
            vec![quoted(
                ["newHeads", "logs", "newPendingTransactions", "syncing", "x"][rng.gen_range(0..5)],
            )],
            false,
        ),
        "eth_unsubscribe" => (vec![quoted(&hex(rng, 16))], false),
        _ => return None,
    })
}

/// Methods that need at least one parameter: an empty list is invalid params.
const NEEDS_PARAMS: &[&str] = &[
    "web3_sha3",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getLogs",
    "eth_newFilter",
    "eth_uninstallFilter",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_sendRawTransaction",
    "zkevm_batchNumberByBlockNumber",
    "zkevm_isBlockVirtualized",
    "zkevm_isBlockConsolidated",
];

struct Generator {
    rng: ChaCha8Rng,
    methods: Vec<String>,
    next_id: u64,
}

impl Generator {
    fn new(stream: u64) -> Self {
        Self {
            rng: rng(stream),
            methods: registered_methods(),
            next_id: 1,
        }
    }

    /// A fresh id of a kind the spec and jsonrpsee both accept, unique within this generator.
    fn fresh_id(&mut self) -> Value {
        self.next_id += 1;
        match self.rng.gen_range(0..10) {
            0 => Value::String(format!("s-{}", self.next_id)),
            1 => Value::String(format!("\u{e9}\"\\{}", self.next_id)),
            _ => Value::from(self.next_id),
        }
    }

    fn params_for(&mut self, method: &str) -> ParamsKind {
        let rng = &mut self.rng;
        let good = good_params(method, rng);
        match rng.gen_range(0..20) {
            0 => ParamsKind::Absent,
            1 => ParamsKind::Unstructured(scalar(rng)),
            2 => ParamsKind::Structured {
                raw: "[]".into(),
                must_succeed: false,
            },
            3 => {
                // By name: an object; no method here takes named parameters.
                let n = rng.gen_range(0..3);
                let members: Vec<String> = (0..n)
                    .map(|i| format!("\"{i}\":{}", arb_value(rng, 1)))
                    .collect();
                ParamsKind::Structured {
                    raw: format!("{{{}}}", members.join(",")),
                    must_succeed: false,
                }
            }
            4..=11 if good.is_some() => {
                let (params, must_succeed) = good.unwrap();
                ParamsKind::Structured {
                    raw: format!("[{}]", params.join(",")),
                    must_succeed,
                }
            }
            12..=15 if good.is_some() => {
                // One parameter replaced, dropped or added.
                let (mut params, _) = good.unwrap();
                match rng.gen_range(0..3) {
                    0 if !params.is_empty() => {
                        let i = rng.gen_range(0..params.len());
                        params[i] = arb_value(rng, 1);
                    }
                    1 if !params.is_empty() => {
                        params.pop();
                    }
                    _ => params.push(arb_value(rng, 1)),
                }
                ParamsKind::Structured {
                    raw: format!("[{}]", params.join(",")),
                    must_succeed: false,
                }
            }
            _ => {
                let n = rng.gen_range(0..4);
                let items: Vec<String> = (0..n).map(|_| arb_value(rng, 1)).collect();
                ParamsKind::Structured {
                    raw: format!("[{}]", items.join(",")),
                    must_succeed: false,
                }
            }
        }
    }

    fn call(&mut self) -> Call {
        let (jsonrpc, jsonrpc_ok) = match self.rng.gen_range(0..25) {
            0 => (None, false),
            1 => (Some("\"1.0\"".to_string()), false),
            2 => (Some("2.0".to_string()), false),
            3 => (Some("\"2.0 \"".to_string()), false),
            4 => (Some(arb_value(&mut self.rng, 2)), false),
            _ => (Some("\"2.0\"".to_string()), true),
        };
        let id = match self.rng.gen_range(0..30) {
            0 | 1 => IdKind::Absent,
            2 => IdKind::Valid(Value::Null),
            3 => IdKind::SpecOnly(
                [
                    "-1",
                    "-9223372036854775808",
                    "1.5",
                    "18446744073709551616",
                    "1e400",
                    "0.0",
                ][self.rng.gen_range(0..6)]
                .to_string(),
            ),
            4 => IdKind::Bad(
                ["true", "false", "{}", "[]", "[1]", "{\"a\":1}"][self.rng.gen_range(0..6)]
                    .to_string(),
            ),
            _ => IdKind::Valid(self.fresh_id()),
        };
        let method = match self.rng.gen_range(0..40) {
            0 => MethodKind::Bad(None),
            1 => MethodKind::Bad(Some(
                ["1", "null", "[\"eth_chainId\"]", "{}", "true"][self.rng.gen_range(0..5)]
                    .to_string(),
            )),
            2..=4 => {
                let known = &self.methods[self.rng.gen_range(0..self.methods.len())];
                let unknown = match self.rng.gen_range(0..5) {
                    0 => known.to_uppercase(),
                    1 => format!("{known} "),
                    2 => format!("{known}\u{0}"),
                    3 => "".to_string(),
                    _ => format!("eth_{}", &hex(&mut self.rng, 4)[2..]),
                };
                MethodKind::Unknown(unknown)
            }
            _ => MethodKind::Known(self.methods[self.rng.gen_range(0..self.methods.len())].clone()),
        };
        let params = match &method {
            MethodKind::Known(m) => {
                let m = m.clone();
                self.params_for(&m)
            }
            _ => self.params_for("unknown"),
        };
        let extra = if self.rng.gen_bool(0.05) {
            vec![("foo".to_string(), arb_value(&mut self.rng, 2))]
        } else {
            vec![]
        };
        Call {
            jsonrpc,
            jsonrpc_ok,
            id,
            method,
            params,
            extra,
        }
    }

    /// A call that is a valid request with a fresh id.
    fn good_call(&mut self) -> Call {
        loop {
            let mut call = self.call();
            call.jsonrpc = Some("\"2.0\"".into());
            call.jsonrpc_ok = true;
            call.id = IdKind::Valid(Value::from({
                self.next_id += 1;
                self.next_id
            }));
            if matches!(call.method, MethodKind::Known(_)) {
                return call;
            }
        }
    }
}

/// A random JSON value that is not an array or object.
fn scalar(rng: &mut ChaCha8Rng) -> String {
    loop {
        let value = arb_value(rng, 3);
        if !value.starts_with('[') && !value.starts_with('{') {
            return value;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking responses.

/// A JSON-RPC response object as the spec shapes it; its id, and its error code if any.
fn well_formed(response: &Value, context: &str) -> (Value, Option<i64>) {
    let object = response
        .as_object()
        .unwrap_or_else(|| panic!("{context}: response not an object: {response}"));
    assert_eq!(
        object.get("jsonrpc"),
        Some(&json!("2.0")),
        "{context}: {response}"
    );
    let id = object
        .get("id")
        .unwrap_or_else(|| panic!("{context}: response without id: {response}"))
        .clone();
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => (id, None),
        (None, Some(error)) => {
            let code = error["code"]
                .as_i64()
                .unwrap_or_else(|| panic!("{context}: error without code: {response}"));
            assert!(error["message"].is_string(), "{context}: {response}");
            (id, Some(code))
        }
        _ => panic!("{context}: need exactly one of result and error: {response}"),
    }
}

fn check_one(response: &Value, want: &Want, context: &str) {
    let (id, code) = well_formed(response, context);
    match want {
        Want::Silence => panic!("{context}: a notification was answered: {response}"),
        Want::Error(want_id, want_code) => {
            assert_eq!(&id, want_id, "{context}: id: {response}");
            assert_eq!(code, Some(*want_code), "{context}: code: {response}");
        }
        Want::Answer {
            id: want_id,
            codes,
            must_succeed,
        } => {
            assert_eq!(&id, want_id, "{context}: id: {response}");
            match code {
                None => {}
                Some(code) => {
                    assert!(!must_succeed, "{context}: valid call failed: {response}");
                    assert!(codes.contains(&code), "{context}: code: {response}");
                    if code == -32000 && std::ptr::eq(*codes, PARAM_CODES) {
                        // Server errors that bad input can reach; anything else hides a fault.
                        let message = response["error"]["message"].as_str().unwrap_or("");
                        assert!(
                            ["header not found", "filter not found", "unknown block"]
                                .iter()
                                .any(|m| message.contains(m)),
                            "{context}: unexpected server error: {response}"
                        );
                    }
                }
            }
        }
    }
}

/// No JSON-RPC response: over WebSocket no message, over HTTP an empty body or jsonrpsee's `null`
/// (HTTP must answer something; jsonrpsee acknowledges notifications with a bare `null`).
fn no_reply(body: &[u8]) -> bool {
    body.is_empty() || body == b"null"
}

/// Checks a batch response against the wants of its elements (ids are unique in a batch except
/// null, so responses are matched by id and the null-id ones by count).
fn check_batch(body: &[u8], wants: &[Want], context: &str) {
    if wants.iter().all(|w| *w == Want::Silence) {
        assert!(
            no_reply(body),
            "{context}: an all-notification batch was answered: {}",
            String::from_utf8_lossy(body)
        );
        return;
    }
    let response: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{context}: {e}: {}", String::from_utf8_lossy(body)));
    let items = response
        .as_array()
        .unwrap_or_else(|| panic!("{context}: batch answered with a non-array: {response}"));
    let answered: Vec<&Want> = wants.iter().filter(|w| **w != Want::Silence).collect();
    assert_eq!(items.len(), answered.len(), "{context}: {response}");
    let mut by_id: HashMap<String, &Value> = HashMap::new();
    let mut null_codes = Vec::new();
    for item in items {
        let (id, code) = well_formed(item, context);
        if id.is_null() {
            null_codes.push(code);
        } else {
            assert!(
                by_id.insert(id.to_string(), item).is_none(),
                "{context}: duplicate id {id}: {response}"
            );
        }
    }
    let mut want_null_codes = Vec::new();
    for want in answered {
        let id = match want {
            Want::Error(id, _) | Want::Answer { id, .. } => id,
            Want::Silence => unreachable!(),
        };
        if id.is_null() {
            match want {
                Want::Error(_, code) => want_null_codes.push(Some(*code)),
                _ => unreachable!("batches carry no null-id requests"),
            }
        } else {
            let item = by_id
                .get(&id.to_string())
                .unwrap_or_else(|| panic!("{context}: no response for id {id}: {response}"));
            check_one(item, want, context);
        }
    }
    null_codes.sort();
    want_null_codes.sort();
    assert_eq!(null_codes, want_null_codes, "{context}: {response}");
}

/// Checks the answer to a body that is not JSON: a parse error with a null id.
fn check_parse_error(status: u16, body: &[u8], context: &str) {
    assert!(status == 200 || status == 400, "{context}: status {status}");
    let response: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{context}: {e}: {}", String::from_utf8_lossy(body)));
    check_one(&response, &Want::Error(Value::Null, -32700), context);
}

/// Checks the answer to a body that may or may not be JSON: a parse error if it is not, and in any
/// case well-formed responses with known codes, or nothing.
fn check_any(body_sent: &[u8], status: u16, body: &[u8], context: &str) {
    assert!(
        matches!(status, 200 | 400 | 413),
        "{context}: status {status}: {}",
        String::from_utf8_lossy(body)
    );
    // Bytes that are not UTF-8 inside a string: jsonrpsee may read the id and method past them and
    // answer -32600 or -32601 rather than -32700, so such bodies are only held to well-formedness.
    let utf8 = std::str::from_utf8(body_sent).is_ok();
    if let Err(e) = serde_json::from_slice::<Value>(body_sent) {
        // serde_json's own limits (nesting depth, numbers past f64) are not JSON syntax errors;
        // jsonrpsee may parse such a body differently.
        let limit = ["recursion limit", "out of range"]
            .iter()
            .any(|m| e.to_string().contains(m));
        if utf8 && (e.is_syntax() || e.is_eof()) && !limit {
            return check_parse_error(status, body, context);
        }
    }
    if no_reply(body) {
        assert_eq!(status, 200, "{context}");
        return;
    }
    let response: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{context}: {e}: {}", String::from_utf8_lossy(body)));
    let items = match &response {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    for item in &items {
        if let (_, Some(code)) = well_formed(item, context) {
            let subscription = String::from_utf8_lossy(body_sent).contains("subscribe");
            assert!(
                [-32700, -32600, -32601, -32602, -32000, -32005, -32010].contains(&code)
                    || (code == -32603 && subscription),
                "{context}: code {code}: {response}"
            );
        }
    }
}

fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.gen_range(1..4) {
        if bytes.is_empty() {
            bytes.push(rng.gen());
            continue;
        }
        let at = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..6) {
            0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            1 => bytes[at] = rng.gen(),
            2 => {
                bytes.remove(at);
            }
            3 => bytes.insert(at, b"{}[]\",:0x\\ "[rng.gen_range(0..11)]),
            4 => bytes.truncate(at),
            _ => {
                let to = rng.gen_range(0..bytes.len());
                bytes.swap(at, to);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_survives_malformed_json_rpc() {
    let node = start("rpc_fuzz_http", 0).await;
    let mut generator = Generator::new(1);
    let mut deviations = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    node.assert_alive("start").await;

    // Single calls, each checked against the spec.
    for round in 0..1_800 {
        let call = generator.call();
        let body = call.render(&mut generator.rng);
        let want = expected(&call, false, &mut deviations);
        let (status, reply) = node.post(body.clone()).await;
        let context = format!("single #{round} {body:.300}");
        assert_eq!(
            status,
            200,
            "{context}: {}",
            String::from_utf8_lossy(&reply)
        );
        if want == Want::Silence {
            assert!(
                no_reply(&reply),
                "{context}: a notification was answered: {}",
                String::from_utf8_lossy(&reply)
            );
        } else {
            let response: Value = serde_json::from_slice(&reply)
                .unwrap_or_else(|e| panic!("{context}: {e}: {}", String::from_utf8_lossy(&reply)));
            check_one(&response, &want, &context);
        }
        *counts.entry("single calls").or_default() += 1;
        if round % 200 == 199 {
            node.assert_alive("single calls").await;
        }
    }

    // A method that needs parameters, given none: invalid params (-32602) by the spec.
    for method in NEEDS_PARAMS {
        for params in ["[]", "null", ""] {
            let params = if params.is_empty() {
                String::new()
            } else {
                format!(",\"params\":{params}")
            };
            let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"{method}\"{params}}}");
            let (_, reply) = node.post(body.clone()).await;
            let response: Value = serde_json::from_slice(&reply).unwrap();
            check_one(&response, &Want::Error(json!(9), -32602), &body);
            *counts.entry("missing params").or_default() += 1;
        }
    }

    // JSON that is neither an object nor an array: -32600 by the spec. Deviation: jsonrpsee looks
    // at the first byte only and answers 400 with a parse error.
    for body in ["1", "\"eth_chainId\"", "null", "true", " -0.5 "] {
        let (status, reply) = node.post(body).await;
        assert_eq!(status, 400, "{body}");
        let response: Value = serde_json::from_slice(&reply).unwrap();
        check_one(&response, &Want::Error(Value::Null, -32700), body);
        *deviations
            .entry("a scalar request answered 400 -32700")
            .or_default() += 1;
    }

    // Batches: empty, oversized, and mixes of valid, invalid and notification calls.
    for round in 0..400 {
        let context = format!("batch #{round}");
        let size = match round % 10 {
            0 => 0,
            1 => MAX_BATCH + 1 + generator.rng.gen_range(0..3 * MAX_BATCH),
            _ => generator.rng.gen_range(1..=MAX_BATCH),
        };
        let mut calls = Vec::new();
        let mut wants = Vec::new();
        for _ in 0..size {
            let mut call = if generator.rng.gen_bool(0.5) {
                generator.good_call()
            } else {
                generator.call()
            };
            // Ids within a batch are unique (null only on invalid calls) to match responses.
            if matches!(call.id, IdKind::Valid(Value::Null)) {
                call.id = IdKind::Valid(generator.fresh_id());
            }
            wants.push(expected(&call, true, &mut deviations));
            calls.push(call.render(&mut generator.rng));
        }
        // Scalars as batch elements are invalid requests (-32600, null id).
        if size > 0 && size <= MAX_BATCH && generator.rng.gen_bool(0.2) {
            calls.pop();
            wants.pop();
            calls.push(["1", "\"x\"", "null", "[]", "true"][generator.rng.gen_range(0..5)].into());
            wants.push(Want::Error(Value::Null, -32600));
        }
        let body = format!("[{}]", calls.join(","));
        let (status, reply) = node.post(body.clone()).await;
        let context = format!("{context} {body:.300}");
        assert_eq!(status, 200, "{context}");
        if size == 0 {
            // An empty array: one invalid-request error (spec).
            let response: Value = serde_json::from_slice(&reply).unwrap();
            check_one(&response, &Want::Error(Value::Null, -32600), &context);
        } else if size > MAX_BATCH {
            // Too many calls: jsonrpsee's (and reth's) implementation-defined -32010.
            let response: Value = serde_json::from_slice(&reply).unwrap();
            check_one(&response, &Want::Error(Value::Null, -32010), &context);
        } else {
            check_batch(&reply, &wants, &context);
        }
        *counts.entry("batches").or_default() += 1;
        if round % 100 == 99 {
            node.assert_alive("batches").await;
        }
    }

    // Not JSON at all: random bytes, and valid calls truncated or mutated byte by byte.
    let rng = &mut generator.rng;
    for round in 0..400 {
        let len = rng.gen_range(0..200);
        let mut body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if round % 2 == 0 && !body.is_empty() {
            // Past jsonrpsee's first-byte check.
            body[0] = if rng.gen_bool(0.5) { b'{' } else { b'[' };
        }
        let (status, reply) = node.post(body.clone()).await;
        check_any(&body, status, &reply, &format!("random #{round} {body:?}"));
        *counts.entry("random bodies").or_default() += 1;
    }
    let mut generator2 = Generator::new(2);
    for round in 0..1_000 {
        let call = generator2.good_call();
        let mut body = if round % 3 == 0 {
            let other = generator2.good_call();
            format!(
                "[{},{}]",
                call.render(&mut generator2.rng),
                other.render(&mut generator2.rng)
            )
            .into_bytes()
        } else {
            call.render(&mut generator2.rng).into_bytes()
        };
        let context;
        if round % 4 == 0 {
            let cut = generator2.rng.gen_range(1..body.len());
            body.truncate(cut);
            context = format!("truncated #{round} {}", String::from_utf8_lossy(&body));
            let (status, reply) = node.post(body.clone()).await;
            check_parse_error(status, &reply, &context);
        } else {
            mutate(&mut generator2.rng, &mut body);
            context = format!("mutated #{round} {}", String::from_utf8_lossy(&body));
            let (status, reply) = node.post(body.clone()).await;
            check_any(&body, status, &reply, &context);
        }
        *counts.entry("truncated or mutated calls").or_default() += 1;
        if round % 200 == 199 {
            node.assert_alive("mutated calls").await;
        }
    }

    // Deep nesting, past serde_json's recursion limit: a parse error or invalid params, never a
    // crash (a stack overflow would abort this process).
    for depth in [127usize, 129, 1_000, 100_000, 1_000_000] {
        for (place, body) in [
            (
                "params",
                format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"eth_getBalance\",\"params\":[{}{}]}}",
                    "[".repeat(depth),
                    "]".repeat(depth)
                ),
            ),
            (
                "id",
                format!(
                    "{{\"jsonrpc\":\"2.0\",\"method\":\"eth_chainId\",\"id\":{}{}}}",
                    "[".repeat(depth),
                    "]".repeat(depth)
                ),
            ),
            (
                "top",
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            ),
            (
                "objects",
                format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
            ),
        ] {
            let context = format!("nesting {depth} in {place}");
            let (status, reply) = node.post(body.into_bytes()).await;
            assert!(matches!(status, 200 | 400), "{context}: {status}");
            if !no_reply(&reply) {
                let response: Value = serde_json::from_slice(&reply).unwrap();
                let items = response.as_array().cloned().unwrap_or(vec![response]);
                for item in items {
                    let (_, code) = well_formed(&item, &context);
                    assert!(
                        matches!(code, Some(-32700 | -32600 | -32602)),
                        "{context}: {item}"
                    );
                }
            }
            *counts.entry("deep nesting").or_default() += 1;
        }
    }
    node.assert_alive("deep nesting").await;

    // Huge numbers and strings in every position.
    for (i, body) in [
        r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"eth_chainId"}"#.to_string(),
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x{}",false]}}"#,
            "f".repeat(10_000)
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x{}","latest"]}}"#,
            "1".repeat(400)
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getStorageAt","params":["0x{}",{},"latest"]}}"#,
            "1".repeat(40),
            "9".repeat(5_000)
        ),
        format!(r#"{{"jsonrpc":"2.0","id":"{}","method":"eth_chainId"}}"#, "i".repeat(1 << 20)),
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{}","params":[]}}"#,
            "m".repeat(1 << 20)
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, reply) = node.post(body.clone()).await;
        check_any(body.as_bytes(), status, &reply, &format!("huge #{i}"));
        *counts.entry("huge values").or_default() += 1;
    }
    // Bigger than the 10 MiB request limit: 413 with a JSON-RPC error, not a 5xx. Only the head
    // is sent: the server answers from Content-Length before reading (a client still writing the
    // body would see the connection close under it).
    let mut stream = tokio::net::TcpStream::connect(node.server.http_addr)
        .await
        .unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12000000\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&head).contains("}") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an answer to an oversized request")
            .unwrap();
        assert!(
            n > 0,
            "closed without an answer: {}",
            String::from_utf8_lossy(&head)
        );
        head.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let body = &head[head.find("\r\n\r\n").unwrap() + 4..];
    well_formed(&serde_json::from_str(body).unwrap(), "oversized body");
    *counts.entry("huge values").or_default() += 1;
    node.assert_alive("huge values").await;

    // Not JSON-RPC over HTTP at all: raw bytes on the socket, wrong verbs and content types,
    // lying Content-Length and chunk sizes. A 4xx or a closed connection, then the server serves.
    let rng = &mut generator.rng;
    for round in 0..150 {
        let request: Vec<u8> = match round % 6 {
            0 => (0..rng.gen_range(1..400)).map(|_| rng.gen()).collect(),
            1 => b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            2 => b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"
                .to_vec(),
            3 => format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}}",
                ["0", "5", "99999999999", "-1", "abc", "18446744073709551616"][rng.gen_range(0..6)]
            )
            .into_bytes(),
            4 => b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
                .to_vec(),
            _ => {
                let mut head =
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".to_vec();
                let mut junk: Vec<u8> = (0..rng.gen_range(1..200)).map(|_| rng.gen()).collect();
                head.append(&mut junk);
                head.extend_from_slice(b"\r\n\r\n{}");
                head
            }
        };
        let head = raw_exchange(node.server.http_addr, &request).await;
        if !head.is_empty() {
            assert!(
                head.starts_with(b"HTTP/1.1 2") || head.starts_with(b"HTTP/1.1 4"),
                "raw #{round}: {}",
                String::from_utf8_lossy(&head)
            );
        }
        *counts.entry("raw HTTP requests").or_default() += 1;
    }
    node.assert_alive("raw HTTP").await;

    eprintln!(
        "HTTP fuzz over {} methods {:?}: {counts:?}",
        generator.methods.len(),
        generator.methods
    );
    eprintln!("jsonrpsee deviations from JSON-RPC 2.0 hit: {deviations:#?}");
    node.stop().await;
}

/// Writes `request` on a fresh connection, half-closes, and returns what came back before the
/// server closed (or 5 s passed).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may close before reading everything; a failed write is an answer too.
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    reply
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(node: &Node) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}", node.server.ws_addr))
        .await
        .unwrap()
        .0
}

/// Sends `message`, then a marker call, and collects the JSON messages until the marker's answer
/// and `wanted` others have arrived (calls on one connection are answered concurrently, so out of
/// order). `None` when the server closed the connection.
async fn ws_exchange(
    ws: &mut Ws,
    message: Message,
    marker: u64,
    wanted: usize,
) -> Option<Vec<Value>> {
    ws.send(message).await.ok()?;
    let marker_call =
        json!({"jsonrpc": "2.0", "id": format!("marker-{marker}"), "method": "eth_chainId"});
    ws.send(Message::Text(marker_call.to_string())).await.ok()?;
    let mut got = Vec::new();
    let mut marker_seen = false;
    while !marker_seen || got.len() < wanted {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a WebSocket answer within 10 s");
        let text = match next? {
            Ok(Message::Text(text)) => text,
            Ok(Message::Binary(bytes)) => String::from_utf8(bytes).unwrap(),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return None,
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["method"] == "eth_subscription" {
            // A subscription a fuzzed call opened; not an answer.
            continue;
        }
        if value["id"] == json!(format!("marker-{marker}")) {
            assert_eq!(value["result"], "0x10e1", "{value}");
            marker_seen = true;
        } else {
            got.push(value);
        }
    }
    Some(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_survives_malformed_messages() {
    let node = start("rpc_fuzz_ws", 0).await;
    let mut generator = Generator::new(3);
    let mut deviations = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ws = ws_connect(&node).await;
    // Throwaway connections the server closed after garbage.
    let mut closed = 0;

    for round in 0..600u64 {
        match round % 6 {
            0..=2 => {
                // A single call whose answer is known, as a text or a binary message.
                let call = generator.call();
                let body = call.render(&mut generator.rng);
                let context = format!("ws single #{round} {body:.300}");
                let want = expected(&call, false, &mut deviations);
                let message = if round % 2 == 0 {
                    Message::Text(body)
                } else {
                    Message::Binary(body.into_bytes())
                };
                let wanted = usize::from(want != Want::Silence);
                let got = ws_exchange(&mut ws, message, round, wanted)
                    .await
                    .unwrap_or_else(|| panic!("{context}: the server closed the connection"));
                match want {
                    Want::Silence => assert!(got.is_empty(), "{context}: {got:?}"),
                    want => {
                        assert_eq!(got.len(), 1, "{context}: {got:?}");
                        check_one(&got[0], &want, &context);
                    }
                }
                *counts.entry("single calls").or_default() += 1;
            }
            3 => {
                // A batch whose answers are known.
                let size = generator.rng.gen_range(1..=MAX_BATCH);
                let mut calls = Vec::new();
                let mut wants = Vec::new();
                // Ids of subscription calls the batch answers.
                let mut subscriptions = Vec::new();
                for _ in 0..size {
                    let call = if generator.rng.gen_bool(0.5) {
                        generator.good_call()
                    } else {
                        let mut call = generator.call();
                        if matches!(call.id, IdKind::Valid(Value::Null)) {
                            call.id = IdKind::Valid(generator.fresh_id());
                        }
                        call
                    };
                    let want = expected(&call, true, &mut deviations);
                    if let (MethodKind::Known(m), Want::Answer { id, .. }) = (&call.method, &want) {
                        if m == "eth_subscribe" {
                            subscriptions.push(id.clone());
                        }
                    }
                    wants.push(want);
                    calls.push(call.render(&mut generator.rng));
                }
                if !subscriptions.is_empty() {
                    // Deviation: a subscription call inside a WebSocket batch is answered twice,
                    // in the batch's array and in a message of its own (its sink's).
                    *deviations
                        .entry("subscription in a WebSocket batch also answered alone")
                        .or_default() += 1;
                }
                let body = format!("[{}]", calls.join(","));
                let context = format!("ws batch #{round} {body:.300}");
                let answered = wants.iter().any(|w| *w != Want::Silence);
                let wanted = usize::from(answered) + subscriptions.len();
                let got = ws_exchange(&mut ws, Message::Text(body), round, wanted)
                    .await
                    .unwrap_or_else(|| panic!("{context}: the server closed the connection"));
                assert_eq!(got.len(), wanted, "{context}: {got:?}");
                let (arrays, alone): (Vec<&Value>, Vec<&Value>) =
                    got.iter().partition(|v| v.is_array());
                let reply = arrays
                    .first()
                    .map(|v| serde_json::to_vec(v).unwrap())
                    .unwrap_or_default();
                check_batch(&reply, &wants, &context);
                for single in alone {
                    let id = &single["id"];
                    assert!(subscriptions.contains(id), "{context}: {single}");
                    let in_batch = arrays[0]
                        .as_array()
                        .and_then(|items| items.iter().find(|item| &item["id"] == id));
                    assert_eq!(in_batch, Some(single), "{context}");
                }
                *counts.entry("batches").or_default() += 1;
            }
            _ => {
                // Random bytes or a mutated call: the answer is not predicted, so it goes over a
                // connection of its own (late answers cannot mix with the next exchange) and
                // only has to be well formed; the server may also close that connection.
                let (body, what) = if round % 6 == 4 {
                    let call = generator.good_call();
                    let mut body = call.render(&mut generator.rng).into_bytes();
                    mutate(&mut generator.rng, &mut body);
                    (body, "mutated")
                } else {
                    let len = generator.rng.gen_range(0..300);
                    ((0..len).map(|_| generator.rng.gen()).collect(), "random")
                };
                let context = format!("ws {what} #{round} {}", String::from_utf8_lossy(&body));
                let message = if round % 4 == 0 {
                    Message::Text(String::from_utf8_lossy(&body).into_owned())
                } else {
                    Message::Binary(body)
                };
                let mut own = ws_connect(&node).await;
                match ws_exchange(&mut own, message, round, 0).await {
                    None => closed += 1,
                    Some(got) => {
                        for item in got.iter().flat_map(|v| match v {
                            Value::Array(items) => items.clone(),
                            other => vec![other.clone()],
                        }) {
                            well_formed(&item, &context);
                        }
                    }
                }
                let _ = own.close(None).await;
                *counts.entry("random or mutated messages").or_default() += 1;
            }
        }
    }

    // Raw bytes where a WebSocket frame belongs: the server drops that connection only.
    for round in 0..30 {
        let stream = tokio::net::TcpStream::connect(node.server.ws_addr)
            .await
            .unwrap();
        let (mut raw, _) =
            tokio_tungstenite::client_async(format!("ws://{}", node.server.ws_addr), stream)
                .await
                .unwrap();
        let junk: Vec<u8> = (0..generator.rng.gen_range(1..64))
            .map(|_| generator.rng.gen())
            .collect();
        let _ = raw.get_mut().write_all(&junk).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), raw.next()).await;
        *counts.entry("raw frames").or_default() += 1;
        if round % 10 == 9 {
            let mut fresh = ws_connect(&node).await;
            assert!(
                ws_exchange(&mut fresh, Message::Ping(vec![1]), 10_000 + round, 0)
                    .await
                    .is_some()
            );
        }
    }
    // Not a WebSocket handshake at all.
    for round in 0..30 {
        let junk: Vec<u8> = (0..generator.rng.gen_range(1..300))
            .map(|_| generator.rng.gen())
            .collect();
        let head = raw_exchange(node.server.ws_addr, &junk).await;
        assert!(
            head.is_empty() || head.starts_with(b"HTTP/1.1 4"),
            "ws raw #{round}: {}",
            String::from_utf8_lossy(&head)
        );
        *counts.entry("raw handshakes").or_default() += 1;
    }

    let mut fresh = ws_connect(&node).await;
    let got = ws_exchange(
        &mut fresh,
        Message::Text(json!({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}).to_string()),
        99_999,
        1,
    )
    .await
    .unwrap();
    assert_eq!(got[0]["result"], "0x0");
    // The connection that saw the burst still answers.
    let got = ws_exchange(
        &mut ws,
        Message::Text(json!({"jsonrpc":"2.0","id":2,"method":"eth_chainId"}).to_string()),
        99_998,
        1,
    )
    .await
    .unwrap();
    assert_eq!(got[0]["result"], "0x10e1");
    let _ = ws.close(None).await;
    node.assert_alive("WebSocket burst").await;
    eprintln!("WebSocket fuzz: {counts:?}, connections closed after garbage: {closed}");
    eprintln!("jsonrpsee deviations from JSON-RPC 2.0 hit: {deviations:#?}");
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Raw transactions.

#[derive(Clone, Debug)]
enum Unsigned {
    Legacy(TxLegacy),
    Eip2930(TxEip2930),
    Eip1559(TxEip1559),
}

impl Unsigned {
    fn signature_hash(&self) -> B256 {
        match self {
            Unsigned::Legacy(tx) => tx.signature_hash(),
            Unsigned::Eip2930(tx) => tx.signature_hash(),
            Unsigned::Eip1559(tx) => tx.signature_hash(),
        }
    }

    fn with_signature(self, signature: Signature) -> TxEnvelope {
        match self {
            Unsigned::Legacy(tx) => tx.into_signed(signature).into(),
            Unsigned::Eip2930(tx) => tx.into_signed(signature).into(),
            Unsigned::Eip1559(tx) => tx.into_signed(signature).into(),
        }
    }

    fn sign(self, signer: &PrivateKeySigner) -> TxEnvelope {
        let signature = signer.sign_hash_sync(&self.signature_hash()).unwrap();
        self.with_signature(signature)
    }
}

/// The fields a test transaction varies.
#[derive(Clone, Debug)]
struct Fields {
    kind: u8,
    chain_id: Option<u64>,
    nonce: u64,
    price: u128,
    gas: u64,
    to: TxKind,
    value: U256,
    input: Vec<u8>,
    access_list: AccessList,
}

impl Fields {
    fn transfer(rng: &mut ChaCha8Rng, nonce: u64) -> Self {
        // A recipient that is neither a precompile nor the zero address.
        let mut to = [0u8; 20];
        rng.fill(&mut to[..]);
        to[0] |= 0x80;
        Self {
            kind: rng.gen_range(0..3),
            chain_id: Some(CHAIN_ID),
            nonce,
            price: rng.gen_range(MIN_GAS_PRICE..5 * MIN_GAS_PRICE),
            gas: rng.gen_range(21_000..30_000),
            to: TxKind::Call(Address::from(to)),
            value: U256::from(rng.gen_range(0..1_000_000u64)),
            input: Vec::new(),
            access_list: AccessList::default(),
        }
    }

    fn unsigned(&self) -> Unsigned {
        let chain_id = self.chain_id.unwrap_or(CHAIN_ID);
        match self.kind {
            0 => Unsigned::Legacy(TxLegacy {
                chain_id: self.chain_id,
                nonce: self.nonce,
                gas_price: self.price,
                gas_limit: self.gas,
                to: self.to,
                value: self.value,
                input: Bytes::from(self.input.clone()),
            }),
            1 => Unsigned::Eip2930(TxEip2930 {
                chain_id,
                nonce: self.nonce,
                gas_price: self.price,
                gas_limit: self.gas,
                to: self.to,
                value: self.value,
                access_list: self.access_list.clone(),
                input: Bytes::from(self.input.clone()),
            }),
            _ => Unsigned::Eip1559(TxEip1559 {
                chain_id,
                nonce: self.nonce,
                gas_limit: self.gas,
                max_fee_per_gas: self.price,
                max_priority_fee_per_gas: self.price / 2,
                to: self.to,
                value: self.value,
                access_list: self.access_list.clone(),
                input: Bytes::from(self.input.clone()),
            }),
        }
    }
}

/// The pool's answer a transaction must get.
#[derive(Clone, Debug)]
enum TxWant {
    Accepted,
    /// The pool's rejection code, with this in the message.
    Rejected(&'static str),
    /// -32602: not a transaction (or not even hex).
    Undecodable,
    /// Rejected one way or the other (a mutant whose failure point is not predicted).
    Refused,
}

struct TxFuzz {
    node: Node,
    rng: ChaCha8Rng,
    signers: Vec<PrivateKeySigner>,
    /// Next nonce per sender in the pool (the chain stays at genesis, so the state nonce is 0).
    next: Vec<u64>,
    accepted: HashSet<B256>,
    /// The live (pending) raw transaction of each (sender, nonce), for duplicates.
    live: BTreeMap<(usize, u64), Vec<u8>>,
    counts: BTreeMap<String, usize>,
}

impl TxFuzz {
    async fn send(&mut self, raw: String, want: TxWant, what: &str) {
        let body =
            json!({"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": [raw]});
        self.send_body(body.to_string(), want, what).await;
    }

    async fn send_body(&mut self, body: String, want: TxWant, what: &str) {
        let (status, reply) = self.node.post(body.clone()).await;
        let context = format!("{what}: {body:.400}");
        assert_eq!(status, 200, "{context}");
        let response: Value = serde_json::from_slice(&reply).unwrap();
        let (id, code) = well_formed(&response, &context);
        assert_eq!(id, json!(7), "{context}: {response}");
        let message = response["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match want {
            TxWant::Accepted => {
                assert_eq!(code, None, "{context}: {response}");
                let hash: B256 = serde_json::from_value(response["result"].clone()).unwrap();
                assert!(self.accepted.insert(hash), "{context}: accepted twice");
            }
            TxWant::Rejected(reason) => {
                assert_eq!(code, Some(-32000), "{context}: {response}");
                assert!(
                    message.contains(reason),
                    "{context}: want {reason:?}: {response}"
                );
            }
            TxWant::Undecodable => {
                assert_eq!(code, Some(-32602), "{context}: {response}");
            }
            TxWant::Refused => {
                assert!(
                    matches!(code, Some(-32602 | -32000)),
                    "{context}: {response}"
                );
                if code == Some(-32000) {
                    // Only the rejections a corrupted transaction can reach.
                    assert!(
                        [
                            "invalid sender",
                            "invalid chain id",
                            "insufficient funds",
                            "gas price too low",
                            "intrinsic gas too low",
                            "exceeds block gas limit",
                            "nonce too high",
                            "not provable",
                            "transaction type not supported",
                        ]
                        .iter()
                        .any(|m| message.contains(m)),
                        "{context}: {response}"
                    );
                }
            }
        }
        *self.counts.entry(what.to_string()).or_default() += 1;
    }

    /// A valid transfer from sender `s` at its next nonce, signed, not yet sent.
    fn valid(&mut self, s: usize) -> (Fields, TxEnvelope) {
        let fields = Fields::transfer(&mut self.rng, self.next[s]);
        let tx = fields.unsigned().sign(&self.signers[s]);
        (fields, tx)
    }

    async fn send_valid(&mut self, s: usize, fields: &Fields, tx: &TxEnvelope) {
        let raw = tx.encoded_2718();
        self.send(
            Bytes::from(raw.clone()).to_string(),
            TxWant::Accepted,
            ["valid legacy", "valid 2930", "valid 1559"][fields.kind as usize],
        )
        .await;
        self.live.insert((s, fields.nonce), raw);
        self.next[s] += 1;
    }
}

fn hex_of(raw: &[u8]) -> String {
    Bytes::from(raw.to_vec()).to_string()
}

/// Byte offset of the outer RLP list header (after the type byte of a typed transaction).
fn list_header_at(raw: &[u8]) -> usize {
    usize::from(raw[0] < 0x7f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_transactions_are_answered_and_only_valid_ones_stored() {
    const SENDERS: u8 = 6;
    let node = start("rpc_fuzz_tx", SENDERS).await;
    let block_gas_limit = node.config.sequencer.block_gas_limit;
    let max_tx_bytes = node.config.pool.max_tx_bytes as usize;
    let window = node.config.pool.account_queue;
    let mut fuzz = TxFuzz {
        node,
        rng: rng(4),
        signers: (0..SENDERS).map(signer).collect(),
        next: vec![0; usize::from(SENDERS)],
        accepted: HashSet::new(),
        live: BTreeMap::new(),
        counts: BTreeMap::new(),
    };
    assert!(fuzz.node.pool_hashes().await.is_empty());

    // Not transactions: random bytes, bad hex, wrong parameter shapes.
    for _ in 0..150 {
        let len = fuzz.rng.gen_range(0..300);
        let mut raw: Vec<u8> = (0..len).map(|_| fuzz.rng.gen()).collect();
        if !raw.is_empty() && fuzz.rng.gen_bool(0.5) {
            // A plausible start: a type byte or a list header.
            raw[0] = [0x01, 0x02, 0x03, 0x04, 0xf8, 0xf9, 0xc0][fuzz.rng.gen_range(0..7)];
        }
        fuzz.send(hex_of(&raw), TxWant::Undecodable, "random bytes")
            .await;
    }
    for params in [
        json!([]),
        json!(["0x"]),
        json!(["0xzz"]),
        json!(["0x123"]),
        json!(["0x 12"]),
        json!([12]),
        json!([null]),
        json!([["0x12"]]),
        json!(["0x02", "0x02"]),
        json!({"raw": "0x02"}),
        json!("0x02"),
        json!(null),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": params});
        fuzz.send_body(body.to_string(), TxWant::Undecodable, "bad parameter")
            .await;
    }

    for round in 0..360usize {
        let s = round % usize::from(SENDERS);
        let (fields, tx) = fuzz.valid(s);
        let raw = tx.encoded_2718();
        let mut mutants: Vec<(Vec<u8>, TxWant, &str)> = Vec::new();

        // Byte-level mutants of the valid transaction, sent before it (so a mutant that slipped
        // through would take its nonce).
        let mut flipped = raw.clone();
        for _ in 0..fuzz.rng.gen_range(1..4) {
            let at = fuzz.rng.gen_range(0..flipped.len());
            flipped[at] ^= 1 << fuzz.rng.gen_range(0..8);
        }
        mutants.push((flipped, TxWant::Refused, "bit flips"));
        let cut = fuzz.rng.gen_range(0..raw.len());
        mutants.push((raw[..cut].to_vec(), TxWant::Undecodable, "truncated"));
        let mut trailing = raw.clone();
        for _ in 0..fuzz.rng.gen_range(1..8) {
            trailing.push(fuzz.rng.gen());
        }
        mutants.push((trailing, TxWant::Undecodable, "trailing bytes"));
        let mut typed = raw.clone();
        if typed[0] < 0x7f {
            // Another type byte: a known type with the wrong body, or an unknown type.
            let mut other = typed[0];
            while other == typed[0] {
                other = fuzz.rng.gen_range(0..0x7f);
            }
            typed[0] = other;
        } else {
            typed.insert(0, fuzz.rng.gen_range(1..5));
        }
        mutants.push((typed, TxWant::Undecodable, "wrong type byte"));
        if raw[0] < 0x7f {
            // The type byte missing, or replaced by an RLP string header: the list alone is not a
            // transaction (alloy's fallback decoding would take it).
            mutants.push((raw[1..].to_vec(), TxWant::Undecodable, "type byte missing"));
            let mut headed = raw.clone();
            headed[0] = fuzz.rng.gen_range(0x80..0xc0);
            mutants.push((headed, TxWant::Undecodable, "string header for type byte"));
        }
        // The outer list's length lies: the header says more or fewer bytes than follow.
        let mut lying = raw.clone();
        let at = list_header_at(&lying);
        let header = lying[at];
        assert!((0xf8..=0xf9).contains(&header), "{header:#x}");
        let len_at = at + usize::from(header - 0xf7);
        let delta = fuzz.rng.gen_range(1..4u8);
        lying[len_at] = if fuzz.rng.gen_bool(0.5) {
            lying[len_at].wrapping_add(delta)
        } else {
            lying[len_at].wrapping_sub(delta)
        };
        mutants.push((lying, TxWant::Undecodable, "list length lie"));
        // An inner length lie: a string header somewhere inside grows or shrinks.
        let mut inner = raw.clone();
        let candidates: Vec<usize> = (at + 2..inner.len())
            .filter(|&i| (0x81..=0xb7).contains(&inner[i]))
            .collect();
        if !candidates.is_empty() {
            let i = candidates[fuzz.rng.gen_range(0..candidates.len())];
            inner[i] = if fuzz.rng.gen_bool(0.5) {
                inner[i] + 1
            } else {
                inner[i] - 1
            };
            mutants.push((inner, TxWant::Refused, "inner length lie"));
        }

        // Signatures the pool must refuse: r = 0, s = 0, r or s at or past the group order, and
        // the malleable twin (n - s, flipped parity) that recovers the same sender (EIP-2).
        let signature = *tx.signature();
        let unsigned = fields.unsigned();
        let bad_signatures = [
            (
                Signature::new(U256::ZERO, signature.s(), signature.v()),
                "r = 0",
            ),
            (
                Signature::new(signature.r(), U256::ZERO, signature.v()),
                "s = 0",
            ),
            (
                Signature::new(SECP256K1_N, signature.s(), signature.v()),
                "r = n",
            ),
            (
                Signature::new(signature.r(), SECP256K1_N - signature.s(), !signature.v()),
                "s > n/2",
            ),
        ];
        for (bad, what) in bad_signatures {
            let mutant = unsigned.clone().with_signature(bad).encoded_2718();
            mutants.push((mutant, TxWant::Rejected("invalid sender"), what));
        }
        // Properly signed but on another chain, or pre-EIP-155 (replayable on any chain).
        let mut other_chain = fields.clone();
        other_chain.chain_id = if fields.kind == 0 && fuzz.rng.gen_bool(0.5) {
            None
        } else {
            Some(CHAIN_ID + fuzz.rng.gen_range(1..1_000))
        };
        mutants.push((
            other_chain.unsigned().sign(&fuzz.signers[s]).encoded_2718(),
            TxWant::Rejected("invalid chain id"),
            "wrong chain id",
        ));

        for (mutant, want, what) in mutants {
            if mutant == raw {
                // Two flips of one bit: nothing changed.
                continue;
            }
            fuzz.send(hex_of(&mutant), want, what).await;
        }

        // Well-formed, signed by the funded sender, one pool rule broken (the next nonce, so
        // nothing but the broken rule stands in the way).
        let mut broken = fields.clone();
        let (want, what) = match round % 11 {
            0 => {
                broken.price = fuzz.rng.gen_range(0..MIN_GAS_PRICE);
                ("gas price too low", "price below minimum")
            }
            1 => {
                broken.gas = block_gas_limit + fuzz.rng.gen_range(1..1_000_000);
                ("exceeds block gas limit", "gas above block limit")
            }
            2 => {
                broken.gas = fuzz.rng.gen_range(0..21_000);
                ("intrinsic gas too low", "gas below intrinsic")
            }
            3 => {
                // Near 2^256: gas × price + value must not wrap around to a small cost.
                // value = 2^256 - 1 - r with r below gas × price, so a wrapping sum is small.
                broken.value = U256::MAX - U256::from(fuzz.rng.gen_range(0..21_000_000u64));
                ("insufficient funds", "value near 2^256")
            }
            4 => {
                broken.value = U256::from(FUNDING);
                ("insufficient funds", "value above balance")
            }
            5 => {
                broken.nonce = window + fuzz.rng.gen_range(0..u64::MAX - window);
                ("nonce too high", "nonce past the window")
            }
            6 => {
                broken.input = vec![1; fuzz.rng.gen_range(1..64)];
                broken.gas = 21_000 + 16 * broken.input.len() as u64;
                ("not provable", "calldata")
            }
            7 => {
                broken.to = TxKind::Create;
                broken.gas = 60_000;
                ("not provable", "contract creation")
            }
            8 => {
                broken.to = TxKind::Call(Address::with_last_byte(fuzz.rng.gen_range(1..=9)));
                ("not provable", "precompile recipient")
            }
            9 => {
                broken.input = vec![0xab; max_tx_bytes + 1];
                broken.gas = 30_000_000;
                ("oversized data", "oversized")
            }
            _ => {
                if fields.kind == 0 {
                    broken.kind = 1;
                }
                broken.access_list = AccessList(vec![AccessListItem {
                    address: Address::repeat_byte(0x44),
                    storage_keys: vec![B256::ZERO],
                }]);
                broken.gas = 30_000;
                ("not provable", "access list")
            }
        };
        let raw_broken = broken.unsigned().sign(&fuzz.signers[s]).encoded_2718();
        fuzz.send(hex_of(&raw_broken), TxWant::Rejected(want), what)
            .await;

        // Types the pool does not take (EIP-4844 blobs, EIP-7702 delegations), properly signed.
        if round % 20 == 0 {
            let blob = TxEip4844 {
                chain_id: CHAIN_ID,
                nonce: fuzz.next[s],
                gas_limit: 21_000,
                max_fee_per_gas: 2_000,
                max_priority_fee_per_gas: 1_000,
                to: Address::repeat_byte(0x55),
                blob_versioned_hashes: vec![B256::repeat_byte(1)],
                max_fee_per_blob_gas: 1,
                ..Default::default()
            };
            let signature = fuzz.signers[s]
                .sign_hash_sync(&blob.signature_hash())
                .unwrap();
            let raw = TxEnvelope::from(blob.into_signed(signature)).encoded_2718();
            fuzz.send(
                hex_of(&raw),
                TxWant::Rejected("transaction type not supported"),
                "blob transaction",
            )
            .await;
            let delegation = TxEip7702 {
                chain_id: CHAIN_ID,
                nonce: fuzz.next[s],
                gas_limit: 50_000,
                max_fee_per_gas: 2_000,
                max_priority_fee_per_gas: 1_000,
                to: Address::repeat_byte(0x55),
                ..Default::default()
            };
            let signature = fuzz.signers[s]
                .sign_hash_sync(&delegation.signature_hash())
                .unwrap();
            let raw = TxEnvelope::from(delegation.into_signed(signature)).encoded_2718();
            fuzz.send(
                hex_of(&raw),
                TxWant::Rejected("transaction type not supported"),
                "7702 transaction",
            )
            .await;
        }

        // Now the valid one: accepted.
        fuzz.send_valid(s, &fields, &tx).await;

        // The pool's own duplicate and replacement rules against what it holds.
        match round % 6 {
            0 => {
                let pick = fuzz.rng.gen_range(0..fuzz.live.len());
                let again = fuzz.live.values().nth(pick).unwrap().clone();
                fuzz.send(
                    hex_of(&again),
                    TxWant::Rejected("already known"),
                    "duplicate",
                )
                .await;
            }
            1 => {
                // Same sender and nonce, a price less than 10% above: refused.
                let mut cheaper = fields.clone();
                cheaper.price = fields.price + fields.price / 10 - 1;
                cheaper.value += U256::from(1);
                let raw = cheaper.unsigned().sign(&fuzz.signers[s]).encoded_2718();
                fuzz.send(
                    hex_of(&raw),
                    TxWant::Rejected("replacement transaction underpriced"),
                    "underpriced replacement",
                )
                .await;
            }
            2 => {
                // At least 10% more: it replaces the pending one (both rows stay, one replaced).
                let mut dearer = fields.clone();
                dearer.price = fields.price + fields.price / 10 + 1;
                let raw = dearer.unsigned().sign(&fuzz.signers[s]).encoded_2718();
                fuzz.send(hex_of(&raw), TxWant::Accepted, "replacement")
                    .await;
                fuzz.live.insert((s, fields.nonce), raw);
            }
            _ => {}
        }
        if round % 60 == 59 {
            fuzz.node.assert_alive("raw transactions").await;
        }
    }
    assert!(
        fuzz.next.iter().all(|&n| n < window),
        "stay inside the nonce window: {:?}",
        fuzz.next
    );

    // The pool holds exactly the accepted transactions; the live ones are each sender's nonces.
    let stored = fuzz.node.pool_hashes().await;
    let stored_hashes: HashSet<B256> = stored.keys().copied().collect();
    assert_eq!(
        stored_hashes.len(),
        fuzz.accepted.len(),
        "stored {} accepted {}",
        stored_hashes.len(),
        fuzz.accepted.len()
    );
    assert_eq!(stored_hashes, fuzz.accepted);
    let pending = stored.values().filter(|s| *s == "pending").count() as u64;
    assert_eq!(pending, fuzz.next.iter().sum::<u64>());
    fuzz.node.assert_alive("raw transactions").await;
    eprintln!("raw transaction fuzz: {:#?}", fuzz.counts);
    eprintln!(
        "accepted {} (pending {pending}), stored {}",
        fuzz.accepted.len(),
        stored.len()
    );
    fuzz.node.stop().await;
}
