//! The `webhooks` and `webhook_deliveries` tables.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;

/// A subscription as stored, with its secret.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct WebhookRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Array<Text>)]
    pub resource_types: Vec<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub organisation_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// What the audit trail records of a subscription: everything but its secret.
#[derive(Debug, Serialize)]
pub struct WebhookAudit {
    pub url: String,
    pub resource_types: Vec<String>,
    pub organisation_id: Option<Uuid>,
    pub description: Option<String>,
    pub active: bool,
    pub version: i32,
}

impl WebhookRow {
    pub fn audit(&self) -> WebhookAudit {
        WebhookAudit {
            url: self.url.clone(),
            resource_types: self.resource_types.clone(),
            organisation_id: self.organisation_id,
            description: self.description.clone(),
            active: self.active,
            version: self.version,
        }
    }
}

const COLUMNS: &str =
    "id, url, resource_types, organisation_id, description, active, secret, version, created_at, updated_at";

/// A new subscription.
pub struct NewWebhook<'a> {
    pub id: Uuid,
    pub url: &'a str,
    pub resource_types: &'a [String],
    pub organisation_id: Option<Uuid>,
    pub description: Option<&'a str>,
    pub secret: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewWebhook<'_>) -> Result<WebhookRow, ApiError> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO webhooks (id, url, resource_types, organisation_id, description, secret) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(new.id)
    .bind::<Text, _>(new.url)
    .bind::<Array<Text>, _>(new.resource_types)
    .bind::<Nullable<SqlUuid>, _>(new.organisation_id)
    .bind::<Nullable<Text>, _>(new.description)
    .bind::<Text, _>(new.secret)
    .get_result(conn)
    .await?)
}

/// One subscription, locked for the rest of the transaction when `lock` says so.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> Result<Option<WebhookRow>, ApiError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let found = diesel::sql_query(format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1{lock}"))
        .bind::<SqlUuid, _>(id)
        .load::<WebhookRow>(conn)
        .await?;
    Ok(found.into_iter().next())
}

/// A page of subscriptions in id order, after `after`.
pub async fn list(conn: &mut AsyncPgConnection, after: Option<Uuid>, limit: i64) -> Result<Vec<WebhookRow>, ApiError> {
    Ok(diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM webhooks WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2"
    ))
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

pub async fn count(conn: &mut AsyncPgConnection) -> Result<i64, ApiError> {
    Ok(diesel::sql_query("SELECT count(*) AS count FROM webhooks")
        .get_result::<Count>(conn)
        .await?
        .count)
}

/// The values a change may set.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookValues {
    pub url: String,
    pub resource_types: Vec<String>,
    pub active: bool,
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, values: &WebhookValues) -> Result<WebhookRow, ApiError> {
    Ok(diesel::sql_query(format!(
        "UPDATE webhooks SET url = $2, resource_types = $3, active = $4, version = version + 1, updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(&values.url)
    .bind::<Array<Text>, _>(&values.resource_types)
    .bind::<Bool, _>(values.active)
    .get_result(conn)
    .await?)
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), ApiError> {
    diesel::sql_query("DELETE FROM webhooks WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One delivery of a feed entry to a subscription.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.position, d.status, d.attempts, d.last_status_code, \
    d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at";

/// A page of a subscription's deliveries, newest first, before `before`.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, ApiError> {
    Ok(diesel::sql_query(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1 \
         AND ($2::uuid IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3"
    ))
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<Nullable<SqlUuid>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// Makes a delivery due now again, whatever its state; `None` when the subscription has no such delivery.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<Option<DeliveryRow>, ApiError> {
    let found = diesel::sql_query(format!(
        "UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), leased_until = NULL \
         WHERE d.webhook_id = $1 AND d.id = $2 RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<SqlUuid, _>(delivery_id)
    .load::<DeliveryRow>(conn)
    .await?;
    Ok(found.into_iter().next())
}

/// A delivery claimed for sending, with where and how to send it.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
}

/// How long a claimed delivery stays with the instance that claimed it: longer than a send can take, so that no
/// other instance sends it meanwhile; an instance that dies mid-send leaves it to another after this time.
pub const LEASE_SECONDS: i64 = 60;

/// Claims up to `limit` due deliveries of active subscriptions. `FOR UPDATE SKIP LOCKED` lets several instances
/// claim at once without waiting for each other or taking the same row; the lease keeps a claimed row from the
/// others once this short transaction has committed.
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> Result<Vec<Claimed>, ApiError> {
    Ok(diesel::sql_query(
        "UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $2) \
         FROM webhooks w \
         WHERE d.id IN (\
             SELECT q.id FROM webhook_deliveries q JOIN webhooks a ON a.id = q.webhook_id AND a.active \
             WHERE q.status = 'pending' AND q.next_attempt_at <= now() \
               AND (q.leased_until IS NULL OR q.leased_until < now()) \
             ORDER BY q.next_attempt_at LIMIT $1 FOR UPDATE OF q SKIP LOCKED) \
           AND w.id = d.webhook_id \
         RETURNING d.id, d.position, d.attempts, d.created_at, w.url, w.secret",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(LEASE_SECONDS)
    .load(conn)
    .await?)
}

/// What became of one attempt.
pub struct Attempt {
    pub succeeded: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// When to try again after a failure; `None` gives up (`failed`).
    pub retry_in: Option<std::time::Duration>,
}

pub async fn record(conn: &mut AsyncPgConnection, id: Uuid, attempt: &Attempt) -> Result<(), ApiError> {
    let status = match (attempt.succeeded, attempt.retry_in) {
        (true, _) => "succeeded",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let retry_seconds = attempt.retry_in.map_or(0, |d| d.as_secs() as i64);
    diesel::sql_query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status_code = $3, \
         last_error = $4, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => $5), \
         leased_until = NULL WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .bind::<Nullable<Integer>, _>(attempt.status_code)
    .bind::<Nullable<Text>, _>(attempt.error.as_deref())
    .bind::<BigInt, _>(retry_seconds)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many deliveries wait and how many were given up, over every subscription.
#[derive(Debug, diesel::QueryableByName)]
pub struct Backlog {
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
}

pub async fn backlog(conn: &mut AsyncPgConnection) -> Result<Backlog, ApiError> {
    Ok(diesel::sql_query(
        "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending, \
                (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS failed",
    )
    .get_result(conn)
    .await?)
}
