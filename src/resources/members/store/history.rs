//! The `member_events` table: each member's history, from the admission on.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::{DisciplineForm, EventType, MemberStatus, TransferMode};
use crate::schema::member_events;

/// A stored history entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = member_events, treat_none_as_default_value = false, check_for_backend(Pg))]
pub struct EventRow {
    pub id: Uuid,
    pub member_id: MemberId,
    #[diesel(column_name = type_)]
    pub kind: EventType,
    #[diesel(column_name = on)]
    pub on_date: NaiveDate,
    pub status_before: Option<MemberStatus>,
    pub status_after: MemberStatus,
    pub organisation_id: OrganisationId,
    pub to_organisation_id: Option<OrganisationId>,
    pub mode: Option<TransferMode>,
    pub destination: Option<String>,
    pub form: Option<DisciplineForm>,
    pub note: Option<String>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    /// Set by the database on entries a reorganisation writes (see `reorganisations::store::begin`).
    #[diesel(skip_insertion)]
    pub reorganisation_id: Option<Uuid>,
}
/// Adds an entry to a member's history.
///
/// It takes the connection shared, so that it can be sent together with another statement (see
/// [`crate::audit::record`]).
pub async fn insert_event(conn: &AsyncPgConnection, event: &EventRow) -> QueryResult<()> {
    diesel::insert_into(member_events::table)
        .values(event)
        .execute(&mut &*conn)
        .await
        .map(|_| ())
}

/// Adds many entries with one statement.
pub async fn insert_events(conn: &mut AsyncPgConnection, events: &[EventRow]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    diesel::insert_into(member_events::table)
        .values(events)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A member's history, oldest first.
pub async fn events(conn: &mut AsyncPgConnection, member_id: MemberId) -> QueryResult<Vec<EventRow>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .select(EventRow::as_select())
        .order((member_events::on, member_events::id))
        .load(conn)
        .await
}

/// The date of a member's latest history entry.
pub async fn last_event_on(conn: &mut AsyncPgConnection, member_id: MemberId) -> QueryResult<Option<NaiveDate>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .select(diesel::dsl::max(member_events::on))
        .first(conn)
        .await
}

/// The date of a member's earliest entry after the admission, if any.
pub async fn first_event_after_admission(
    conn: &mut AsyncPgConnection,
    member_id: MemberId,
) -> QueryResult<Option<NaiveDate>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::type_.ne(EventType::Admitted))
        .select(diesel::dsl::min(member_events::on))
        .first(conn)
        .await
}

/// Moves the admission entry of the history to a corrected admission date.
pub async fn redate_admission(conn: &mut AsyncPgConnection, member_id: MemberId, on: NaiveDate) -> QueryResult<usize> {
    diesel::update(
        member_events::table
            .filter(member_events::member_id.eq(member_id))
            .filter(member_events::type_.eq(EventType::Admitted)),
    )
    .set(member_events::on.eq(on))
    .execute(conn)
    .await
}

/// The day a member's membership ended (transferred out, expelled, removed, deceased), if it has.
pub async fn ended_on(conn: &mut AsyncPgConnection, member_id: MemberId) -> QueryResult<Option<NaiveDate>> {
    let ended: Vec<MemberStatus> = MemberStatus::ALL.iter().copied().filter(|s| !s.is_current()).collect();
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::status_after.eq_any(ended))
        .select(diesel::dsl::min(member_events::on))
        .first(conn)
        .await
}

/// The organisation a member belonged to on a day, from the history: after the latest entry up to that day, the
/// receiving organisation of a transfer or the organisation of any other entry.
pub async fn organisation_on(
    conn: &mut AsyncPgConnection,
    member_id: MemberId,
    on: NaiveDate,
) -> QueryResult<Option<OrganisationId>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::on.le(on))
        .order((member_events::on.desc(), member_events::id.desc()))
        .select((member_events::organisation_id, member_events::to_organisation_id))
        .first::<(OrganisationId, Option<OrganisationId>)>(conn)
        .await
        .optional()
        .map(|entry| entry.map(|(organisation, to)| to.unwrap_or(organisation)))
}
