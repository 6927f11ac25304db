//! The JSON-RPC server over real sockets: a real client library (ethers-rs) over HTTP and
//! WebSocket, plus the protocol edges a hand-written request reaches (batches, malformed JSON,
//! unknown methods, bad parameters, the per-IP limit).

mod common;

use common::TestDatabase;
use ethers::providers::{Http, Middleware, Provider, Ws};
use serde_json::{json, Value};
use zknode_node::config::Config;
use zknode_node::rpc::RpcServer;

async fn start(database: &TestDatabase, tweak: impl FnOnce(&mut Config)) -> RpcServer {
    let mut config = Config::default();
    config.chain.chain_id = 4321;
    config.rpc.http_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.ws_listen = "127.0.0.1:0".parse().expect("address");
    config.rpc.max_batch_requests = 3;
    tweak(&mut config);
    RpcServer::start(config, database.pool().await, common::executor("rpc"))
        .await
        .expect("starts")
}

async fn post(server: &RpcServer, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}", server.http_addr))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sends");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn ethers_reads_the_chain_over_http_and_websocket() {
    let database = TestDatabase::new("rpc_ethers").await;
    let server = start(&database, |_| {}).await;

    let http =
        Provider::<Http>::try_from(format!("http://{}", server.http_addr)).expect("provider");
    assert_eq!(http.get_chainid().await.expect("chainId").as_u64(), 4321);
    assert_eq!(
        http.get_block_number().await.expect("blockNumber").as_u64(),
        0
    );
    assert_eq!(http.get_net_version().await.expect("net_version"), "4321");
    assert!(http
        .client_version()
        .await
        .expect("clientVersion")
        .starts_with("zknode/"));
    assert!(!matches!(
        http.syncing().await.expect("syncing"),
        ethers::types::SyncingStatus::IsSyncing(_)
    ));

    let ws = Provider::<Ws>::connect(format!("ws://{}", server.ws_addr))
        .await
        .expect("ws connects");
    assert_eq!(ws.get_chainid().await.expect("chainId").as_u64(), 4321);
    let batch: String = ws
        .request("zkevm_batchNumber", ())
        .await
        .expect("batchNumber");
    assert_eq!(batch, "0x0");
    let virtualized: bool = ws
        .request("zkevm_isBlockVirtualized", ["0x5"])
        .await
        .expect("isBlockVirtualized");
    assert!(!virtualized);

    drop(ws);
    server.stop().await;
    database.drop().await;
}

#[tokio::test]
async fn protocol_edges_get_spec_errors() {
    let database = TestDatabase::new("rpc_edges").await;
    let server = start(&database, |_| {}).await;

    let (_, reply) = post(
        &server,
        r#"{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x68656c6c6f"]}"#,
    )
    .await;
    assert_eq!(
        reply["result"],
        "0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8"
    );
    // The block argument of account reads is optional (latest), as in geth.
    for (method, params) in [
        (
            "eth_getBalance",
            r#"["0x00000000000000000000000000000000000000aa"]"#,
        ),
        (
            "eth_getTransactionCount",
            r#"["0x00000000000000000000000000000000000000aa"]"#,
        ),
        (
            "eth_getCode",
            r#"["0x00000000000000000000000000000000000000aa"]"#,
        ),
        (
            "eth_getStorageAt",
            r#"["0x00000000000000000000000000000000000000aa","0x0"]"#,
        ),
    ] {
        let (_, without) = post(
            &server,
            &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#),
        )
        .await;
        let with_latest = params.replace(']', r#","latest"]"#);
        let (_, with) = post(
            &server,
            &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{with_latest}}}"#),
        )
        .await;
        // This chain has no genesis, so both may be "header not found"; what matters is that the
        // missing block parses (no -32602) and means what an explicit "latest" means.
        assert_ne!(without["error"]["code"], -32602, "{method}: {without}");
        assert_eq!(without, with, "{method}");
    }
    let (_, reply) = post(
        &server,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_nope","params":[]}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32601);
    let (_, reply) = post(
        &server,
        r#"{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["zz"]}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602);
    let (_, reply) = post(
        &server,
        r#"{"jsonrpc":"2.0","id":1,"method":"zkevm_isBlockConsolidated","params":["0x01"]}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602);
    let (_, reply) = post(&server, r#"{"jsonrpc":"2.0","id":1,"method":"#).await;
    assert_eq!(reply["error"]["code"], -32700);

    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let (_, reply) = post(&server, &json!([call, call, call]).to_string()).await;
    assert_eq!(reply.as_array().map(Vec::len), Some(3));
    assert!(reply
        .as_array()
        .into_iter()
        .flatten()
        .all(|r| r["result"] == "0x10e1"));
    let (_, reply) = post(&server, &json!([call, call, call, call]).to_string()).await;
    let error = if reply.is_array() {
        reply[0]["error"].clone()
    } else {
        reply["error"].clone()
    };
    // jsonrpsee's (and reth's) implementation-defined server error for an oversized batch.
    assert_eq!(error["code"], -32010, "{reply}");
    assert_eq!(error["message"], "The batch request was too large");

    server.stop().await;
    database.drop().await;
}

#[tokio::test]
async fn the_per_ip_limit_answers_429() {
    let database = TestDatabase::new("rpc_limit").await;
    let server = start(&database, |c| c.rpc.rate_limit_per_ip = 5).await;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(post(&server, body).await.0);
    }
    assert!(statuses[..5].iter().all(|&s| s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    server.stop().await;
    database.drop().await;
}
