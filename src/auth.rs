//! Authentication and authorisation: bearer tokens, roles, subtree scope and rate limits.
//!
//! Every `/api/v1` handler takes an [`Actor`]; extracting it checks the token (401), applies the rate limit (429)
//! and carries the role and scope that the handler consults through the methods below, so no handler
//! re-implements a rule.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::text_enum;
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

text_enum! {
    /// What a token may do.
    #[schema(example = "editor")]
    Role {
        /// Everything, including tokens and the audit trail.
        Admin => "admin",
        /// Read and write inside the subtree of its organisation.
        Editor => "editor",
        /// Read only, inside the subtree of its organisation, or everywhere when it has none.
        Viewer => "viewer",
    }
}

/// The prefix that makes a partybase token recognisable (in logs, secret scanners, configuration files).
pub const TOKEN_PREFIX: &str = "pb_";

/// A new random token: the prefix and 256 random bits.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token. Tokens are long random strings, not passwords, so one SHA-256 is enough and
/// costs microseconds.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name, recorded as the actor of every change it makes.
    pub name: String,
    pub role: Role,
    /// The organisation whose subtree the token is confined to; `None` for everything.
    pub organisation_id: Option<Uuid>,
}

/// The caller of a request: its identity and the request id that its changes are recorded with.
#[derive(Debug, Clone)]
pub struct Actor {
    pub identity: Identity,
    pub request_id: String,
}

impl Actor {
    /// The subtree the actor may read, and change when its role writes at all (`None`: everything).
    pub fn scope(&self) -> Option<Uuid> {
        match self.identity.role {
            Role::Admin => None,
            Role::Editor | Role::Viewer => self.identity.organisation_id,
        }
    }

    /// Refuses roles that cannot write at all.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self.identity.role {
            Role::Admin | Role::Editor => Ok(()),
            Role::Viewer => Err(ApiError::Forbidden("a viewer token cannot change anything".into())),
        }
    }

    /// Refuses everyone but admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.identity.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden("only an admin token may do this".into())),
        }
    }

    /// Whether the sensitive member fields (national id, ethnicity, religion) may be shown to this actor.
    pub fn sees_sensitive_fields(&self) -> bool {
        matches!(self.identity.role, Role::Admin | Role::Editor)
    }

    /// Refuses writes that only an actor without a scope may make.
    pub fn require_unscoped(&self, why: &str) -> Result<(), ApiError> {
        match self.scope() {
            None => Ok(()),
            Some(_) => Err(ApiError::Forbidden(why.to_owned())),
        }
    }
}

/// Verified tokens, kept for a few seconds so that most requests cost no database round trip. A revoked token
/// stays usable on other instances for at most the time to live; the instance that revokes it forgets it at once.
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<Vec<u8>, (Instant, Identity)>>,
}

/// Entries kept at most; past that the cache starts over rather than grow.
const TOKEN_CACHE_CAPACITY: usize = 10_000;

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &[u8]) -> Option<Identity> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, identity)| identity.clone())
    }

    fn put(&self, hash: Vec<u8>, identity: Identity) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (Instant::now(), identity));
    }

    /// Forgets every cached token of this name (after a revocation).
    pub fn forget(&self, name: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (_, identity)| identity.name != name);
    }
}

/// Requests allowed per key and minute, in fixed one-minute windows. Each instance counts on its own.
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`; refuses it with the seconds to wait when the window is full.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            let wait = WINDOW.saturating_sub(now.duration_since(*start)).as_secs().max(1);
            return Err(ApiError::TooManyRequests(wait));
        }
        *count += 1;
        Ok(())
    }
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be \"Bearer <token>\"".into(),
        )),
    }
}

fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
        .to_string()
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let token = bearer(req);
        let ip = client_ip(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let unauthenticated = |error: ApiError| {
                state.limiter.check(&format!("ip:{ip}"))?;
                Err(error)
            };
            let token = match token {
                Ok(Some(token)) => token,
                Ok(None) => return unauthenticated(ApiError::Unauthorized("a bearer token is required".into())),
                Err(e) => return unauthenticated(e),
            };
            let hash = hash_token(&token);
            let identity = match state.tokens.get(&hash) {
                Some(identity) => identity,
                None => {
                    let mut conn = state.read().await?;
                    match crate::models::token::find_active(&mut conn, &hash).await? {
                        Some(identity) => {
                            state.tokens.put(hash, identity.clone());
                            identity
                        }
                        None => {
                            return unauthenticated(ApiError::Unauthorized("the token is unknown or revoked".into()))
                        }
                    }
                }
            };
            state.limiter.check(&format!("token:{}", identity.name))?;
            Ok(Actor { identity, request_id })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, organisation_id: Option<Uuid>) -> Actor {
        Actor {
            identity: Identity {
                name: "t".into(),
                role,
                organisation_id,
            },
            request_id: String::new(),
        }
    }

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }

    #[test]
    fn admins_see_everything_and_others_their_subtree() {
        let org = Some(Uuid::now_v7());
        assert_eq!(actor(Role::Admin, None).scope(), None);
        assert_eq!(actor(Role::Editor, org).scope(), org);
        assert_eq!(actor(Role::Viewer, org).scope(), org);
        assert_eq!(actor(Role::Viewer, None).scope(), None);
    }

    #[test]
    fn viewers_cannot_write_and_only_admins_administer() {
        let org = Some(Uuid::now_v7());
        assert!(actor(Role::Viewer, None).require_writer().is_err());
        assert!(actor(Role::Editor, org).require_writer().is_ok());
        assert!(actor(Role::Editor, org).require_admin().is_err());
        assert!(actor(Role::Admin, None).require_admin().is_ok());
        assert!(actor(Role::Editor, org).require_unscoped("x").is_err());
        assert!(actor(Role::Admin, None).require_unscoped("x").is_ok());
    }

    #[test]
    fn sensitive_fields_are_for_admins_and_editors() {
        assert!(actor(Role::Admin, None).sees_sensitive_fields());
        assert!(actor(Role::Editor, Some(Uuid::now_v7())).sees_sensitive_fields());
        assert!(!actor(Role::Viewer, None).sees_sensitive_fields());
    }

    #[test]
    fn the_rate_limit_counts_per_key() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let refused = limiter.check("a").unwrap_err();
        assert!(matches!(refused, ApiError::TooManyRequests(s) if (1..=60).contains(&s)));
        assert!(limiter.check("b").is_ok());
    }

    #[test]
    fn the_cache_expires_and_forgets() {
        let identity = actor(Role::Admin, None).identity;
        let cache = TokenCache::new(Duration::from_secs(60));
        cache.put(vec![1], identity.clone());
        assert_eq!(cache.get(&[1]), Some(identity.clone()));
        cache.forget("t");
        assert_eq!(cache.get(&[1]), None);
        let expired = TokenCache::new(Duration::ZERO);
        expired.put(vec![1], identity);
        assert_eq!(expired.get(&[1]), None);
    }
}
