//! Sending deliveries: the Standard Webhooks headers and signature, the retry schedule, and the loop a background
//! task runs.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::DbPool;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::resources::changes::http::Change;
use crate::resources::changes::store as feed;
use crate::resources::webhooks::store::{self, Attempt, Claimed};
use crate::resources::webhooks::target::{self, Allowed, Resolver};

/// The prefix of a secret; base64 of 32 random bytes follows.
pub const SECRET_PREFIX: &str = "whsec_";
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery is retried before it is `failed`.
const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(3);
/// The most deliveries one instance sends at once.
const AT_ONCE: i64 = 16;

/// A new secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` value: `v1,` and base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the
/// secret's decoded bytes.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, ApiError> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored webhook secret is not base64: {e}")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("webhook key refused: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// When to try again after the `attempts`-th failed attempt: about 5 s, 30 s, 2 min, 10 min, 1 h, then every 6 h,
/// until three days after the delivery was made; `None` gives up.
pub fn retry_in(attempts: i32, created_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    let wait = match attempts {
        ..=1 => Duration::from_secs(5),
        2 => Duration::from_secs(30),
        3 => Duration::from_secs(120),
        4 => Duration::from_secs(600),
        5 => Duration::from_secs(3600),
        _ => Duration::from_secs(6 * 3600),
    };
    let next = now + chrono::TimeDelta::from_std(wait).ok()?;
    (next <= created_at + GIVE_UP_AFTER).then_some(wait)
}

/// The HTTP client deliveries are sent with: a timeout, no redirects, no proxy, and the resolver that keeps
/// internal addresses out.
pub fn client(allowed: &Allowed) -> anyhow::Result<reqwest::Client> {
    // rustls needs a process-wide crypto provider; another caller may have installed it already. ring builds with
    // a C compiler alone (aws-lc, rustls's default, needs more of a toolchain); its lack of post-quantum key
    // exchange is what rustls deprecates it for, which a webhook's short-lived signed POST can live with.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("partybase-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(std::sync::Arc::new(Resolver(allowed.clone())))
        .build()?)
}

/// Sends one claimed delivery and says what became of it.
async fn attempt(
    client: &reqwest::Client,
    allowed: &Allowed,
    pool: &DbPool,
    claimed: &Claimed,
) -> Result<Attempt, ApiError> {
    let failed = |error: String| Attempt {
        succeeded: false,
        status_code: None,
        error: Some(error),
        retry_in: retry_in(claimed.attempts + 1, claimed.created_at, Utc::now()),
    };
    let entry = feed::entry(&mut *pool.get().await?, claimed.position).await?;
    let Some(entry) = entry else {
        return Ok(Attempt {
            retry_in: None,
            ..failed("the change is no longer kept by the feed".into())
        });
    };
    let (_, host, _) = match target::parse(&claimed.url) {
        Ok(parsed) => parsed,
        Err(why) => return Ok(failed(format!("url {why}"))),
    };
    // An address written in the URL is not resolved, so the client's resolver does not see it: check it here.
    if let Ok(address) = host.parse() {
        if !allowed.permits(&host, address) {
            return Ok(failed(format!("url points at an internal address ({address})")));
        }
    }
    let id = entry.position.to_string();
    let body = serde_json::to_vec(&Change::try_from(entry)?).map_err(|e| ApiError::Internal(e.into()))?;
    let timestamp = Utc::now().timestamp();
    let signature = signature(&claimed.secret, &id, timestamp, &body)?;
    let sent = client
        .post(&claimed.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(response) if response.status().is_success() => Attempt {
            succeeded: true,
            status_code: Some(i32::from(response.status().as_u16())),
            error: None,
            retry_in: None,
        },
        Ok(response) => Attempt {
            status_code: Some(i32::from(response.status().as_u16())),
            ..failed(format!("the receiver answered {}", response.status()))
        },
        Err(error) if error.is_timeout() => failed(format!("no answer within {} seconds", TIMEOUT.as_secs())),
        Err(error) => failed(format!("cannot reach the receiver: {}", describe(&error))),
    })
}

/// An error with its causes, which say what actually went wrong (a refused address, a refused connection).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Claims the due deliveries and sends them, all at once; returns how many it sent.
pub async fn send_due(
    client: &reqwest::Client,
    allowed: &Allowed,
    pool: &DbPool,
    metrics: &Metrics,
) -> Result<usize, ApiError> {
    let claimed = store::claim(&mut *pool.get().await?, AT_ONCE).await?;
    let sends = claimed.iter().map(|delivery| async move {
        let outcome = match attempt(client, allowed, pool, delivery).await {
            Ok(outcome) => outcome,
            Err(error) => Attempt {
                succeeded: false,
                status_code: None,
                error: Some(format!("the service could not send it: {error}")),
                retry_in: retry_in(delivery.attempts + 1, delivery.created_at, Utc::now()),
            },
        };
        metrics.delivery_attempt(match (outcome.succeeded, outcome.retry_in) {
            (true, _) => "succeeded",
            (false, Some(_)) => "retry",
            (false, None) => "failed",
        });
        store::record(&mut *pool.get().await?, delivery.id, &outcome).await
    });
    for result in futures_util::future::join_all(sends).await {
        result?;
    }
    Ok(claimed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_standard_webhooks() {
        // The key is the decoded secret; the signed content is "{id}.{timestamp}.{body}".
        let secret = format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(b"0123456789abcdef0123456789abcdef")
        );
        let signed = signature(&secret, "42", 1_700_000_000, b"{}").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
        mac.update(b"42.1700000000.{}");
        assert_eq!(signed, format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())));
    }

    #[test]
    fn retries_back_off_then_give_up_after_three_days() {
        let made = Utc::now();
        assert_eq!(retry_in(1, made, made), Some(Duration::from_secs(5)));
        assert_eq!(retry_in(2, made, made), Some(Duration::from_secs(30)));
        assert_eq!(retry_in(6, made, made), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(retry_in(9, made, made + chrono::TimeDelta::hours(70)), None);
    }
}
