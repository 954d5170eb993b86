//! Many meetings at once, for the demo's year of them: the members each is expected to list, and recording them
//! by the rules of [`record`](super::record) with a few statements however many there are.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{check_attendance, refuse, Meeting, NewMeeting, RESOURCE};
use crate::audit;
use crate::auth::Actor;
use crate::domain::ids::{MeetingId, MemberId, OrganisationId};
use crate::domain::organisation::OrganisationKind;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::meetings::store::{self, AttendanceRow};
use crate::resources::organisations::store as organisations;

/// The members expected at each of these meetings (organisation and day), as [`record`](super::record) expects
/// them: for a caller that records many meetings at once and must list their attendance.
pub async fn expected_many(
    conn: &mut AsyncPgConnection,
    meetings: &[(OrganisationId, NaiveDate)],
) -> Result<Vec<Vec<MemberId>>, ApiError> {
    Ok(expected_by_meeting(conn, meetings)
        .await?
        .into_iter()
        .map(|members| members.into_iter().map(|m| MemberId(m.id)).collect())
        .collect())
}

async fn expected_by_meeting(
    conn: &mut AsyncPgConnection,
    meetings: &[(OrganisationId, NaiveDate)],
) -> Result<Vec<Vec<store::ExpectedMember>>, ApiError> {
    let organisations: Vec<Uuid> = meetings.iter().map(|(o, _)| o.0).collect();
    let days: Vec<NaiveDate> = meetings.iter().map(|(_, d)| *d).collect();
    let mut expected = vec![Vec::new(); meetings.len()];
    for member in store::expected_members(conn, &organisations, &days).await? {
        expected[member.meeting as usize].push(member);
    }
    Ok(expected)
}

/// Records many meetings at once (the demo's year of them), each by the rules of [`record`](super::record), with
/// multi-row inserts and one audit record each, so that a year of a district's meetings costs a few statements.
/// Any problem refuses them all, each error named `meetings[i].field`. Returns how many were stored.
pub async fn record_many(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    meetings: Vec<NewMeeting>,
) -> Result<usize, ApiError> {
    actor.require_writer()?;
    let today = today();
    let mut errors = Vec::new();
    // Whether each organisation named is one that holds meetings inside the actor's subtree.
    let mut holds_meetings: HashMap<OrganisationId, bool> = HashMap::new();
    for m in &meetings {
        if let std::collections::hash_map::Entry::Vacant(entry) = holds_meetings.entry(m.organisation_id) {
            let org = organisations::find_visible_locked(
                conn,
                m.organisation_id,
                actor.scope(),
                organisations::RowLock::Share,
            )
            .await?;
            entry.insert(org.is_some_and(|o| o.kind != OrganisationKind::SuperiorCommittee));
        }
    }
    let keys: Vec<(OrganisationId, NaiveDate)> = meetings.iter().map(|m| (m.organisation_id, m.held_on)).collect();
    let by_meeting = expected_by_meeting(conn, &keys).await?;
    for (i, (m, expected)) in meetings.iter().zip(&by_meeting).enumerate() {
        let mut problems = Vec::new();
        if !holds_meetings[&m.organisation_id] {
            problems.push(FieldError::new(
                "organisation_id",
                "no cell, base cell or committee at the base with this id",
            ));
        }
        if m.topic.as_deref().is_some_and(|t| t.chars().count() > 500) {
            problems.push(FieldError::new("topic", "must be at most 500 characters"));
        }
        if m.held_on > today {
            problems.push(FieldError::new("held_on", "must not be in the future"));
        }
        problems.extend(check_attendance(&m.attendance, expected));
        errors.extend(
            problems
                .into_iter()
                .map(|e| FieldError::new(format!("meetings[{i}].{}", e.field), e.message)),
        );
    }
    refuse(errors)?;
    let mut rows = Vec::with_capacity(meetings.len());
    let mut attendance = Vec::new();
    for m in meetings {
        let id = MeetingId::new();
        attendance.extend(m.attendance.iter().map(|&(member_id, status)| AttendanceRow {
            meeting_id: id,
            member_id,
            status,
        }));
        rows.push(store::NewMeetingRow {
            id,
            organisation_id: m.organisation_id,
            held_on: m.held_on,
            kind: m.kind,
            topic: m.topic,
        });
    }
    let stored = store::insert_many(conn, &rows, &attendance).await?;
    let mut listed: HashMap<MeetingId, Vec<AttendanceRow>> = HashMap::new();
    for row in attendance {
        listed.entry(row.meeting_id).or_default().push(row);
    }
    let meetings: Vec<Meeting> = stored
        .into_iter()
        .map(|row| Meeting {
            attendance: listed.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect();
    for batch in meetings.chunks(5000) {
        let created: Vec<(String, &Meeting)> = batch.iter().map(|m| (m.row.id.to_string(), m)).collect();
        audit::record_created(conn, actor, RESOURCE, &created).await?;
    }
    Ok(meetings.len())
}
