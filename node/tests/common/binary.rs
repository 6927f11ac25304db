//! The `zknode` binary as a child process: started with flags, its announced endpoints read from
//! stdout, and plain JSON-RPC calls to it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::U256;
use serde_json::{json, Value};

/// One run of the binary, with the endpoints it announced (`listening <name> <addr>`).
pub struct Node {
    pub child: Child,
    pub endpoints: HashMap<String, SocketAddr>,
}

impl Node {
    pub fn endpoint(&self, name: &str) -> SocketAddr {
        *self
            .endpoints
            .get(name)
            .unwrap_or_else(|| panic!("the node announced no {name}: {:?}", self.endpoints))
    }

    /// The JSON-RPC HTTP address.
    pub fn http(&self) -> SocketAddr {
        self.endpoint("rpc.http")
    }

    /// SIGTERM (to this child's pid) and the exit status, within 30 s.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                return exit;
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails part-way must not leave its nodes running: SIGKILL whatever is still alive.
impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `zknode run --components <components> <args>` and waits for its `ready` line.
pub fn start(components: &str, args: &[String]) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zknode"))
        .arg("run")
        .arg("--components")
        .arg(components)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zknode starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut endpoints = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = receiver
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("zknode run --components {components} not ready in 60 s"));
        if line == "ready" {
            break;
        }
        let mut words = line.split_whitespace();
        if let (Some("listening"), Some(name), Some(addr)) =
            (words.next(), words.next(), words.next())
        {
            endpoints.insert(name.to_string(), addr.parse().expect("an address"));
        }
    }
    Node { child, endpoints }
}

/// Flags `--key value` from pairs.
pub fn flags(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

/// A JSON-RPC call that must succeed; its result.
pub async fn rpc(client: &reqwest::Client, http: SocketAddr, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response: Value = client
        .post(format!("http://{http}"))
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON response");
    assert!(response.get("error").is_none(), "{method}: {response}");
    response["result"].clone()
}

/// A `0x` quantity.
pub fn quantity(value: &Value) -> U256 {
    U256::from_str_radix(
        value.as_str().expect("a string").trim_start_matches("0x"),
        16,
    )
    .expect("hex")
}
