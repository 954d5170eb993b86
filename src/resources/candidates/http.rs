//! `/api/v1/candidates`: admission candidates and their steps to admission. The handlers parse a request into
//! domain values, call one operation of the service and render its result.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service::{self, ListRequest, Proposal, Sponsor, StepInput};
use super::store::{CandidateRow, CandidateValues, StepRow};
use crate::auth::Actor;
use crate::domain::candidate::{Stage, StepType};
use crate::domain::identity::NationalId;
use crate::domain::ids::{CandidateId, OrganisationId};
use crate::domain::member::Gender;
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::{with_etag, ApiJson, Preconditions};
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

/// A proposal: the candidate starts `proposed`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "Hà Văn Dũng", "gender": "male", "birth_date": "1990-04-12",
    "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "proposed_on": "2012-01-09",
    "national_id": "025190001234", "ethnicity": "Mường"}))]
pub struct CreateCandidate {
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub full_name: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    /// An active `base_cell` or `cell` inside the token's subtree.
    pub organisation_id: Uuid,
    /// The day of the proposal; defaults to today, not in the future.
    #[serde(default)]
    pub proposed_on: Option<NaiveDate>,
    /// 12 digits. Sensitive.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<NationalId>,
    /// Sensitive.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub ethnicity: Option<String>,
    /// Sensitive.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub religion: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub hometown: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A sponsor: `{"member_id": ...}` of an official member of the candidate's base organisation, or
/// `{"youth_union": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsorBody {
    #[serde(default)]
    pub member_id: Option<Uuid>,
    #[serde(default)]
    pub youth_union: Option<bool>,
}

/// A step on the road to admission. Which of the optional fields apply depends on `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 9, "votes_total": 10}))]
pub struct RecordStep {
    pub r#type: StepType,
    /// When it happened: not in the future, not before the candidate's latest step.
    pub on: NaiveDate,
    /// `course_completed`: the number of the course certificate.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 50, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub certificate_number: Option<String>,
    /// `sponsored`: exactly two sponsors.
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub sponsors: Option<Vec<SponsorBody>>,
    /// `cell_approved`: votes in favour.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub votes_for: Option<u32>,
    /// `cell_approved`: votes cast.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub votes_total: Option<u32>,
    /// `committee_approved`: the number of the decision.
    #[serde(default)]
    #[schema(
        example = "125-QĐ/HU",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub decision_number: Option<String>,
    /// `withdrawn`, `rejected`: why.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub reason: Option<String>,
    /// Any step; required at the cell's vote for a candidate over 60 (the provincial level's consent).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub note: Option<String>,
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

/// Propose an admission candidate
///
/// Records a candidate proposed by a cell: the candidate starts `proposed`. The organisation must be an active
/// `base_cell` or `cell` inside the token's subtree (422 otherwise); `birth_date` and `proposed_on` not in the
/// future.
#[utoipa::path(
    tag = "candidates",
    request_body(content = CreateCandidate, content_type = "application/json"),
    responses(
        (status = 201, description = "Proposed", body = Candidate,
            headers(("Location" = String, description = "URL of the new candidate"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_candidate(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateCandidate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let proposal = Proposal {
        organisation_id: OrganisationId(b.organisation_id),
        values: CandidateValues {
            full_name: b.full_name,
            gender: b.gender,
            birth_date: b.birth_date,
            national_id: b.national_id,
            ethnicity: b.ethnicity,
            religion: b.religion,
            hometown: b.hometown,
            note: b.note,
            proposed_on: b.proposed_on.unwrap_or_else(today),
        },
    };
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::propose(conn, &actor, proposal).await)
        .await?;
    let created = HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/candidates/{}", row.id)))
        .take();
    Ok(respond(created, row, &actor))
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

/// Record a step of a candidate
///
/// Records the next step and returns the candidate after it. The steps come in this order: `course_completed`
/// (`certificate_number`), `sponsored` (`sponsors`: two official members of the candidate's base organisation
/// who were official on that day, or for a candidate of 30 or younger the Youth Union instead of one of them),
/// `cell_approved` (`votes_for`, `votes_total`: the candidate is 18 or older that day, over 60 only with a `note`
/// recording the provincial level's consent; the course certificate is less than 5 years old; at least two thirds
/// of the cell's official members on that day vote for), `committee_approved` (`decision_number`; recorded by the
/// committee above the cell, not by the cell's own token: 403), `admitted` (the ceremony: admits the member
/// exactly as `POST /api/v1/members` does, `admitted_on` = `on`, and links candidate and member); `withdrawn` and
/// `rejected` (`reason`) end the road at any stage. A step out of order is 409; a broken rule, a missing field or
/// a field the step does not use is 422 naming it. A refused step changes nothing.
#[utoipa::path(
    tag = "candidates",
    params(("id" = Uuid, Path, description = "Candidate id"),
        ("If-Match" = Option<String>, Header, description = "The candidate's ETag read last; 412 when it has changed since")),
    request_body(content = RecordStep, content_type = "application/json"),
    responses(
        (status = 200, description = "The candidate after the step", body = Candidate,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[post("/{id}/steps")]
pub async fn record_candidate_step(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<CandidateId>,
    preconditions: Preconditions,
    body: ApiJson<RecordStep>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let votes = |v: Option<u32>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    let input = StepInput {
        kind: b.r#type,
        on: b.on,
        certificate_number: b.certificate_number,
        sponsors: b
            .sponsors
            .map(|list| list.into_iter().map(|s| (s.member_id, s.youth_union)).collect()),
        votes_for: votes(b.votes_for),
        votes_total: votes(b.votes_total),
        decision_number: b.decision_number,
        reason: b.reason,
        note: b.note,
    };
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::record_step(conn, &actor, id, &if_match, input).await)
        .await?;
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
        .service(create_candidate)
        .service(find_candidate)
        .service(record_candidate_step)
        .service(list_candidate_steps);
}
