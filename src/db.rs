//! The connection pool, database creation and the embedded migrations.

use std::time::Duration;

use anyhow::Context;
use diesel::sql_types::Text;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The pool every request draws its connection from.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection borrowed from the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// A connection a handler writes on: one of the pool's, or the one its request's idempotency key holds.
// A request makes one and moves it once or twice: a copy of the pooled variant costs less than boxing it.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    Pooled(DbConn),
    Held(tokio::sync::OwnedMutexGuard<DbConn>),
}

impl std::ops::Deref for Conn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Held(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Held(conn) => conn,
        }
    }
}

/// Builds the pool. Every wait is bounded by `timeout`, so a request never hangs while the database is down: it
/// gets an error (503) instead, and broken connections are replaced as soon as the database answers again.
///
/// Every connection runs with `statement_timeout`, so no heavy report or count can hold a connection for long:
/// PostgreSQL cancels the statement and the request gets 503. JIT compilation is off: the reports' plans cost
/// enough to pass its threshold at national scale, and compiling them took 1.6 s where running them takes 0.1 s.
///
/// A connection handed back out is checked without a round trip (`RecyclingMethod::Fast`: no open transaction, and
/// its socket not closed): the default sends `SELECT 1` first, which doubled the round trips of a one-query read.
/// A connection the server closed is noticed as closed and replaced; one that breaks while idle without the socket
/// noticing fails its next request with 503, and is then dropped as broken.
pub fn build_pool(
    database_url: &str,
    size: usize,
    timeout: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let setting = format!(
        "SET statement_timeout = {}; SET jit = off",
        statement_timeout.as_millis()
    );
    config.custom_setup = Box::new(move |url| {
        let setting = setting.clone();
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = <AsyncPgConnection as AsyncConnection>::establish(&url).await?;
            conn.batch_execute(&setting)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("cannot build the database pool")
}

/// Splits a database URL into the URL of the server's `postgres` maintenance database and the database name.
pub fn maintenance_url(database_url: &str) -> anyhow::Result<(String, String)> {
    let mut url = url::Url::parse(database_url).context("DATABASE_URL is not a valid URL")?;
    let name = url.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        anyhow::bail!("DATABASE_URL names no database");
    }
    url.set_path("/postgres");
    Ok((url.to_string(), name))
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// Creates the database named by `database_url` when the server does not have it yet.
pub async fn create_database_if_missing(database_url: &str) -> anyhow::Result<()> {
    let (server_url, name) = maintenance_url(database_url)?;
    let mut conn = <AsyncPgConnection as AsyncConnection>::establish(&server_url)
        .await
        .with_context(|| format!("cannot connect to the PostgreSQL server to create database {name:?}"))?;
    let exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
        .bind::<Text, _>(&name)
        .get_result::<Found>(&mut conn)
        .await?
        .found;
    if !exists {
        let statement = format!("CREATE DATABASE {}", quote_identifier(&name));
        match diesel::sql_query(statement).execute(&mut conn).await {
            Ok(_) => log::info!("created database {name:?}"),
            // Another process created it at the same moment: that is what we wanted.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create database {name:?}")),
        }
    }
    Ok(())
}

/// Quotes a PostgreSQL identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Applies the pending embedded migrations. diesel's migration harness is synchronous, so it runs on a blocking
/// thread over the async connection wrapped as a synchronous one.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
            .context("cannot connect to the database to migrate it")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.len())
    })
    .await
    .context("the migration task stopped")?
}

/// Creates the database when missing and brings its schema up to date: what every database command does first.
pub async fn prepare(database_url: &str) -> anyhow::Result<()> {
    create_database_if_missing(database_url).await?;
    let applied = run_migrations(database_url).await?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    Ok(())
}

/// The versions of the embedded migrations, used by `/readyz` to tell whether the schema is current.
pub fn embedded_versions() -> Vec<String> {
    use diesel::migration::MigrationSource;
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>> =
        MIGRATIONS.migrations().unwrap_or_default();
    migrations.iter().map(|m| m.name().version().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_url_swaps_the_database() {
        let (url, name) = maintenance_url("postgres://u:p@db:5433/partybase?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://u:p@db:5433/postgres?sslmode=disable");
        assert_eq!(name, "partybase");
        assert!(maintenance_url("postgres://db:5432").is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn migrations_are_embedded() {
        assert!(!embedded_versions().is_empty());
    }
}
