//! The `members` table; the history of each member, `member_events`, is in [`history`].

pub mod history;

// The HTTP layer and the evaluations name these here.
pub use history::{ended_on, organisation_on, EventRow};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::ids::{CandidateId, MemberId, OrganisationId};
use crate::domain::member::{Gender, MemberStatus, PoliticalTheory};
use crate::schema::members;
use crate::schema::sql_types::Ltree;
use crate::store::{escape_like, fixed_sql, TreePath};

/// A stored member; serialised whole (sensitive fields included) for the audit trail.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = members, check_for_backend(Pg))]
pub struct MemberRow {
    pub id: MemberId,
    pub organisation_id: OrganisationId,
    pub official_on: Option<NaiveDate>,
    pub status: MemberStatus,
    #[diesel(embed)]
    #[serde(flatten)]
    pub values: MemberValues,
    /// Derived by the database from the name, for the list in Vietnamese order (a generated column, which the
    /// catalogue, and so the schema, calls nullable; it never is).
    #[serde(skip_serializing)]
    pub sort_name: Option<String>,
    /// The candidate whose admission created the member; `None` for a member admitted directly.
    pub candidate_id: Option<CandidateId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The values a client edits: the whole set is written back after a patch is applied.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable, Serialize)]
#[diesel(table_name = members, treat_none_as_null = true, treat_none_as_default_value = false, check_for_backend(Pg))]
pub struct MemberValues {
    pub full_name: String,
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    pub admitted_on: NaiveDate,
    pub card_number: Option<CardNumber>,
    pub national_id: Option<NationalId>,
    pub ethnicity: Option<String>,
    pub religion: Option<String>,
    pub hometown: Option<String>,
    pub education_level: Option<String>,
    pub qualification: Option<String>,
    pub political_theory: PoliticalTheory,
    pub note: Option<String>,
}

/// A member to store: a new admission (`probationary`), or an official member recorded elsewhere (imports).
#[derive(Debug, Insertable)]
#[diesel(table_name = members, treat_none_as_default_value = false)]
pub struct NewMember {
    pub id: MemberId,
    pub organisation_id: OrganisationId,
    pub status: MemberStatus,
    pub official_on: Option<NaiveDate>,
    /// The candidate whose admission made this member, when it came through the road to admission.
    pub candidate_id: Option<CandidateId>,
    #[diesel(embed)]
    pub values: MemberValues,
}

/// The order of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOrder {
    /// Creation order.
    Created,
    /// Vietnamese order: given name (the last word) first, then the rest, with Vietnamese collation.
    Name,
    /// Admission date, oldest first.
    AdmittedOn,
}

/// Where a page of members starts: after this row in the list's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MemberCursor {
    Created(MemberId),
    Name(String, MemberId),
    AdmittedOn(NaiveDate, MemberId),
}

impl MemberCursor {
    /// Whether this cursor was handed out by a list in this order.
    pub fn fits(&self, order: MemberOrder) -> bool {
        if let MemberCursor::AdmittedOn(date, _) = self {
            if date.year() < 1 {
                return false;
            }
        }
        matches!(
            (self, order),
            (MemberCursor::Created(_), MemberOrder::Created)
                | (MemberCursor::Name(..), MemberOrder::Name)
                | (MemberCursor::AdmittedOn(..), MemberOrder::AdmittedOn)
        )
    }

    /// The cursor of a page that ends at `row`.
    pub fn of(order: MemberOrder, row: &MemberRow) -> Self {
        match order {
            MemberOrder::Created => MemberCursor::Created(row.id),
            MemberOrder::Name => MemberCursor::Name(row.sort_name.clone().unwrap_or_default(), row.id),
            MemberOrder::AdmittedOn => MemberCursor::AdmittedOn(row.values.admitted_on, row.id),
        }
    }
}

/// The subtrees a member list keeps to, by path; `None` for no limit.
#[derive(Debug, Default)]
pub struct Subtrees {
    /// The caller's subtree.
    pub scope: Option<TreePath>,
    /// The subtree the list asks for.
    pub under: Option<TreePath>,
}

/// The filters of the member list.
#[derive(Debug, Default)]
pub struct MemberFilter {
    pub organisation_id: Option<OrganisationId>,
    pub statuses: Option<Vec<MemberStatus>>,
    pub political_theory: Option<PoliticalTheory>,
    pub admitted_from: Option<NaiveDate>,
    pub admitted_to: Option<NaiveDate>,
    /// Part of the name (accent- and case-insensitive), or an exact card number.
    pub q: Option<String>,
}

type Condition = Box<dyn BoxableExpression<members::table, Pg, SqlType = Bool>>;

/// Members whose organisation lies in the subtree of `root`, `root` included, on the tree index.
fn in_subtree(root: Uuid) -> Condition {
    Box::new(
        fixed_sql::<Bool>(
            "members.organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ \
             (SELECT r.path FROM organisations r WHERE r.id = ",
        )
        .bind::<SqlUuid, _>(root)
        .sql("))"),
    )
}

/// Members whose organisation lies inside `scope` (`None`: anywhere).
fn in_scope(scope: Option<Uuid>) -> Condition {
    match scope {
        Some(root) => in_subtree(root),
        None => Box::new(fixed_sql::<Bool>("TRUE")),
    }
}

/// Members whose organisation lies in the subtree with root path `root`; the path is bound as a value so that
/// the planner sizes the subtree from it (and in `sql()`, planned for each value: see [`crate::store::fixed_sql`]).
fn in_subtree_path(root: &TreePath) -> Condition {
    Box::new(
        sql::<Bool>("members.organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ ")
            .bind::<Ltree, _>(root.clone())
            .sql(")"),
    )
}

/// Members whose name contains `q` (folded) or whose card number is `q`, in the subtree with root path `root`.
///
/// Searched organisation by organisation on `members_organisation_idx`, which holds the folded name and the card
/// number: a province's members are read from the index alone. Searched the other way, through the name's
/// trigram index or in id order, the whole country's namesakes would be read and most of them thrown away.
fn named_in_subtree(root: &TreePath, q: &str) -> Condition {
    Box::new(
        sql::<Bool>(
            "members.id IN (SELECT found.id FROM organisations o CROSS JOIN LATERAL (\
                 SELECT x.id FROM members x WHERE x.organisation_id = o.id \
                 AND (x.name_search LIKE '%' || pb_fold(",
        )
        .bind::<Text, _>(escape_like(q))
        .sql(") || '%' OR x.card_number = ")
        .bind::<Text, _>(q.to_owned())
        .sql(") OFFSET 0) found WHERE o.path <@ ")
        .bind::<Ltree, _>(root.clone())
        .sql(")"),
    )
}

fn filtered(within: &Subtrees, f: &MemberFilter) -> members::BoxedQuery<'static, Pg> {
    let mut query = members::table.into_boxed();
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    // A search within a subtree starts from the subtree's organisations (the one asked for, else the caller's).
    let searched = q.and_then(|q| within.under.as_ref().or(within.scope.as_ref()).map(|root| (root, q)));
    if let Some((root, q)) = searched {
        query = query.filter(named_in_subtree(root, q));
    }
    // The subtree the search started from needs no second condition.
    if let Some(scope) = within
        .scope
        .as_ref()
        .filter(|_| searched.is_none() || within.under.is_some())
    {
        query = query.filter(in_subtree_path(scope));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(members::organisation_id.eq(org));
    }
    if let Some(root) = within.under.as_ref().filter(|_| searched.is_none()) {
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
    if let (Some(q), None) = (q, searched) {
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

/// The Vietnamese collation the name order sorts by.
macro_rules! vi {
    () => {
        "COLLATE \"vi-x-icu\""
    };
}

/// One page of members in the chosen order, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    within: &Subtrees,
    filter: &MemberFilter,
    order: MemberOrder,
    after: Option<MemberCursor>,
    fetch: i64,
) -> QueryResult<Vec<MemberRow>> {
    // The page lies in both subtrees, so either being small is enough; a page of one organisation's members is read
    // by organisation whatever the subtree.
    let mut sort_subtree = false;
    if matches!(order, MemberOrder::Name) && filter.organisation_id.is_none() {
        for root in [within.under.as_ref(), within.scope.as_ref()].into_iter().flatten() {
            if crate::store::is_sorted_subtree(conn, root).await? {
                sort_subtree = true;
                break;
            }
        }
    }
    page(within, filter, order, after, sort_subtree)
        .limit(fetch)
        .load(conn)
        .await
}

type PageQuery = members::BoxedQuery<'static, Pg, diesel::dsl::AsSelect<MemberRow, Pg>>;

/// The query of a page of members, but for its length. With `sort_subtree`, a page in name order is sorted from
/// the members the filters leave rather than read along the name index (see
/// [`crate::store::SORTED_SUBTREE_ORGANISATIONS`]): the order is on an expression equal to the name, which no index
/// holds.
fn page(
    within: &Subtrees,
    filter: &MemberFilter,
    order: MemberOrder,
    after: Option<MemberCursor>,
    sort_subtree: bool,
) -> PageQuery {
    let mut query = filtered(within, filter).select(MemberRow::as_select());
    query = match after {
        None => query,
        Some(MemberCursor::Created(id)) => query.filter(members::id.gt(id)),
        Some(MemberCursor::Name(name, id)) => query.filter(
            fixed_sql::<Bool>(concat!("(members.sort_name ", vi!(), ", members.id) > ("))
                .bind::<Text, _>(name)
                .sql(concat!(" ", vi!(), ", "))
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
        Some(MemberCursor::AdmittedOn(date, id)) => query.filter(
            fixed_sql::<Bool>("(members.admitted_on, members.id) > (")
                .bind::<Date, _>(date)
                .sql(", ")
                .bind::<SqlUuid, _>(id)
                .sql(")"),
        ),
    };
    match order {
        MemberOrder::Created => query.order(members::id),
        MemberOrder::Name if sort_subtree => query
            .order(fixed_sql::<Text>(concat!("(members.sort_name || '') ", vi!())))
            .then_order_by(members::id),
        MemberOrder::Name => query
            .order(fixed_sql::<Text>(concat!("members.sort_name ", vi!())))
            .then_order_by(members::id),
        MemberOrder::AdmittedOn => query.order((members::admitted_on, members::id)),
    }
}

/// How many members the whole list has.
pub async fn count(conn: &mut AsyncPgConnection, within: &Subtrees, filter: &MemberFilter) -> QueryResult<i64> {
    filtered(within, filter).count().get_result(conn).await
}

/// Whether reading a member locks its row for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Unlocked,
    /// Concurrent changes and events on one member happen one after the other; rows that refer to the member
    /// (evaluations) may still be written.
    ForNoKeyUpdate,
}

/// Reads a member whose organisation lies inside `scope` (`None`: anywhere).
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    scope: Option<Uuid>,
    lock: Lock,
) -> QueryResult<Option<MemberRow>> {
    // Without a scope the query has no condition on the tree at all.
    let query = members::table.filter(members::id.eq(id)).select(MemberRow::as_select());
    match (scope, lock) {
        (None, Lock::Unlocked) => query.first(conn).await,
        (None, Lock::ForNoKeyUpdate) => query.for_no_key_update().first(conn).await,
        (Some(_), Lock::Unlocked) => query.filter(in_scope(scope)).first(conn).await,
        (Some(_), Lock::ForNoKeyUpdate) => query.filter(in_scope(scope)).for_no_key_update().first(conn).await,
    }
    .optional()
}

/// Reads a member whose organisation lies inside `scope` (`None`: anywhere), unlocked.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    scope: Option<Uuid>,
) -> QueryResult<Option<MemberRow>> {
    find(conn, id.into(), scope, Lock::Unlocked).await
}

/// The organisation and admission day of each of these members whose organisation lies inside `scope` (`None`:
/// anywhere), by id, in one query.
pub async fn placements(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    scope: Option<Uuid>,
) -> QueryResult<std::collections::HashMap<Uuid, (Uuid, NaiveDate)>> {
    let rows: Vec<(MemberId, OrganisationId, NaiveDate)> = members::table
        .filter(members::id.eq_any(ids))
        .filter(in_scope(scope))
        .select((members::id, members::organisation_id, members::admitted_on))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(id, org, on)| (id.0, (org.0, on))).collect())
}

/// Stores a new member, `probationary`. It borrows the connection shared, so that it may be sent together with
/// other statements.
pub async fn insert(
    conn: &AsyncPgConnection,
    id: MemberId,
    organisation_id: OrganisationId,
    candidate_id: Option<CandidateId>,
    values: &MemberValues,
) -> QueryResult<MemberRow> {
    diesel::insert_into(members::table)
        .values(NewMember {
            id,
            organisation_id,
            status: MemberStatus::Probationary,
            official_on: None,
            candidate_id,
            values: values.clone(),
        })
        .returning(MemberRow::as_returning())
        .get_result(&mut &*conn)
        .await
}

/// Stores many new members with one statement.
pub async fn insert_many(conn: &mut AsyncPgConnection, new: &[NewMember]) -> QueryResult<Vec<MemberRow>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    diesel::insert_into(members::table)
        .values(new)
        .returning(MemberRow::as_returning())
        .get_results(conn)
        .await
}

/// Which of these card numbers and national ids members already have.
pub async fn taken_numbers(
    conn: &mut AsyncPgConnection,
    cards: &[CardNumber],
    national_ids: &[NationalId],
) -> QueryResult<(Vec<CardNumber>, Vec<NationalId>)> {
    let cards = match cards {
        [] => Vec::new(),
        _ => {
            members::table
                .filter(members::card_number.eq_any(cards))
                .select(members::card_number.assume_not_null())
                .load(conn)
                .await?
        }
    };
    let national_ids = match national_ids {
        [] => Vec::new(),
        _ => {
            members::table
                .filter(members::national_id.eq_any(national_ids))
                .select(members::national_id.assume_not_null())
                .load(conn)
                .await?
        }
    };
    Ok((cards, national_ids))
}

/// Writes edited values, bumps the version, returns the stored row.
pub async fn update(conn: &mut AsyncPgConnection, id: MemberId, values: &MemberValues) -> QueryResult<MemberRow> {
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
    id: MemberId,
    status: MemberStatus,
    official_on: Option<NaiveDate>,
    organisation_id: OrganisationId,
) -> QueryResult<MemberRow> {
    // The change feed records this change as the member's lifecycle `event` (see the `changes_record` trigger);
    // the mark is lifted at once, so that later writes of the transaction are recorded as what they are.
    diesel::sql_query("SELECT set_config('partybase.change_action', 'event', true)")
        .execute(conn)
        .await?;
    let updated = diesel::update(members::table.find(id))
        .set((
            members::status.eq(status),
            members::official_on.eq(official_on),
            members::organisation_id.eq(organisation_id),
            members::version.eq(members::version + 1),
            members::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::sql_query("SELECT set_config('partybase.change_action', '', true)")
        .execute(conn)
        .await?;
    Ok(updated)
}

/// Deletes a member and, by cascade, its history.
pub async fn delete(conn: &mut AsyncPgConnection, id: MemberId) -> QueryResult<usize> {
    diesel::delete(members::table.find(id)).execute(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::may_be_kept_prepared;

    #[test]
    fn a_read_confined_to_a_scope_may_be_kept_prepared() {
        let one = members::table
            .filter(members::id.eq(MemberId::new()))
            .filter(in_scope(Some(Uuid::nil())))
            .select(MemberRow::as_select());
        assert!(may_be_kept_prepared(&one));
    }

    #[test]
    fn a_page_is_kept_prepared_unless_planned_for_its_subtree_or_search() {
        let anywhere = Subtrees {
            scope: None,
            under: None,
        };
        let after_name = || Some(MemberCursor::Name("An Nguyễn Văn".into(), MemberId::new()));
        let by_name = page(
            &anywhere,
            &MemberFilter::default(),
            MemberOrder::Name,
            after_name(),
            false,
        );
        assert!(may_be_kept_prepared(&by_name));
        let after_admission = Some(MemberCursor::AdmittedOn(NaiveDate::MIN, MemberId::new()));
        let by_admission = page(
            &anywhere,
            &MemberFilter::default(),
            MemberOrder::AdmittedOn,
            after_admission,
            false,
        );
        assert!(may_be_kept_prepared(&by_admission));

        let under = Subtrees {
            scope: None,
            under: Some(TreePath("a.b".into())),
        };
        for sort_subtree in [false, true] {
            assert!(!may_be_kept_prepared(&page(
                &under,
                &MemberFilter::default(),
                MemberOrder::Name,
                after_name(),
                sort_subtree
            )));
        }
        let search = MemberFilter {
            q: Some("an".into()),
            ..MemberFilter::default()
        };
        assert!(!may_be_kept_prepared(&page(
            &anywhere,
            &search,
            MemberOrder::Name,
            None,
            false
        )));
    }
}
