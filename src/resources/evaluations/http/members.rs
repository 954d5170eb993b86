//! `/api/v1/member-evaluations`: the yearly evaluations of members.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{created, evaluated_year, EvaluationQuery};
use crate::auth::Actor;
use crate::domain::ids::{MemberEvaluationId, MemberId};
use crate::domain::rating::Grade;
use crate::domain::score::Score;
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::resources::evaluations::service::{self, MemberEvaluations, Regrading};
use crate::resources::evaluations::store::{MemberEvaluationRow, MemberEvaluationValues};
use crate::state::AppState;

/// The yearly evaluation of a member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberEvaluation {
    pub id: Uuid,
    pub member_id: Uuid,
    /// The member's organisation at the end of the year evaluated (from the member's history). Read-only.
    pub organisation_id: Uuid,
    #[schema(example = 2019, minimum = 1930, maximum = 2200)]
    pub year: i32,
    pub grade: Grade,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MemberEvaluationRow> for MemberEvaluation {
    fn from(r: MemberEvaluationRow) -> Self {
        MemberEvaluation {
            id: r.id.into(),
            member_id: r.member_id.into(),
            organisation_id: r.organisation_id.into(),
            year: r.year.get(),
            grade: r.grade,
            score: r.score,
            decided_on: r.decided_on,
            note: r.note,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new evaluation of a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e05", "year": 2025, "grade": "good",
    "score": 82, "decided_on": "2025-12-18"}))]
pub struct CreateMemberEvaluation {
    /// A member who belonged to the party that year; from 2023, admitted at least 6 months before its end.
    pub member_id: Uuid,
    /// From 1930 to the current year.
    #[serde(deserialize_with = "crate::number::whole_i32")]
    #[schema(minimum = 1930, maximum = 2200)]
    pub year: i32,
    pub grade: Grade,
    #[serde(default)]
    pub score: Option<Score>,
    #[serde(default)]
    pub decided_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A JSON merge patch of a member's evaluation; the member and the year do not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grade": "excellent", "score": 93}))]
pub struct UpdateMemberEvaluation {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Grade)]
    pub grade: Option<Option<Grade>>,
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

impl From<UpdateMemberEvaluation> for Regrading {
    fn from(p: UpdateMemberEvaluation) -> Self {
        Regrading {
            grade: p.grade,
            exemplary: None,
            score: p.score,
            decided_on: p.decided_on,
            note: p.note,
        }
    }
}

/// List member evaluations
///
/// Lists the yearly evaluations of members inside the token's subtree, filtered by year, organisation, member,
/// subtree or grade.
#[utoipa::path(
    tag = "evaluations",
    params(EvaluationQuery, PageParams),
    responses(
        (status = 200, description = "A page of member evaluations", body = Page<MemberEvaluation>),
        ListErrors,
    )
)]
#[get("/member-evaluations")]
pub async fn list_member_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<EvaluationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    super::list::<MemberEvaluations, MemberEvaluation>(&state, &actor, page, filters.parse()?).await
}

/// Read a member evaluation
///
/// Reads one yearly evaluation of a member. `If-None-Match` with its current ETag answers 304.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Member evaluation id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The member evaluation", body = MemberEvaluation,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/member-evaluations/{id}")]
pub async fn find_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let id = MemberEvaluationId::from(*id);
    super::find::<MemberEvaluations, MemberEvaluation>(&state, &actor, id, &preconditions).await
}

/// Record a member evaluation
///
/// Records the evaluation of a member for a year, in that year's vocabulary (see `GET /api/v1/rating-schemes`): the
/// grade must belong to the year's scheme, and `score` is accepted only in the years whose scheme has it. One
/// evaluation per member and year (409).
#[utoipa::path(
    tag = "evaluations",
    request_body(content = CreateMemberEvaluation, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = MemberEvaluation,
            headers(("Location" = String, description = "URL of the evaluation"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("/member-evaluations")]
pub async fn create_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateMemberEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let year = evaluated_year(b.year)?;
    let values = MemberEvaluationValues {
        grade: b.grade,
        score: b.score,
        decided_on: b.decided_on,
        note: b.note,
    };
    let member_id = MemberId::from(b.member_id);
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| service::create_for_member(conn, &actor, member_id, year, values).await)
        .await?;
    let location = format!("/api/v1/member-evaluations/{}", row.id);
    Ok(created(location, row.version, MemberEvaluation::from(row)))
}

/// Change a member evaluation
///
/// Changes an evaluation of a member (JSON merge patch) under the same scheme rules as its creation. The year and
/// the member cannot change.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Member evaluation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    request_body(content = UpdateMemberEvaluation, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed member evaluation", body = MemberEvaluation,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
    )
)]
#[patch("/member-evaluations/{id}")]
pub async fn update_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateMemberEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let id = MemberEvaluationId::from(*id);
    super::update::<MemberEvaluations, MemberEvaluation>(&state, actor, id, preconditions, body.0.into()).await
}

/// Delete a member evaluation
///
/// Deletes an evaluation of a member. `If-Match` guards against deleting a version the caller has not seen.
#[utoipa::path(
    tag = "evaluations",
    params(("id" = Uuid, Path, description = "Member evaluation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when it has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/member-evaluations/{id}")]
pub async fn delete_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    super::delete::<MemberEvaluations>(&state, actor, MemberEvaluationId::from(*id), preconditions).await
}
