//! The candidate writes: the proposal, its changes and deletion, and the steps.

use actix_web::http::header;
use actix_web::{delete, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{respond, Candidate};
use crate::auth::Actor;
use crate::domain::candidate::StepType;
use crate::domain::identity::NationalId;
use crate::domain::ids::{CandidateId, OrganisationId};
use crate::domain::member::Gender;
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::resources::candidates::service::{self, CandidatePatch, Proposal, SponsorEntry, StepInput};
use crate::resources::candidates::store::CandidateValues;
use crate::state::AppState;

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
/// `{"youth_union": true}`. A member may add `known_since`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e02", "known_since": "2010-09-01"}))]
pub struct SponsorBody {
    #[serde(default)]
    pub member_id: Option<Uuid>,
    #[serde(default)]
    pub youth_union: Option<bool>,
    /// Optional, for a sponsoring member: since when they have known the candidate. The Party Statute asks that a
    /// sponsor has known the candidate for at least 12 months: when given, it must be 12 months or more before
    /// the step's `on` (422 naming `sponsors[i].known_since` otherwise). Not for the Youth Union.
    #[serde(default)]
    #[schema(example = "2010-09-01")]
    pub known_since: Option<NaiveDate>,
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

/// A JSON merge patch of a candidate. `stage` and the other read-only fields change only through steps; the
/// organisation does not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hometown": "Ngọc Lập, Yên Lập, Phú Thọ", "note": null}))]
pub struct UpdateCandidate {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<Option<NationalId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00]*$")]
    pub ethnicity: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00]*$")]
    pub religion: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00]*$")]
    pub hometown: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<Option<String>>,
    /// Not after the candidate's first step.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub proposed_on: Option<Option<NaiveDate>>,
}

/// Change an admission candidate
///
/// Changes what the proposal says about a candidate (JSON merge patch), with the rules of the proposal. Once the
/// candidate is admitted the member's record is the one to change (409).
#[utoipa::path(
    tag = "candidates",
    params(("id" = Uuid, Path, description = "Candidate id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the candidate has changed since")),
    request_body(content = UpdateCandidate, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed candidate", body = Candidate,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[patch("/{id}")]
pub async fn update_candidate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<CandidateId>,
    preconditions: Preconditions,
    body: ApiJson<UpdateCandidate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let patch = CandidatePatch {
        full_name: b.full_name,
        gender: b.gender,
        birth_date: b.birth_date,
        national_id: b.national_id,
        ethnicity: b.ethnicity,
        religion: b.religion,
        hometown: b.hometown,
        note: b.note,
        proposed_on: b.proposed_on,
    };
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), row, &actor))
}

/// Delete an admission candidate
///
/// Deletes a candidate entered by mistake, with its steps. An admitted candidate stays, linked to its member
/// (409); a candidate who leaves the road is `withdrawn` or `rejected` by a step instead.
#[utoipa::path(
    tag = "candidates",
    params(("id" = Uuid, Path, description = "Candidate id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the candidate has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
        (status = 409, response = Conflict),
    )
)]
#[delete("/{id}")]
pub async fn delete_candidate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<CandidateId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
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
        sponsors: b.sponsors.map(|list| {
            list.into_iter()
                .map(|s| SponsorEntry {
                    member_id: s.member_id,
                    youth_union: s.youth_union,
                    known_since: s.known_since,
                })
                .collect()
        }),
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
