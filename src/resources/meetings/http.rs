//! `/api/v1/meetings`: cell meetings and their attendance. The handlers parse a request into domain values, call
//! one operation of the service and render its result.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service::{self, ListRequest, MeetingPatch, NewMeeting};
use crate::auth::Actor;
use crate::domain::ids::{MeetingId, MemberId, OrganisationId};
use crate::domain::meeting::{AttendanceStatus, MeetingKind};
use crate::error::ApiError;
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::state::AppState;

/// A meeting and who attended it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meeting {
    pub id: Uuid,
    /// The cell, base cell or committee that held it.
    pub organisation_id: Uuid,
    #[schema(example = "2012-05-05")]
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    #[schema(
        example = "Học tập Nghị quyết Trung ương 4",
        max_length = 500,
        pattern = r"^[^\x00]*$"
    )]
    pub topic: Option<String>,
    /// Every member expected that day, once.
    #[schema(max_items = 2000)]
    pub attendance: Vec<Attendance>,
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One member's attendance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    pub member_id: Uuid,
    pub status: AttendanceStatus,
}

impl From<service::Meeting> for Meeting {
    fn from(m: service::Meeting) -> Self {
        Meeting {
            id: m.row.id.0,
            organisation_id: m.row.organisation_id.0,
            held_on: m.row.held_on,
            kind: m.row.kind,
            topic: m.row.topic,
            attendance: m
                .attendance
                .into_iter()
                .map(|a| Attendance {
                    member_id: a.member_id.0,
                    status: a.status,
                })
                .collect(),
            version: m.row.version,
            created_at: m.row.created_at,
            updated_at: m.row.updated_at,
        }
    }
}

fn respond(response: HttpResponseBuilder, meeting: service::Meeting) -> HttpResponse {
    with_etag(response, meeting.row.version, Meeting::from(meeting))
}

/// A meeting to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "held_on": "2012-05-05",
    "kind": "regular", "topic": "Sinh hoạt chi bộ tháng 5",
    "attendance": [{"member_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e11", "status": "present"},
        {"member_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e12", "status": "absent_excused"}]}))]
pub struct CreateMeeting {
    /// A cell, base cell or base or partial committee inside the token's subtree.
    pub organisation_id: Uuid,
    /// Not in the future.
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00]*$")]
    pub topic: Option<String>,
    /// Exactly the members expected that day, each once.
    #[schema(max_items = 2000)]
    pub attendance: Vec<Attendance>,
}

/// Filters of the meeting list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeetingQuery {
    /// Meetings of this organisation only.
    organisation_id: Option<Uuid>,
    /// Meetings of this organisation and of every organisation below it.
    under: Option<Uuid>,
    kind: Option<MeetingKind>,
    /// Held on or after this day.
    from: Option<NaiveDate>,
    /// Held on or before this day.
    to: Option<NaiveDate>,
}

/// List meetings
///
/// Lists the meetings held inside the token's subtree in the order they were recorded, with their attendance,
/// filtered by organisation, subtree, kind or dates.
#[utoipa::path(
    tag = "meetings",
    params(MeetingQuery, PageParams),
    responses(
        (status = 200, description = "A page of meetings", body = Page<Meeting>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_meetings(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<MeetingQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let request = ListRequest {
        under: filters.under.map(OrganisationId),
        organisation_id: filters.organisation_id.map(OrganisationId),
        kind: filters.kind,
        from: filters.from,
        to: filters.to,
        after: page.after::<MeetingId>()?,
        fetch: page.fetch(),
        count: page.count_exact,
    };
    let mut conn = state.read().await?;
    let (meetings, total) = service::list(&mut conn, &actor, request).await?;
    Ok(page.finish(meetings, |m| m.row.id, Meeting::from, total).respond())
}

/// The body limit of a new meeting: 2,000 attendance entries take about 200 KiB.
pub const MEETING_BODY_LIMIT: usize = 512 * 1024;

/// Record a meeting
///
/// Records a meeting and its attendance. The attendance lists exactly the members expected that day: the
/// probationary and official members of the organisation and of the organisations below it (exempt members and
/// members not yet admitted or already gone are not expected), each once. A member missing (error on
/// `attendance`, naming the member), foreign or listed twice (error on `attendance[i].member_id`) is 422.
/// Body limit: 512 KiB, room for the 2,000 attendance entries a meeting may list.
#[utoipa::path(
    tag = "meetings",
    request_body(content = CreateMeeting, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = Meeting,
            headers(("Location" = String, description = "URL of the new meeting"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_meeting(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateMeeting, MEETING_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let new = NewMeeting {
        organisation_id: OrganisationId(b.organisation_id),
        held_on: b.held_on,
        kind: b.kind,
        topic: b.topic,
        attendance: b
            .attendance
            .into_iter()
            .map(|a| (MemberId(a.member_id), a.status))
            .collect(),
    };
    let mut conn = state.write().await?;
    let meeting = conn
        .transaction(async |conn| service::record(conn, &actor, new).await)
        .await?;
    let created = HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/meetings/{}", meeting.row.id)))
        .take();
    Ok(respond(created, meeting))
}

/// Read a meeting
///
/// Reads one meeting with its attendance. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "meetings",
    params(("id" = Uuid, Path, description = "Meeting id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The meeting", body = Meeting,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_meeting(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MeetingId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let meeting = service::find(&mut conn, &actor, id.into_inner()).await?;
    if let Some(not_modified) = preconditions.not_modified_response(meeting.row.version) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), meeting))
}

/// A JSON merge patch of a meeting: its kind and topic. To correct the day or the attendance, delete the meeting
/// and record it again (the attendance is checked against that day).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "thematic", "topic": "Học tập Nghị quyết Trung ương 4"}))]
pub struct UpdateMeeting {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = MeetingKind)]
    pub kind: Option<Option<MeetingKind>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00]*$")]
    pub topic: Option<Option<String>>,
}

/// Correct a meeting
///
/// Corrects a meeting's kind or topic (JSON merge patch). The day and the attendance are corrected by deleting the
/// meeting and recording it again.
#[utoipa::path(
    tag = "meetings",
    params(("id" = Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the meeting has changed since")),
    request_body(content = UpdateMeeting, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The corrected meeting", body = Meeting,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
    )
)]
#[patch("/{id}")]
pub async fn update_meeting(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MeetingId>,
    preconditions: Preconditions,
    body: ApiJson<UpdateMeeting>,
) -> Result<HttpResponse, ApiError> {
    let patch = MeetingPatch {
        kind: body.0.kind,
        topic: body.0.topic,
    };
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    let meeting = conn
        .transaction(async |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), meeting))
}

/// Delete a meeting
///
/// Deletes a meeting recorded by mistake, with its attendance.
#[utoipa::path(
    tag = "meetings",
    params(("id" = Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the meeting has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
    )
)]
#[delete("/{id}")]
pub async fn delete_meeting(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MeetingId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (id.into_inner(), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the meeting routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_meetings)
        .service(create_meeting)
        .service(find_meeting)
        .service(update_meeting)
        .service(delete_meeting);
}
