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

/// Creates the database named in `config.url` if the server lacks it (for `zknode dev`): connects
/// to the server's `postgres` database to do so.
pub async fn create_database_if_missing(config: &DatabaseConfig) -> Result<()> {
    use sqlx::ConnectOptions;

    let options: PgConnectOptions = config.url.parse()?;
    let Some(name) = options.get_database().map(str::to_string) else {
        return Ok(());
    };
    // A database name is an identifier: quote it, doubling quotes, rather than trusting it.
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let mut admin = options.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {quoted}"))
            .execute(&mut admin)
            .await?;
        tracing::info!(database = %name, "database created");
    }
    Ok(())
}
