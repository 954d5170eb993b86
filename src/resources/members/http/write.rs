//! The member writes: admission, change, deletion and lifecycle events.

use actix_web::http::header;
use actix_web::{delete, patch, post, web, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{respond, Member};
use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::{DisciplineForm, EventInput, EventType, Gender, PoliticalTheory, TransferMode};
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::resources::members::service::{self, Admission, MemberPatch, NewEvent};
use crate::resources::members::store::MemberValues;
use crate::state::AppState;

/// An admission: the new member starts `probationary`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "Nguyễn Thị Ánh", "gender": "female", "birth_date": "1990-04-12",
    "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "admitted_on": "2012-05-19",
    "card_number": "12345678", "national_id": "025190001234", "ethnicity": "Mường",
    "political_theory": "elementary"}))]
pub struct CreateMember {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub full_name: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    /// An active `base_cell` or `cell`.
    pub organisation_id: Uuid,
    /// Not in the future; the member is 18 or older on this day.
    pub admitted_on: NaiveDate,
    /// 8 digits, unique.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 8, max_length = 8, pattern = r"^[0-9]{8}$")]
    pub card_number: Option<CardNumber>,
    /// 12 digits, unique. Sensitive.
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
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub education_level: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub qualification: Option<String>,
    /// Defaults to `none`.
    #[serde(default)]
    pub political_theory: Option<PoliticalTheory>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A JSON merge patch of a member. `status`, `official_on` and `organisation_id` change only through events.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"political_theory": "intermediate", "card_number": "12345679", "note": null}))]
pub struct UpdateMember {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub birth_date: Option<Option<NaiveDate>>,
    /// A correction of the admission date; it moves the admission entry of the history.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = NaiveDate)]
    pub admitted_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 8, max_length = 8, pattern = r"^[0-9]{8}$")]
    pub card_number: Option<Option<CardNumber>>,
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
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00]*$")]
    pub education_level: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = r"^[^\x00]*$")]
    pub qualification: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = PoliticalTheory)]
    pub political_theory: Option<Option<PoliticalTheory>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<Option<String>>,
}

/// A lifecycle event. Which of the optional fields apply depends on `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "transferred", "on": "2014-01-10",
    "to_organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e02", "mode": "permanent"}))]
pub struct RecordEvent {
    pub r#type: EventType,
    /// When it happened: not in the future, not before the member's latest history entry.
    pub on: NaiveDate,
    /// `transferred` only: the receiving `base_cell` or `cell`.
    #[serde(default)]
    pub to_organisation_id: Option<Uuid>,
    /// `transferred` only.
    #[serde(default)]
    pub mode: Option<TransferMode>,
    /// `transferred_out` only: where the member goes.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub destination: Option<String>,
    /// `disciplined` only.
    #[serde(default)]
    pub form: Option<DisciplineForm>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

impl From<CreateMember> for Admission {
    fn from(body: CreateMember) -> Self {
        Admission {
            organisation_id: OrganisationId(body.organisation_id),
            values: MemberValues {
                full_name: body.full_name,
                gender: body.gender,
                birth_date: body.birth_date,
                admitted_on: body.admitted_on,
                card_number: body.card_number,
                national_id: body.national_id,
                ethnicity: body.ethnicity,
                religion: body.religion,
                hometown: body.hometown,
                education_level: body.education_level,
                qualification: body.qualification,
                political_theory: body.political_theory.unwrap_or(PoliticalTheory::None),
                note: body.note,
            },
            candidate_id: None,
        }
    }
}

impl From<UpdateMember> for MemberPatch {
    fn from(p: UpdateMember) -> Self {
        MemberPatch {
            full_name: p.full_name,
            gender: p.gender,
            birth_date: p.birth_date,
            admitted_on: p.admitted_on,
            card_number: p.card_number,
            national_id: p.national_id,
            ethnicity: p.ethnicity,
            religion: p.religion,
            hometown: p.hometown,
            education_level: p.education_level,
            qualification: p.qualification,
            political_theory: p.political_theory,
            note: p.note,
        }
    }
}

impl From<RecordEvent> for NewEvent {
    fn from(body: RecordEvent) -> Self {
        NewEvent {
            event: EventInput {
                kind: body.r#type,
                on: body.on,
                to_organisation_id: body.to_organisation_id,
                mode: body.mode,
                destination: body.destination,
                form: body.form,
            },
            note: body.note,
        }
    }
}

/// Admit a member
///
/// Admits a member: creates the record, `probationary`, with the admission as the first history entry. The
/// organisation must be an active `base_cell` or `cell` inside the token's subtree, the admission not in the
/// future, and the member 18 or older on that day (422 otherwise). `card_number` and `national_id` are unique
/// (409).
#[utoipa::path(
    tag = "members",
    request_body(content = CreateMember, content_type = "application/json"),
    responses(
        (status = 201, description = "Admitted", body = Member,
            headers(("Location" = String, description = "URL of the new member"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_member(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateMember>,
) -> Result<HttpResponse, ApiError> {
    let admission = Admission::from(body.0);
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::admit(conn, &actor, admission).await)
        .await?;
    let location = format!("/api/v1/members/{}", row.id);
    let created = HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .take();
    Ok(respond(created, row, &actor))
}

/// Change a member
///
/// Changes a member's record (JSON merge patch). `status`, `official_on` and the organisation follow from lifecycle
/// events and cannot be set here. The dates follow the same rules as on admission (422).
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the member has changed since")),
    request_body(content = UpdateMember, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed member", body = Member,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[patch("/{id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
    preconditions: Preconditions,
    body: ApiJson<UpdateMember>,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match, patch) = (id.into_inner(), preconditions.if_match(), MemberPatch::from(body.0));
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), row, &actor))
}

/// Delete a member entered by mistake
///
/// Deletes a member record entered by mistake, with its history; 409 while the member has evaluations. Leaving the
/// party is an event, not a deletion.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the member has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
        (status = 409, response = Conflict),
    )
)]
#[delete("/{id}")]
pub async fn delete_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Record a member lifecycle event
///
/// Records a lifecycle event (recognition, transfer, leaving, discipline, death...) and returns the updated member.
/// A refused event changes nothing: 409 when the member's status does not allow it, 422 when a date or argument is
/// wrong. An event is dated not in the future and not before the member's latest history entry.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id"),
        ("If-Match" = Option<String>, Header, description = "The member's ETag read last; 412 when it has changed since")),
    request_body(content = RecordEvent, content_type = "application/json"),
    responses(
        (status = 200, description = "The member after the event", body = Member,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[post("/{id}/events")]
pub async fn record_member_event(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
    preconditions: Preconditions,
    body: ApiJson<RecordEvent>,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match, event) = (id.into_inner(), preconditions.if_match(), NewEvent::from(body.0));
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async |conn| service::record_event(conn, &actor, id, &if_match, event).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), row, &actor))
}
