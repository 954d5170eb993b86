//! The command line, parsed with clap: `serve` (the default), `migrate`, `openapi`, `seed demo`,
//! `token create|list|revoke`, `import members|organisations` and `healthcheck`. Every command answers `--help` with the environment variables
//! it reads.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use actix_web::web;
use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::{Actor, Role};
use crate::config::{self, Config, LogFormat};
use crate::db;
use crate::error::ApiError;
use crate::logging;
use crate::resources::imports;
use crate::resources::tokens::service as tokens;
use crate::resources::tokens::store::{self as model, TokenKey};
use crate::state::AppState;

/// The variables a command that only uses the database reads.
const DATABASE_VARIABLES: &[&str] = &["DATABASE_URL", "PARTYBASE_LOG_FORMAT", "RUST_LOG"];
/// The variables `healthcheck` reads.
const PROBE_VARIABLES: &[&str] = &["PARTYBASE_BIND"];

/// The "Environment" section of a command's help: each variable with its meaning and default.
fn environment(names: &[&str]) -> String {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let lines: Vec<String> = config::VARIABLES
        .iter()
        .filter(|(name, _)| names.contains(name))
        .map(|(name, meaning)| format!("  {name:<width$}  {meaning}"))
        .collect();
    format!("Environment:\n{}", lines.join("\n"))
}

fn every_variable() -> String {
    let names: Vec<&str> = config::VARIABLES.iter().map(|(name, _)| *name).collect();
    environment(&names)
}

/// partybase: the registry of grassroots party organisations, their members, resolutions and evaluations.
///
/// Without a command, serves the HTTP API (as `partybase serve`).
#[derive(Debug, Parser)]
#[command(name = "partybase", version, after_help = every_variable())]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default). Creates the database when missing and applies the migrations first.
    #[command(after_help = every_variable())]
    Serve,
    /// Create the database when missing and apply the migrations.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Migrate,
    /// Print the OpenAPI document.
    #[command(after_help = "Environment: reads no variables.")]
    Openapi,
    /// Load example data.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Seed {
        #[command(subcommand)]
        data: Seed,
    },
    /// Issue, list and revoke API tokens.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Token {
        #[command(subcommand)]
        action: Token,
    },
    /// Import a spreadsheet (CSV or .xlsx) of members or organisations, as the /api/v1/imports routes do: every
    /// row checked, all imported or none. Row errors are listed at the end (exit 1).
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Import {
        #[command(subcommand)]
        what: Import,
    },
    /// Ask the service at PARTYBASE_BIND whether it is ready (GET /readyz): exit 0 when it is, 1 otherwise.
    #[command(after_help = environment(PROBE_VARIABLES))]
    Healthcheck,
}

#[derive(Debug, Subcommand)]
enum Seed {
    /// The Thanh Sơn example district of 2012-2013. Loads once; refuses a database whose codes collide with it.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Demo,
}

#[derive(Debug, Subcommand)]
enum Token {
    /// Issue a token; its secret is the last line printed, and is never shown again.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Create {
        /// A unique name for the token, recorded as the actor in the audit trail.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// What the token may do: admin, editor or viewer.
        #[arg(long, value_name = "ROLE", value_parser = role)]
        role: Role,
        /// Confine the token to this organisation's subtree.
        #[arg(long, value_name = "ID")]
        organisation: Option<Uuid>,
    },
    /// List the tokens (never their secrets).
    #[command(after_help = environment(DATABASE_VARIABLES))]
    List,
    /// Revoke the token of this name.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Revoke {
        /// The token's name.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum Import {
    /// Admit the members of FILE (columns as `GET /api/v1/members` with `Accept: text/csv` writes them).
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Members(ImportFile),
    /// Create the organisations of FILE (columns as `GET /api/v1/organisations` with `Accept: text/csv` writes
    /// them); parents before their children.
    #[command(after_help = environment(DATABASE_VARIABLES))]
    Organisations(ImportFile),
}

#[derive(Debug, clap::Args)]
struct ImportFile {
    /// The spreadsheet: CSV in UTF-8, or an Excel workbook ending in .xlsx (its first sheet).
    #[arg(value_name = "FILE")]
    file: std::path::PathBuf,
    /// Check every row and import nothing.
    #[arg(long)]
    dry_run: bool,
}

fn role(text: &str) -> Result<Role, String> {
    text.parse().map_err(|()| "must be admin, editor or viewer".to_owned())
}

/// Who the command line acts as, in the audit trail.
fn cli_actor() -> Actor {
    Actor::system("cli", "cli")
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => {
            let database_url = database_url()?;
            db::prepare(&database_url).await?;
            println!("the database is up to date");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Seed { data: Seed::Demo } => seed_demo().await,
        Command::Token { action } => match action {
            Token::Create {
                name,
                role,
                organisation,
            } => token_create(name, role, organisation).await,
            Token::List => token_list().await,
            Token::Revoke { name } => token_revoke(&name).await,
        },
        Command::Import { what } => {
            let (kind, args) = match what {
                Import::Members(args) => (imports::Kind::Members, args),
                Import::Organisations(args) => (imports::Kind::Organisations, args),
            };
            let mut conn = connect().await?;
            imports::command::import_file(&mut conn, &cli_actor(), kind, &args.file, args.dry_run).await
        }
        Command::Healthcheck => healthcheck(),
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    logging::init(config.log_format);
    db::prepare(&config.database_url).await?;
    let state = web::Data::new(AppState::new(&config)?);
    crate::background::start(state.clone())?;
    let upkeep = state.clone();
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.metrics.run_upkeep();
        }
    });
    log::info!("listening on http://{}", config.bind);
    crate::server::run(config.bind, state).await
}

/// `DATABASE_URL`, with the log started as `PARTYBASE_LOG_FORMAT` asks: what every database command reads.
fn database_url() -> anyhow::Result<String> {
    let database_url = Config::database_url_from_env()?;
    logging::init(LogFormat::from_env()?);
    Ok(database_url)
}

async fn connect() -> anyhow::Result<AsyncPgConnection> {
    let database_url = database_url()?;
    db::prepare(&database_url).await?;
    <AsyncPgConnection as AsyncConnection>::establish(&database_url)
        .await
        .context("cannot connect to the database")
}
/// Turns an API error into a one-line command-line error.
fn plain(error: ApiError) -> anyhow::Error {
    let problem = error.problem();
    anyhow!("{}", problem.detail)
}

async fn token_create(name: String, role: Role, organisation: Option<Uuid>) -> anyhow::Result<()> {
    let mut conn = connect().await?;
    let (token, secret) = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            tokens::issue(conn, &cli_actor(), &name, role, organisation).await
        })
        .await
        .map_err(plain)?;
    println!(
        "created token {:?} (role {}, id {}); keep the secret below, it is not shown again:",
        token.name, token.role, token.id
    );
    println!("{secret}");
    Ok(())
}

async fn seed_demo() -> anyhow::Result<()> {
    let mut conn = connect().await?;
    match crate::seed::load_demo(&mut conn).await.map_err(plain)? {
        crate::seed::Outcome::Loaded { organisations, members } => println!(
            "loaded the Thanh Sơn demo district: {organisations} organisations, {members} members, \
             the 2012 evaluations, meetings and dues, and the 2013 resolutions"
        ),
        crate::seed::Outcome::AlreadyLoaded => {
            println!("the Thanh Sơn demo district is already loaded; nothing changed")
        }
    }
    Ok(())
}

async fn token_list() -> anyhow::Result<()> {
    let mut conn = connect().await?;
    let mut after = None;
    println!(
        "{:<32} {:<7} {:<36} {:<25} revoked",
        "name", "role", "organisation", "created"
    );
    loop {
        let rows = model::list(&mut conn, after, 200).await?;
        for t in &rows {
            println!(
                "{:<32} {:<7} {:<36} {:<25} {}",
                t.name,
                t.role,
                t.organisation_id.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                t.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                t.revoked_at
                    .map(|r| r.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
        match rows.last() {
            Some(last) if rows.len() == 200 => after = Some(last.id),
            _ => return Ok(()),
        }
    }
}

async fn token_revoke(name: &str) -> anyhow::Result<()> {
    let mut conn = connect().await?;
    let name = name.to_owned();
    let token = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            tokens::revoke(conn, &cli_actor(), TokenKey::Name(&name)).await
        })
        .await
        .map_err(plain)?;
    println!(
        "revoked token {:?}; running servers refuse it within {} seconds",
        token.name,
        crate::gate::TOKEN_CACHE_TTL.as_secs()
    );
    Ok(())
}

/// The address to probe for a service bound to `bind`: a wildcard bind is reached on loopback.
fn probe_address(bind: SocketAddr) -> SocketAddr {
    match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bind.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), bind.port()),
        _ => bind,
    }
}

/// `GET /readyz` over a plain TCP connection (the slim container image has no curl): exit 0 when it answers 200.
fn healthcheck() -> anyhow::Result<()> {
    let address = probe_address(Config::bind_from_env()?);
    let status = readyz_status(address, Duration::from_secs(3))
        .with_context(|| format!("no answer from the service at {address}"))?;
    if status != 200 {
        bail!("the service at {address} is not ready: /readyz answered {status}");
    }
    println!("the service at {address} is ready");
    Ok(())
}

fn readyz_status(address: SocketAddr, timeout: Duration) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP answer: {:?}", status_line.trim()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_wildcard_bind_is_probed_on_loopback() {
        let probe = |bind: &str| probe_address(bind.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(probe("[::]:9000"), "[::1]:9000");
        assert_eq!(probe("10.0.0.5:8080"), "10.0.0.5:8080");
    }
}
