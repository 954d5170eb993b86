//! `/api/v1/candidates`: admission candidates and their steps to admission. The handlers parse a request into
//! domain values, call one operation of the service and render its result.

mod write;

use actix_web::{get, web, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service::{self, ListRequest, Sponsor};
use super::store::{CandidateRow, StepRow};
use crate::auth::Actor;
use crate::domain::candidate::{Stage, StepType};
use crate::domain::identity::NationalId;
use crate::domain::ids::{CandidateId, OrganisationId};
use crate::domain::member::Gender;
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::{with_etag, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{comma_list, ListQuery, Page, PageParams};
use crate::state::AppState;

/// An admission candidate. `national_id`, `ethnicity` and `religion` are sensitive: they are absent for viewer
/// tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Candidate {
    pub id: Uuid,
    #[schema(
        example = "Hà Văn Dũng",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub full_name: String,
    pub gender: Option<Gender>,
    #[schema(example = "1990-04-12")]
    pub birth_date: NaiveDate,
    /// The `base_cell` or `cell` that proposes the candidate, and where the member is admitted.
    pub organisation_id: Uuid,
    /// Sensitive: absent for viewer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "025190001234", min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<Option<NationalId>>,
    /// Sensitive: absent for viewer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Mường", max_length = 200, pattern = r"^[^\x00]*$")]
    pub ethnicity: Option<Option<String>>,
    /// Sensitive: absent for viewer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Không", max_length = 200, pattern = r"^[^\x00]*$")]
    pub religion: Option<Option<String>>,
    #[schema(example = "Tinh Nhuệ, Thanh Sơn, Phú Thọ", max_length = 200, pattern = r"^[^\x00]*$")]
    pub hometown: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// The day the cell proposed the candidate.
    #[schema(example = "2012-01-09")]
    pub proposed_on: NaiveDate,
    /// Follows from the steps. Read-only.
    pub stage: Stage,
    /// The day of the latest step (of the proposal before any). Read-only.
    pub stage_on: NaiveDate,
    /// While the next step has a time limit: the last working day it allows (60 working days from the cell's
    /// vote to the committee's decision, 30 from the decision to the ceremony; Monday to Friday, public holidays
    /// not skipped). Read-only.
    pub due_by: Option<NaiveDate>,
    /// Whether today is past `due_by`. Read-only.
    pub overdue: bool,
    /// The member the ceremony admitted (`/api/v1/members/{id}`), once `admitted`. Read-only.
    pub member_id: Option<Uuid>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Candidate {
    /// The candidate as `actor` may see it: the sensitive fields only for those who may see them.
    pub fn for_actor(row: CandidateRow, actor: &Actor) -> Self {
        let sensitive = actor.sees_sensitive_fields();
        Candidate {
            id: row.id.0,
            full_name: row.values.full_name,
            gender: row.values.gender,
            birth_date: row.values.birth_date,
            organisation_id: row.organisation_id.0,
            national_id: sensitive.then_some(row.values.national_id),
            ethnicity: sensitive.then_some(row.values.ethnicity),
            religion: sensitive.then_some(row.values.religion),
            hometown: row.values.hometown,
            note: row.values.note,
            proposed_on: row.values.proposed_on,
            stage: row.stage,
            stage_on: row.stage_on,
            due_by: row.due_by,
            overdue: row.due_by.is_some_and(|due| due < today()),
            member_id: row.member_id.map(|m| m.0),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn respond(response: HttpResponseBuilder, row: CandidateRow, actor: &Actor) -> HttpResponse {
    with_etag(response, row.version, Candidate::for_actor(row, actor))
}

/// One step of a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateStep {
    pub id: Uuid,
    pub r#type: StepType,
    pub on: NaiveDate,
    #[schema(max_length = 50)]
    pub certificate_number: Option<String>,
    #[schema(max_items = 2)]
    pub sponsors: Option<Vec<Sponsor>>,
    #[schema(minimum = 0, maximum = 100000)]
    pub votes_for: Option<i32>,
    #[schema(minimum = 0, maximum = 100000)]
    pub votes_total: Option<i32>,
    #[schema(max_length = 50)]
    pub decision_number: Option<String>,
    /// `admitted`: the member created.
    pub member_id: Option<Uuid>,
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    #[schema(max_length = 4000)]
    pub note: Option<String>,
    /// The last working day this step allows for the next one, when it starts a time limit.
    pub due_by: Option<NaiveDate>,
    /// The token that recorded it.
    #[schema(max_length = 64)]
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

impl TryFrom<StepRow> for CandidateStep {
    type Error = ApiError;
    fn try_from(s: StepRow) -> Result<Self, ApiError> {
        let sponsors = s
            .sponsors
            .map(serde_json::from_value::<Vec<Sponsor>>)
            .transpose()
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(CandidateStep {
            id: s.id,
            r#type: s.kind,
            on: s.on,
            certificate_number: s.certificate_number,
            sponsors,
            votes_for: s.votes_for,
            votes_total: s.votes_total,
            decision_number: s.decision_number,
            member_id: s.member_id.map(|m| m.0),
            reason: s.reason,
            note: s.note,
            due_by: s.due_by,
            actor: s.actor,
            recorded_at: s.recorded_at,
        })
    }
}

/// Filters of the candidate list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// Candidates proposed by this organisation only.
    organisation_id: Option<Uuid>,
    /// Candidates of this organisation and of every organisation below it.
    under: Option<Uuid>,
    /// Comma list of stages, for example `cell_approved,committee_approved`.
    #[param(
        example = "cell_approved,committee_approved",
        max_length = 200,
        pattern = r"^(proposed|course_completed|sponsored|cell_approved|committee_approved|admitted|withdrawn|rejected)(,(proposed|course_completed|sponsored|cell_approved|committee_approved|admitted|withdrawn|rejected)){0,7}$"
    )]
    stage: Option<String>,
}

/// List admission candidates
///
/// Lists the candidates inside the token's subtree in creation order, filtered by organisation, subtree or stage.
#[utoipa::path(
    tag = "candidates",
    params(CandidateQuery, PageParams),
    responses(
        (status = 200, description = "A page of candidates", body = Page<Candidate>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_candidates(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<CandidateQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let request = ListRequest {
        under: filters.under.map(OrganisationId),
        organisation_id: filters.organisation_id.map(OrganisationId),
        stages: filters.stage.as_deref().map(|s| comma_list("stage", s)).transpose()?,
        after: page.after::<CandidateId>()?,
        fetch: page.fetch(),
        count: page.count_exact,
    };
    let mut conn = state.read().await?;
    let (rows, total) = service::list(&mut conn, &actor, request).await?;
    Ok(page
        .finish(rows, |row| row.id, |row| Candidate::for_actor(row, &actor), total)
        .respond())
}

/// Read an admission candidate
///
/// Reads one candidate, with `overdue` when a time limit has passed. The sensitive fields are absent for a viewer
/// token. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "candidates",
    params(("id" = Uuid, Path, description = "Candidate id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The candidate", body = Candidate,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_candidate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<CandidateId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::find(&mut conn, &actor, id.into_inner()).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), row, &actor))
}

/// List a candidate's steps
///
/// A candidate's steps, oldest first. The list is returned whole: `next_cursor` is always null.
#[utoipa::path(
    tag = "candidates",
    params(("id" = Uuid, Path, description = "Candidate id")),
    responses(
        (status = 200, description = "The steps", body = Page<CandidateStep>),
        ReadErrors,
    )
)]
#[get("/{id}/steps")]
pub async fn list_candidate_steps(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let steps = service::steps(&mut conn, &actor, id.into_inner()).await?;
    let items = steps
        .into_iter()
        .map(CandidateStep::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
        total: None,
    }))
}

/// Registers the candidate routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_candidates)
        .service(write::create_candidate)
        .service(find_candidate)
        .service(write::update_candidate)
        .service(write::delete_candidate)
        .service(write::record_candidate_step)
        .service(list_candidate_steps);
}
