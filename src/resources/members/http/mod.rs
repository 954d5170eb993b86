//! `/api/v1/members`: party members, their admission, lifecycle events and history. The handlers parse a request
//! into domain values, call one operation of the service and render its result.

mod read;
mod write;

use actix_web::{HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{EventRow, MemberRow};
use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::member::{DisciplineForm, EventType, Gender, MemberStatus, PoliticalTheory, TransferMode};
use crate::extract::with_etag;

pub use read::MemberSort;

/// A party member. `national_id`, `ethnicity` and `religion` are sensitive: they are absent for viewer tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub id: Uuid,
    #[schema(
        example = "Nguyễn Thị Ánh",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub full_name: String,
    pub gender: Option<Gender>,
    #[schema(example = "1990-04-12")]
    pub birth_date: NaiveDate,
    /// The `base_cell` or `cell` the member belongs to; changes only through a `transferred` event.
    pub organisation_id: Uuid,
    #[schema(example = "2012-05-19")]
    pub admitted_on: NaiveDate,
    /// Set by the `recognised_official` event. Read-only.
    pub official_on: Option<NaiveDate>,
    /// Follows from the lifecycle events. Read-only.
    pub status: MemberStatus,
    /// Party card number, 8 digits.
    #[schema(value_type = Option<String>, example = "12345678", min_length = 8, max_length = 8, pattern = r"^[0-9]{8}$")]
    pub card_number: Option<CardNumber>,
    /// National id, 12 digits. Sensitive: absent for viewer tokens.
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
    #[schema(example = "12/12", max_length = 200, pattern = r"^[^\x00]*$")]
    pub education_level: Option<String>,
    #[schema(example = "Cử nhân Nông nghiệp", max_length = 200, pattern = r"^[^\x00]*$")]
    pub qualification: Option<String>,
    pub political_theory: PoliticalTheory,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// The admission candidate whose ceremony created this member (`/api/v1/candidates/{id}`); `null` for a
    /// member admitted directly. Read-only.
    pub candidate_id: Option<Uuid>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Member {
    /// The member as `actor` may see it: the sensitive fields only for those who may see them.
    pub fn for_actor(row: MemberRow, actor: &Actor) -> Self {
        let sensitive = actor.sees_sensitive_fields();
        Member {
            id: row.id.0,
            full_name: row.values.full_name,
            gender: row.values.gender,
            birth_date: row.values.birth_date,
            organisation_id: row.organisation_id.0,
            admitted_on: row.values.admitted_on,
            official_on: row.official_on,
            status: row.status,
            card_number: row.values.card_number,
            national_id: sensitive.then_some(row.values.national_id),
            ethnicity: sensitive.then_some(row.values.ethnicity),
            religion: sensitive.then_some(row.values.religion),
            hometown: row.values.hometown,
            education_level: row.values.education_level,
            qualification: row.values.qualification,
            political_theory: row.values.political_theory,
            note: row.values.note,
            candidate_id: row.candidate_id.map(|c| c.0),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A response carrying the member as `actor` may see it, with its ETag.
fn respond(response: HttpResponseBuilder, row: MemberRow, actor: &Actor) -> HttpResponse {
    with_etag(response, row.version, Member::for_actor(row, actor))
}

/// One entry of a member's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberEvent {
    pub id: Uuid,
    pub r#type: EventType,
    pub on: NaiveDate,
    /// `null` for the admission.
    pub status_before: Option<MemberStatus>,
    pub status_after: MemberStatus,
    /// The member's organisation when it happened (for a transfer: the one left).
    pub organisation_id: Uuid,
    /// For a transfer: the receiving organisation.
    pub to_organisation_id: Option<Uuid>,
    pub mode: Option<TransferMode>,
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub destination: Option<String>,
    pub form: Option<DisciplineForm>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// The token that recorded it.
    #[schema(max_length = 64)]
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    /// The reorganisation that transferred the member with its organisation; `null` for other entries.
    pub reorganisation_id: Option<Uuid>,
}

impl From<EventRow> for MemberEvent {
    fn from(e: EventRow) -> Self {
        MemberEvent {
            id: e.id,
            r#type: e.kind,
            on: e.on_date,
            status_before: e.status_before,
            status_after: e.status_after,
            organisation_id: e.organisation_id.0,
            to_organisation_id: e.to_organisation_id.map(|o| o.0),
            mode: e.mode,
            destination: e.destination,
            form: e.form,
            note: e.note,
            actor: e.actor,
            recorded_at: e.recorded_at,
            reorganisation_id: e.reorganisation_id,
        }
    }
}

/// Registers the member routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(read::list_members)
        .service(write::create_member)
        .service(read::find_member)
        .service(write::update_member)
        .service(write::delete_member)
        .service(write::record_member_event)
        .service(read::list_member_events);
}
