//! `/api/v1/resolutions`: thematic resolutions and their implementations by the organisations under the issuer.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::resolution::{
    check_results, check_targets, may_move, Achievement, ImplementationStatus, ResolutionField, ResolutionStatus,
    Target,
};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, NoFilters, Page, PageParams};
use crate::resources::organisations::store as organisations;
use crate::resources::resolutions::store::{
    self as model, ImplementationRow, ImplementationValues, ResolutionFilter, ResolutionRow, ResolutionValues,
};
use crate::state::AppState;
use crate::store::TreePath;
use crate::write;

const RESOURCE: &str = "resolution";
const IMPLEMENTATION: &str = "implementation";

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

impl From<ResolutionRow> for Resolution {
    fn from(r: ResolutionRow) -> Self {
        Resolution {
            id: r.id,
            number: r.number,
            title: r.title,
            issuing_organisation_id: r.issuing_organisation_id,
            issued_on: r.issued_on,
            field: r.field,
            summary: r.summary,
            status: r.status,
            valid_until: r.valid_until,
            targets: serde_json::from_value(r.targets).unwrap_or_default(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
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

impl From<ImplementationRow> for Implementation {
    fn from(r: ImplementationRow) -> Self {
        Implementation {
            id: r.id,
            resolution_id: r.resolution_id,
            organisation_id: r.organisation_id,
            status: r.status,
            plan_adopted_on: r.plan_adopted_on,
            reported_on: r.reported_on,
            report: r.report,
            results: serde_json::from_value(r.results).unwrap_or_default(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
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

/// The caller's scope as a path, looked up once.
async fn scope_path(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Option<TreePath>, ApiError> {
    Ok(organisations::subtree_paths(conn, actor.scope(), None)
        .await?
        .and_then(|(scope, _)| scope))
}

/// Whether a caller confined to `scope` may read a resolution issued at `issuer`: issued inside its subtree, or
/// above it (a resolution of a superior committee applies to the organisations below).
fn may_read(scope: Option<&TreePath>, issuer: &TreePath) -> bool {
    scope.is_none_or(|s| issuer.is_within(s) || s.is_within(issuer))
}

/// Whether a caller confined to `scope` may change a resolution issued at `issuer`: issued inside its subtree.
fn may_write(scope: Option<&TreePath>, issuer: &TreePath) -> bool {
    scope.is_none_or(|s| issuer.is_within(s))
}

/// Reads a resolution the actor may see, with its issuer's path and the actor's scope path.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<(ResolutionRow, TreePath, Option<TreePath>), ApiError> {
    let scope = scope_path(conn, actor).await?;
    let found = if lock {
        model::find_for_update(conn, id).await?
    } else {
        model::find(conn, id).await?
    };
    match found {
        Some((row, issuer)) if may_read(scope.as_ref(), &issuer) => Ok((row, issuer, scope)),
        _ => Err(ApiError::not_found(RESOURCE)),
    }
}

fn forbid_unless_writable(scope: Option<&TreePath>, issuer: &TreePath) -> Result<(), ApiError> {
    if may_write(scope, issuer) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the resolution was issued above this token's organisation: it may only report its implementation".into(),
        ))
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
    ),
    security(("bearer" = []))
)]
#[get("")]
pub async fn list_resolutions(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<ResolutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    if filters.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("q", "must be at most 200 characters"));
    }
    if filters.year.is_some_and(|y| !(1900..=2200).contains(&y)) {
        return Err(ApiError::bad_request("year", "must be 1900 to 2200"));
    }
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let filter = ResolutionFilter {
        issuing_organisation_id: filters.issuing_organisation_id,
        field: filters.field,
        status: filters.status,
        year: filters.year,
        q: filters.q,
        scope: scope_path(&mut conn, &actor).await?,
    };
    let rows = model::list(&mut conn, &filter, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count(&mut conn, &filter).await?)
    } else {
        None
    };
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
    ),
    security(("bearer" = []))
)]
#[get("/{id}")]
pub async fn find_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let (row, _, _) = visible(&mut conn, &actor, *id, false).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), row.version, Resolution::from(row)))
}

fn check_resolution(v: &ResolutionValues, targets: &[Target]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if v.number.trim().is_empty() || v.number.chars().count() > 50 {
        errors.push(FieldError::new("number", "must be 1 to 50 characters, not blank"));
    }
    if v.title.trim().is_empty() || v.title.chars().count() > 500 {
        errors.push(FieldError::new("title", "must be 1 to 500 characters, not blank"));
    }
    if v.summary.as_deref().is_some_and(|s| s.chars().count() > 10_000) {
        errors.push(FieldError::new("summary", "must be at most 10000 characters"));
    }
    if v.valid_until.is_some_and(|until| until < v.issued_on) {
        errors.push(FieldError::new("valid_until", "must not be before issued_on"));
    }
    errors.extend(check_targets(targets));
    errors
}

/// Checks that the issuer exists, is a committee and lies in the actor's subtree.
async fn check_issuer(conn: &mut AsyncPgConnection, actor: &Actor, id: Uuid) -> Result<(), ApiError> {
    let scope = scope_path(conn, actor).await?;
    let issuer = organisations::find_visible(conn, id, None).await?;
    let Some(issuer) = issuer.filter(|o| may_read(scope.as_ref(), &o.path)) else {
        return Err(ApiError::invalid(
            "issuing_organisation_id",
            "no organisation with this id",
        ));
    };
    forbid_unless_writable(scope.as_ref(), &issuer.path)?;
    if !issuer.kind.is_committee() {
        return Err(ApiError::invalid(
            "issuing_organisation_id",
            format!("resolutions are issued by committees, not by a {}", issuer.kind),
        ));
    }
    Ok(())
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
    ),
    security(("bearer" = []))
)]
#[post("")]
pub async fn create_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateResolution>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let b = body.0;
    let errors = check_resolution(
        &ResolutionValues {
            number: b.number.clone(),
            title: b.title.clone(),
            issuing_organisation_id: b.issuing_organisation_id,
            issued_on: b.issued_on,
            field: b.field,
            summary: b.summary.clone(),
            status: ResolutionStatus::InForce,
            valid_until: b.valid_until,
            targets: serde_json::Value::Null,
        },
        &b.targets,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let values = ResolutionValues {
        number: b.number,
        title: b.title,
        issuing_organisation_id: b.issuing_organisation_id,
        issued_on: b.issued_on,
        field: b.field,
        summary: b.summary,
        status: b.status.unwrap_or(ResolutionStatus::InForce),
        valid_until: b.valid_until,
        targets: serde_json::to_value(&b.targets).unwrap_or_default(),
    };
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            check_issuer(conn, &actor, values.issuing_organisation_id).await?;
            let view = Resolution::from(model::insert(conn, &values).await?);
            audit::record(conn, &actor, Action::Create, RESOURCE, view.id, None, Some(&view)).await?;
            Ok(view)
        })
        .await?;
    let location = format!("/api/v1/resolutions/{}", created.id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        created,
    ))
}

fn merge_resolution(row: &ResolutionRow, p: UpdateResolution) -> Result<(ResolutionValues, Vec<Target>), ApiError> {
    let mut errors = Vec::new();
    let current_targets: Vec<Target> = serde_json::from_value(row.targets.clone()).unwrap_or_default();
    let targets = match p.targets {
        None => current_targets,
        Some(t) => t.unwrap_or_default(),
    };
    let values = ResolutionValues {
        number: write::required(&mut errors, "number", p.number, &row.number),
        title: write::required(&mut errors, "title", p.title, &row.title),
        issuing_organisation_id: row.issuing_organisation_id,
        issued_on: write::required(&mut errors, "issued_on", p.issued_on, &row.issued_on),
        field: write::required(&mut errors, "field", p.field, &row.field),
        summary: p.summary.unwrap_or_else(|| row.summary.clone()),
        status: write::required(&mut errors, "status", p.status, &row.status),
        valid_until: p.valid_until.unwrap_or(row.valid_until),
        targets: serde_json::to_value(&targets).unwrap_or_default(),
    };
    if errors.is_empty() {
        Ok((values, targets))
    } else {
        Err(ApiError::Validation(errors))
    }
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
    ),
    security(("bearer" = []))
)]
#[patch("/{id}")]
pub async fn update_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateResolution>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let patch = body.0;
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let (row, issuer, scope) = visible(conn, &actor, id, true).await?;
            forbid_unless_writable(scope.as_ref(), &issuer)?;
            preconditions.check_if_match(row.version)?;
            let (values, targets) = merge_resolution(&row, patch)?;
            let errors = check_resolution(&values, &targets);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            // Results are reported against the targets: a target that results still report on stays.
            let reported = model::reported_indicators(conn, id).await?;
            let dropped: Vec<&str> = reported
                .iter()
                .map(String::as_str)
                .filter(|reported| !targets.iter().any(|t| t.indicator == *reported))
                .collect();
            if !dropped.is_empty() {
                return Err(ApiError::conflict_on(
                    "targets",
                    format!(
                        "implementations report results on {}; keep those indicators among the targets",
                        dropped.join(", ")
                    ),
                ));
            }
            let before = Resolution::from(row.clone());
            if values.number == row.number
                && values.title == row.title
                && values.issued_on == row.issued_on
                && values.field == row.field
                && values.summary == row.summary
                && values.status == row.status
                && values.valid_until == row.valid_until
                && values.targets == row.targets
            {
                return Ok(before);
            }
            let after = Resolution::from(model::update(conn, id, &values).await?);
            audit::record(conn, &actor, Action::Update, RESOURCE, id, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), updated.version, updated))
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
    ),
    security(("bearer" = []))
)]
#[delete("/{id}")]
pub async fn delete_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let (row, issuer, scope) = visible(conn, &actor, id, true).await?;
        forbid_unless_writable(scope.as_ref(), &issuer)?;
        preconditions.check_if_match(row.version)?;
        let implementations = model::implementation_count(conn, id).await?;
        if implementations > 0 {
            return Err(ApiError::conflict(format!(
                "the resolution has {implementations} implementation record(s); delete them first"
            )));
        }
        let before = Resolution::from(row);
        model::delete(conn, id).await?;
        audit::record(conn, &actor, Action::Delete, RESOURCE, id, Some(&before), None).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    ),
    security(("bearer" = []))
)]
#[get("/{id}/implementations")]
pub async fn list_implementations(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    query: ListQuery<NoFilters>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page;
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let (row, _, scope) = visible(&mut conn, &actor, *id, false).await?;
    let rows = model::implementations(&mut conn, row.id, scope.as_ref(), after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::implementations_count(&mut conn, row.id, scope.as_ref()).await?)
    } else {
        None
    };
    Ok(page
        .finish(rows, |r| r.organisation_id, Implementation::from, total)
        .respond())
}

fn check_implementation(v: &ImplementationValues, resolution: &ResolutionRow, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, date) in [("plan_adopted_on", v.plan_adopted_on), ("reported_on", v.reported_on)] {
        match date {
            Some(d) if d > today => errors.push(FieldError::new(field, "must not be in the future")),
            Some(d) if d < resolution.issued_on => {
                errors.push(FieldError::new(field, "must not be before the resolution was issued"))
            }
            _ => {}
        }
    }
    if v.report.as_deref().is_some_and(|r| r.chars().count() > 20_000) {
        errors.push(FieldError::new("report", "must be at most 20000 characters"));
    }
    let targets: Vec<Target> = serde_json::from_value(resolution.targets.clone()).unwrap_or_default();
    let results: Vec<Achievement> = serde_json::from_value(v.results.clone()).unwrap_or_default();
    errors.extend(check_results(&results, &targets));
    errors
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
    ),
    security(("bearer" = []))
)]
#[post("/{id}/implementations")]
pub async fn create_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: ApiJson<CreateImplementation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let b = body.0;
    let today = today();
    let values = ImplementationValues {
        status: b.status.unwrap_or(ImplementationStatus::Planned),
        plan_adopted_on: b.plan_adopted_on,
        reported_on: b.reported_on,
        report: b.report,
        results: serde_json::to_value(&b.results).unwrap_or_default(),
    };
    let organisation_id = b.organisation_id;
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let (resolution, issuer, _) = visible(conn, &actor, id, false).await?;
            let organisation = organisations::find_visible(conn, organisation_id, actor.scope())
                .await?
                .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
            if organisation.path == issuer || !organisation.path.is_within(&issuer) {
                return Err(ApiError::invalid(
                    "organisation_id",
                    "must lie inside the issuing organisation's subtree",
                ));
            }
            let errors = check_implementation(&values, &resolution, today);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let view = Implementation::from(model::insert_implementation(conn, id, organisation_id, &values).await?);
            audit::record(conn, &actor, Action::Create, IMPLEMENTATION, view.id, None, Some(&view)).await?;
            Ok(view)
        })
        .await?;
    let location = format!("/api/v1/resolutions/{id}/implementations/{}", created.organisation_id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        created,
    ))
}

/// Reads an implementation the actor may see: the resolution visible and the organisation in its subtree.
async fn visible_implementation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    resolution_id: Uuid,
    organisation_id: Uuid,
    lock: bool,
) -> Result<(ResolutionRow, ImplementationRow), ApiError> {
    let (resolution, _, scope) = visible(conn, actor, resolution_id, false).await?;
    match model::implementation(conn, resolution_id, organisation_id, lock).await? {
        Some((row, path)) if scope.as_ref().is_none_or(|s| path.is_within(s)) => Ok((resolution, row)),
        _ => Err(ApiError::NotFound(
            "this organisation has no implementation of the resolution".into(),
        )),
    }
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
    ),
    security(("bearer" = []))
)]
#[get("/{id}/implementations/{organisation_id}")]
pub async fn find_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, organisation_id) = *path;
    let mut conn = state.read().await?;
    let (_, row) = visible_implementation(&mut conn, &actor, id, organisation_id, false).await?;
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
    ),
    security(("bearer" = []))
)]
#[patch("/{id}/implementations/{organisation_id}")]
pub async fn update_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    preconditions: Preconditions,
    body: ApiJson<UpdateImplementation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let (id, organisation_id) = *path;
    let p = body.0;
    let today = today();
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let (resolution, row) = visible_implementation(conn, &actor, id, organisation_id, true).await?;
            preconditions.check_if_match(row.version)?;
            let status = match p.status {
                None => row.status,
                Some(Some(s)) => s,
                Some(None) => return Err(ApiError::invalid("status", "may not be null")),
            };
            if !may_move(row.status, status) {
                return Err(ApiError::conflict(format!(
                    "an implementation moves forward only (planned, in_progress, completed): it is {} already",
                    row.status
                )));
            }
            let values = ImplementationValues {
                status,
                plan_adopted_on: p.plan_adopted_on.unwrap_or(row.plan_adopted_on),
                reported_on: p.reported_on.unwrap_or(row.reported_on),
                report: p.report.unwrap_or_else(|| row.report.clone()),
                results: match p.results {
                    None => row.results.clone(),
                    Some(r) => serde_json::to_value(r.unwrap_or_default()).unwrap_or_default(),
                },
            };
            let errors = check_implementation(&values, &resolution, today);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let before = Implementation::from(row.clone());
            if values.status == row.status
                && values.plan_adopted_on == row.plan_adopted_on
                && values.reported_on == row.reported_on
                && values.report == row.report
                && values.results == row.results
            {
                return Ok(before);
            }
            let after = Implementation::from(model::update_implementation(conn, row.id, &values).await?);
            audit::record(
                conn,
                &actor,
                Action::Update,
                IMPLEMENTATION,
                row.id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), updated.version, updated))
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
    ),
    security(("bearer" = []))
)]
#[delete("/{id}/implementations/{organisation_id}")]
pub async fn delete_implementation(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let (id, organisation_id) = *path;
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let (_, row) = visible_implementation(conn, &actor, id, organisation_id, true).await?;
        preconditions.check_if_match(row.version)?;
        let before = Implementation::from(row.clone());
        model::delete_implementation(conn, row.id).await?;
        audit::record(
            conn,
            &actor,
            Action::Delete,
            IMPLEMENTATION,
            row.id,
            Some(&before),
            None,
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the resolution routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_resolutions)
        .service(create_resolution)
        .service(find_resolution)
        .service(update_resolution)
        .service(delete_resolution)
        .service(list_implementations)
        .service(create_implementation)
        .service(find_implementation)
        .service(update_implementation)
        .service(delete_implementation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> TreePath {
        TreePath(p.into())
    }

    #[test]
    fn resolutions_from_above_are_readable_but_not_writable() {
        let district = path("p.d");
        let commune = path("p.d.c");
        assert!(
            may_read(Some(&commune), &district),
            "issued above: applies to the commune"
        );
        assert!(!may_write(Some(&commune), &district));
        assert!(may_read(Some(&district), &commune) && may_write(Some(&district), &commune));
        assert!(
            !may_read(Some(&path("p.e")), &commune),
            "a sibling district sees nothing"
        );
        assert!(may_read(None, &commune) && may_write(None, &commune));
    }
}
