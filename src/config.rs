//! Configuration read from the environment, checked once at start-up.

use std::net::SocketAddr;
use std::time::Duration;

/// The default database when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@localhost:5432/partybase";
/// The default listen address when `PARTYBASE_BIND` is not set.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// The variables the configuration reads, with their defaults and meaning, for `--help`.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "the database [default: postgres://postgres@localhost:5432/partybase]",
    ),
    (
        "PARTYBASE_BIND",
        "address and port to listen on [default: 127.0.0.1:8080]",
    ),
    ("PARTYBASE_POOL_SIZE", "most database connections [default: 20]"),
    (
        "PARTYBASE_DB_TIMEOUT_SECS",
        "longest wait for a database connection [default: 5]",
    ),
    (
        "PARTYBASE_RATE_LIMIT",
        "requests per minute per token or client address [default: 600]",
    ),
    (
        "PARTYBASE_CORS_ORIGINS",
        "comma list of browser origins allowed to call the API [default: none]",
    ),
    (
        "PARTYBASE_STATEMENT_TIMEOUT_MS",
        "longest one SQL statement may run [default: 5000]",
    ),
    (
        "PARTYBASE_BODY_TIMEOUT_SECS",
        "longest a client may take to send a body [default: 20]",
    ),
    (
        "PARTYBASE_METRICS_TOKEN",
        "bearer token GET /metrics requires [default: none, /metrics is public]",
    ),
    (
        "PARTYBASE_LOG_FORMAT",
        "text or json (one JSON object per line) [default: text]",
    ),
    (
        "PARTYBASE_CHANGE_RETENTION_DAYS",
        "days the change feed keeps its entries [default: 90]",
    ),
    (
        "PARTYBASE_WEBHOOK_ALLOWED_HOSTS",
        "comma list of host names or addresses webhooks may reach although internal [default: none]",
    ),
    ("RUST_LOG", "log filter [default: info]"),
];

/// How log records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// env_logger's own lines, for a person at a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    /// Reads `PARTYBASE_LOG_FORMAT` from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let name = "PARTYBASE_LOG_FORMAT";
        match lookup(name).as_deref().map(str::trim) {
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError {
                name,
                value: other.to_owned(),
                message: "must be text or json".into(),
            }),
        }
    }
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// PostgreSQL connection URL (`DATABASE_URL`).
    pub database_url: String,
    /// Address the HTTP server listens on (`PARTYBASE_BIND`).
    pub bind: SocketAddr,
    /// Most database connections the pool keeps open (`PARTYBASE_POOL_SIZE`).
    pub pool_size: usize,
    /// How long a request waits for a database connection before it gets 503 (`PARTYBASE_DB_TIMEOUT_SECS`).
    pub db_timeout: Duration,
    /// Requests one token (or one address, before authentication) may make per minute (`PARTYBASE_RATE_LIMIT`).
    pub rate_limit_per_minute: u32,
    /// Origins allowed to call the API from a browser (`PARTYBASE_CORS_ORIGINS`, comma separated; empty = CORS off).
    pub cors_origins: Vec<String>,
    /// Longest a single SQL statement may run before PostgreSQL cancels it and the request gets 503
    /// (`PARTYBASE_STATEMENT_TIMEOUT_MS`).
    pub statement_timeout: Duration,
    /// Longest a client may take to send a request body once its head has arrived; past it the request gets 408
    /// (`PARTYBASE_BODY_TIMEOUT_SECS`).
    pub body_timeout: Duration,
    /// The bearer token `GET /metrics` requires; `None` leaves it public (`PARTYBASE_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// How log records are written (`PARTYBASE_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// How long the change feed keeps its entries (`PARTYBASE_CHANGE_RETENTION_DAYS`).
    pub change_retention: Duration,
    /// Hosts webhooks may be delivered to although they are loopback, link-local, unspecified or multicast
    /// (`PARTYBASE_WEBHOOK_ALLOWED_HOSTS`, lower case).
    pub webhook_allowed_hosts: Vec<String>,
}

/// A configuration value that could not be used, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message} (got {value:?})")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub message: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads `DATABASE_URL` alone, for the commands that only need the database.
    pub fn database_url_from_env() -> Result<String, ConfigError> {
        database_url(|name| std::env::var(name).ok())
    }

    /// Reads `PARTYBASE_BIND` alone, for the commands that only talk to a running service.
    pub fn bind_from_env() -> Result<SocketAddr, ConfigError> {
        bind(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str, default: &str| {
            let value = lookup(name).unwrap_or_else(|| default.to_owned());
            (name, value)
        };

        let database_url = database_url(&lookup)?;
        let bind = bind(&lookup)?;
        let pool_size = parse_number(get("PARTYBASE_POOL_SIZE", "20"), 1, 1000)?;
        let db_timeout = parse_number(get("PARTYBASE_DB_TIMEOUT_SECS", "5"), 1, 300)?;
        let rate_limit_per_minute = parse_number(get("PARTYBASE_RATE_LIMIT", "600"), 1, 1_000_000)?;
        let statement_timeout = parse_number(get("PARTYBASE_STATEMENT_TIMEOUT_MS", "5000"), 100, 600_000)?;
        let body_timeout = parse_number(get("PARTYBASE_BODY_TIMEOUT_SECS", "20"), 1, 30)?;
        let (_, origins) = get("PARTYBASE_CORS_ORIGINS", "");
        let cors_origins = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let metrics_token = lookup("PARTYBASE_METRICS_TOKEN").filter(|t| !t.trim().is_empty());
        let log_format = LogFormat::from_lookup(&lookup)?;
        let retention_days = parse_number(get("PARTYBASE_CHANGE_RETENTION_DAYS", "90"), 1, 36_500)?;
        let webhook_allowed_hosts = lookup("PARTYBASE_WEBHOOK_ALLOWED_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|h| {
                h.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .filter(|h| !h.is_empty())
            .collect();
        Ok(Config {
            database_url,
            bind,
            pool_size: pool_size as usize,
            db_timeout: Duration::from_secs(db_timeout),
            rate_limit_per_minute: rate_limit_per_minute as u32,
            cors_origins,
            statement_timeout: Duration::from_millis(statement_timeout),
            body_timeout: Duration::from_secs(body_timeout),
            metrics_token,
            log_format,
            change_retention: Duration::from_secs(retention_days * 24 * 60 * 60),
            webhook_allowed_hosts,
        })
    }
}

fn database_url(lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let name = "DATABASE_URL";
    let database_url = lookup(name).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        return Err(ConfigError {
            name,
            value: without_password(&database_url),
            message: "must be a postgres:// URL".into(),
        });
    }
    Ok(database_url)
}

fn bind(lookup: impl Fn(&str) -> Option<String>) -> Result<SocketAddr, ConfigError> {
    let name = "PARTYBASE_BIND";
    let bind = lookup(name).unwrap_or_else(|| DEFAULT_BIND.to_owned());
    bind.parse().map_err(|_| ConfigError {
        name,
        value: bind.clone(),
        message: "must be an address and port such as 127.0.0.1:8080".into(),
    })
}

/// A URL fit for an error message: a password in it is replaced by `***`. Text that is not a URL is not echoed
/// at all, since it may be a password pasted in the wrong place.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(not shown)".into(),
    }
}

fn parse_number((name, value): (&'static str, String), min: u64, max: u64) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            name,
            value,
            message: format!("must be a whole number from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = with(&[]).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.pool_size, 20);
        assert!(config.cors_origins.is_empty());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = with(&[("PARTYBASE_BIND", "localhost")]).unwrap_err();
        assert_eq!(err.name, "PARTYBASE_BIND");
        let err = with(&[("PARTYBASE_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PARTYBASE_POOL_SIZE: must be a whole number from 1 to 1000 (got \"0\")"
        );
        let err = with(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.name, "DATABASE_URL");
        let err = with(&[("PARTYBASE_STATEMENT_TIMEOUT_MS", "50")]).unwrap_err();
        assert_eq!(err.name, "PARTYBASE_STATEMENT_TIMEOUT_MS");
        let err = with(&[("PARTYBASE_BODY_TIMEOUT_SECS", "31")]).unwrap_err();
        assert_eq!(err.name, "PARTYBASE_BODY_TIMEOUT_SECS");
    }

    #[test]
    fn a_password_is_never_echoed() {
        let err = with(&[("DATABASE_URL", "mysql://app:s3cret@db/x")]).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("mysql://app:***@db/x"), "{err}");
        let err = with(&[("DATABASE_URL", "s3cret")]).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert_eq!(without_password("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        assert_eq!(with(&[]).unwrap().log_format, LogFormat::Text);
        assert_eq!(
            with(&[("PARTYBASE_LOG_FORMAT", "json")]).unwrap().log_format,
            LogFormat::Json
        );
        let err = with(&[("PARTYBASE_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.name, "PARTYBASE_LOG_FORMAT");
    }

    #[test]
    fn every_variable_read_is_listed_for_help() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            None
        });
        for name in read.into_inner() {
            assert!(
                VARIABLES.iter().any(|(listed, _)| *listed == name),
                "{name} is not in VARIABLES"
            );
        }
    }

    #[test]
    fn cors_origins_are_a_comma_list() {
        let config = with(&[("PARTYBASE_CORS_ORIGINS", "https://a.example, https://b.example,")]).unwrap();
        assert_eq!(config.cors_origins, vec!["https://a.example", "https://b.example"]);
    }
}
