//! A fresh database per test on the live PostgreSQL (127.0.0.1:5432, trust auth; override with
//! `ZKNODE_TEST_DATABASE_URL`, an admin URL whose database is replaced by the test's).

#![allow(dead_code)]

pub mod binary;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use sqlx::{Connection, Executor, PgConnection};
use zknode_node::config::DatabaseConfig;

pub fn admin_url() -> String {
    std::env::var("ZKNODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped with it.
pub struct TestDatabase {
    pub name: String,
    pub config: DatabaseConfig,
}

impl TestDatabase {
    pub async fn new(tag: &str) -> Self {
        let name = format!("zknode_test_{tag}_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("PostgreSQL at 127.0.0.1:5432");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .expect("drop");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create");
        let url = match admin_url().rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("database URL without a path"),
        };
        let config = DatabaseConfig {
            url,
            max_connections: 8,
            ..DatabaseConfig::default()
        };
        Self { name, config }
    }

    /// A migrated pool on the database.
    pub async fn pool(&self) -> sqlx::PgPool {
        let pool = zknode_node::db::connect(&self.config)
            .await
            .expect("connects");
        zknode_node::db::migrate(&pool).await.expect("migrates");
        pool
    }

    pub async fn drop(self) {
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("PostgreSQL");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .expect("drop");
    }
}

/// The chain id the RPC tests run with.
pub const CHAIN_ID: u64 = 4321;

/// A signed test transaction: an EIP-1559 call with data (`typed`) or a legacy transfer.
pub fn signed(signer: &PrivateKeySigner, typed: bool, nonce: u64) -> TxEnvelope {
    if typed {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 60_000,
            max_fee_per_gas: 3_000,
            max_priority_fee_per_gas: 3_000,
            to: TxKind::Call(Address::repeat_byte(0xcc)),
            value: U256::ZERO,
            input: Bytes::from_static(&[1, 2, 3]),
            ..Default::default()
        };
        let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
        TxEnvelope::from(tx.into_signed(signature))
    } else {
        let tx = TxLegacy {
            chain_id: Some(CHAIN_ID),
            nonce,
            gas_price: 2_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(0xbb)),
            value: U256::from(12345),
            input: Bytes::new(),
        };
        let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("signs");
        TxEnvelope::from(tx.into_signed(signature))
    }
}

/// Scratch space of this test binary under cargo's per-target temporary directory, emptied when the
/// binary first asks for it: runs leave nothing in `/tmp` and at most one binary's worth behind.
fn scratch_root() -> &'static std::path::Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "node-test".to_string());
        let root = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(binary);
        match std::fs::remove_dir_all(&root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot empty {}: {e}", root.display()),
        }
        root
    })
}

/// A fresh directory `name` in this binary's scratch space.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = scratch_root().join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot empty {}: {e}", dir.display()),
    }
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// An in-process executor over a fresh directory in this binary's scratch space.
pub fn executor(tag: &str) -> zknode_node::executor::ExecutorHandle {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch_root().join(format!("executor-{tag}-{n}"));
    std::fs::create_dir_all(&dir).expect("executor dir");
    let executor = zknode_executor::execution::Executor::open(
        &dir,
        zknode_executor::execution::ExecutorConfig::default(),
    )
    .expect("executor opens");
    zknode_node::executor::ExecutorHandle::Local(executor)
}
