//! The work a running service does besides answering requests: it watches for committed changes, numbers them into
//! the feed and offers them to webhooks, sends due webhook deliveries, brings the kept dues figures and admissions
//! by base organisation up to date, and clears what has expired.
//!
//! Every instance runs all of it against the shared database; the database keeps them from doing any of it twice
//! (the feed's numbering lock, `SKIP LOCKED` and leases on deliveries). The work has its own small pool, so a slow
//! receiver or a large numbering never takes a connection an API request is waiting for.

use std::time::Duration;

use actix_web::web;

use crate::config::Config;
use crate::db::{build_pool, DbPool};
use crate::resources::changes::store as feed;
use crate::resources::webhooks::deliver;
use crate::resources::webhooks::store as webhooks;
use crate::resources::webhooks::target::Allowed;
use crate::state::AppState;

/// How often the feed is looked at for changes made elsewhere.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// How long the numbering waits after being woken, so that the changes of a busy moment are numbered together.
const GATHER: Duration = Duration::from_millis(25);
/// How often the numbering and the sender look for work when nothing woke them.
const TICK: Duration = Duration::from_secs(1);
/// How often expired idempotency keys and old feed entries are cleared.
const CLEAR_EVERY: Duration = Duration::from_secs(600);
/// Connections the background work may hold at once.
const POOL_SIZE: usize = 4;

/// What the background work needs, made with the rest of the application state.
pub struct Settings {
    pool: DbPool,
    /// The hosts webhooks may reach although internal.
    pub allowed: Allowed,
    /// How long the feed keeps its entries.
    pub retention: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Settings {
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
    tokio::spawn(watch(state.clone(), pool.clone()));
    tokio::spawn(number(state.clone(), pool.clone(), sent));
    tokio::spawn(send(state.clone(), pool.clone(), client, wake_sender));
    tokio::spawn(keep_dues(state.clone(), pool.clone()));
    tokio::spawn(keep_admissions(state.clone(), pool.clone()));
    tokio::spawn(clear(pool, settings.retention));
    Ok(())
}

/// Looks a few times a second for changes this process did not make: entries still without a position (written
/// by another instance or by the CLI) and positions another instance gave. Ticks `state.changes` when it finds
/// either, so the numbering and the long polls of this instance follow. Its own writes tick at once (see
/// [`crate::observe`]); this keeps the writers' commits free of PostgreSQL's notification lock.
async fn watch(state: web::Data<AppState>, pool: DbPool) {
    let mut seen = None;
    loop {
        let looked = match pool.get().await {
            Ok(mut conn) => feed::outlook(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        match looked {
            Ok(outlook) => {
                if outlook.waiting || seen.is_some_and(|last| last != outlook.last_position) {
                    state.changes.send_modify(|n| *n += 1);
                }
                seen = Some(outlook.last_position);
            }
            Err(e) => log::warn!("cannot look for new changes: {e}"),
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// Numbers committed changes into the feed (offering them to webhooks) whenever woken, and every tick.
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
        // Under a stream of writes, let a few gather: one numbering of many entries costs a commit, as does one of
        // a single entry, and every commit competes with the writers' own.
        tokio::time::sleep(GATHER).await;
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

/// Counts the members the writes noted into the kept dues figures, every tick, so that a dues report finds little
/// left to count before it reads them; reports what it counted and what is left waiting.
async fn keep_dues(state: web::Data<AppState>, pool: DbPool) {
    loop {
        match pool.get().await {
            Ok(mut conn) => match crate::reports::catch_up_dues(&mut conn).await {
                Ok(counted) => {
                    state.metrics.dues_counted(counted);
                    match crate::reports::dues_notes_waiting(&mut conn).await {
                        Ok(waiting) => state.metrics.dues_waiting(waiting),
                        Err(e) => log::warn!("cannot count the dues notes waiting: {e}"),
                    }
                }
                Err(e) => log::warn!("cannot bring the dues figures up to date: {e}"),
            },
            Err(e) => log::warn!("cannot bring the dues figures up to date: {e}"),
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Counts the notes of admissions into the admissions kept by base organisation, and the days a change of the tree
/// left out of date again through today, every tick (see [`crate::reports::store::catch_up_admission_bases`]), so
/// that a report has little to do; reports what is left. It never waits for the lock: a report or a writer of the
/// tree holding it is left alone until the next tick.
async fn keep_admissions(state: web::Data<AppState>, pool: DbPool) {
    use crate::reports::store::{admission_backlog, catch_up_admission_bases};
    loop {
        let today = crate::domain::today();
        let kept = match pool.get().await {
            Ok(mut conn) => match catch_up_admission_bases(&mut conn, today, 0).await {
                Ok(_) => admission_backlog(&mut conn, today)
                    .await
                    .map(|left| state.metrics.admissions_waiting(left.notes, left.days))
                    .map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        };
        if let Err(e) = kept {
            log::warn!("cannot bring the admissions by base organisation up to date: {e}");
        }
        tokio::time::sleep(TICK).await;
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
