//! `/api/v1/evaluations`: the yearly evaluations of base organisations and cells.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, evaluated_year, EvaluationQuery};
use crate::auth::Actor;
use crate::domain::ids::{EvaluationId, OrganisationId};
use crate::domain::rating::Grade;
use crate::domain::score::Score;
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::resources::evaluations::service::{self, OrganisationEvaluations, Regrading};
use crate::resources::evaluations::store::{EvaluationRow, EvaluationValues};
use crate::state::AppState;

/// The yearly evaluation of a base organisation (or a cell).
#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub id: Uuid,
    pub organisation_id: Uuid,
    #[schema(example = 2012, minimum = 1930, maximum = 2200)]
    pub year: i32,
    pub grade: Grade,
    /// Exemplary among the clean and strong (schemes up to 2017).
    pub exemplary: bool,
    /// 0 to 100, where the year's scheme records one.
    pub score: Option<Score>,
    #[schema(example = "2012-12-20")]
    pub decided_on: Option<NaiveDate>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EvaluationRow> for Evaluation {
    fn from(r: EvaluationRow) -> Self {
        Evaluation {
            id: r.id.into(),
            organisation_id: r.organisation_id.into(),
            year: r.year.get(),
            grade: r.grade,
            exemplary: r.exemplary,
            score: r.score,
            decided_on: r.decided_on,
            note: r.note,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new evaluation of an organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "year": 2012,
    "grade": "clean_strong", "exemplary": true, "decided_on": "2012-12-20"}))]
pub struct CreateEvaluation {
    /// A `base_committee`, `base_cell` or `cell` that existed that year.
    pub organisation_id: Uuid,
    /// From 1930 to the current year.
    #[serde(deserialize_with = "crate::number::whole_i32")]
    #[schema(minimum = 1930, maximum = 2200)]
    pub year: i32,
    /// A grade of the year's scheme (see `/rating-schemes`).
    pub grade: Grade,
    /// Only where the scheme has it, and only with `clean_strong`.
    #[serde(default)]
    pub exemplary: bool,
    /// Required from 2025 and matching the grade's band; optional 2014-2017; otherwise refused.
    #[serde(default)]
    pub score: Option<Score>,
    #[serde(default)]
    pub decided_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A JSON merge patch of an evaluation; the organisation and the year do not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grade": "well_completed", "exemplary": false}))]
pub struct UpdateEvaluation {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Grade)]
    pub grade: Option<Option<Grade>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = bool)]
    pub exemplary: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Score>)]
    pub score: Option<Option<Score>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub decided_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<Option<String>>,
}

/// The parameters of the organisation evaluation list, as documented: those of [`EvaluationQuery`] but
/// `member_id`, which that list refuses.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrganisationEvaluationQuery {
    #[param(example = 2012, minimum = 1930, maximum = 2200)]
    year: Option<i32>,
    /// The evaluated organisation.
    organisation_id: Option<Uuid>,
    /// Evaluations of this organisation and everything below it.
    under: Option<Uuid>,
    grade: Option<Grade>,
}

impl From<UpdateEvaluation> for Regrading {
    fn from(p: UpdateEvaluation) -> Self {
        Regrading {
            grade: p.grade,
            exemplary: p.exemplary,
            score: p.score,
            decided_on: p.decided_on,
            note: p.note,
        }
    }
}

/// List organisation evaluations
///
/// Lists the yearly evaluations of base organisations inside the token's subtree, filtered by year, organisation,
/// subtree or grade.
#[utoipa::path(
    tag = "evaluations",
    params(OrganisationEvaluationQuery, PageParams),
    responses(
        (status = 200, description = "A page of evaluations", body = Page<Evaluation>),
        ListErrors,
    )
)]
#[get("/evaluations")]
pub async fn list_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<EvaluationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let selection = filters.parse()?;
    if selection.0.member_id.is_some() {
        return Err(ApiError::bad_request(
            "member_id",
            "is a filter of member evaluations only",
        ));
    }
    super::list::<OrganisationEvaluations, Evaluation>(&state, &actor, page, selection).await
}

/// Read an organisation evaluation
///
/// Reads one yearly evaluation of an organisation. `If-None-Match` with its current ETag answers 304.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Evaluation id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The evaluation", body = Evaluation,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/evaluations/{id}")]
pub async fn find_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    super::find::<OrganisationEvaluations, Evaluation>(&state, &actor, EvaluationId::from(*id), &preconditions).await
}

/// Record an organisation evaluation
///
/// Records the evaluation of a base organisation for a year, in that year's vocabulary (see `GET
/// /api/v1/rating-schemes`): the grade must belong to the year's scheme, and `exemplary` and `score` are accepted
/// only in the years whose scheme has them. One evaluation per organisation and year (409). A token scoped to the
/// organisation itself may not grade it (403): the committee above decides.
#[utoipa::path(
    tag = "evaluations",
    request_body(content = CreateEvaluation, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = Evaluation,
            headers(("Location" = String, description = "URL of the evaluation"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("/evaluations")]
pub async fn create_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let year = evaluated_year(b.year)?;
    let values = EvaluationValues {
        grade: b.grade,
        exemplary: b.exemplary,
        score: b.score,
        decided_on: b.decided_on,
        note: b.note,
    };
    let organisation_id = OrganisationId::from(b.organisation_id);
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| {
            service::create_for_organisation(conn, &actor, organisation_id, year, values).await
        })
        .await?;
    Ok(created(
        format!("/api/v1/evaluations/{}", row.id),
        row.version,
        Evaluation::from(row),
    ))
}

/// Change an organisation evaluation
///
/// Changes an evaluation of an organisation (JSON merge patch) under the same scheme rules as its creation. The
/// year and the organisation cannot change.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Evaluation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    request_body(content = UpdateEvaluation, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed evaluation", body = Evaluation,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
    )
)]
#[patch("/evaluations/{id}")]
pub async fn update_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let id = EvaluationId::from(*id);
    super::update::<OrganisationEvaluations, Evaluation>(&state, actor, id, preconditions, body.0.into()).await
}

/// Delete an organisation evaluation
///
/// Deletes an evaluation of an organisation. `If-Match` guards against deleting a version the caller has not seen.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Evaluation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/evaluations/{id}")]
pub async fn delete_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    super::delete::<OrganisationEvaluations>(&state, actor, EvaluationId::from(*id), preconditions).await
}
