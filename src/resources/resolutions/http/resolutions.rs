//! `/api/v1/resolutions` and `/api/v1/resolutions/{id}`: the resolutions themselves.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ResolutionId};
use crate::domain::resolution::{ResolutionField, ResolutionStatus, Target, Targets};
use crate::error::ApiError;
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::resources::resolutions::service::{self, Lock, ResolutionPatch};
use crate::resources::resolutions::store::{ResolutionFields, ResolutionFilter, ResolutionRow};
use crate::state::AppState;

/// A thematic resolution issued by a committee.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resolution {
    pub id: Uuid,
    /// Unique per issuing organisation.
    #[schema(
        example = "05-NQ/HU",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub number: String,
    #[schema(
        example = "Nghị quyết chuyên đề về công tác phát triển đảng viên năm 2013",
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub title: String,
    /// A `superior_committee`, `base_committee` or `partial_committee`.
    pub issuing_organisation_id: Uuid,
    #[schema(example = "2013-01-15")]
    pub issued_on: NaiveDate,
    pub field: ResolutionField,
    #[schema(max_length = 10000, pattern = r"^[^\x00]*$")]
    pub summary: Option<String>,
    pub status: ResolutionStatus,
    /// Not before `issued_on`.
    pub valid_until: Option<NaiveDate>,
    #[schema(max_items = 100)]
    pub targets: Vec<Target>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new resolution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "05-NQ/HU", "title": "Nghị quyết chuyên đề về công tác phát triển đảng viên năm 2013",
    "issuing_organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00", "issued_on": "2013-01-15",
    "field": "member_development", "valid_until": "2013-12-31",
    "targets": [{"indicator": "new members admitted", "target": 300, "unit": "members"}]}))]
pub struct CreateResolution {
    #[schema(min_length = 1, max_length = 50, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub number: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub title: String,
    pub issuing_organisation_id: Uuid,
    pub issued_on: NaiveDate,
    pub field: ResolutionField,
    #[serde(default)]
    #[schema(max_length = 10000, pattern = r"^[^\x00]*$")]
    pub summary: Option<String>,
    /// Defaults to `in_force`.
    #[serde(default)]
    pub status: Option<ResolutionStatus>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// May be empty.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub targets: Vec<Target>,
}

/// A JSON merge patch of a resolution. `targets`, when given, replaces the whole list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "expired"}))]
pub struct UpdateResolution {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 50, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub issued_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = ResolutionField)]
    pub field: Option<Option<ResolutionField>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000, pattern = r"^[^\x00]*$")]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = ResolutionStatus)]
    pub status: Option<Option<ResolutionStatus>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_until: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<Target>>, max_items = 100)]
    pub targets: Option<Option<Vec<Target>>>,
}

/// Filters of the resolution list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResolutionQuery {
    issuing_organisation_id: Option<Uuid>,
    field: Option<ResolutionField>,
    status: Option<ResolutionStatus>,
    /// The year of `issued_on`.
    #[param(example = 2013, minimum = 1900, maximum = 2200, format = Int32)]
    year: Option<i32>,
    /// Accent- and case-insensitive text in the number or title.
    #[param(example = "phat trien dang vien", max_length = 200, pattern = r"^[^\x00]*$")]
    q: Option<String>,
}

impl From<ResolutionRow> for Resolution {
    fn from(r: ResolutionRow) -> Self {
        Resolution {
            id: r.id.0,
            number: r.fields.number,
            title: r.fields.title,
            issuing_organisation_id: r.fields.issuing_organisation_id.0,
            issued_on: r.fields.issued_on,
            field: r.fields.field,
            summary: r.fields.summary,
            status: r.fields.status,
            valid_until: r.fields.valid_until,
            targets: r.fields.targets.0,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<CreateResolution> for ResolutionFields {
    fn from(b: CreateResolution) -> Self {
        ResolutionFields {
            number: b.number,
            title: b.title,
            issuing_organisation_id: OrganisationId(b.issuing_organisation_id),
            issued_on: b.issued_on,
            field: b.field,
            summary: b.summary,
            status: b.status.unwrap_or(ResolutionStatus::InForce),
            valid_until: b.valid_until,
            targets: Targets(b.targets),
        }
    }
}

impl From<UpdateResolution> for ResolutionPatch {
    fn from(p: UpdateResolution) -> Self {
        ResolutionPatch {
            number: p.number,
            title: p.title,
            issued_on: p.issued_on,
            field: p.field,
            summary: p.summary,
            status: p.status,
            valid_until: p.valid_until,
            targets: p.targets.map(|t| t.map(Targets)),
        }
    }
}

impl ResolutionQuery {
    /// The list's filters; 400 on a value out of range.
    fn filter(self) -> Result<ResolutionFilter, ApiError> {
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::bad_request("q", "must be at most 200 characters"));
        }
        if self.year.is_some_and(|y| !(1900..=2200).contains(&y)) {
            return Err(ApiError::bad_request("year", "must be 1900 to 2200"));
        }
        Ok(ResolutionFilter {
            issuing_organisation_id: self.issuing_organisation_id,
            field: self.field,
            status: self.status,
            year: self.year,
            q: self.q,
            scope: None,
        })
    }
}

/// List resolutions
///
/// Lists resolutions, filtered by issuer, field, status, year or text. For a scoped token: those issued inside its
/// subtree or above it.
#[utoipa::path(
    tag = "resolutions",
    params(ResolutionQuery, PageParams),
    responses(
        (status = 200, description = "A page of resolutions", body = Page<Resolution>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_resolutions(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<ResolutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let filter = filters.filter()?;
    let mut conn = state.read().await?;
    let (rows, total) = service::list(&mut conn, &actor, filter, &page).await?;
    Ok(page.finish(rows, |r| r.id, Resolution::from, total).respond())
}

/// Read a resolution
///
/// Reads one resolution. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The resolution", body = Resolution,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<ResolutionId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::visible(&mut conn, &actor, *id, Lock::Unlocked).await?.row;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), row.version, Resolution::from(row)))
}

/// Issue a resolution
///
/// Issues a resolution. The issuing organisation must be inside the token's subtree; `valid_until` is not before
/// `issued_on` (422).
#[utoipa::path(
    tag = "resolutions",
    request_body(content = CreateResolution, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Resolution,
            headers(("Location" = String, description = "URL of the new resolution"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateResolution>,
) -> Result<HttpResponse, ApiError> {
    let fields = ResolutionFields::from(body.0);
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| service::create(conn, &actor, fields).await)
        .await?;
    let location = format!("/api/v1/resolutions/{}", created.id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        Resolution::from(created),
    ))
}

/// Change a resolution
///
/// Changes a resolution (JSON merge patch). The issuer cannot change; targets that implementations already report
/// on cannot be removed (422).
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    request_body(content = UpdateResolution, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed resolution", body = Resolution,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[patch("/{id}")]
pub async fn update_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<ResolutionId>,
    preconditions: Preconditions,
    body: ApiJson<UpdateResolution>,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match, patch) = (*id, preconditions.if_match(), ResolutionPatch::from(body.0));
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(with_etag(
        HttpResponse::Ok(),
        updated.version,
        Resolution::from(updated),
    ))
}

/// Delete a resolution
///
/// Deletes a resolution that no organisation has started implementing: 409 while it has implementation records.
#[utoipa::path(
    tag = "resolutions",
    params(("id" = Uuid, Path, description = "Resolution id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
        (status = 409, response = Conflict),
    )
)]
#[delete("/{id}")]
pub async fn delete_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<ResolutionId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (*id, preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
