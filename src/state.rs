//! What every request handler shares.

use std::time::Duration;

use crate::auth::{RateLimiter, TokenCache};
use crate::config::Config;
use crate::db::{build_pool, DbConn, DbPool};
use crate::error::ApiError;

/// How long a verified token is trusted before it is checked against the database again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// The application state: database pools, the token cache and the rate limiter.
pub struct AppState {
    /// Connections for queries that only read; may later point at a streaming replica.
    reads: DbPool,
    /// Connections for transactions that write.
    writes: DbPool,
    pub tokens: TokenCache,
    pub limiter: RateLimiter,
    /// Origins allowed to call the API from a browser; empty means CORS is off.
    pub cors_origins: Vec<String>,
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let pool = build_pool(&config.database_url, config.pool_size, config.db_timeout)?;
        Ok(AppState {
            reads: pool.clone(),
            writes: pool,
            tokens: TokenCache::new(TOKEN_CACHE_TTL),
            limiter: RateLimiter::new(config.rate_limit_per_minute),
            cors_origins: config.cors_origins.clone(),
        })
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<DbConn, ApiError> {
        Ok(self.reads.get().await?)
    }

    /// A connection for writing.
    pub async fn write(&self) -> Result<DbConn, ApiError> {
        Ok(self.writes.get().await?)
    }
}
