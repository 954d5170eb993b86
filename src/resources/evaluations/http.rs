//! `/api/v1/evaluations`, `/api/v1/member-evaluations` and `/api/v1/rating-schemes`: the yearly quality
//! evaluations of base organisations and members, under the rating scheme of each year.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::rating::{scheme_for, Grade, Rating, RatingScheme, Subject, SCHEMES};
use crate::domain::score::Score;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::resources::evaluations::store::{
    self as model, EvaluationFilter, EvaluationRow, EvaluationValues, MemberEvaluationRow, MemberEvaluationValues,
};
use crate::resources::members::store as members;
use crate::resources::organisations::store as organisations;
use crate::state::AppState;
use crate::write;

const EVALUATION: &str = "evaluation";
const MEMBER_EVALUATION: &str = "member_evaluation";

/// The rating schemes, oldest first, so that clients can build their forms.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingSchemes {
    #[schema(max_items = 20)]
    pub items: Vec<RatingScheme>,
}

/// List rating schemes
///
/// Lists the rating schemes: the years each applies to, its organisation and member grades, and whether `exemplary`
/// and `score` apply.
#[utoipa::path(
    tag = "evaluations",
    responses(
        (status = 200, description = "The schemes, oldest first", body = RatingSchemes),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
    ),
    security(("bearer" = []))
)]
#[get("/rating-schemes")]
pub async fn list_rating_schemes(_actor: Actor) -> HttpResponse {
    HttpResponse::Ok().json(RatingSchemes {
        items: SCHEMES.to_vec(),
    })
}

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
            id: r.id,
            organisation_id: r.organisation_id,
            year: r.year,
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
            id: r.id,
            member_id: r.member_id,
            organisation_id: r.organisation_id,
            year: r.year,
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

/// Filters of both evaluation lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    #[param(example = 2012, minimum = 1930, maximum = 2200)]
    year: Option<i32>,
    /// The evaluated organisation (for members: their organisation when evaluated).
    organisation_id: Option<Uuid>,
    /// Member evaluations only: this member's.
    member_id: Option<Uuid>,
    /// Evaluations of this organisation and everything below it.
    under: Option<Uuid>,
    grade: Option<Grade>,
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

/// The years a list may filter on, as documented.
fn check_year_filter(year: Option<i32>) -> Result<(), ApiError> {
    if year.is_some_and(|y| !(1930..=2200).contains(&y)) {
        return Err(ApiError::bad_request("year", "must be 1930 to 2200"));
    }
    Ok(())
}

fn check_year(year: i32, today: NaiveDate) -> Result<(), ApiError> {
    if !(1930..=today.year()).contains(&year) {
        return Err(ApiError::invalid("year", format!("must be 1930 to {}", today.year())));
    }
    Ok(())
}

fn check_common(
    scheme: &RatingScheme,
    subject: Subject,
    rating: Rating,
    decided_on: Option<NaiveDate>,
    note: Option<&str>,
    today: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = scheme.check(subject, &rating);
    if let Some(d) = decided_on {
        if d > today {
            errors.push(FieldError::new("decided_on", "must not be in the future"));
        } else if d.year() < rating.year {
            errors.push(FieldError::new("decided_on", "must not be before the year evaluated"));
        }
    }
    if note.is_some_and(|n| n.chars().count() > 4000) {
        errors.push(FieldError::new("note", "must be at most 4000 characters"));
    }
    errors
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).expect("a valid year"),
        NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid year"),
    )
}

/// The organisation to evaluate: visible, of a kind that is evaluated, and in existence that year.
async fn evaluated_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    year: i32,
) -> Result<(), ApiError> {
    let org = organisations::find_visible(conn, id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
    if !(org.kind.is_base() || org.kind.holds_members()) {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("base organisations and cells are evaluated, not a {}", org.kind),
        ));
    }
    actor.may_decide_about(org.id)?;
    let (first, last) = year_bounds(year);
    if org.established_on.is_some_and(|e| e > last) || org.dissolved_on.is_some_and(|d| d <= first) {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("the organisation did not exist in {year}"),
        ));
    }
    Ok(())
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
    ),
    security(("bearer" = []))
)]
#[get("/evaluations")]
pub async fn list_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<EvaluationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    check_year_filter(filters.year)?;
    if filters.member_id.is_some() {
        return Err(ApiError::bad_request(
            "member_id",
            "is a filter of member evaluations only",
        ));
    }
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let Some((scope, under)) = organisations::subtree_paths(&mut conn, actor.scope(), filters.under).await? else {
        return Ok(page.empty::<Evaluation>().respond());
    };
    let filter = EvaluationFilter {
        year: filters.year,
        organisation_id: filters.organisation_id,
        member_id: None,
        under,
        grade: filters.grade,
        scope,
    };
    let rows = model::list(&mut conn, &filter, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count(&mut conn, &filter).await?)
    } else {
        None
    };
    Ok(page.finish(rows, |r| r.id, Evaluation::from, total).respond())
}

/// An organisation evaluation the actor may see.
async fn visible_evaluation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<EvaluationRow, ApiError> {
    let row = model::find(conn, id, lock)
        .await?
        .ok_or_else(|| ApiError::not_found(EVALUATION))?;
    organisations::find_visible(conn, row.organisation_id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(EVALUATION))?;
    Ok(row)
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
    ),
    security(("bearer" = []))
)]
#[get("/evaluations/{id}")]
pub async fn find_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = visible_evaluation(&mut conn, &actor, *id, false).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), row.version, Evaluation::from(row)))
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
    ),
    security(("bearer" = []))
)]
#[post("/evaluations")]
pub async fn create_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateEvaluation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let b = body.0;
    let today = today();
    check_year(b.year, today)?;
    let rating = Rating {
        year: b.year,
        grade: b.grade,
        exemplary: b.exemplary,
        score: b.score,
    };
    let errors = check_common(
        scheme_for(b.year),
        Subject::Organisation,
        rating,
        b.decided_on,
        b.note.as_deref(),
        today,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let values = EvaluationValues {
        grade: b.grade,
        exemplary: b.exemplary,
        score: b.score,
        decided_on: b.decided_on,
        note: b.note,
    };
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            evaluated_organisation(conn, &actor, b.organisation_id, b.year).await?;
            let view = Evaluation::from(model::insert(conn, b.organisation_id, b.year, &values).await?);
            audit::record(conn, &actor, Action::Create, EVALUATION, view.id, None, Some(&view)).await?;
            Ok(view)
        })
        .await?;
    let location = format!("/api/v1/evaluations/{}", created.id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        created,
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
    ),
    security(("bearer" = []))
)]
#[patch("/evaluations/{id}")]
pub async fn update_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateEvaluation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let p = body.0;
    let today = today();
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let row = visible_evaluation(conn, &actor, id, true).await?;
            actor.may_decide_about(row.organisation_id)?;
            preconditions.check_if_match(row.version)?;
            let mut errors = Vec::new();
            let values = EvaluationValues {
                grade: write::required(&mut errors, "grade", p.grade, &row.grade),
                exemplary: write::required(&mut errors, "exemplary", p.exemplary, &row.exemplary),
                score: p.score.unwrap_or(row.score),
                decided_on: p.decided_on.unwrap_or(row.decided_on),
                note: p.note.unwrap_or_else(|| row.note.clone()),
            };
            let rating = Rating {
                year: row.year,
                grade: values.grade,
                exemplary: values.exemplary,
                score: values.score,
            };
            errors.extend(check_common(
                scheme_for(row.year),
                Subject::Organisation,
                rating,
                values.decided_on,
                values.note.as_deref(),
                today,
            ));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let before = Evaluation::from(row.clone());
            let unchanged = EvaluationValues {
                grade: row.grade,
                exemplary: row.exemplary,
                score: row.score,
                decided_on: row.decided_on,
                note: row.note.clone(),
            };
            if values == unchanged {
                return Ok(before);
            }
            let after = Evaluation::from(model::update(conn, id, &values).await?);
            audit::record(
                conn,
                &actor,
                Action::Update,
                EVALUATION,
                id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), updated.version, updated))
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
    ),
    security(("bearer" = []))
)]
#[delete("/evaluations/{id}")]
pub async fn delete_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let row = visible_evaluation(conn, &actor, id, true).await?;
        actor.may_decide_about(row.organisation_id)?;
        preconditions.check_if_match(row.version)?;
        let before = Evaluation::from(row);
        model::delete(conn, id).await?;
        audit::record(conn, &actor, Action::Delete, EVALUATION, id, Some(&before), None).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    ),
    security(("bearer" = []))
)]
#[get("/member-evaluations")]
pub async fn list_member_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<EvaluationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    check_year_filter(filters.year)?;
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let Some((scope, under)) = organisations::subtree_paths(&mut conn, actor.scope(), filters.under).await? else {
        return Ok(page.empty::<MemberEvaluation>().respond());
    };
    let filter = EvaluationFilter {
        year: filters.year,
        organisation_id: filters.organisation_id,
        member_id: filters.member_id,
        under,
        grade: filters.grade,
        scope,
    };
    let rows = model::list_members(&mut conn, &filter, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count_members(&mut conn, &filter).await?)
    } else {
        None
    };
    Ok(page.finish(rows, |r| r.id, MemberEvaluation::from, total).respond())
}

/// A member evaluation the actor may see: recorded in an organisation of its subtree.
async fn visible_member_evaluation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<MemberEvaluationRow, ApiError> {
    let row = model::find_member(conn, id, lock)
        .await?
        .ok_or_else(|| ApiError::not_found(MEMBER_EVALUATION))?;
    organisations::find_visible(conn, row.organisation_id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(MEMBER_EVALUATION))?;
    Ok(row)
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
    ),
    security(("bearer" = []))
)]
#[get("/member-evaluations/{id}")]
pub async fn find_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = visible_member_evaluation(&mut conn, &actor, *id, false).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), row.version, MemberEvaluation::from(row)))
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
    ),
    security(("bearer" = []))
)]
#[post("/member-evaluations")]
pub async fn create_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateMemberEvaluation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let b = body.0;
    let today = today();
    check_year(b.year, today)?;
    let scheme = scheme_for(b.year);
    let rating = Rating {
        year: b.year,
        grade: b.grade,
        exemplary: false,
        score: b.score,
    };
    let errors = check_common(scheme, Subject::Member, rating, b.decided_on, b.note.as_deref(), today);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let values = MemberEvaluationValues {
        grade: b.grade,
        score: b.score,
        decided_on: b.decided_on,
        note: b.note,
    };
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let member = members::find_visible(conn, b.member_id, actor.scope())
                .await?
                .ok_or_else(|| ApiError::invalid("member_id", "no member with this id"))?;
            let (first, last) = year_bounds(b.year);
            let ended = members::ended_on(conn, member.id).await?;
            if member.admitted_on > last || ended.is_some_and(|e| e <= first) {
                return Err(ApiError::invalid(
                    "member_id",
                    format!("was not a party member in {}", b.year),
                ));
            }
            if !scheme.evaluates_member_admitted(b.year, member.admitted_on) {
                return Err(ApiError::invalid(
                    "member_id",
                    format!(
                        "admitted less than 6 months before the end of {}: not evaluated that year under {}",
                        b.year, scheme.id
                    ),
                ));
            }
            // The evaluation counts for the organisation the member was in at the end of the year (or when the
            // membership ended that year), whatever transfers came later.
            let counted_on = ended.filter(|e| *e <= last).unwrap_or(last);
            let organisation_id = members::organisation_on(conn, member.id, counted_on)
                .await?
                .unwrap_or(member.organisation_id);
            let row = model::insert_member(conn, member.id, organisation_id, b.year, &values).await?;
            let view = MemberEvaluation::from(row);
            audit::record(
                conn,
                &actor,
                Action::Create,
                MEMBER_EVALUATION,
                view.id,
                None,
                Some(&view),
            )
            .await?;
            Ok(view)
        })
        .await?;
    let location = format!("/api/v1/member-evaluations/{}", created.id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        created.version,
        created,
    ))
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
    ),
    security(("bearer" = []))
)]
#[patch("/member-evaluations/{id}")]
pub async fn update_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateMemberEvaluation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let p = body.0;
    let today = today();
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let row = visible_member_evaluation(conn, &actor, id, true).await?;
            preconditions.check_if_match(row.version)?;
            let mut errors = Vec::new();
            let values = MemberEvaluationValues {
                grade: write::required(&mut errors, "grade", p.grade, &row.grade),
                score: p.score.unwrap_or(row.score),
                decided_on: p.decided_on.unwrap_or(row.decided_on),
                note: p.note.unwrap_or_else(|| row.note.clone()),
            };
            let rating = Rating {
                year: row.year,
                grade: values.grade,
                exemplary: false,
                score: values.score,
            };
            errors.extend(check_common(
                scheme_for(row.year),
                Subject::Member,
                rating,
                values.decided_on,
                values.note.as_deref(),
                today,
            ));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let before = MemberEvaluation::from(row.clone());
            let unchanged = MemberEvaluationValues {
                grade: row.grade,
                score: row.score,
                decided_on: row.decided_on,
                note: row.note.clone(),
            };
            if values == unchanged {
                return Ok(before);
            }
            let after = MemberEvaluation::from(model::update_member(conn, id, &values).await?);
            audit::record(
                conn,
                &actor,
                Action::Update,
                MEMBER_EVALUATION,
                id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), updated.version, updated))
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
    ),
    security(("bearer" = []))
)]
#[delete("/member-evaluations/{id}")]
pub async fn delete_member_evaluation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let row = visible_member_evaluation(conn, &actor, id, true).await?;
        preconditions.check_if_match(row.version)?;
        let before = MemberEvaluation::from(row);
        model::delete_member(conn, id).await?;
        audit::record(conn, &actor, Action::Delete, MEMBER_EVALUATION, id, Some(&before), None).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the evaluation routes and the rating schemes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_rating_schemes)
        .service(list_evaluations)
        .service(create_evaluation)
        .service(find_evaluation)
        .service(update_evaluation)
        .service(delete_evaluation)
        .service(list_member_evaluations)
        .service(create_member_evaluation)
        .service(find_member_evaluation)
        .service(update_member_evaluation)
        .service(delete_member_evaluation);
}
