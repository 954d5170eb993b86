//! `/api/v1/resolutions/{id}/implementations`: how the organisations under the issuer carry a resolution out.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ResolutionId};
use crate::domain::resolution::{Achievement, Achievements, ImplementationStatus};
use crate::error::ApiError;
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, NoFilters, Page, PageParams};
use crate::resources::resolutions::service::{self, ImplementationKey, ImplementationPatch};
use crate::resources::resolutions::store::{ImplementationFields, ImplementationRow};
use crate::state::AppState;

/// How one organisation carries a resolution out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Implementation {
    pub id: Uuid,
    pub resolution_id: Uuid,
    /// The implementing organisation, inside the issuer's subtree; the key of the implementation.
    pub organisation_id: Uuid,
    pub status: ImplementationStatus,
    #[schema(example = "2013-02-01")]
    pub plan_adopted_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    #[schema(max_length = 20000, pattern = r"^[^\x00]*$")]
    pub report: Option<String>,
    #[schema(max_items = 100)]
    pub results: Vec<Achievement>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new implementation record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "status": "planned",
    "plan_adopted_on": "2013-02-01"}))]
pub struct CreateImplementation {
    pub organisation_id: Uuid,
    /// Defaults to `planned`.
    #[serde(default)]
    pub status: Option<ImplementationStatus>,
    #[serde(default)]
    pub plan_adopted_on: Option<NaiveDate>,
    #[serde(default)]
    pub reported_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 20000, pattern = r"^[^\x00]*$")]
    pub report: Option<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub results: Vec<Achievement>,
}

/// A JSON merge patch of an implementation. `status` only moves forward; `results`, when given, replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "in_progress", "reported_on": "2013-06-30",
    "results": [{"indicator": "new members admitted", "achieved": 7}]}))]
pub struct UpdateImplementation {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = ImplementationStatus)]
    pub status: Option<Option<ImplementationStatus>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub plan_adopted_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub reported_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 20000, pattern = r"^[^\x00]*$")]
    pub report: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<Achievement>>, max_items = 100)]
    pub results: Option<Option<Vec<Achievement>>>,
}

impl From<ImplementationRow> for Implementation {
    fn from(r: ImplementationRow) -> Self {
        Implementation {
            id: r.id.0,
            resolution_id: r.resolution_id.0,
            organisation_id: r.organisation_id.0,
            status: r.status,
            plan_adopted_on: r.plan_adopted_on,
            reported_on: r.reported_on,
            report: r.report,
            results: r.results.0,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<CreateImplementation> for ImplementationFields {
    fn from(b: CreateImplementation) -> Self {
        ImplementationFields {
            status: b.status.unwrap_or(ImplementationStatus::Planned),
            plan_adopted_on: b.plan_adopted_on,
            reported_on: b.reported_on,
            report: b.report,
            results: Achievements(b.results),
        }
    }
}

impl From<UpdateImplementation> for ImplementationPatch {
    fn from(p: UpdateImplementation) -> Self {
        ImplementationPatch {
            status: p.status,
            plan_adopted_on: p.plan_adopted_on,
            reported_on: p.reported_on,
            report: p.report,
            results: p.results.map(|r| r.map(Achievements)),
        }
    }
}

/// The implementation a path names: the resolution's id, then the implementing organisation's.
fn key(path: web::Path<(ResolutionId, OrganisationId)>) -> ImplementationKey {
    let (resolution_id, organisation_id) = path.into_inner();
    ImplementationKey {
        resolution_id,
        organisation_id,
    }
}

/// List a resolution's implementations
///
/// Lists the implementations of a resolution in order of organisation id; for a scoped token, those by
/// organisations in its subtree.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"), PageParams),
    responses(
        (status = 200, description = "A page of implementations", body = Page<Implementation>),
        ReadErrors,
    )
)]
#[get("/{id}/implementations")]
pub async fn list_implementations(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<ResolutionId>,
    query: ListQuery<NoFilters>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page;
    let mut conn = state.read().await?;
    let (rows, total) = service::implementations(&mut conn, &actor, *id, &page).await?;
    Ok(page
        .finish(rows, |r| r.organisation_id, Implementation::from, total)
        .respond())
}

/// Record an implementation
///
/// Records how an organisation inside the issuer's subtree carries the resolution out. One record per organisation
/// and resolution (409); each result names one of the resolution's targets (422).
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id")),
    request_body(content = CreateImplementation, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Implementation,
            headers(("Location" = String, description = "URL of the implementation"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
        (status = 404, response = NotFound),
    )
)]
#[post("/{id}/implementations")]
pub async fn create_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<ResolutionId>,
    body: ApiJson<CreateImplementation>,
) -> Result<HttpResponse, ApiError> {
    let key = ImplementationKey {
        resolution_id: *id,
        organisation_id: OrganisationId(body.0.organisation_id),
    };
    let fields = ImplementationFields::from(body.0);
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| service::create_implementation(conn, &actor, key, fields).await)
        .await?;
    let location = format!(
        "/api/v1/resolutions/{}/implementations/{}",
        created.resolution_id, created.organisation_id
    );
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        Implementation::from(created),
    ))
}

/// Read an implementation
///
/// Reads the implementation of a resolution by one organisation. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("organisation_id" = Uuid, Path, description = "Implementing organisation id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The implementation", body = Implementation,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}/implementations/{organisation_id}")]
pub async fn find_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(ResolutionId, OrganisationId)>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::find_implementation(&mut conn, &actor, key(path)).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), row.version, Implementation::from(row)))
}

/// Report implementation progress
///
/// Reports progress (JSON merge patch). `status` moves only forward (`planned`, `in_progress`, `completed`): a
/// backwards move answers 409.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("organisation_id" = Uuid, Path, description = "Implementing organisation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    request_body(content = UpdateImplementation, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed implementation", body = Implementation,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[patch("/{id}/implementations/{organisation_id}")]
pub async fn update_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(ResolutionId, OrganisationId)>,
    preconditions: Preconditions,
    body: ApiJson<UpdateImplementation>,
) -> Result<HttpResponse, ApiError> {
    let (key, if_match, patch) = (key(path), preconditions.if_match(), ImplementationPatch::from(body.0));
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| service::update_implementation(conn, &actor, key, &if_match, patch).await)
        .await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        updated.version,
        Implementation::from(updated),
    ))
}

/// Delete an implementation
///
/// Deletes an implementation record of a resolution.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("organisation_id" = Uuid, Path, description = "Implementing organisation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/{id}/implementations/{organisation_id}")]
pub async fn delete_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(ResolutionId, OrganisationId)>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (key, if_match) = (key(path), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| service::delete_implementation(conn, &actor, key, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
