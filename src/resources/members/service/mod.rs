//! The member operations: admission, changes, deletion, lifecycle events and the reads. Every rule, authority
//! check and audit record of a member lives here, so the HTTP layer, the CLI, the demo seed and imports cannot
//! bypass them. Writes run in the caller's transaction.

mod bulk;
mod record;

pub use bulk::{admit_many, check_admission, BulkAdmission, CheckedAdmission};
pub use record::{MemberPatch, MemberRecord};

use chrono::{NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::store::history::{self, EventRow};
use super::store::{self, Lock, MemberCursor, MemberFilter, MemberOrder, MemberRow, MemberValues, Subtrees};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{CandidateId, MemberId, OrganisationId};
use crate::domain::member::{apply_event, check_dates, EventInput, EventType, MemberState, MemberStatus, Refusal};
use crate::domain::organisation::OrganisationKind;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::service::{subtree_paths, unless_everything};
use crate::resources::organisations::store::{self as organisations, Placement};
use crate::write::etag;
use crate::write::{self, IfMatch};

/// The resource type the audit trail names.
pub const RESOURCE: &str = "member";

/// An admission: the new member's values and the `base_cell` or `cell` that admits them.
#[derive(Debug, Clone)]
pub struct Admission {
    pub organisation_id: OrganisationId,
    pub values: MemberValues,
    /// The candidate whose ceremony this is; `None` for a member admitted directly.
    pub candidate_id: Option<CandidateId>,
}

/// A lifecycle event to record, with the note its history entry keeps.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: EventInput,
    pub note: Option<String>,
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
    let Some((scope, under)) = subtree_paths(conn, actor.scope(), under).await? else {
        return Ok(MemberList {
            rows: Vec::new(),
            total: counted(0),
        });
    };
    // A national committee's token, or `under` its organisation, confines the list to everything: read it so.
    // (Organisations at the top of the tree hold no members, so `under`'s own organisation adds none.)
    let within = Subtrees {
        scope: unless_everything(conn, scope).await?,
        under: unless_everything(conn, under).await?,
    };
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
        candidate_id,
    } = admission;
    check_values(&values, today)?;
    // The organisation's check and the insert sent together, one round trip for both. The check decides first:
    // when it refuses, its error is the answer whatever the insert did, and the caller's transaction rolls both back.
    let (placement, inserted) = futures_util::join!(
        organisations::placement_locked(conn, organisation_id, actor.scope()),
        store::insert(conn, MemberId::new(), organisation_id, candidate_id, &values),
    );
    placeable(placement?, "organisation_id", today)?;
    let row = inserted?;
    let entry = history_entry(
        actor,
        &row,
        EventType::Admitted,
        row.values.admitted_on,
        None,
        MemberStatus::Probationary,
    );
    // Independent of each other: sent together, one round trip for both.
    futures_util::try_join!(
        history::insert_event(conn, &entry),
        audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)),
    )?;
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
        admitted_on: row.values.admitted_on,
        organisation_id: row.organisation_id.0,
        last_event_on: history::last_event_on(conn, id)
            .await?
            .unwrap_or(row.values.admitted_on),
    };
    let transition = apply_event(&state, &event, today).map_err(|refusal| match refusal {
        Refusal::State(detail) => ApiError::conflict(detail),
        Refusal::Invalid(errors) => ApiError::Validation(errors),
    })?;
    if let Some(to) = transition.organisation_id {
        place(conn, actor, "to_organisation_id", to.into(), today).await?;
    }
    let official_on = transition.official_on.or(row.official_on);
    let organisation_id = transition.organisation_id.map_or(row.organisation_id, OrganisationId);
    let updated = store::apply_transition(conn, id, transition.status, official_on, organisation_id).await?;
    let entry = EventRow {
        to_organisation_id: event.to_organisation_id.map(OrganisationId),
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
        reorganisation_id: None,
    }
}

/// Checks the organisation a member is placed in (admission or transfer, and a candidate's cell): visible to the
/// actor, a `base_cell` or `cell`, and active. It stays locked (shared) so that it cannot be dissolved or moved
/// until the transaction ends.
pub async fn place(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    field: &str,
    id: OrganisationId,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let placement = organisations::placement_locked(conn, id, actor.scope()).await?;
    placeable(placement, field, today)
}

/// The check of [`place`] on what it read of the organisation (`None`: none with that id inside the actor's
/// subtree).
fn placeable(placement: Option<Placement>, field: &str, today: NaiveDate) -> Result<(), ApiError> {
    let org = placement.ok_or_else(|| ApiError::invalid(field, "no organisation with this id"))?;
    match placement_refusal(org.kind, org.dissolved_on, today) {
        Some(why) => Err(ApiError::invalid(field, why)),
        None => Ok(()),
    }
}

/// Why a member cannot be placed in this organisation, if it cannot: only an active `base_cell` or `cell` holds
/// members.
fn placement_refusal(kind: OrganisationKind, dissolved_on: Option<NaiveDate>, today: NaiveDate) -> Option<String> {
    if !kind.holds_members() {
        return Some(format!("members belong to a base_cell or a cell, not a {kind}"));
    }
    if dissolved_on.is_some_and(|d| d <= today) {
        return Some("the organisation is dissolved".into());
    }
    None
}

/// Checks the values of a member that need no database (the numbers are checked when they are parsed).
fn check_values(v: &MemberValues, today: NaiveDate) -> Result<(), ApiError> {
    refuse(value_errors(v, today))
}

/// What is wrong with the values of a member, by the rules that need no database.
fn value_errors(v: &MemberValues, today: NaiveDate) -> Vec<FieldError> {
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
    errors
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
