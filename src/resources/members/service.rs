//! The member operations: admission, changes, deletion, lifecycle events and the reads. Every rule, authority
//! check and audit record of a member lives here, so the HTTP layer, the CLI, the demo seed and imports cannot
//! bypass them. Writes run in the caller's transaction.

use chrono::{Months, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::store::history::{self, EventRow};
use super::store::{self, Lock, MemberCursor, MemberFilter, MemberOrder, MemberRow, MemberValues, Subtrees};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::{
    apply_event, check_dates, EventInput, EventType, Gender, MemberState, MemberStatus, PoliticalTheory, Refusal,
    PROBATION_MONTHS,
};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::extract::etag;
use crate::resources::evaluations::store::member_usage;
use crate::resources::organisations::store as organisations;
use crate::write::{self, IfMatch, Patchable, Removable};

/// The resource type the audit trail names.
pub const RESOURCE: &str = "member";

/// An admission: the new member's values and the `base_cell` or `cell` that admits them.
#[derive(Debug, Clone)]
pub struct Admission {
    pub organisation_id: OrganisationId,
    pub values: MemberValues,
}

/// A lifecycle event to record, with the note its history entry keeps.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: EventInput,
    pub note: Option<String>,
}

/// A merge patch of a member: an absent field (`None`) stays, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct MemberPatch {
    pub full_name: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub admitted_on: Option<Option<NaiveDate>>,
    pub card_number: Option<Option<CardNumber>>,
    pub national_id: Option<Option<NationalId>>,
    pub ethnicity: Option<Option<String>>,
    pub religion: Option<Option<String>>,
    pub hometown: Option<Option<String>>,
    pub education_level: Option<Option<String>>,
    pub qualification: Option<Option<String>>,
    pub political_theory: Option<Option<PoliticalTheory>>,
    pub note: Option<Option<String>>,
}

/// Whether a list also counts the whole list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Count,
    Skip,
}

/// What a page of the member list asks for.
#[derive(Debug)]
pub struct ListRequest {
    /// Members of this organisation and of every organisation below it.
    pub under: Option<OrganisationId>,
    pub filter: MemberFilter,
    pub order: MemberOrder,
    pub after: Option<MemberCursor>,
    /// How many rows to read.
    pub fetch: i64,
    pub total: Total,
}

/// Rows of the member list, and the length of the whole list when it was counted.
#[derive(Debug)]
pub struct MemberList {
    pub rows: Vec<MemberRow>,
    pub total: Option<i64>,
}

/// A page of the members inside the actor's subtree.
pub async fn list(conn: &mut AsyncPgConnection, actor: &Actor, request: &ListRequest) -> Result<MemberList, ApiError> {
    let counted = |n| (request.total == Total::Count).then_some(n);
    let under = request.under.map(Uuid::from);
    let Some((scope, under)) = organisations::subtree_paths(conn, actor.scope(), under).await? else {
        return Ok(MemberList {
            rows: Vec::new(),
            total: counted(0),
        });
    };
    let within = Subtrees { scope, under };
    let (filter, order) = (&request.filter, request.order);
    let rows = store::list(conn, &within, filter, order, request.after.clone(), request.fetch).await?;
    let total = match request.total {
        Total::Count => Some(store::count(conn, &within, filter).await?),
        Total::Skip => None,
    };
    Ok(MemberList { rows, total })
}

/// A member inside the actor's subtree.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<MemberRow, ApiError> {
    store::find(conn, id, actor.scope(), Lock::Unlocked)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// A member's whole history, oldest first, starting with the admission.
pub async fn history(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<Vec<EventRow>, ApiError> {
    find(conn, actor, id).await?;
    Ok(history::events(conn, id).await?)
}

/// Admits a member, `probationary`, with the admission as the first history entry.
pub async fn admit(conn: &mut AsyncPgConnection, actor: &Actor, admission: Admission) -> Result<MemberRow, ApiError> {
    actor.require_writer()?;
    let today = today();
    let Admission {
        organisation_id,
        values,
    } = admission;
    check_values(&values, today)?;
    place(conn, actor, "organisation_id", organisation_id, today).await?;
    let row = store::insert(conn, MemberId::new(), organisation_id, &values).await?;
    let entry = history_entry(
        actor,
        &row,
        EventType::Admitted,
        row.admitted_on,
        None,
        MemberStatus::Probationary,
    );
    history::insert_event(conn, &entry).await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)).await?;
    Ok(row)
}

/// Changes a member's values by a merge patch.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MemberId,
    if_match: &IfMatch,
    patch: MemberPatch,
) -> Result<MemberRow, ApiError> {
    write::update::<MemberRecord>(conn, actor, id, if_match, patch).await
}

/// Deletes a member entered by mistake, with its history; 409 while it has evaluations.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MemberId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<MemberRecord>(conn, actor, id, if_match).await
}

/// Records a lifecycle event: the member after it. A refused event changes nothing: 409 when the member's status
/// does not allow it, 422 when a date or argument is wrong.
pub async fn record_event(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MemberId,
    if_match: &IfMatch,
    new: NewEvent,
) -> Result<MemberRow, ApiError> {
    actor.require_writer()?;
    let NewEvent { event, note } = new;
    let mut errors = Vec::new();
    check_text(&mut errors, "note", note.as_deref(), 4000);
    check_text(&mut errors, "destination", event.destination.as_deref(), 200);
    refuse(errors)?;
    // Events on one member happen one after the other: each sees the status the previous one left.
    let row = lock_visible(conn, actor, id).await?;
    if_match.check(&etag(row.version))?;
    let today = today();
    let state = MemberState {
        status: row.status,
        admitted_on: row.admitted_on,
        organisation_id: row.organisation_id,
        last_event_on: history::last_event_on(conn, id).await?.unwrap_or(row.admitted_on),
    };
    let transition = apply_event(&state, &event, today).map_err(|refusal| match refusal {
        Refusal::State(detail) => ApiError::conflict(detail),
        Refusal::Invalid(errors) => ApiError::Validation(errors),
    })?;
    if let Some(to) = transition.organisation_id {
        place(conn, actor, "to_organisation_id", to.into(), today).await?;
    }
    let official_on = transition.official_on.or(row.official_on);
    let organisation_id = transition.organisation_id.unwrap_or(row.organisation_id).into();
    let updated = store::apply_transition(conn, id, transition.status, official_on, organisation_id).await?;
    let entry = EventRow {
        to_organisation_id: event.to_organisation_id,
        mode: event.mode,
        destination: event.destination,
        form: event.form,
        note,
        ..history_entry(actor, &row, event.kind, event.on, Some(row.status), transition.status)
    };
    history::insert_event(conn, &entry).await?;
    audit::record(conn, actor, Action::Event, RESOURCE, id, Some(&row), Some(&updated)).await?;
    Ok(updated)
}

/// The member record, as the one write path changes and deletes it.
pub struct MemberRecord;

impl Patchable for MemberRecord {
    type Row = MemberRow;
    type Values = MemberValues;
    type Patch = MemberPatch;
    type View = MemberRow;
    type Id = MemberId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<MemberRow, ApiError> {
        actor.require_writer()?;
        lock_visible(conn, actor, id).await
    }

    async fn etag(_: &mut AsyncPgConnection, row: &MemberRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &MemberRow) -> MemberValues {
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

    fn merge(current: &MemberValues, p: MemberPatch) -> Result<MemberValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let values = MemberValues {
            full_name: write::required(&mut errors, "full_name", p.full_name, &current.full_name),
            gender: write::optional(p.gender, &current.gender),
            birth_date: write::required(&mut errors, "birth_date", p.birth_date, &current.birth_date),
            admitted_on: write::required(&mut errors, "admitted_on", p.admitted_on, &current.admitted_on),
            card_number: write::optional(p.card_number, &current.card_number),
            national_id: write::optional(p.national_id, &current.national_id),
            ethnicity: write::optional(p.ethnicity, &current.ethnicity),
            religion: write::optional(p.religion, &current.religion),
            hometown: write::optional(p.hometown, &current.hometown),
            education_level: write::optional(p.education_level, &current.education_level),
            qualification: write::optional(p.qualification, &current.qualification),
            political_theory: write::required(
                &mut errors,
                "political_theory",
                p.political_theory,
                &current.political_theory,
            ),
            note: write::optional(p.note, &current.note),
        };
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    async fn check(
        conn: &mut AsyncPgConnection,
        _: &Actor,
        row: &MemberRow,
        values: &MemberValues,
    ) -> Result<(), ApiError> {
        check_values(values, today())?;
        if values.admitted_on != row.admitted_on {
            check_new_admission_date(conn, row, values.admitted_on).await?;
        }
        Ok(())
    }

    async fn store(conn: &mut AsyncPgConnection, row: &MemberRow, values: MemberValues) -> Result<MemberRow, ApiError> {
        let id = MemberId::from(row.id);
        if values.admitted_on != row.admitted_on {
            history::redate_admission(conn, id, values.admitted_on).await?;
        }
        Ok(store::update(conn, id, &values).await?)
    }

    fn view(row: &MemberRow) -> MemberRow {
        row.clone()
    }
}

impl Removable for MemberRecord {
    async fn remove(conn: &mut AsyncPgConnection, row: &MemberRow) -> Result<(), ApiError> {
        let evaluations = member_usage(conn, row.id).await?;
        if evaluations > 0 {
            return Err(ApiError::conflict(format!(
                "the member has {evaluations} evaluation record(s); delete them first"
            )));
        }
        store::delete(conn, row.id.into()).await?;
        Ok(())
    }
}

/// The member inside the actor's subtree, locked for the rest of the transaction.
async fn lock_visible(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<MemberRow, ApiError> {
    store::find(conn, id, actor.scope(), Lock::ForNoKeyUpdate)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// A history entry of `member` as it was before the entry, recorded now by `actor`.
fn history_entry(
    actor: &Actor,
    member: &MemberRow,
    kind: EventType,
    on: NaiveDate,
    status_before: Option<MemberStatus>,
    status_after: MemberStatus,
) -> EventRow {
    EventRow {
        id: Uuid::now_v7(),
        member_id: member.id,
        kind,
        on_date: on,
        status_before,
        status_after,
        organisation_id: member.organisation_id,
        to_organisation_id: None,
        mode: None,
        destination: None,
        form: None,
        note: None,
        actor: actor.identity.name.clone(),
        recorded_at: Utc::now(),
    }
}

/// Checks the organisation a member is placed in (admission or transfer): visible to the actor, a `base_cell` or
/// `cell`, and active. It stays locked (shared) so that it cannot be dissolved or moved until the transaction ends.
async fn place(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    field: &str,
    id: OrganisationId,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let org = organisations::find_visible_shared(conn, id.into(), actor.scope())
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

/// A corrected admission date must keep the history in order and the probation rule of a recognition.
async fn check_new_admission_date(
    conn: &mut AsyncPgConnection,
    row: &MemberRow,
    admitted_on: NaiveDate,
) -> Result<(), ApiError> {
    if let Some(first) = history::first_event_after_admission(conn, row.id.into()).await? {
        if admitted_on > first {
            return Err(ApiError::invalid(
                "admitted_on",
                format!("must not be after the member's next history entry ({first})"),
            ));
        }
    }
    if let Some(official_on) = row.official_on {
        let earliest = admitted_on.checked_add_months(Months::new(PROBATION_MONTHS));
        if earliest.is_none_or(|e| official_on < e) {
            return Err(ApiError::invalid(
                "admitted_on",
                "the member was recognised official less than 12 months after this date",
            ));
        }
    }
    Ok(())
}

/// Checks the values of a member that need no database (the numbers are checked when they are parsed).
fn check_values(v: &MemberValues, today: NaiveDate) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if v.full_name.trim().is_empty() || v.full_name.chars().count() > 200 {
        errors.push(FieldError::new("full_name", "must be 1 to 200 characters, not blank"));
    }
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
    refuse(errors)
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if value.is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    }
}

/// 422 with `errors`, unless there are none.
fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
