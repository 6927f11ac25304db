//! The migrations against a live PostgreSQL (127.0.0.1:5432, trust auth; override with
//! `ZKNODE_TEST_DATABASE_URL`), each test in a database of its own.

mod common;

use common::TestDatabase;
use sqlx::Row;
use zknode_node::db;

#[tokio::test]
async fn migrations_create_both_schemas_and_run_once() {
    let database = TestDatabase::new("migrate").await;
    let pool = db::connect(&database.config).await.expect("connects");
    db::migrate(&pool).await.expect("migrates");
    // A second node starting on the same database applies nothing again.
    db::migrate(&pool).await.expect("idempotent");
    let tables: Vec<String> = sqlx::query(
        "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables \
         WHERE table_schema IN ('state', 'pool') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("lists tables")
    .iter()
    .map(|row| row.get("t"))
    .collect();
    for expected in [
        "pool.transaction",
        "state.batch",
        "state.l2_block",
        "state.log",
        "state.proof",
        "state.receipt",
        "state.transaction",
        "state.verified_batch",
        "state.virtual_batch",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} missing from {tables:?}"
        );
    }
    // Constraints hold: a 19-byte address is refused.
    let refused = sqlx::query("INSERT INTO pool.blocked_address (address) VALUES ($1)")
        .bind(vec![0u8; 19])
        .execute(&pool)
        .await;
    assert!(refused.is_err());
    pool.close().await;
    database.drop().await;
}
