//! The work a running service does besides answering requests: it listens for committed changes, numbers them into
//! the feed and offers them to webhooks, sends due webhook deliveries, and clears what has expired.
//!
//! Every instance runs all of it against the shared database; the database keeps them from doing any of it twice
//! (the feed's numbering lock, `SKIP LOCKED` and leases on deliveries). The work has its own small pool, so a slow
//! receiver or a large numbering never takes a connection an API request is waiting for.

use std::time::Duration;

use actix_web::web;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;

use crate::config::Config;
use crate::db::{build_pool, DbPool};
use crate::resources::changes::store as feed;
use crate::resources::webhooks::deliver;
use crate::resources::webhooks::store as webhooks;
use crate::resources::webhooks::target::Allowed;
use crate::state::AppState;

/// The channel every change's transaction notifies at commit (see the `changes_record` trigger).
pub const CHANNEL: &str = "partybase_changes";
/// How often the numbering and the sender look for work when no notification came.
const TICK: Duration = Duration::from_secs(1);
/// How often expired idempotency keys and old feed entries are cleared.
const CLEAR_EVERY: Duration = Duration::from_secs(600);
/// Connections the background work may hold at once.
const POOL_SIZE: usize = 4;

/// What the background work needs, made with the rest of the application state.
pub struct Settings {
    database_url: String,
    pool: DbPool,
    /// The hosts webhooks may reach although internal.
    pub allowed: Allowed,
    /// How long the feed keeps its entries.
    pub retention: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Settings {
            database_url: config.database_url.clone(),
            pool: build_pool(
                &config.database_url,
                POOL_SIZE,
                config.db_timeout,
                config.statement_timeout,
            )?,
            allowed: Allowed::new(config.webhook_allowed_hosts.clone()),
            retention: config.change_retention,
        })
    }
}

/// Starts the background work on the current runtime; it runs until the process stops.
pub fn start(state: web::Data<AppState>) -> anyhow::Result<()> {
    let settings = &state.background;
    let pool = settings.pool.clone();
    let client = deliver::client(&settings.allowed)?;
    let (sent, wake_sender) = tokio::sync::watch::channel(());
    tokio::spawn(listen(state.clone()));
    tokio::spawn(number(state.clone(), pool.clone(), sent));
    tokio::spawn(send(state.clone(), pool.clone(), client, wake_sender));
    tokio::spawn(clear(pool, settings.retention));
    Ok(())
}

/// Holds a connection that `LISTEN`s and ticks `state.changes` on every notification; reconnects when it drops,
/// ticking once more since notifications may have been missed meanwhile.
async fn listen(state: web::Data<AppState>) {
    let url = state.background.database_url.clone();
    loop {
        match AsyncPgConnection::establish(&url).await {
            Ok(mut conn) => match diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn).await {
                Ok(_) => {
                    state.changes.send_modify(|n| *n += 1);
                    let mut notifications = std::pin::pin!(conn.notifications_stream());
                    while let Some(Ok(_)) = notifications.next().await {
                        state.changes.send_modify(|n| *n += 1);
                    }
                    log::warn!("the change notification connection closed; reconnecting");
                }
                Err(e) => log::warn!("cannot LISTEN for changes: {e}"),
            },
            Err(e) => log::warn!("cannot connect to listen for changes: {e}"),
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Numbers committed changes into the feed (offering them to webhooks) whenever one is notified, and every tick.
async fn number(state: web::Data<AppState>, pool: DbPool, sender: tokio::sync::watch::Sender<()>) {
    let mut signal = state.changes.subscribe();
    loop {
        let numbered = match pool.get().await {
            Ok(mut conn) => feed::number_all(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        match numbered {
            Ok(n) if n > 0 => {
                state.metrics.numbered(n as u64);
                sender.send_replace(());
            }
            Ok(_) => {}
            Err(e) => log::warn!("cannot number changes: {e}"),
        }
        let _ = tokio::time::timeout(TICK, signal.changed()).await;
    }
}

/// Sends due deliveries, when changes were numbered and every tick.
async fn send(
    state: web::Data<AppState>,
    pool: DbPool,
    client: reqwest::Client,
    mut wake: tokio::sync::watch::Receiver<()>,
) {
    let allowed = state.background.allowed.clone();
    loop {
        match deliver::send_due(&client, &allowed, &pool, &state.metrics).await {
            // A full batch: more may be due at once.
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => log::warn!("cannot send webhook deliveries: {e}"),
        }
        match pool.get().await {
            Ok(mut conn) => match webhooks::backlog(&mut conn).await {
                Ok(backlog) => state.metrics.deliveries(backlog.pending, backlog.failed),
                Err(e) => log::warn!("cannot count webhook deliveries: {e}"),
            },
            Err(e) => log::warn!("cannot count webhook deliveries: {e}"),
        }
        let _ = tokio::time::timeout(TICK, wake.changed()).await;
    }
}

/// Deletes expired idempotency keys and feed entries older than the retention.
async fn clear(pool: DbPool, retention: Duration) {
    loop {
        if let Ok(mut conn) = pool.get().await {
            loop {
                match crate::idempotency::delete_expired(&mut conn).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        log::warn!("cannot delete expired idempotency keys: {e}");
                        break;
                    }
                }
            }
            loop {
                match feed::prune(&mut conn, retention).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        log::warn!("cannot prune the change feed: {e}");
                        break;
                    }
                }
            }
        }
        tokio::time::sleep(CLEAR_EVERY).await;
    }
}
