//! `/api/v1/dues` and `/api/v1/members/{id}/dues`: party dues payments. The handlers parse a request into domain
//! values, call one operation of the service and render its result.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service::{self, DuePatch, ListRequest, Payment, Period};
use super::store::{DueRow, DueValues};
use crate::auth::Actor;
use crate::domain::ids::{DueId, MemberId, OrganisationId};
use crate::error::ApiError;
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::state::AppState;

/// A dues payment: one member, one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct Due {
    pub id: Uuid,
    pub member_id: Uuid,
    /// The cell that collected it: the member's organisation when it was recorded. Read-only.
    pub organisation_id: Uuid,
    /// The month paid for, `YYYY-MM`.
    #[schema(
        example = "2012-05",
        min_length = 7,
        max_length = 7,
        pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
    )]
    pub period: String,
    /// Whole đồng.
    #[schema(example = 35000, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    #[schema(example = "2012-05-20")]
    pub paid_on: NaiveDate,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DueRow> for Due {
    fn from(row: DueRow) -> Self {
        Due {
            id: row.id.0,
            member_id: row.member_id.0,
            organisation_id: row.organisation_id.0,
            period: row.period,
            amount: row.values.amount,
            paid_on: row.values.paid_on,
            note: row.values.note,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn respond(response: HttpResponseBuilder, row: DueRow) -> HttpResponse {
    with_etag(response, row.version, Due::from(row))
}

/// A payment to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "period": "2012-05", "amount": 35000,
    "paid_on": "2012-05-20"}))]
pub struct CreateDue {
    /// A member inside the token's subtree.
    pub member_id: Uuid,
    /// The month paid for, `YYYY-MM`, not before the month of the member's admission; one payment per member and
    /// month (409).
    #[schema(min_length = 7, max_length = 7, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// Whole đồng, more than 0.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// Not in the future.
    pub paid_on: NaiveDate,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A JSON merge patch of a payment: the amount, the day and the note may be corrected; to move a payment to
/// another member or month, delete it and record it again.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": 40000}))]
pub struct UpdateDue {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub paid_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<Option<String>>,
}

/// Filters of the payment list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    member_id: Option<Uuid>,
    /// Payments collected by this organisation only.
    organisation_id: Option<Uuid>,
    /// Payments collected by this organisation and every organisation below it.
    under: Option<Uuid>,
    /// Payments for this month, `YYYY-MM`.
    #[param(example = "2012-05", max_length = 7, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    period: Option<String>,
    /// Payments for the months of this year (with `period` too: that month, when it lies in the year).
    #[param(example = 2012, minimum = 1930, maximum = 2999)]
    year: Option<i32>,
}

/// List dues payments
///
/// Lists the payments collected inside the token's subtree in the order they were recorded, filtered by member,
/// organisation, subtree, month or year.
#[utoipa::path(
    tag = "dues",
    params(DueQuery, PageParams),
    responses(
        (status = 200, description = "A page of payments", body = Page<Due>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_dues(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<DueQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let period_prefix = match (filters.period.as_deref(), filters.year) {
        (Some(p), Some(y)) => {
            let period = Period::parse(p).ok_or_else(|| ApiError::bad_request("period", "must be YYYY-MM"))?;
            if !period.to_string().starts_with(&format!("{y:04}-")) {
                // A month outside the year asked for: no payment is both.
                return Ok(page.empty::<Due>().respond());
            }
            Some(period.to_string())
        }
        (Some(p), None) => Some(
            Period::parse(p)
                .ok_or_else(|| ApiError::bad_request("period", "must be YYYY-MM"))?
                .to_string(),
        ),
        (None, Some(y)) if (1930..=2999).contains(&y) => Some(format!("{y:04}-")),
        (None, Some(_)) => return Err(ApiError::bad_request("year", "must be 1930 to 2999")),
        (None, None) => None,
    };
    let request = ListRequest {
        under: filters.under.map(OrganisationId),
        organisation_id: filters.organisation_id.map(OrganisationId),
        member_id: filters.member_id.map(MemberId),
        period_prefix,
        after: page.after::<DueId>()?,
        fetch: page.fetch(),
        count: page.count_exact,
    };
    let mut conn = state.read().await?;
    let (rows, total) = service::list(&mut conn, &actor, request).await?;
    Ok(page.finish(rows, |row| row.id, Due::from, total).respond())
}

/// Record a dues payment
///
/// Records a member's payment for one month, in whole đồng. The member must lie inside the token's subtree (422
/// otherwise), the month not before the month of the admission, `paid_on` not in the future. A second payment
/// for the same member and month is 409.
#[utoipa::path(
    tag = "dues",
    request_body(content = CreateDue, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = Due,
            headers(("Location" = String, description = "URL of the new payment"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
        (status = 409, response = Conflict),
    )
)]
#[post("")]
pub async fn create_due(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateDue>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let period = Period::parse(&b.period).ok_or_else(|| ApiError::invalid("period", "must be YYYY-MM"))?;
    let payment = Payment {
        member_id: MemberId(b.member_id),
        period,
        values: DueValues {
            amount: b.amount,
            paid_on: b.paid_on,
            note: b.note,
        },
    };
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::record(conn, &actor, payment).await)
        .await?;
    let created = HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/dues/{}", row.id)))
        .take();
    Ok(respond(created, row))
}

/// Read a dues payment
///
/// Reads one payment. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "dues",
    params(("id" = Uuid, Path, description = "Payment id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The payment", body = Due,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_due(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<DueId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::find(&mut conn, &actor, id.into_inner()).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), row))
}

/// Correct a dues payment
///
/// Corrects a payment's amount, day or note (JSON merge patch), with the same rules as when it was recorded.
#[utoipa::path(
    tag = "dues",
    params(("id" = Uuid, Path, description = "Payment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the payment has changed since")),
    request_body(content = UpdateDue, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The corrected payment", body = Due,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
    )
)]
#[patch("/{id}")]
pub async fn update_due(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<DueId>,
    preconditions: Preconditions,
    body: ApiJson<UpdateDue>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let patch = DuePatch {
        amount: b.amount,
        paid_on: b.paid_on,
        note: b.note,
    };
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), row))
}

/// Delete a dues payment
///
/// Deletes a payment recorded by mistake; the member's month is then unpaid again.
#[utoipa::path(
    tag = "dues",
    params(("id" = Uuid, Path, description = "Payment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the payment has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_due(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<DueId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a member's dues payments
///
/// Every payment of a member, oldest month first, wherever it was collected. The list is returned whole:
/// `next_cursor` is always null.
#[utoipa::path(
    tag = "dues",
    params(("id" = Uuid, Path, description = "Member id")),
    responses(
        (status = 200, description = "The payments", body = Page<Due>),
        ReadErrors,
    )
)]
#[get("/{id}/dues")]
pub async fn list_member_dues(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let rows = service::of_member(&mut conn, &actor, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(Due::from).collect::<Vec<_>>(),
        next_cursor: None,
        total: None,
    }))
}

/// Registers the routes under `/api/v1/dues`.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_dues)
        .service(create_due)
        .service(find_due)
        .service(update_due)
        .service(delete_due);
}

/// Registers the routes under `/api/v1/members`.
pub fn member_routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(list_member_dues);
}
