//! `Idempotency-Key` on every `POST`: one middleware, no code in the handlers.
//!
//! A `POST` with a key runs inside a transaction the middleware opens on a write connection. The handler gets
//! that connection from [`AppState::write`](crate::state::AppState::write) (through a task-local, so handlers do
//! not know about it) and its own transaction becomes a savepoint inside it. When the handler has answered, the
//! middleware stores the answer (status, `Location`, `ETag`, body) under the token and key, and commits: the change
//! and its key are one commit, so a crash leaves either both or neither, and a retry after a crash either replays
//! or runs for the first time.
//!
//! While the first request runs, it holds a transaction-level advisory lock on (token, key): a repeat that arrives
//! meanwhile cannot take it and answers 409 at once, never a second creation. A repeat after the commit finds the
//! stored answer: the same method, path, query and body replay it with `Idempotent-Replayed: true`; anything else
//! under the same key is 422. Answers of 5xx (and 408, 429) are not kept: nothing was changed, so a retry may run.
//! Keys expire after [`KEEP_FOR`]; the service's background work deletes expired ones.

use std::sync::Arc;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use diesel::sql_types::{BigInt, Binary, Jsonb, SmallInt, Text};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::db::DbConn;
use crate::error::ApiError;
use crate::extract::{body_timeout, read_body, BODY_LIMIT};
use crate::gate::Authentication;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// How long an answer is kept.
pub const KEEP_FOR: &str = "24 hours";
/// The response headers kept with an answer and replayed with it.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];
/// The largest answer kept (a reorganisation's report of every problem is the largest there is).
const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;

/// The connection of a request whose change commits with its key.
pub type Held = Arc<Mutex<DbConn>>;

tokio::task_local! {
    static HELD: Held;
}

/// The connection the current request's change must be made on, when the request carries an idempotency key.
pub fn held() -> Option<Held> {
    HELD.try_with(Arc::clone).ok()
}

/// Route prefixes whose bodies may be larger than [`BODY_LIMIT`], with their limits: the middleware reads the
/// body (to compare repeats) before the route's own extractor does.
const BODY_LIMITS: &[(&str, usize)] = &[
    (
        "/api/v1/reorganisations",
        crate::resources::reorganisations::http::REORGANISATION_BODY_LIMIT,
    ),
    ("/api/v1/imports", crate::extract::UPLOAD_LIMIT),
    ("/api/v1/meetings", crate::resources::meetings::http::MEETING_BODY_LIMIT),
];

fn body_limit(path: &str) -> usize {
    BODY_LIMITS
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or(BODY_LIMIT, |(_, limit)| *limit)
}

/// A key is 1 to 255 printable ASCII characters.
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(ApiError::bad_request(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// What a repeat must match: method, path with query, and body.
fn request_hash(method: &Method, target: &str, body: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(method.as_str());
    hash.update([0]);
    hash.update(target);
    hash.update([0]);
    hash.update(body);
    hash.finalize().to_vec()
}

/// The advisory lock a request holds on (token, key) while it runs.
fn lock_id(token: &str, key: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(token)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

#[derive(diesel::QueryableByName)]
struct Kept {
    #[diesel(sql_type = Binary)]
    request_hash: Vec<u8>,
    #[diesel(sql_type = SmallInt)]
    status: i16,
    #[diesel(sql_type = Jsonb)]
    headers: serde_json::Value,
    #[diesel(sql_type = Binary)]
    body: Vec<u8>,
}

/// What the stored state of a key says to do with a request.
enum Claim {
    /// First time: run it.
    Run,
    /// Replay this answer.
    Replay(HttpResponse),
}

/// Takes the key's lock and looks for a kept answer, inside the open transaction.
async fn claim(conn: &mut AsyncPgConnection, token: &str, key: &str, hash: &[u8]) -> Result<Claim, ApiError> {
    let locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<BigInt, _>(lock_id(token, key))
        .get_result::<Locked>(conn)
        .await?
        .locked;
    if !locked {
        return Err(ApiError::conflict(
            "a request with this Idempotency-Key is still being processed; retry when it has finished",
        ));
    }
    let kept = diesel::sql_query(
        "SELECT request_hash, status, headers, body FROM idempotency_keys \
         WHERE token_name = $1 AND key = $2 AND expires_at > now()",
    )
    .bind::<Text, _>(token)
    .bind::<Text, _>(key)
    .get_result::<Kept>(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        other => Err(other),
    })?;
    let Some(kept) = kept else {
        return Ok(Claim::Run);
    };
    if kept.request_hash != hash {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "was already used with another method, path or body; use a new key for a new request",
        ));
    }
    let status = StatusCode::from_u16(kept.status as u16).unwrap_or(StatusCode::OK);
    let mut replay = HttpResponse::build(status);
    if let Some(headers) = kept.headers.as_object() {
        for (name, value) in headers {
            if let (Ok(name), Some(value)) = (HeaderName::try_from(name.as_str()), value.as_str()) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    replay.insert_header((name, value));
                }
            }
        }
    }
    replay.insert_header((
        HeaderName::from_static(IDEMPOTENT_REPLAYED),
        HeaderValue::from_static("true"),
    ));
    Ok(Claim::Replay(replay.body(kept.body)))
}

/// Keeps an answer under the key, in the transaction of the change it answers.
async fn keep(
    conn: &mut AsyncPgConnection,
    token: &str,
    key: &str,
    hash: &[u8],
    status: StatusCode,
    headers: serde_json::Value,
    body: &[u8],
) -> Result<(), ApiError> {
    diesel::sql_query(format!(
        "INSERT INTO idempotency_keys (token_name, key, request_hash, status, headers, body, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now() + interval '{KEEP_FOR}') \
         ON CONFLICT (token_name, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, \
         status = EXCLUDED.status, headers = EXCLUDED.headers, body = EXCLUDED.body, \
         created_at = now(), expires_at = EXCLUDED.expires_at"
    ))
    .bind::<Text, _>(token)
    .bind::<Text, _>(key)
    .bind::<Binary, _>(hash)
    .bind::<SmallInt, _>(status.as_u16() as i16)
    .bind::<Jsonb, _>(headers)
    .bind::<Binary, _>(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes expired keys, a batch at a time; returns how many went.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    Ok(diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(\
         SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT 10000))",
    )
    .execute(conn)
    .await?)
}

/// Whether an answer with this status is kept: the handler ran and decided. 5xx, 408 and 429 changed nothing and
/// say "try again", so a retry runs afresh.
fn kept(status: StatusCode) -> bool {
    !status.is_server_error() && status != StatusCode::REQUEST_TIMEOUT && status != StatusCode::TOO_MANY_REQUESTS
}

fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}

/// The middleware; it sits inside the gate, so the caller's token is known.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(value) = (req.method() == Method::POST)
        .then(|| req.headers().get(IDEMPOTENCY_KEY).cloned())
        .flatten()
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let token = match req.extensions().get::<Authentication>() {
        Some(Authentication::Valid(identity)) => Some(identity.name.clone()),
        _ => None,
    };
    // Without a valid token the handler refuses the request (401) before anything runs.
    let Some(token) = token else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match parse_key(&value) {
        Ok(key) => key,
        Err(error) => return Ok(refuse(req, error)),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(refuse(
            req,
            ApiError::Internal(anyhow::anyhow!("application state missing")),
        ));
    };
    let limit = body_limit(req.path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Ok(refuse(req, ApiError::PayloadTooLarge(limit)));
    }
    let wait = body_timeout(req.request());
    let mut payload = req.take_payload();
    let body = match read_body(&mut payload, limit, wait).await {
        Ok(body) => body,
        Err(error) => return Ok(refuse(req, error)),
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |pq| pq.as_str())
        .to_owned();
    let hash = request_hash(req.method(), &target, &body);
    req.set_payload(actix_web::dev::Payload::from(bytes::Bytes::from(body)));

    let mut conn = match state.pooled_write().await {
        Ok(conn) => conn,
        Err(error) => return Ok(refuse(req, error)),
    };
    if let Err(error) = AnsiTransactionManager::begin_transaction(&mut *conn).await {
        return Ok(refuse(req, error.into()));
    }
    match claim(&mut conn, &token, &key, &hash).await {
        Ok(Claim::Run) => {}
        Ok(Claim::Replay(answer)) => {
            // Nothing was written: closing the transaction releases the lock.
            let _ = AnsiTransactionManager::rollback_transaction(&mut *conn).await;
            return Ok(req.into_response(answer));
        }
        Err(error) => {
            let _ = AnsiTransactionManager::rollback_transaction(&mut *conn).await;
            return Ok(refuse(req, error));
        }
    }

    let held: Held = Arc::new(Mutex::new(conn));
    let response = HELD.scope(Arc::clone(&held), next.call(req)).await?;
    let mut conn = held.lock().await;
    let status = response.status();
    let (request, response) = response.into_parts();
    let (head, answer) = response.into_parts();
    let body = match body::to_bytes_limited(answer, MAX_KEPT_BODY).await {
        Ok(Ok(bytes)) => bytes,
        _ => {
            let _ = AnsiTransactionManager::rollback_transaction(&mut **conn).await;
            let error = ApiError::Internal(anyhow::anyhow!("an answer could not be kept for its idempotency key"));
            return Ok(ServiceResponse::new(request, error.error_response()));
        }
    };
    if !kept(status) {
        let _ = AnsiTransactionManager::rollback_transaction(&mut **conn).await;
        return Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(body))));
    }
    let headers: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = head.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), serde_json::Value::String(value.to_owned())))
        })
        .collect();
    let stored = async {
        keep(&mut conn, &token, &key, &hash, status, headers.into(), &body).await?;
        AnsiTransactionManager::commit_transaction(&mut **conn).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match stored {
        Ok(()) => Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(body)))),
        Err(_) if !status.is_success() => {
            // A refusal changed nothing, kept or not (a failed statement may have ended the transaction): it is
            // still the answer, and a retry with the key runs afresh.
            let _ = AnsiTransactionManager::rollback_transaction(&mut **conn).await;
            Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(body))))
        }
        Err(error) => {
            // The change was not committed either: the client may retry with the same key.
            let _ = AnsiTransactionManager::rollback_transaction(&mut **conn).await;
            let error = match error {
                ApiError::Internal(_) => ApiError::Unavailable,
                other => other,
            };
            Ok(ServiceResponse::new(request, error.error_response()))
        }
    }
}
