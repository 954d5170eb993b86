//! The command line: `serve` (default), `migrate`, `openapi`, `token create|list|revoke`.

use actix_web::web;
use anyhow::{anyhow, bail, Context};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::{Actor, Role};
use crate::config::Config;
use crate::db;
use crate::error::ApiError;
use crate::resources::tokens::service as tokens;
use crate::resources::tokens::store::{self as model, TokenKey};
use crate::state::AppState;

const USAGE: &str = "usage: partybase [serve | migrate | openapi | seed demo | \
token create --name NAME --role admin|editor|viewer [--organisation ID] | token list | token revoke NAME]";

/// The audit actor of changes made on the command line.
/// Who the command line acts as, in the audit trail.
fn cli_actor() -> Actor {
    Actor::system("cli", "cli")
}

/// Runs the command named by `args`.
pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => serve().await,
        ["migrate"] => {
            init_logging();
            let config = Config::from_env()?;
            db::prepare(&config.database_url).await?;
            println!("the database is up to date");
            Ok(())
        }
        ["openapi"] => {
            println!("{}", crate::openapi().to_pretty_json()?);
            Ok(())
        }
        ["seed", "demo"] => seed_demo().await,
        ["token", "create", rest @ ..] => token_create(rest).await,
        ["token", "list"] => token_list().await,
        ["token", "revoke", name] => token_revoke(name).await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).try_init();
}

async fn serve() -> anyhow::Result<()> {
    init_logging();
    let config = Config::from_env()?;
    db::prepare(&config.database_url).await?;
    let state = web::Data::new(AppState::new(&config)?);
    log::info!("listening on http://{}", config.bind);
    crate::server::run(config.bind, state).await
}

async fn connect() -> anyhow::Result<AsyncPgConnection> {
    init_logging();
    let config = Config::from_env()?;
    db::prepare(&config.database_url).await?;
    <AsyncPgConnection as AsyncConnection>::establish(&config.database_url)
        .await
        .context("cannot connect to the database")
}

/// Turns an API error into a one-line command-line error.
fn plain(error: ApiError) -> anyhow::Error {
    let problem = error.problem();
    anyhow!("{}", problem.detail)
}

async fn token_create(options: &[&str]) -> anyhow::Result<()> {
    let (mut name, mut role, mut organisation) = (None, None, None);
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let value = rest.next().ok_or_else(|| anyhow!("{option} needs a value\n{USAGE}"))?;
        match *option {
            "--name" => name = Some(value.to_string()),
            "--role" => {
                role = Some(
                    value
                        .parse::<Role>()
                        .map_err(|_| anyhow!("--role must be admin, editor or viewer"))?,
                )
            }
            "--organisation" => {
                organisation = Some(
                    value
                        .parse::<Uuid>()
                        .map_err(|_| anyhow!("--organisation must be an organisation id (UUID)"))?,
                )
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    let name = name.ok_or_else(|| anyhow!("--name is required\n{USAGE}"))?;
    let role = role.ok_or_else(|| anyhow!("--role is required\n{USAGE}"))?;
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
             the 2012 evaluations and the 2013 resolutions"
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
