//! The `meetings` table and each meeting's attendance, `meeting_attendance`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::ids::{MeetingId, MemberId, OrganisationId};
use crate::domain::meeting::{AttendanceStatus, MeetingKind};
use crate::schema::{meeting_attendance, meetings};
use crate::store::{organisation_in_scope, organisation_under, TreePath};

/// A stored meeting, without its attendance.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = meetings, check_for_backend(Pg))]
pub struct MeetingRow {
    pub id: MeetingId,
    pub organisation_id: OrganisationId,
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    pub topic: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = meetings, treat_none_as_default_value = false)]
struct NewMeeting<'a> {
    id: MeetingId,
    organisation_id: OrganisationId,
    held_on: NaiveDate,
    kind: MeetingKind,
    topic: Option<&'a str>,
}

/// One member's attendance at a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = meeting_attendance, treat_none_as_default_value = false, check_for_backend(Pg))]
pub struct AttendanceRow {
    pub meeting_id: MeetingId,
    pub member_id: MemberId,
    pub status: AttendanceStatus,
}

/// The filters of the meeting list; the subtrees by path.
#[derive(Debug, Default)]
pub struct MeetingFilter {
    pub scope: Option<TreePath>,
    pub under: Option<TreePath>,
    pub organisation_id: Option<OrganisationId>,
    pub kind: Option<MeetingKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn filtered(f: &MeetingFilter) -> meetings::BoxedQuery<'static, Pg> {
    let mut query = meetings::table.into_boxed();
    if let Some(scope) = &f.scope {
        query = query.filter(organisation_under("meetings.organisation_id", scope));
    }
    if let Some(under) = &f.under {
        query = query.filter(organisation_under("meetings.organisation_id", under));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(meetings::organisation_id.eq(org));
    }
    if let Some(kind) = f.kind {
        query = query.filter(meetings::kind.eq(kind));
    }
    if let Some(from) = f.from {
        query = query.filter(meetings::held_on.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(meetings::held_on.le(to));
    }
    query
}

/// One page of meetings in creation order, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &MeetingFilter,
    after: Option<MeetingId>,
    fetch: i64,
) -> QueryResult<Vec<MeetingRow>> {
    let mut query = filtered(filter).select(MeetingRow::as_select());
    if let Some(after) = after {
        query = query.filter(meetings::id.gt(after));
    }
    query.order(meetings::id).limit(fetch).load(conn).await
}

/// How many meetings the whole list has.
pub async fn count(conn: &mut AsyncPgConnection, filter: &MeetingFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// Reads a meeting held by an organisation inside `scope` (`None`: anywhere), locked for the rest of the
/// transaction when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: MeetingId,
    scope: Option<Uuid>,
    lock: bool,
) -> QueryResult<Option<MeetingRow>> {
    let query = meetings::table
        .filter(meetings::id.eq(id))
        .filter(organisation_in_scope("meetings.organisation_id", scope))
        .select(MeetingRow::as_select());
    match lock {
        false => query.first(conn).await,
        true => query.for_no_key_update().first(conn).await,
    }
    .optional()
}

/// What a change of a meeting may correct: its kind and topic (the day and the attendance go together, and are
/// corrected by deleting the meeting and recording it again).
#[derive(Debug, Clone, PartialEq, Eq, AsChangeset, Serialize)]
#[diesel(table_name = meetings, treat_none_as_null = true)]
pub struct MeetingValues {
    pub kind: MeetingKind,
    pub topic: Option<String>,
}

/// Writes corrected values, bumps the version, returns the stored row.
pub async fn update(conn: &mut AsyncPgConnection, id: MeetingId, values: &MeetingValues) -> QueryResult<MeetingRow> {
    diesel::update(meetings::table.find(id))
        .set((
            values,
            meetings::version.eq(meetings::version + 1),
            meetings::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MeetingRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes a meeting and its attendance: the attendance first, while its triggers can still read the meeting's
/// organisation and month to take its unexcused absences back (the key has no cascade; migration 000022).
pub async fn delete(conn: &mut AsyncPgConnection, id: MeetingId) -> QueryResult<usize> {
    diesel::delete(meeting_attendance::table.filter(meeting_attendance::meeting_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(meetings::table.find(id)).execute(conn).await
}

/// The attendance of these meetings, in one query.
pub async fn attendance(conn: &mut AsyncPgConnection, ids: &[MeetingId]) -> QueryResult<Vec<AttendanceRow>> {
    meeting_attendance::table
        .filter(meeting_attendance::meeting_id.eq_any(ids))
        .order((meeting_attendance::meeting_id, meeting_attendance::member_id))
        .select(AttendanceRow::as_select())
        .load(conn)
        .await
}

/// Stores a meeting and its attendance.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    organisation_id: OrganisationId,
    held_on: NaiveDate,
    kind: MeetingKind,
    topic: Option<&str>,
    attendance: &[(MemberId, AttendanceStatus)],
) -> QueryResult<(MeetingRow, Vec<AttendanceRow>)> {
    let row = diesel::insert_into(meetings::table)
        .values(NewMeeting {
            id: MeetingId::new(),
            organisation_id,
            held_on,
            kind,
            topic,
        })
        .returning(MeetingRow::as_returning())
        .get_result(conn)
        .await?;
    let rows: Vec<AttendanceRow> = attendance
        .iter()
        .map(|&(member_id, status)| AttendanceRow {
            meeting_id: row.id,
            member_id,
            status,
        })
        .collect();
    diesel::insert_into(meeting_attendance::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok((row, rows))
}

/// A meeting to store with others.
#[derive(Debug, Insertable)]
#[diesel(table_name = meetings, treat_none_as_default_value = false)]
pub struct NewMeetingRow {
    pub id: MeetingId,
    pub organisation_id: OrganisationId,
    pub held_on: NaiveDate,
    pub kind: MeetingKind,
    pub topic: Option<String>,
}

/// Rows per multi-row insert, below PostgreSQL's 65,535 parameters per statement.
const BATCH: usize = 8000;

/// Stores many meetings and their attendance with multi-row inserts; returns the stored meetings.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    new: &[NewMeetingRow],
    attendance: &[AttendanceRow],
) -> QueryResult<Vec<MeetingRow>> {
    let mut rows = Vec::with_capacity(new.len());
    for batch in new.chunks(BATCH) {
        let stored: Vec<MeetingRow> = diesel::insert_into(meetings::table)
            .values(batch)
            .returning(MeetingRow::as_returning())
            .get_results(conn)
            .await?;
        rows.extend(stored);
    }
    for batch in attendance.chunks(BATCH) {
        diesel::insert_into(meeting_attendance::table)
            .values(batch)
            .execute(conn)
            .await?;
    }
    Ok(rows)
}

/// A member expected at one of the meetings asked about.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExpectedMember {
    /// The position of the meeting in the list asked about.
    #[diesel(sql_type = BigInt)]
    pub meeting: i64,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub full_name: String,
}

/// The members expected at meetings of organisations `organisations[i]` on days `days[i]`, each with `i`, in one
/// query however many meetings: members of the organisation or of one below it (as the tree stands today),
/// probationary or official that day by their history (exempt members and members who had left or were not yet
/// admitted are not expected). Ordered by meeting, then member.
pub async fn expected_members(
    conn: &mut AsyncPgConnection,
    organisations: &[Uuid],
    days: &[NaiveDate],
) -> QueryResult<Vec<ExpectedMember>> {
    diesel::sql_query(
        "SELECT x.i - 1 AS meeting, mb.id, mb.full_name \
         FROM unnest($1::uuid[], $2::date[]) WITH ORDINALITY AS x(organisation_id, day, i) \
         JOIN organisations root ON root.id = x.organisation_id \
         JOIN organisations o ON o.path <@ root.path \
         JOIN members mb ON mb.organisation_id = o.id \
         WHERE mb.admitted_on <= x.day \
           AND (SELECT e.status_after FROM member_events e WHERE e.member_id = mb.id AND e.\"on\" <= x.day \
                ORDER BY e.\"on\" DESC, e.recorded_at DESC LIMIT 1) IN ('probationary', 'official') \
         ORDER BY x.i, mb.id",
    )
    .bind::<Array<SqlUuid>, _>(organisations)
    .bind::<Array<Date>, _>(days)
    .load(conn)
    .await
}
