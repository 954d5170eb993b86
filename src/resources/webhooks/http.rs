//! `/api/v1/webhooks`: subscriptions to the change feed and their delivery log, for admins.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, NoFilters, Page, PageParams};
use crate::resources::changes::http::ResourceType;
use crate::resources::webhooks::service::{self, Subscription, WebhookPatch};
use crate::resources::webhooks::store::{DeliveryRow, WebhookRow};
use crate::state::AppState;
use crate::write::etag;

/// A subscription to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://warehouse.thanhson.example/partybase/hooks",
    "resource_types": ["member", "organisation"], "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00",
    "description": "Province data warehouse"}))]
pub struct CreateWebhook {
    /// Where to `POST` each change: `http` or `https`. A host that is or resolves to a loopback, link-local,
    /// unspecified or multicast address is refused (422) unless the operator listed it in
    /// `PARTYBASE_WEBHOOK_ALLOWED_HOSTS`; so is a host that does not resolve.
    #[schema(
        min_length = 8,
        max_length = 2000,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20]+$"
    )]
    pub url: String,
    /// The resource types to deliver; empty or absent: all.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub resource_types: Vec<ResourceType>,
    /// Deliver only changes inside this organisation's subtree.
    #[serde(default)]
    pub organisation_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00]*$")]
    pub description: Option<String>,
}

/// A change to a subscription (JSON merge patch). No field may be null.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdateWebhook {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 8, max_length = 2000, pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20]+$")]
    pub url: Option<Option<String>>,
    /// `[]`: every type.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Vec<ResourceType>, max_items = 10)]
    pub resource_types: Option<Option<Vec<ResourceType>>>,
    /// `false` pauses deliveries: changes are still offered to the subscription and wait, and are sent when it is
    /// `true` again (a change older than three days is tried once).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = bool)]
    pub active: Option<Option<bool>>,
}

/// A subscription, without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e55",
    "url": "https://warehouse.thanhson.example/partybase/hooks", "resource_types": ["member", "organisation"],
    "organisation_id": null, "description": "Province data warehouse", "active": true, "version": 1,
    "created_at": "2026-12-05T08:00:00Z", "updated_at": "2026-12-05T08:00:00Z"}))]
pub struct Webhook {
    pub id: Uuid,
    #[schema(max_length = 2000)]
    pub url: String,
    /// Empty: every type.
    #[schema(max_items = 10)]
    pub resource_types: Vec<ResourceType>,
    pub organisation_id: Option<Uuid>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub active: bool,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WebhookRow> for Webhook {
    fn from(row: &WebhookRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url.clone(),
            resource_types: row.resource_types.iter().filter_map(|t| t.parse().ok()).collect(),
            organisation_id: row.organisation_id,
            description: row.description.clone(),
            active: row.active,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new subscription with its signing secret, which is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Verifies `webhook-signature`: HMAC-SHA256 keyed with the base64-decoded part after `whsec_`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4Ws6Ot0BTZA=", max_length = 50)]
    pub secret: String,
}

/// What became of one change offered to a subscription.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e77", "webhook_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e55",
    "cursor": "1042", "status": "pending", "attempts": 1, "last_status_code": 503,
    "last_error": "the receiver answered 503 Service Unavailable", "last_attempt_at": "2026-12-05T08:15:03Z",
    "next_attempt_at": "2026-12-05T08:15:08Z", "created_at": "2026-12-05T08:15:02Z"}))]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The change delivered: its feed cursor, sent as `webhook-id`.
    #[schema(max_length = 19, pattern = r"^[0-9]{1,19}$")]
    pub cursor: String,
    pub status: DeliveryStatus,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub attempts: i32,
    /// The receiver's status code at the last attempt; null when it did not answer.
    #[schema(minimum = 100, maximum = 599)]
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    #[schema(max_length = 2000)]
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When it is tried next while `pending`.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

crate::domain::text_enum! {
    /// Where a delivery stands.
    #[schema(example = "succeeded")]
    DeliveryStatus {
        /// Not yet delivered; tried again at `next_attempt_at`.
        Pending => "pending",
        Succeeded => "succeeded",
        /// Given up after three days of attempts; `retry` tries again.
        Failed => "failed",
    }
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            webhook_id: row.webhook_id,
            cursor: row.position.to_string(),
            status: row.status.parse().unwrap_or(DeliveryStatus::Pending),
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            last_attempt_at: row.last_attempt_at,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        }
    }
}

fn respond(mut response: actix_web::HttpResponseBuilder, row: &WebhookRow) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(row.version)))
        .json(Webhook::from(row))
}

/// List webhooks
///
/// Lists the subscriptions, never their secrets. Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(PageParams),
    responses(
        (status = 200, description = "A page of subscriptions", body = Page<Webhook>),
        ListErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<NoFilters>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let page = query.page;
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let rows = crate::resources::webhooks::store::list(&mut conn, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(crate::resources::webhooks::store::count(&mut conn).await?)
    } else {
        None
    };
    Ok(page.finish(rows, |r| r.id, |r| Webhook::from(&r), total).respond())
}

/// Subscribe a webhook
///
/// Subscribes `url` to the change feed: each change that matches `resource_types` and `organisation_id` is sent
/// as a `POST` of its feed entry, with the Standard Webhooks headers `webhook-id` (the entry's cursor, the same on
/// every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and base64 of HMAC-SHA256 over
/// `{id}.{timestamp}.{body}`, keyed with the secret's decoded bytes). Any 2xx within 10 seconds is success;
/// otherwise the delivery is retried after about 5 s, 30 s, 2 min, 10 min, 1 h, then every 6 h, for three days.
/// The answer carries the secret, the only time it is shown. Admin only.
#[utoipa::path(
    tag = "webhooks",
    request_body(content = CreateWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "Subscribed", body = CreatedWebhook,
            headers(("Location" = String, description = "URL of the subscription"),
                ("ETag" = String, description = "The version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let allowed = state.background.allowed.clone();
    let new = Subscription {
        url: body.url,
        resource_types: body.resource_types,
        organisation_id: body.organisation_id,
        description: body.description,
    };
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| service::create(conn, &actor, &allowed, new).await)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", row.id)))
        .insert_header((header::ETAG, etag(row.version)))
        .json(CreatedWebhook {
            webhook: Webhook::from(&row),
            secret: row.secret.clone(),
        }))
}

/// Read a webhook
///
/// Reads one subscription, never its secret. Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag read before; 304 when it is still current")),
    responses(
        (status = 200, description = "The subscription", body = Webhook,
            headers(("ETag" = String, description = "The version, quoted"))),
        (status = 304, description = "Not modified"),
        ReadErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("/{id}")]
pub async fn find_webhook(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let row = service::find(&mut *state.read().await?, &actor, *id).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), &row))
}

/// Change a webhook
///
/// Changes a subscription (JSON merge patch): `url` (checked as on subscription), `resource_types`, `active`
/// (`false` pauses deliveries: the changes meanwhile wait and are sent when it is `true` again). Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the subscription has changed since")),
    request_body(content = UpdateWebhook, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed subscription", body = Webhook,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
    )
)]
#[patch("/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match, body) = (*id, preconditions.if_match(), body.0);
    let patch = WebhookPatch {
        url: body.url,
        resource_types: body.resource_types,
        active: body.active,
    };
    let allowed = state.background.allowed.clone();
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| service::update(conn, &actor, &allowed, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), &row))
}

/// Delete a webhook
///
/// Ends a subscription with its delivery log; nothing more is sent to it. Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the subscription has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (*id, preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a webhook's deliveries
///
/// The delivery log of a subscription, newest first: each change offered to it, with its status (`pending`,
/// `succeeded`, `failed`), the attempts made, the receiver's last status code and when it is tried next. Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<Delivery>),
        ReadErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    query: ListQuery<NoFilters>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page;
    let before = page.after::<Uuid>()?;
    let rows = service::deliveries(&mut *state.read().await?, &actor, *id, before, page.fetch()).await?;
    Ok(page.finish(rows, |r| r.id, Delivery::from, None).respond())
}

/// Retry a delivery
///
/// Makes a delivery due now, whatever became of it (a `failed` one included); the background sender picks it up
/// within a second or so. The answer is the delivery as it stands before the attempt. Admin only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Due now", body = Delivery),
        ReadErrors,
        (status = 403, response = Forbidden),
    )
)]
#[post("/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let mut conn = state.write().await?;
    let delivery = conn
        .transaction(async move |conn| service::retry(conn, &actor, id, delivery_id).await)
        .await?;
    Ok(HttpResponse::Accepted().json(Delivery::from(delivery)))
}

/// Registers the webhook routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_webhooks)
        .service(create_webhook)
        .service(find_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(retry_delivery);
}
