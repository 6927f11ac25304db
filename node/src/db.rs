//! The State DB and Pool DB: one PostgreSQL database, schemas `state` and `pool`, created by the
//! migrations under `node/migrations/` (embedded in the binary, applied at start-up; sqlx records
//! what ran in `_sqlx_migrations`, so several nodes starting together apply each one once).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseConfig;
use crate::error::Result;

/// The migrations this binary carries.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A connection pool to the node's database.
pub async fn connect(config: &DatabaseConfig) -> Result<PgPool> {
    let options: PgConnectOptions = config.url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(config.acquire_timeout_secs))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies every migration not yet applied.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
