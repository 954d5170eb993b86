//! The `organisations` table: rows, write forms, the list and the reads of one organisation; the queries of the
//! tree's shape are in [`tree`].

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{OrgCode, OrganisationKind, Sector};
use crate::schema::organisations;
use crate::store::{escape_like, fixed_sql, FixedSql, TreePath};

pub mod through_time;
pub mod tree;

/// A stored organisation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations, check_for_backend(Pg))]
pub struct OrganisationRow {
    pub id: OrganisationId,
    pub code: String,
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    pub parent_id: Option<OrganisationId>,
    pub path: TreePath,
    pub established_on: Option<NaiveDate>,
    pub dissolved_on: Option<NaiveDate>,
    pub address: Option<String>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The ended organisations whose work this one carries on.
    #[diesel(select_expression = fixed_sql::<Array<SqlUuid>>(PREDECESSORS))]
    #[diesel(select_expression_type = FixedSql<Array<SqlUuid>>)]
    pub predecessor_ids: Vec<Uuid>,
    /// The organisations that carry on this one's work after it ended.
    #[diesel(select_expression = fixed_sql::<Array<SqlUuid>>(SUCCESSORS))]
    #[diesel(select_expression_type = FixedSql<Array<SqlUuid>>)]
    pub successor_ids: Vec<Uuid>,
}

const PREDECESSORS: &str =
    "ARRAY(SELECT s.organisation_id FROM organisation_successions s WHERE s.successor_id = organisations.id ORDER BY 1)";
const SUCCESSORS: &str =
    "ARRAY(SELECT s.successor_id FROM organisation_successions s WHERE s.organisation_id = organisations.id ORDER BY 1)";

/// A new organisation: its id, its place in the tree and its values.
#[derive(Debug, Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation {
    pub id: OrganisationId,
    pub path: TreePath,
    #[diesel(embed)]
    pub values: OrganisationValues,
}

/// Every editable column of an organisation: what a creation sets and a change writes back whole.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = organisations, treat_none_as_null = true)]
pub struct OrganisationValues {
    pub code: OrgCode,
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    pub parent_id: Option<OrganisationId>,
    pub established_on: Option<NaiveDate>,
    pub dissolved_on: Option<NaiveDate>,
    pub address: Option<String>,
    pub note: Option<String>,
}

/// The filters of the organisation list.
#[derive(Debug, Default)]
pub struct OrganisationFilter {
    pub parent_id: Option<OrganisationId>,
    /// Every descendant of the organisation with this path (not itself).
    pub under: Option<TreePath>,
    pub kinds: Option<Vec<OrganisationKind>>,
    pub sector: Option<Sector>,
    pub active: Option<bool>,
    pub q: Option<String>,
    /// Only the subtree with this root path (the caller's scope); `None` for everything.
    pub scope: Option<TreePath>,
    /// Today's date, which decides `active`.
    pub today: NaiveDate,
}

/// A condition on an organisation row.
type Condition = Box<dyn BoxableExpression<organisations::table, Pg, SqlType = Bool>>;

/// The condition "the organisation lies in the subtree with root path `root`, the root included". The path is
/// bound as a value, not looked up in a subquery, so that the planner estimates the subtree's size from it (in
/// `sql()`, planned for each value: see [`crate::store::fixed_sql`]).
pub fn path_within(root: &TreePath) -> Condition {
    Box::new(sql::<Bool>("organisations.path <@ ").bind::<crate::schema::sql_types::Ltree, _>(root.clone()))
}

/// The condition "the organisation lies in the subtree of `root`, `root` included".
fn within(root: Uuid) -> Condition {
    Box::new(
        fixed_sql::<Bool>("organisations.path <@ (SELECT o.path FROM organisations o WHERE o.id = ")
            .bind::<SqlUuid, _>(root)
            .sql(")"),
    )
}

/// Like [`within`], or true when there is no scope; one shape for both, for queries that cannot be boxed.
fn within_scope(scope: Option<Uuid>) -> Condition {
    Box::new(
        fixed_sql::<Bool>("(")
            .bind::<Nullable<SqlUuid>, _>(scope)
            .sql("::uuid IS NULL OR organisations.path <@ (SELECT o.path FROM organisations o WHERE o.id = ")
            .bind::<Nullable<SqlUuid>, _>(scope)
            .sql("))"),
    )
}

fn scoped(scope: Option<Uuid>) -> organisations::BoxedQuery<'static, Pg> {
    let query = organisations::table.into_boxed();
    match scope {
        Some(root) => query.filter(within(root)),
        None => query,
    }
}

fn filtered(filter: &OrganisationFilter) -> organisations::BoxedQuery<'static, Pg> {
    let mut query = organisations::table.into_boxed();
    if let Some(scope) = &filter.scope {
        query = query.filter(path_within(scope));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(organisations::parent_id.eq(parent));
    }
    if let Some(root) = &filter.under {
        query = query
            .filter(path_within(root))
            .filter(organisations::path.ne(root.clone()));
    }
    if let Some(kinds) = &filter.kinds {
        query = query.filter(organisations::kind.eq_any(kinds.clone()));
    }
    if let Some(sector) = filter.sector {
        query = query.filter(organisations::sector.eq(sector));
    }
    match filter.active {
        Some(true) => {
            query = query.filter(
                organisations::dissolved_on
                    .is_null()
                    .or(organisations::dissolved_on.gt(filter.today)),
            )
        }
        Some(false) => query = query.filter(organisations::dissolved_on.le(filter.today)),
        None => {}
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            sql::<Bool>("organisations.search LIKE '%' || pb_fold(")
                .bind::<Text, _>(escape_like(q))
                .sql(") || '%'"),
        );
    }
    query
}

type PageQuery = organisations::BoxedQuery<'static, Pg, diesel::dsl::AsSelect<OrganisationRow, Pg>>;

/// The query of one page of organisations after `after` in id order.
fn page(filter: &OrganisationFilter, after: Option<OrganisationId>, fetch: i64) -> PageQuery {
    let mut query = filtered(filter).select(OrganisationRow::as_select());
    if let Some(after) = after {
        query = query.filter(organisations::id.gt(after));
    }
    query.order(organisations::id).limit(fetch)
}

/// One page of organisations after `after` in id order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &OrganisationFilter,
    after: Option<OrganisationId>,
    fetch: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    page(filter, after, fetch).load(conn).await
}

/// The plan of the first page of [`list`] for this filter.
pub async fn explain_list(conn: &mut AsyncPgConnection, filter: &OrganisationFilter) -> QueryResult<String> {
    crate::store::explain(conn, page(filter, None, crate::pagination::DEFAULT_LIMIT + 1)).await
}

/// How many organisations match the filter.
pub async fn count(conn: &mut AsyncPgConnection, filter: &OrganisationFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// The organisation with this code.
pub async fn find_by_code(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::code.eq(code))
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The organisation with this code, if it lies inside `scope` (`None`: anywhere).
pub async fn find_visible_by_code(
    conn: &mut AsyncPgConnection,
    code: &str,
    scope: Option<Uuid>,
) -> QueryResult<Option<OrganisationRow>> {
    scoped(scope)
        .filter(organisations::code.eq(code.to_owned()))
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The organisations with these codes that lie inside `scope` (`None`: anywhere), share-locked for the rest of the
/// transaction as [`RowLock::Share`] locks one.
pub async fn find_visible_by_codes_locked(
    conn: &mut AsyncPgConnection,
    codes: &[String],
    scope: Option<Uuid>,
) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table
        .filter(organisations::code.eq_any(codes))
        .filter(within_scope(scope))
        .select(OrganisationRow::as_select())
        .for_share()
        .load(conn)
        .await
}

/// The codes of those of these organisations that lie inside `scope` (`None`: anywhere).
pub async fn codes_of(
    conn: &mut AsyncPgConnection,
    ids: &[OrganisationId],
    scope: Option<Uuid>,
) -> QueryResult<Vec<(OrganisationId, String)>> {
    organisations::table
        .filter(organisations::id.eq_any(ids))
        .filter(within_scope(scope))
        .select((organisations::id, organisations::code))
        .load(conn)
        .await
}

/// One page of the organisations a filter selects, parents before their children: in path order, after `after`.
pub async fn list_in_tree_order(
    conn: &mut AsyncPgConnection,
    filter: &OrganisationFilter,
    after: Option<TreePath>,
    fetch: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    let mut query = filtered(filter).select(OrganisationRow::as_select());
    if let Some(after) = after {
        query = query.filter(organisations::path.gt(after));
    }
    query.order(organisations::path).limit(fetch).load(conn).await
}

/// The tree path of an organisation.
pub async fn path_of(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Option<TreePath>> {
    organisations::table
        .find(id)
        .select(organisations::path)
        .first(conn)
        .await
        .optional()
}

/// Reads an organisation if it lies inside `scope` (`None`: anywhere).
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    scope: Option<Uuid>,
) -> QueryResult<Option<OrganisationRow>> {
    scoped(scope)
        .filter(organisations::id.eq(id))
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The lock a read takes on an organisation row, held to the end of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    /// Others may read and share-lock it, but not change it: its kind and dissolution stay as read while
    /// something is placed in it.
    Share,
    /// Only this transaction may change it (its children may still be placed and changed).
    Update,
}

/// What placing a member in an organisation needs to know of it.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = organisations, check_for_backend(Pg))]
pub struct Placement {
    pub kind: OrganisationKind,
    pub dissolved_on: Option<NaiveDate>,
}

/// The kind and end of an organisation inside `scope`, share-locked for the rest of the transaction. Every admission
/// asks it, in a statement diesel keeps prepared either way. The scope's condition is added only when there is one
/// rather than written as `within_scope`'s `OR`, which a kept statement's generic plan could not fold away. It
/// borrows the connection shared, so that it may be sent together with the statements that follow it.
pub async fn placement_locked(
    conn: &AsyncPgConnection,
    id: OrganisationId,
    scope: Option<Uuid>,
) -> QueryResult<Option<Placement>> {
    let query = organisations::table
        .filter(organisations::id.eq(id))
        .select(Placement::as_select());
    match scope {
        None => query.for_share().first(&mut &*conn).await,
        Some(root) => query.filter(within(root)).for_share().first(&mut &*conn).await,
    }
    .optional()
}

/// Reads an organisation inside `scope` and locks its row for the rest of the transaction.
pub async fn find_visible_locked(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    scope: Option<Uuid>,
    lock: RowLock,
) -> QueryResult<Option<OrganisationRow>> {
    let query = organisations::table
        .filter(organisations::id.eq(id))
        .filter(within_scope(scope))
        .select(OrganisationRow::as_select());
    match lock {
        RowLock::Share => query.for_share().first(conn).await,
        RowLock::Update => query.for_no_key_update().first(conn).await,
    }
    .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewOrganisation) -> QueryResult<OrganisationRow> {
    diesel::insert_into(organisations::table)
        .values(new)
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

/// Writes the values, bumps the version and returns the stored row.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    values: &OrganisationValues,
) -> QueryResult<OrganisationRow> {
    diesel::update(organisations::table.find(id))
        .set((
            values,
            organisations::version.eq(organisations::version + 1),
            organisations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

/// Bumps the version of an organisation whose shown links changed (its predecessors or successors).
pub async fn touch(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<OrganisationRow> {
    diesel::update(organisations::table.find(id))
        .set((
            organisations::version.eq(organisations::version + 1),
            organisations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<usize> {
    diesel::delete(organisations::table.find(id)).execute(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::may_be_kept_prepared;

    #[test]
    fn a_read_of_an_organisation_with_its_successions_may_be_kept_prepared() {
        let query = organisations::table
            .filter(within(Uuid::nil()))
            .select(OrganisationRow::as_select());
        assert!(may_be_kept_prepared(&query));
    }
}
