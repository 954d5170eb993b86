//! `/api/v1/members`: party members, their admission, lifecycle events and history.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::member::{
    apply_event, check_dates, DisciplineForm, EventInput, EventType, Gender, MemberState, MemberStatus,
    PoliticalTheory, Refusal, TransferMode,
};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::extract::{double_option, with_etag, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{comma_list, ListQuery, Page, PageParams};
use crate::resources::members::store::{
    self as model, EventRow, MemberCursor, MemberFilter, MemberRow, MemberSort, MemberValues,
};
use crate::resources::organisations::store as organisations;
use crate::state::AppState;
use crate::write;

const RESOURCE: &str = "member";

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
    #[schema(example = "12345678", min_length = 8, max_length = 8, pattern = r"^[0-9]{8}$")]
    pub card_number: Option<String>,
    /// National id, 12 digits. Sensitive: absent for viewer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "025190001234", min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<Option<String>>,
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
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Member {
    /// The member as `actor` may see it.
    pub fn for_actor(row: MemberRow, actor: &Actor) -> Self {
        Self::from_row(row, actor.sees_sensitive_fields())
    }

    fn from_row(row: MemberRow, sensitive: bool) -> Self {
        let guard = |value: Option<String>| sensitive.then_some(value);
        Member {
            id: row.id,
            full_name: row.full_name,
            gender: row.gender,
            birth_date: row.birth_date,
            organisation_id: row.organisation_id,
            admitted_on: row.admitted_on,
            official_on: row.official_on,
            status: row.status,
            card_number: row.card_number,
            national_id: guard(row.national_id),
            ethnicity: guard(row.ethnicity),
            religion: guard(row.religion),
            hometown: row.hometown,
            education_level: row.education_level,
            qualification: row.qualification,
            political_theory: row.political_theory,
            note: row.note,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// The whole record, sensitive fields included, for the audit trail.
    fn full(row: MemberRow) -> Self {
        Self::from_row(row, true)
    }
}

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
    #[schema(min_length = 8, max_length = 8, pattern = r"^[0-9]{8}$")]
    pub card_number: Option<String>,
    /// 12 digits, unique. Sensitive.
    #[serde(default)]
    #[schema(min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<String>,
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
    pub card_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 12, max_length = 12, pattern = r"^[0-9]{12}$")]
    pub national_id: Option<Option<String>>,
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
}

impl From<EventRow> for MemberEvent {
    fn from(e: EventRow) -> Self {
        MemberEvent {
            id: e.id,
            r#type: e.kind,
            on: e.on_date,
            status_before: e.status_before,
            status_after: e.status_after,
            organisation_id: e.organisation_id,
            to_organisation_id: e.to_organisation_id,
            mode: e.mode,
            destination: e.destination,
            form: e.form,
            note: e.note,
            actor: e.actor,
            recorded_at: e.recorded_at,
        }
    }
}

/// Filters of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Members of this organisation only.
    organisation_id: Option<Uuid>,
    /// Members of this organisation and of every organisation below it.
    under: Option<Uuid>,
    /// Comma list of statuses, for example `probationary,official,exempt`.
    #[param(
        example = "probationary,official,exempt",
        max_length = 111,
        pattern = r"^(probationary|official|exempt|transferred_out|expelled|removed|deceased)(,(probationary|official|exempt|transferred_out|expelled|removed|deceased)){0,6}$"
    )]
    status: Option<String>,
    political_theory: Option<PoliticalTheory>,
    /// Admitted on or after this day.
    admitted_from: Option<NaiveDate>,
    /// Admitted on or before this day.
    admitted_to: Option<NaiveDate>,
    /// Part of the name, accent- and case-insensitive (`nguyen van an` finds `Nguyễn Văn An`), or an exact card
    /// number.
    #[param(example = "nguyen van an", max_length = 200, pattern = r"^[^\x00]*$")]
    q: Option<String>,
    /// `name`: Vietnamese order (given name, then the rest); `admitted_on`; default: creation order.
    sort: Option<MemberSort>,
}

/// List members
///
/// Lists the members inside the token's subtree, filtered by organisation, subtree, status, political theory level,
/// admission dates or text, in the order `sort` asks for.
#[utoipa::path(
    tag = "members",
    params(MemberQuery, PageParams),
    responses(
        (status = 200, description = "A page of members", body = Page<Member>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    ),
    security(("bearer" = []))
)]
#[get("")]
pub async fn list_members(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<MemberQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    if filters.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("q", "must be at most 200 characters"));
    }
    let sort = filters.sort.unwrap_or_default();
    let after = page.after::<MemberCursor>()?;
    let after_fits = after.as_ref().is_none_or(|cursor| cursor.fits(sort));
    if !after_fits {
        return Err(ApiError::bad_request("cursor", "belongs to a list in another order"));
    }
    let statuses = filters.status.as_deref().map(|s| comma_list("status", s)).transpose()?;
    let mut conn = state.read().await?;
    let Some((scope, under)) = organisations::subtree_paths(&mut conn, actor.scope(), filters.under).await? else {
        return Ok(page.empty::<Member>().respond());
    };
    let filter = MemberFilter {
        organisation_id: filters.organisation_id,
        under,
        statuses,
        political_theory: filters.political_theory,
        admitted_from: filters.admitted_from,
        admitted_to: filters.admitted_to,
        q: filters.q,
        scope,
    };
    let rows = model::list(&mut conn, &filter, sort, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count(&mut conn, &filter).await?)
    } else {
        None
    };
    Ok(page
        .finish(
            rows,
            |r| MemberCursor::of(sort, r),
            |r| Member::for_actor(r, &actor),
            total,
        )
        .respond())
}

/// Read a member
///
/// Reads one member. The sensitive fields (`national_id`, `ethnicity`, `religion`) are absent for a viewer token.
/// `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The member", body = Member,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    ),
    security(("bearer" = []))
)]
#[get("/{id}")]
pub async fn find_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = model::find_visible(&mut conn, *id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(with_etag(
        HttpResponse::Ok(),
        row.version,
        Member::for_actor(row, &actor),
    ))
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if value.is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    }
}

fn check_digits(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, digits: usize) {
    if value.is_some_and(|v| v.len() != digits || !v.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new(field, format!("must be exactly {digits} digits")));
    }
}

/// Checks the values of a member that need no database.
fn check_values(v: &MemberValues, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if v.full_name.trim().is_empty() || v.full_name.chars().count() > 200 {
        errors.push(FieldError::new("full_name", "must be 1 to 200 characters, not blank"));
    }
    check_digits(&mut errors, "card_number", v.card_number.as_deref(), 8);
    check_digits(&mut errors, "national_id", v.national_id.as_deref(), 12);
    for (field, value) in [
        ("ethnicity", &v.ethnicity),
        ("religion", &v.religion),
        ("hometown", &v.hometown),
        ("education_level", &v.education_level),
        ("qualification", &v.qualification),
    ] {
        check_text(&mut errors, field, value.as_deref(), 200);
    }
    check_text(&mut errors, "note", v.note.as_deref(), 4000);
    errors.extend(check_dates(v.birth_date, v.admitted_on, today));
    errors
}

/// Finds the organisation a member is placed in (admission or transfer): visible to the actor, a `base_cell` or
/// `cell`, and active.
async fn member_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    field: &str,
    id: Uuid,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let org = organisations::find_visible_shared(conn, id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid(field, "no organisation with this id"))?;
    if !org.kind.holds_members() {
        return Err(ApiError::invalid(
            field,
            format!("members belong to a base_cell or a cell, not a {}", org.kind),
        ));
    }
    if org.dissolved_on.is_some_and(|d| d <= today) {
        return Err(ApiError::invalid(field, "the organisation is dissolved"));
    }
    Ok(())
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
    ),
    security(("bearer" = []))
)]
#[post("")]
pub async fn create_member(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateMember>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let body = body.0;
    let today = today();
    let organisation_id = body.organisation_id;
    let values = MemberValues {
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
    };
    let errors = check_values(&values, today);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            member_organisation(conn, &actor, "organisation_id", organisation_id, today).await?;
            let row = model::insert(conn, Uuid::now_v7(), organisation_id, &values).await?;
            model::insert_event(
                conn,
                &EventRow {
                    id: Uuid::now_v7(),
                    member_id: row.id,
                    kind: EventType::Admitted,
                    on_date: row.admitted_on,
                    status_before: None,
                    status_after: MemberStatus::Probationary,
                    organisation_id,
                    to_organisation_id: None,
                    mode: None,
                    destination: None,
                    form: None,
                    note: None,
                    actor: actor.identity.name.clone(),
                    recorded_at: Utc::now(),
                },
            )
            .await?;
            let full = Member::full(row.clone());
            audit::record(conn, &actor, Action::Create, RESOURCE, row.id, None, Some(&full)).await?;
            Ok(Member::for_actor(row, &actor))
        })
        .await?;
    let location = format!("/api/v1/members/{}", row.id);
    Ok(with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        row.version,
        row,
    ))
}

/// Applies a merge patch to the stored values; `null` on a required field is an error.
fn apply_patch(row: &MemberRow, p: UpdateMember) -> Result<MemberValues, ApiError> {
    let mut errors = Vec::new();
    let values = MemberValues {
        full_name: write::required(&mut errors, "full_name", p.full_name, &row.full_name),
        gender: p.gender.unwrap_or(row.gender),
        birth_date: write::required(&mut errors, "birth_date", p.birth_date, &row.birth_date),
        admitted_on: write::required(&mut errors, "admitted_on", p.admitted_on, &row.admitted_on),
        card_number: p.card_number.unwrap_or_else(|| row.card_number.clone()),
        national_id: p.national_id.unwrap_or_else(|| row.national_id.clone()),
        ethnicity: p.ethnicity.unwrap_or_else(|| row.ethnicity.clone()),
        religion: p.religion.unwrap_or_else(|| row.religion.clone()),
        hometown: p.hometown.unwrap_or_else(|| row.hometown.clone()),
        education_level: p.education_level.unwrap_or_else(|| row.education_level.clone()),
        qualification: p.qualification.unwrap_or_else(|| row.qualification.clone()),
        political_theory: write::required(
            &mut errors,
            "political_theory",
            p.political_theory,
            &row.political_theory,
        ),
        note: p.note.unwrap_or_else(|| row.note.clone()),
    };
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn stored_values(row: &MemberRow) -> MemberValues {
    MemberValues {
        full_name: row.full_name.clone(),
        gender: row.gender,
        birth_date: row.birth_date,
        admitted_on: row.admitted_on,
        card_number: row.card_number.clone(),
        national_id: row.national_id.clone(),
        ethnicity: row.ethnicity.clone(),
        religion: row.religion.clone(),
        hometown: row.hometown.clone(),
        education_level: row.education_level.clone(),
        qualification: row.qualification.clone(),
        political_theory: row.political_theory,
        note: row.note.clone(),
    }
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
    ),
    security(("bearer" = []))
)]
#[patch("/{id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateMember>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let patch = body.0;
    let today = today();
    let mut conn = state.write().await?;
    let member = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let row = model::find_visible_for_update(conn, id, actor.scope())
                .await?
                .ok_or_else(|| ApiError::not_found(RESOURCE))?;
            preconditions.check_if_match(row.version)?;
            let values = apply_patch(&row, patch)?;
            let errors = check_values(&values, today);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            if values == stored_values(&row) {
                return Ok(Member::for_actor(row, &actor));
            }
            if values.admitted_on != row.admitted_on {
                check_new_admission_date(conn, &row, values.admitted_on).await?;
                model::redate_admission(conn, id, values.admitted_on).await?;
            }
            let before = Member::full(row);
            let updated = model::update(conn, id, &values).await?;
            let after = Member::full(updated.clone());
            audit::record(conn, &actor, Action::Update, RESOURCE, id, Some(&before), Some(&after)).await?;
            Ok(Member::for_actor(updated, &actor))
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), member.version, member))
}

/// A corrected admission date must keep the history in order and the probation rule of a recognition.
async fn check_new_admission_date(
    conn: &mut AsyncPgConnection,
    row: &MemberRow,
    admitted_on: NaiveDate,
) -> Result<(), ApiError> {
    if let Some(first) = model::first_event_after_admission(conn, row.id).await? {
        if admitted_on > first {
            return Err(ApiError::invalid(
                "admitted_on",
                format!("must not be after the member's next history entry ({first})"),
            ));
        }
    }
    if let Some(official_on) = row.official_on {
        let earliest = admitted_on.checked_add_months(chrono::Months::new(crate::domain::member::PROBATION_MONTHS));
        if earliest.is_none_or(|e| official_on < e) {
            return Err(ApiError::invalid(
                "admitted_on",
                "the member was recognised official less than 12 months after this date",
            ));
        }
    }
    Ok(())
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
    ),
    security(("bearer" = []))
)]
#[delete("/{id}")]
pub async fn delete_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let row = model::find_visible_for_update(conn, id, actor.scope())
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))?;
        preconditions.check_if_match(row.version)?;
        let evaluations = crate::resources::evaluations::store::member_usage(conn, id).await?;
        if evaluations > 0 {
            return Err(ApiError::conflict(format!(
                "the member has {evaluations} evaluation record(s); delete them first"
            )));
        }
        let before = Member::full(row);
        model::delete(conn, id).await?;
        audit::record(conn, &actor, Action::Delete, RESOURCE, id, Some(&before), None).await?;
        Ok(())
    })
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
    ),
    security(("bearer" = []))
)]
#[post("/{id}/events")]
pub async fn record_member_event(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<RecordEvent>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let request = body.0;
    let today = today();
    let mut errors = Vec::new();
    check_text(&mut errors, "note", request.note.as_deref(), 4000);
    check_text(&mut errors, "destination", request.destination.as_deref(), 200);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = state.write().await?;
    let member = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            let row = model::find_visible_for_update(conn, id, actor.scope())
                .await?
                .ok_or_else(|| ApiError::not_found(RESOURCE))?;
            preconditions.check_if_match(row.version)?;
            let last_event_on = model::last_event_on(conn, id).await?.unwrap_or(row.admitted_on);
            let input = EventInput {
                kind: request.r#type,
                on: request.on,
                to_organisation_id: request.to_organisation_id,
                mode: request.mode,
                destination: request.destination.clone(),
                form: request.form,
            };
            let state = MemberState {
                status: row.status,
                admitted_on: row.admitted_on,
                organisation_id: row.organisation_id,
                last_event_on,
            };
            let transition = apply_event(&state, &input, today).map_err(|refusal| match refusal {
                Refusal::State(detail) => ApiError::conflict(detail),
                Refusal::Invalid(errors) => ApiError::Validation(errors),
            })?;
            if let Some(to) = transition.organisation_id {
                member_organisation(conn, &actor, "to_organisation_id", to, today).await?;
            }
            let before = Member::full(row.clone());
            let updated = model::apply_transition(
                conn,
                id,
                transition.status,
                transition.official_on.or(row.official_on),
                transition.organisation_id.unwrap_or(row.organisation_id),
            )
            .await?;
            model::insert_event(
                conn,
                &EventRow {
                    id: Uuid::now_v7(),
                    member_id: id,
                    kind: request.r#type,
                    on_date: request.on,
                    status_before: Some(row.status),
                    status_after: transition.status,
                    organisation_id: row.organisation_id,
                    to_organisation_id: request.to_organisation_id,
                    mode: request.mode,
                    destination: request.destination,
                    form: request.form,
                    note: request.note,
                    actor: actor.identity.name.clone(),
                    recorded_at: Utc::now(),
                },
            )
            .await?;
            let after = Member::full(updated.clone());
            audit::record(conn, &actor, Action::Event, RESOURCE, id, Some(&before), Some(&after)).await?;
            Ok(Member::for_actor(updated, &actor))
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), member.version, member))
}

/// List a member's history
///
/// A member's whole history, oldest first, starting with the admission. The history is returned whole:
/// `next_cursor` is always null.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id")),
    responses(
        (status = 200, description = "The history", body = Page<MemberEvent>),
        ReadErrors,
    ),
    security(("bearer" = []))
)]
#[get("/{id}/events")]
pub async fn list_member_events(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    model::find_visible(&mut conn, *id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let items = model::events(&mut conn, *id)
        .await?
        .into_iter()
        .map(MemberEvent::from)
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
        total: None,
    }))
}

/// Registers the member routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_members)
        .service(create_member)
        .service(find_member)
        .service(update_member)
        .service(delete_member)
        .service(record_member_event)
        .service(list_member_events);
}
