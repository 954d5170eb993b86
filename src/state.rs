//! What every request handler shares.

use crate::config::Config;
use crate::db::{build_pool, Conn, DbConn, DbPool};
use crate::error::ApiError;
use crate::gate::Gate;
use crate::metrics::Metrics;

/// The application state: database pools, the rate limits and the token caches.
pub struct AppState {
    /// Connections for queries that only read; may later point at a streaming replica.
    reads: DbPool,
    /// Connections for transactions that write.
    writes: DbPool,
    /// The rate limits and the token caches.
    pub gate: Gate,
    /// Origins allowed to call the API from a browser; empty means CORS is off.
    pub cors_origins: Vec<String>,
    /// Longest wait for a request body (408 past it).
    pub body_timeout: std::time::Duration,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// Ticks after this instance's writes and when the feed shows changes made elsewhere (see [`crate::background`]);
    /// the numbering and the long polls wait on it.
    pub changes: tokio::sync::watch::Sender<u64>,
    /// What the background work needs: the database, the feed's retention and the webhook targets allowed.
    pub background: crate::background::Settings,
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let pool = build_pool(
            &config.database_url,
            config.pool_size,
            config.db_timeout,
            config.statement_timeout,
        )?;
        Ok(AppState {
            reads: pool.clone(),
            writes: pool,
            gate: Gate::new(config.rate_limit_per_minute),
            cors_origins: config.cors_origins.clone(),
            body_timeout: config.body_timeout,
            metrics: Metrics::new(config.metrics_token.as_deref()),
            changes: tokio::sync::watch::Sender::new(0),
            background: crate::background::Settings::from_config(config)?,
        })
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<DbConn, ApiError> {
        Ok(self.reads.get().await?)
    }

    /// A second connection for reading alongside one the request holds, only if the pool has one to spare now: a
    /// request that waited for a second connection while holding its first could, with enough such requests at
    /// once, leave every connection held by a request waiting for another.
    pub async fn spare_read(&self) -> Option<DbConn> {
        let timeouts = deadpool::managed::Timeouts {
            wait: Some(std::time::Duration::ZERO),
            ..self.reads.timeouts()
        };
        self.reads.timeout_get(&timeouts).await.ok()
    }

    /// How the pool stands now. Reads and writes share one pool for now, so this is the whole of it.
    pub fn pool_status(&self) -> deadpool::Status {
        self.writes.status()
    }

    /// A connection for writing: the request's own when it carries an idempotency key (its change commits with
    /// the key, see [`crate::idempotency`]), a pooled one otherwise.
    pub async fn write(&self) -> Result<Conn, ApiError> {
        match crate::idempotency::held() {
            Some(held) => Ok(Conn::Held(held.lock_owned().await)),
            None => Ok(Conn::Pooled(self.pooled_write().await?)),
        }
    }

    /// A connection for writing from the pool, whatever the request.
    pub async fn pooled_write(&self) -> Result<DbConn, ApiError> {
        Ok(self.writes.get().await?)
    }
}
