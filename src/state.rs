//! What every request handler shares.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::db::{build_pool, Conn, DbConn, DbPool};
use crate::error::ApiError;
use crate::gate::Gate;
use crate::metrics::Metrics;

/// The application state: database pools, the rate limits and the token caches.
pub struct AppState {
    /// The connections, one pool per server worker thread (see [`AppState::pool`]). Reads and writes share them;
    /// reads may later go to a streaming replica.
    pools: Box<[DbPool]>,
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

/// Hands each thread that asks for a connection its own number, which picks its pool. Only the server's workers ask
/// (the background work has its own pool), so with as many pools as workers each worker has a pool to itself.
static THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// This thread's number, given the first time it asks.
fn thread_number() -> usize {
    THREAD.with(|number| match number.get() {
        Some(n) => n,
        None => {
            let n = THREADS.fetch_add(1, Ordering::Relaxed);
            number.set(Some(n));
            n
        }
    })
}

/// The sizes of `pools` pools sharing `connections`, which differ by one at most and add up to `connections`.
fn pool_sizes(connections: usize, pools: usize) -> Vec<usize> {
    let pools = pools.clamp(1, connections.max(1));
    (0..pools)
        .map(|i| connections / pools + usize::from(i < connections % pools))
        .collect()
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let pools = pool_sizes(config.pool_size, crate::server::workers())
            .into_iter()
            .map(|size| build_pool(&config.database_url, size, config.db_timeout, config.statement_timeout))
            .collect::<anyhow::Result<_>>()?;
        Ok(AppState {
            pools,
            gate: Gate::new(config.rate_limit_per_minute),
            cors_origins: config.cors_origins.clone(),
            body_timeout: config.body_timeout,
            metrics: Metrics::new(config.metrics_token.as_deref()),
            changes: tokio::sync::watch::Sender::new(0),
            background: crate::background::Settings::from_config(config)?,
        })
    }

    /// The pool of the calling thread. A connection's socket is driven by a task on the runtime that opened it,
    /// and each server worker runs its own runtime: a connection opened by one worker and used by another sends
    /// every query and every answer across threads, waking the other worker twice per statement. With a pool per
    /// worker, a worker's connections are opened, driven and used on its own thread.
    fn pool(&self) -> &DbPool {
        &self.pools[thread_number() % self.pools.len()]
    }

    /// A connection from the calling thread's pool, or, when that pool has every connection it may open in use
    /// and another pool has one idle, that one: its statements then cross threads, which costs less than the wait.
    async fn connection(&self) -> Result<DbConn, ApiError> {
        let own = self.pool();
        let status = own.status();
        if status.available == 0 && status.size >= status.max_size {
            for other in self.pools.iter().filter(|pool| !std::ptr::eq(*pool, own)) {
                if other.status().available > 0 {
                    if let Some(conn) = Self::idle(other).await {
                        return Ok(conn);
                    }
                }
            }
        }
        Ok(own.get().await?)
    }

    /// A connection of `pool` if it has one without waiting.
    async fn idle(pool: &DbPool) -> Option<DbConn> {
        let timeouts = deadpool::managed::Timeouts {
            wait: Some(std::time::Duration::ZERO),
            ..pool.timeouts()
        };
        pool.timeout_get(&timeouts).await.ok()
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<DbConn, ApiError> {
        self.connection().await
    }

    /// A second connection for reading alongside one the request holds, only if the pool has one to spare now: a
    /// request that waited for a second connection while holding its first could, with enough such requests at
    /// once, leave every connection held by a request waiting for another.
    pub async fn spare_read(&self) -> Option<DbConn> {
        Self::idle(self.pool()).await
    }

    /// How the pools stand now, added up.
    pub fn pool_status(&self) -> deadpool::Status {
        self.pools.iter().map(|pool| pool.status()).fold(
            deadpool::Status {
                max_size: 0,
                size: 0,
                available: 0,
                waiting: 0,
            },
            |sum, status| deadpool::Status {
                max_size: sum.max_size + status.max_size,
                size: sum.size + status.size,
                available: sum.available + status.available,
                waiting: sum.waiting + status.waiting,
            },
        )
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
        self.connection().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connections_are_shared_out_and_never_exceed_the_setting() {
        assert_eq!(pool_sizes(20, 2), vec![10, 10]);
        assert_eq!(pool_sizes(21, 4), vec![6, 5, 5, 5]);
        assert_eq!(pool_sizes(1, 2), vec![1]);
        assert_eq!(pool_sizes(3, 1), vec![3]);
    }
}
