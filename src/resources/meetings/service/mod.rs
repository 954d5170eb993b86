//! The meeting operations: recording a meeting with its attendance, and the reads. Every rule, authority check
//! and audit record of a meeting lives here. Writes run in the caller's transaction.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

mod many;

pub use many::{expected_many, record_many};

use super::store::{self, AttendanceRow, MeetingFilter, MeetingRow, MeetingValues};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{MeetingId, MemberId, OrganisationId};
use crate::domain::meeting::{AttendanceStatus, MeetingKind};
use crate::domain::organisation::OrganisationKind;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::store as organisations;
use crate::write::{self, etag, IfMatch, Patchable, Removable};

/// The resource type the audit trail names.
pub const RESOURCE: &str = "meeting";

/// The most members one meeting may list.
pub const MAX_ATTENDANCE: usize = 2000;

/// A meeting with its attendance, as stored and as the audit trail records it.
#[derive(Debug, Clone, Serialize)]
pub struct Meeting {
    #[serde(flatten)]
    pub row: MeetingRow,
    pub attendance: Vec<AttendanceRow>,
}

/// A meeting as a client records it.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub organisation_id: OrganisationId,
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    pub topic: Option<String>,
    pub attendance: Vec<(MemberId, AttendanceStatus)>,
}

/// What a page of the meeting list asks for.
#[derive(Debug)]
pub struct ListRequest {
    pub under: Option<OrganisationId>,
    pub organisation_id: Option<OrganisationId>,
    pub kind: Option<MeetingKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub after: Option<MeetingId>,
    pub fetch: i64,
    pub count: bool,
}

/// A page of the meetings held inside the actor's subtree, with their attendance, and the length of the whole
/// list when counted.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    request: ListRequest,
) -> Result<(Vec<Meeting>, Option<i64>), ApiError> {
    let under = request.under.map(Uuid::from);
    let Some((scope, under)) =
        crate::resources::organisations::service::subtree_paths(conn, actor.scope(), under).await?
    else {
        return Ok((Vec::new(), request.count.then_some(0)));
    };
    let filter = MeetingFilter {
        scope,
        under,
        organisation_id: request.organisation_id,
        kind: request.kind,
        from: request.from,
        to: request.to,
    };
    let rows = store::list(conn, &filter, request.after, request.fetch).await?;
    let ids: Vec<MeetingId> = rows.iter().map(|r| r.id).collect();
    let mut attendance: HashMap<MeetingId, Vec<AttendanceRow>> = HashMap::new();
    for row in store::attendance(conn, &ids).await? {
        attendance.entry(row.meeting_id).or_default().push(row);
    }
    let meetings = rows
        .into_iter()
        .map(|row| Meeting {
            attendance: attendance.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect();
    let total = match request.count {
        true => Some(store::count(conn, &filter).await?),
        false => None,
    };
    Ok((meetings, total))
}

/// A meeting held inside the actor's subtree, with its attendance.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: MeetingId) -> Result<Meeting, ApiError> {
    visible(conn, actor, id, false).await
}

async fn visible(conn: &mut AsyncPgConnection, actor: &Actor, id: MeetingId, lock: bool) -> Result<Meeting, ApiError> {
    let row = store::find(conn, id, actor.scope(), lock)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let attendance = store::attendance(conn, &[id]).await?;
    Ok(Meeting { row, attendance })
}

/// A merge patch of a meeting: `None` keeps a value, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct MeetingPatch {
    pub kind: Option<Option<MeetingKind>>,
    pub topic: Option<Option<String>>,
}

/// Corrects a meeting's kind or topic by a merge patch.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MeetingId,
    if_match: &IfMatch,
    patch: MeetingPatch,
) -> Result<Meeting, ApiError> {
    write::update::<Meetings>(conn, actor, id, if_match, patch).await
}

/// Deletes a meeting recorded by mistake, with its attendance.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MeetingId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<Meetings>(conn, actor, id, if_match).await
}

/// Meetings on the one write path.
struct Meetings;

impl Patchable for Meetings {
    type Row = Meeting;
    type Values = MeetingValues;
    type Patch = MeetingPatch;
    type View = Meeting;
    type Id = MeetingId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: MeetingId) -> Result<Meeting, ApiError> {
        actor.require_writer()?;
        visible(conn, actor, id, true).await
    }

    async fn etag(_: &mut AsyncPgConnection, meeting: &Meeting) -> Result<String, ApiError> {
        Ok(etag(meeting.row.version))
    }

    fn values(meeting: &Meeting) -> MeetingValues {
        MeetingValues {
            kind: meeting.row.kind,
            topic: meeting.row.topic.clone(),
        }
    }

    fn merge(current: &MeetingValues, p: MeetingPatch) -> Result<MeetingValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = MeetingValues {
            kind: write::required(&mut errors, "kind", p.kind, &current.kind),
            topic: write::optional(p.topic, &current.topic),
        };
        match errors.is_empty() {
            true => Ok(merged),
            false => Err(errors),
        }
    }

    async fn check(_: &mut AsyncPgConnection, _: &Actor, _: &Meeting, values: &MeetingValues) -> Result<(), ApiError> {
        match values.topic.as_deref().is_some_and(|t| t.chars().count() > 500) {
            true => Err(ApiError::invalid("topic", "must be at most 500 characters")),
            false => Ok(()),
        }
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        meeting: &Meeting,
        values: MeetingValues,
    ) -> Result<Meeting, ApiError> {
        Ok(Meeting {
            row: store::update(conn, meeting.row.id, &values).await?,
            attendance: meeting.attendance.clone(),
        })
    }

    fn view(meeting: &Meeting) -> Meeting {
        meeting.clone()
    }
}

impl Removable for Meetings {
    async fn remove(conn: &mut AsyncPgConnection, meeting: &Meeting) -> Result<(), ApiError> {
        store::delete(conn, meeting.row.id).await?;
        Ok(())
    }
}

/// Records a meeting. Its attendance lists exactly the members expected that day: the current, non-exempt members
/// of the organisation (and of the organisations below it); a member missing, foreign or listed twice is 422
/// naming the member.
pub async fn record(conn: &mut AsyncPgConnection, actor: &Actor, new: NewMeeting) -> Result<Meeting, ApiError> {
    actor.require_writer()?;
    let mut errors = Vec::new();
    if new.topic.as_deref().is_some_and(|t| t.chars().count() > 500) {
        errors.push(FieldError::new("topic", "must be at most 500 characters"));
    }
    if new.held_on > today() {
        errors.push(FieldError::new("held_on", "must not be in the future"));
    }
    if new.attendance.len() > MAX_ATTENDANCE {
        errors.push(FieldError::new(
            "attendance",
            format!("lists at most {MAX_ATTENDANCE} members"),
        ));
    }
    refuse(errors)?;
    let org =
        organisations::find_visible_locked(conn, new.organisation_id, actor.scope(), organisations::RowLock::Share)
            .await?
            .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
    if org.kind == OrganisationKind::SuperiorCommittee {
        return Err(ApiError::invalid(
            "organisation_id",
            "meetings are held by cells, base cells and committees at the base, not by a superior_committee",
        ));
    }
    let expected = store::expected_members(conn, &[org.id.0], &[new.held_on]).await?;
    refuse(check_attendance(&new.attendance, &expected))?;
    let (row, attendance) = store::insert(
        conn,
        new.organisation_id,
        new.held_on,
        new.kind,
        new.topic.as_deref(),
        &new.attendance,
    )
    .await?;
    let meeting = Meeting { row, attendance };
    audit::record(
        conn,
        actor,
        Action::Create,
        RESOURCE,
        meeting.row.id,
        None,
        Some(&meeting),
    )
    .await?;
    Ok(meeting)
}

/// The errors of an attendance list against the members expected: each entry names an expected member once, and
/// every expected member is listed.
pub(super) fn check_attendance(
    listed: &[(MemberId, AttendanceStatus)],
    expected: &[store::ExpectedMember],
) -> Vec<FieldError> {
    let expected_ids: HashSet<Uuid> = expected.iter().map(|m| m.id).collect();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (i, (member, _)) in listed.iter().enumerate() {
        let field = format!("attendance[{i}].member_id");
        if !expected_ids.contains(&member.0) {
            errors.push(FieldError::new(
                field,
                format!("member {member} is not a current, non-exempt member of the organisation on that day"),
            ));
        } else if !seen.insert(member.0) {
            errors.push(FieldError::new(field, format!("member {member} is listed twice")));
        }
    }
    for member in expected.iter().filter(|m| !seen.contains(&m.id)) {
        errors.push(FieldError::new(
            "attendance",
            format!(
                "member {} ({}) is missing: every current, non-exempt member is listed",
                member.id, member.full_name
            ),
        ));
    }
    errors
}

pub(super) fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ApiError::Validation(errors)),
    }
}
