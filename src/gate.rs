//! The gate every `/api/v1` request passes before any handler runs: the rate limit, then the token.
//!
//! Order matters. A caller whose token is not already known to be valid is first counted against its client
//! address, so a flood of made-up tokens is refused (429) before it costs a database query; a hash just found
//! unknown is remembered for a few seconds, so repeating it costs none either. A valid token then counts against
//! its own allowance. Limits are GCRA (`governor`), the token caches `moka`, both per instance and in memory.
//! Every response carries the `RateLimit-Policy` and `RateLimit` headers of the allowance it was counted against.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use moka::sync::Cache;

use crate::auth::{hash_token, Identity};
use crate::error::ApiError;
use crate::metrics::Limit;
use crate::state::AppState;

/// How long a verified token is trusted before it is checked against the database again; a revocation made on
/// another instance (or by the CLI) takes effect within this time.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// How long a token hash found unknown is answered 401 without asking the database again.
const UNKNOWN_CACHE_TTL: Duration = Duration::from_secs(5);
const TOKEN_CACHE_CAPACITY: u64 = 10_000;
const UNKNOWN_CACHE_CAPACITY: u64 = 100_000;
/// Keys the limiter keeps before it drops those whose allowance is full again.
const LIMITER_HOUSEKEEPING_AT: usize = 100_000;
/// The window the allowance is stated over, in seconds (`w` of the policy).
const WINDOW_SECS: u32 = 60;

pub const RATE_LIMIT_POLICY: &str = "ratelimit-policy";
pub const RATE_LIMIT: &str = "ratelimit";

type KeyedLimiter =
    governor::RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Where a request stands against its allowance, for the `RateLimit` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the whole allowance is available again.
    pub reset: u64,
}

/// What the gate found out about the caller, for the [`crate::auth::Actor`] extractor.
#[derive(Debug, Clone)]
pub enum Authentication {
    Valid(Identity),
    /// Why the request carries no usable token (401).
    Refused(String),
}

/// The limiter and the token caches of one instance.
pub struct Gate {
    per_minute: u32,
    limiter: KeyedLimiter,
    clock: DefaultClock,
    valid: Cache<Vec<u8>, Identity>,
    unknown: Cache<Vec<u8>, ()>,
}

impl Gate {
    pub fn new(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN));
        Gate {
            per_minute: per_minute.max(1),
            limiter: governor::RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
            valid: Cache::builder()
                .max_capacity(TOKEN_CACHE_CAPACITY)
                .time_to_live(TOKEN_CACHE_TTL)
                .support_invalidation_closures()
                .build(),
            unknown: Cache::builder()
                .max_capacity(UNKNOWN_CACHE_CAPACITY)
                .time_to_live(UNKNOWN_CACHE_TTL)
                .build(),
        }
    }

    /// The value of the `RateLimit-Policy` header.
    pub fn policy(&self) -> String {
        format!("\"default\";q={};w={WINDOW_SECS}", self.per_minute)
    }

    /// Counts one request for `key`: its allowance afterwards, or the refusal with the seconds to wait.
    pub fn count(&self, key: &str) -> Result<Allowance, ApiError> {
        if self.limiter.len() > LIMITER_HOUSEKEEPING_AT {
            self.limiter.retain_recent();
        }
        let per_request = f64::from(WINDOW_SECS) / f64::from(self.per_minute);
        match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset = (f64::from(self.per_minute - remaining.min(self.per_minute)) * per_request).ceil();
                Ok(Allowance {
                    remaining,
                    reset: reset as u64,
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now()).as_secs_f64().ceil().max(1.0);
                Err(ApiError::TooManyRequests(wait as u64))
            }
        }
    }

    /// Forgets every cached token of this name, after a revocation on this instance.
    pub fn forget(&self, name: &str) {
        let name = name.to_owned();
        // The closure is only refused when the cache was built without invalidation closures, which it is not.
        let _ = self
            .valid
            .invalidate_entries_if(move |_, identity| identity.name == name);
    }

    /// Authenticates a caller: the allowance it was counted against and what is known of its token, or the
    /// refusal (429, or 503 when the database cannot be asked) with the allowance the caller is left with.
    async fn admit(
        &self,
        state: &AppState,
        token: Result<Option<String>, String>,
        address: &str,
    ) -> Result<(Allowance, Authentication), (ApiError, Allowance)> {
        let count = |key: String, limit: Limit| {
            self.count(&key).map_err(|error| {
                state.metrics.refused(limit);
                let reset = match error {
                    ApiError::TooManyRequests(wait) => wait,
                    _ => 0,
                };
                (error, Allowance { remaining: 0, reset })
            })
        };
        let by_address = || count(format!("ip:{address}"), Limit::Address);
        let token = match token {
            Ok(Some(token)) => token,
            Ok(None) => return Ok((by_address()?, refused("a bearer token is required"))),
            Err(why) => return Ok((by_address()?, Authentication::Refused(why))),
        };
        let hash = hash_token(&token);
        if let Some(identity) = self.valid.get(&hash) {
            return Ok((
                count(format!("token:{}", identity.name), Limit::Token)?,
                Authentication::Valid(identity),
            ));
        }
        let allowance = by_address()?;
        if self.unknown.contains_key(&hash) {
            return Ok((allowance, refused("the token is unknown or revoked")));
        }
        let unavailable = |error: ApiError| (error, allowance);
        let mut conn = state.read().await.map_err(unavailable)?;
        let found = crate::resources::tokens::store::find_active(&mut conn, &hash)
            .await
            .map_err(|e| unavailable(e.into()))?;
        match found {
            Some(identity) => {
                self.valid.insert(hash, identity.clone());
                Ok((
                    count(format!("token:{}", identity.name), Limit::Token)?,
                    Authentication::Valid(identity),
                ))
            }
            None => {
                self.unknown.insert(hash, ());
                Ok((allowance, refused("the token is unknown or revoked")))
            }
        }
    }
}

fn refused(why: &str) -> Authentication {
    Authentication::Refused(why.to_owned())
}

/// The token of an `Authorization: Bearer` header; `Err` when the header is there but not of that form.
fn bearer(req: &HttpRequest) -> Result<Option<String>, String> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err("the Authorization header must be \"Bearer <token>\"".into()),
    }
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
        .to_string()
}

fn write_headers(headers: &mut HeaderMap, policy: &str, allowance: Allowance) {
    let value = format!("\"default\";r={};t={}", allowance.remaining, allowance.reset);
    for (name, value) in [(RATE_LIMIT_POLICY, policy.to_owned()), (RATE_LIMIT, value)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// The middleware in front of every `/api/v1` route.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let error = ApiError::Internal(anyhow::anyhow!("application state missing"));
        return Ok(req.into_response(error.error_response()));
    };
    let gate = &state.gate;
    let outcome = gate
        .admit(&state, bearer(req.request()), &client_address(req.request()))
        .await;
    match outcome {
        Ok((allowance, authentication)) => {
            req.extensions_mut().insert(authentication);
            let mut response = next.call(req).await?.map_into_boxed_body();
            write_headers(response.headers_mut(), &gate.policy(), allowance);
            Ok(response)
        }
        Err((error, allowance)) => {
            let mut response = req.into_response(error.error_response());
            write_headers(response.headers_mut(), &gate.policy(), allowance);
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_counts_down_per_key_and_refuses_past_it() {
        let gate = Gate::new(2);
        assert_eq!(gate.count("a").unwrap().remaining, 1);
        let last = gate.count("a").unwrap();
        assert_eq!(last.remaining, 0);
        assert!((59..=60).contains(&last.reset), "{last:?}");
        let refused = gate.count("a").unwrap_err();
        assert!(
            matches!(refused, ApiError::TooManyRequests(s) if (1..=30).contains(&s)),
            "{refused:?}"
        );
        assert_eq!(gate.count("b").unwrap().remaining, 1);
        assert_eq!(gate.policy(), "\"default\";q=2;w=60");
    }

    #[test]
    fn forgetting_a_name_drops_its_cached_tokens() {
        let gate = Gate::new(10);
        let identity = Identity {
            name: "t".into(),
            role: crate::auth::Role::Admin,
            organisation_id: None,
        };
        gate.valid.insert(vec![1], identity.clone());
        gate.valid.insert(
            vec![2],
            Identity {
                name: "u".into(),
                ..identity
            },
        );
        gate.forget("t");
        gate.valid.run_pending_tasks();
        assert!(gate.valid.get(&vec![1]).is_none());
        assert!(gate.valid.get(&vec![2]).is_some());
    }
}
