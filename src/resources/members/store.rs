//! The `members` and `member_events` tables.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::member::{DisciplineForm, EventType, Gender, MemberStatus, PoliticalTheory, TransferMode};
use crate::schema::sql_types::Ltree;
use crate::schema::{member_events, members};
use crate::store::{escape_like, TreePath};

/// A stored member.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members, check_for_backend(Pg))]
pub struct MemberRow {
    pub id: Uuid,
    pub full_name: String,
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    pub organisation_id: Uuid,
    pub admitted_on: NaiveDate,
    pub official_on: Option<NaiveDate>,
    pub status: MemberStatus,
    pub card_number: Option<String>,
    pub national_id: Option<String>,
    pub ethnicity: Option<String>,
    pub religion: Option<String>,
    pub hometown: Option<String>,
    pub education_level: Option<String>,
    pub qualification: Option<String>,
    pub political_theory: PoliticalTheory,
    pub note: Option<String>,
    pub sort_name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The values a client edits: the whole set is written back after a patch is applied.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = members, treat_none_as_null = true)]
pub struct MemberValues {
    pub full_name: String,
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    pub admitted_on: NaiveDate,
    pub card_number: Option<String>,
    pub national_id: Option<String>,
    pub ethnicity: Option<String>,
    pub religion: Option<String>,
    pub hometown: Option<String>,
    pub education_level: Option<String>,
    pub qualification: Option<String>,
    pub political_theory: PoliticalTheory,
    pub note: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = members)]
struct NewMember {
    id: Uuid,
    organisation_id: Uuid,
    status: MemberStatus,
    #[diesel(embed)]
    values: MemberValues,
}

/// A stored history entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = member_events, check_for_backend(Pg))]
pub struct EventRow {
    pub id: Uuid,
    pub member_id: Uuid,
    #[diesel(column_name = type_)]
    pub kind: EventType,
    pub on_date: NaiveDate,
    pub status_before: Option<MemberStatus>,
    pub status_after: MemberStatus,
    pub organisation_id: Uuid,
    pub to_organisation_id: Option<Uuid>,
    pub mode: Option<TransferMode>,
    pub destination: Option<String>,
    pub form: Option<DisciplineForm>,
    pub note: Option<String>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// The order of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    /// Creation order.
    #[default]
    Created,
    /// Vietnamese order: given name (the last word) first, then the rest, with Vietnamese collation.
    Name,
    /// Admission date, oldest first.
    AdmittedOn,
}

/// Where a page of members starts: after this row in the list's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MemberCursor {
    Created(Uuid),
    Name(String, Uuid),
    AdmittedOn(NaiveDate, Uuid),
}

impl MemberCursor {
    /// Whether this cursor was handed out by a list in this order.
    pub fn fits(&self, sort: MemberSort) -> bool {
        if let MemberCursor::AdmittedOn(date, _) = self {
            if date.year() < 1 {
                return false;
            }
        }
        matches!(
            (self, sort),
            (MemberCursor::Created(_), MemberSort::Created)
                | (MemberCursor::Name(..), MemberSort::Name)
                | (MemberCursor::AdmittedOn(..), MemberSort::AdmittedOn)
        )
    }

    pub fn of(sort: MemberSort, row: &MemberRow) -> Self {
        match sort {
            MemberSort::Created => MemberCursor::Created(row.id),
            MemberSort::Name => MemberCursor::Name(row.sort_name.clone(), row.id),
            MemberSort::AdmittedOn => MemberCursor::AdmittedOn(row.admitted_on, row.id),
        }
    }
}

/// The filters of the member list.
#[derive(Debug, Default)]
pub struct MemberFilter {
    pub organisation_id: Option<Uuid>,
    /// Members of the organisation with this path and of every organisation below it.
    pub under: Option<TreePath>,
    pub statuses: Option<Vec<MemberStatus>>,
    pub political_theory: Option<PoliticalTheory>,
    pub admitted_from: Option<NaiveDate>,
    pub admitted_to: Option<NaiveDate>,
    /// Part of the name (accent- and case-insensitive), or an exact card number.
    pub q: Option<String>,
    /// The path of the caller's subtree; `None` for everything.
    pub scope: Option<TreePath>,
}

type Condition = Box<dyn BoxableExpression<members::table, Pg, SqlType = Bool>>;

/// Members whose organisation lies in the subtree of `root`, `root` included, on the tree index.
fn in_subtree(root: Uuid) -> Condition {
    Box::new(
        sql::<Bool>(
            "members.organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ \
             (SELECT r.path FROM organisations r WHERE r.id = ",
        )
        .bind::<SqlUuid, _>(root)
        .sql("))"),
    )
}

fn scoped(scope: Option<Uuid>) -> members::BoxedQuery<'static, Pg> {
    let query = members::table.into_boxed();
    match scope {
        Some(root) => query.filter(in_subtree(root)),
        None => query,
    }
}

/// Members whose organisation lies in the subtree with root path `root`; the path is bound as a value so that
/// the planner sizes the subtree from it.
fn in_subtree_path(root: &TreePath) -> Condition {
    Box::new(
        sql::<Bool>("members.organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ ")
            .bind::<Ltree, _>(root.clone())
            .sql(")"),
    )
}

fn filtered(f: &MemberFilter) -> members::BoxedQuery<'static, Pg> {
    let mut query = members::table.into_boxed();
    if let Some(scope) = &f.scope {
        query = query.filter(in_subtree_path(scope));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(members::organisation_id.eq(org));
    }
    if let Some(root) = &f.under {
        query = query.filter(in_subtree_path(root));
    }
    if let Some(statuses) = &f.statuses {
        query = query.filter(members::status.eq_any(statuses.clone()));
    }
    if let Some(level) = f.political_theory {
        query = query.filter(members::political_theory.eq(level));
    }
    if let Some(from) = f.admitted_from {
        query = query.filter(members::admitted_on.ge(from));
    }
    if let Some(to) = f.admitted_to {
        query = query.filter(members::admitted_on.le(to));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            sql::<Bool>("(members.name_search LIKE '%' || pb_fold(")
                .bind::<Text, _>(escape_like(q))
                .sql(") || '%' OR members.card_number = ")
                .bind::<Text, _>(q.to_owned())
                .sql(")"),
        );
    }
    query
}

const VI: &str = "COLLATE \"vi-x-icu\"";

/// One page of members in the chosen order, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &MemberFilter,
    sort: MemberSort,
    after: Option<MemberCursor>,
    fetch: i64,
) -> QueryResult<Vec<MemberRow>> {
    let mut query = filtered(filter).select(MemberRow::as_select());
    query = match after {
        None => query,
        Some(MemberCursor::Created(id)) => query.filter(members::id.gt(id)),
        Some(MemberCursor::Name(name, id)) => query.filter(
            sql::<Bool>(&format!("(members.sort_name {VI}, members.id) > ("))
                .bind::<Text, _>(name)
                .sql(&format!(" {VI}, "))
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        Some(MemberCursor::AdmittedOn(date, id)) => query.filter(
            sql::<Bool>("(members.admitted_on, members.id) > (")
                .bind::<Date, _>(date)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
    };
    query = match sort {
        MemberSort::Created => query.order(members::id),
        MemberSort::Name => query
            .order(sql::<Text>(&format!("members.sort_name {VI}")))
            .then_order_by(members::id),
        MemberSort::AdmittedOn => query.order((members::admitted_on, members::id)),
    };
    query.limit(fetch).load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, filter: &MemberFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// Reads a member whose organisation lies inside `scope` (`None`: anywhere).
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    scope: Option<Uuid>,
) -> QueryResult<Option<MemberRow>> {
    scoped(scope)
        .filter(members::id.eq(id))
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Reads a member inside `scope` and locks it for the rest of the transaction, so that concurrent changes and
/// events on one member happen one after the other.
pub async fn find_visible_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    scope: Option<Uuid>,
) -> QueryResult<Option<MemberRow>> {
    let visible = sql::<Bool>("(CAST(")
        .bind::<Nullable<SqlUuid>, _>(scope)
        .sql(
            " AS uuid) IS NULL OR members.organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ \
         (SELECT r.path FROM organisations r WHERE r.id = ",
        )
        .bind::<Nullable<SqlUuid>, _>(scope)
        .sql(")))");
    members::table
        .filter(members::id.eq(id))
        .filter(visible)
        .select(MemberRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    organisation_id: Uuid,
    values: &MemberValues,
) -> QueryResult<MemberRow> {
    diesel::insert_into(members::table)
        .values(NewMember {
            id,
            organisation_id,
            status: MemberStatus::Probationary,
            values: values.clone(),
        })
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await
}

/// Writes edited values, bumps the version, returns the stored row.
pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, values: &MemberValues) -> QueryResult<MemberRow> {
    diesel::update(members::table.find(id))
        .set((
            values,
            members::version.eq(members::version + 1),
            members::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await
}

/// Writes what a lifecycle event changed, bumps the version, returns the stored row.
pub async fn apply_transition(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: MemberStatus,
    official_on: Option<NaiveDate>,
    organisation_id: Uuid,
) -> QueryResult<MemberRow> {
    diesel::update(members::table.find(id))
        .set((
            members::status.eq(status),
            members::official_on.eq(official_on),
            members::organisation_id.eq(organisation_id),
            members::version.eq(members::version + 1),
            members::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(members::table.find(id)).execute(conn).await
}

pub async fn insert_event(conn: &mut AsyncPgConnection, event: &EventRow) -> QueryResult<()> {
    diesel::insert_into(member_events::table)
        .values(event)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A member's history, oldest first.
pub async fn events(conn: &mut AsyncPgConnection, member_id: Uuid) -> QueryResult<Vec<EventRow>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .select(EventRow::as_select())
        .order((member_events::on_date, member_events::id))
        .load(conn)
        .await
}

/// The date of a member's latest history entry.
pub async fn last_event_on(conn: &mut AsyncPgConnection, member_id: Uuid) -> QueryResult<Option<NaiveDate>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .select(diesel::dsl::max(member_events::on_date))
        .first(conn)
        .await
}

/// The date of a member's earliest entry after the admission, if any.
pub async fn first_event_after_admission(
    conn: &mut AsyncPgConnection,
    member_id: Uuid,
) -> QueryResult<Option<NaiveDate>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::type_.ne(EventType::Admitted))
        .select(diesel::dsl::min(member_events::on_date))
        .first(conn)
        .await
}

/// Moves the admission entry of the history to a corrected admission date.
pub async fn redate_admission(conn: &mut AsyncPgConnection, member_id: Uuid, on: NaiveDate) -> QueryResult<usize> {
    diesel::update(
        member_events::table
            .filter(member_events::member_id.eq(member_id))
            .filter(member_events::type_.eq(EventType::Admitted)),
    )
    .set(member_events::on_date.eq(on))
    .execute(conn)
    .await
}

/// The day a member's membership ended (transferred out, expelled, removed, deceased), if it has.
pub async fn ended_on(conn: &mut AsyncPgConnection, member_id: Uuid) -> QueryResult<Option<NaiveDate>> {
    let ended: Vec<MemberStatus> = MemberStatus::ALL.iter().copied().filter(|s| !s.is_current()).collect();
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::status_after.eq_any(ended))
        .select(diesel::dsl::min(member_events::on_date))
        .first(conn)
        .await
}

/// The organisation a member belonged to on a day, from the history: after the latest entry up to that day, the
/// receiving organisation of a transfer or the organisation of any other entry.
pub async fn organisation_on(
    conn: &mut AsyncPgConnection,
    member_id: Uuid,
    on: NaiveDate,
) -> QueryResult<Option<Uuid>> {
    member_events::table
        .filter(member_events::member_id.eq(member_id))
        .filter(member_events::on_date.le(on))
        .order((member_events::on_date.desc(), member_events::id.desc()))
        .select((member_events::organisation_id, member_events::to_organisation_id))
        .first::<(Uuid, Option<Uuid>)>(conn)
        .await
        .optional()
        .map(|entry| entry.map(|(organisation, to)| to.unwrap_or(organisation)))
}
