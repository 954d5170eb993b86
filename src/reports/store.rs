//! The aggregate queries behind the reports: PostgreSQL counts, Rust only arranges the totals.
//!
//! Each query takes an optional subtree root path; it is bound as a value so that the planner sizes the subtree.

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::sql_types::Ltree;
use crate::store::TreePath;

/// A count per key.
#[derive(Debug, Clone, QueryableByName)]
pub struct KeyCount {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// A boxed query with the subtree condition appended when there is a root. `root_param` is the placeholder
/// number the root takes.
fn with_root(
    sql: &str,
    root: Option<&TreePath>,
    root_param: usize,
    tail: &str,
) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
    let condition = if root.is_some() {
        format!(" AND o.path <@ ${root_param}")
    } else {
        String::new()
    };
    diesel::sql_query(format!("{sql}{condition} {tail}")).into_boxed()
}

fn bind_root(
    query: BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>,
    root: Option<&TreePath>,
) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
    match root {
        Some(root) => query.bind::<Ltree, _>(root.clone()),
        None => query,
    }
}

/// Base organisations that existed at some point of `[first, last]` under `root`.
pub async fn base_organisations(
    conn: &mut AsyncPgConnection,
    root: Option<&TreePath>,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let query = with_root(
        "SELECT count(*) AS n FROM organisations o WHERE o.kind IN ('base_committee', 'base_cell') \
         AND (o.established_on IS NULL OR o.established_on <= $1) AND (o.dissolved_on IS NULL OR o.dissolved_on > $2)",
        root,
        3,
        "",
    )
    .bind::<Date, _>(last)
    .bind::<Date, _>(first);
    Ok(bind_root(query, root).get_result::<N>(conn).await?.n)
}

/// The evaluations of a year by grade, over those base organisations; `exemplary` counted apart.
#[derive(Debug, Clone, QueryableByName)]
pub struct GradeCount {
    #[diesel(sql_type = Text)]
    pub grade: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = BigInt)]
    pub exemplary: i64,
}

pub async fn organisation_grades(
    conn: &mut AsyncPgConnection,
    root: Option<&TreePath>,
    year: i32,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<Vec<GradeCount>> {
    let query = with_root(
        "SELECT e.grade, count(*) AS count, count(*) FILTER (WHERE e.exemplary) AS exemplary \
         FROM evaluations e JOIN organisations o ON o.id = e.organisation_id \
         WHERE e.year = $1 AND o.kind IN ('base_committee', 'base_cell') \
         AND (o.established_on IS NULL OR o.established_on <= $2) AND (o.dissolved_on IS NULL OR o.dissolved_on > $3)",
        root,
        4,
        "GROUP BY e.grade",
    )
    .bind::<Integer, _>(year)
    .bind::<Date, _>(last)
    .bind::<Date, _>(first);
    bind_root(query, root).load(conn).await
}

/// The member evaluations of a year by grade, over members evaluated in organisations under `root`.
pub async fn member_grades(
    conn: &mut AsyncPgConnection,
    root: Option<&TreePath>,
    year: i32,
) -> QueryResult<Vec<KeyCount>> {
    let query = with_root(
        "SELECT me.grade AS key, count(*) AS count \
         FROM member_evaluations me JOIN organisations o ON o.id = me.organisation_id WHERE me.year = $1",
        root,
        2,
        "GROUP BY me.grade",
    )
    .bind::<Integer, _>(year);
    bind_root(query, root).load(conn).await
}

/// A base organisation whose members graded `excellent` exceed 20% of those graded `good`.
#[derive(Debug, Clone, QueryableByName)]
pub struct QuotaBreach {
    #[diesel(sql_type = SqlUuid)]
    pub organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub excellent: i64,
    #[diesel(sql_type = BigInt)]
    pub good: i64,
}

/// The base organisations under `root` that breach the excellent quota in `year`, in code order. The query starts
/// from the base organisations of the subtree and walks down their subtrees on the path index: at national scale a
/// district's report reads only the district's rows. A root below base level (a cell) has no base organisation
/// of its own to breach the quota, so its report lists none rather than judge a base organisation on part of it.
pub async fn quota_breaches(
    conn: &mut AsyncPgConnection,
    root: Option<&TreePath>,
    year: i32,
) -> QueryResult<Vec<QuotaBreach>> {
    let subtree = if root.is_some() { "AND b.path <@ $2" } else { "" };
    let query = diesel::sql_query(format!(
        "SELECT b.id AS organisation_id, b.code, b.name, \
                count(*) FILTER (WHERE me.grade = 'excellent') AS excellent, \
                count(*) FILTER (WHERE me.grade = 'good') AS good \
         FROM organisations b \
         JOIN organisations o ON o.path <@ b.path \
         JOIN member_evaluations me ON me.organisation_id = o.id AND me.year = $1 \
         WHERE b.kind IN ('base_committee', 'base_cell') {subtree} \
         GROUP BY b.id, b.code, b.name \
         HAVING 5 * count(*) FILTER (WHERE me.grade = 'excellent') > count(*) FILTER (WHERE me.grade = 'good') \
         ORDER BY b.code"
    ))
    .into_boxed()
    .bind::<Integer, _>(year);
    bind_root(query, root).load(conn).await
}

/// How admissions are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionGrouping {
    Month,
    Quarter,
    Year,
    /// By the base organisation the member was admitted into.
    Organisation,
}

/// A group of admissions; `name` is set when grouped by organisation.
#[derive(Debug, Clone, QueryableByName)]
pub struct AdmissionGroup {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// Admissions with the admission date in `[from, to]` into organisations under `root`, counted from the
/// admission entries of the members' histories (so a later transfer does not move an admission).
pub async fn admissions(
    conn: &mut AsyncPgConnection,
    root: Option<&TreePath>,
    from: NaiveDate,
    to: NaiveDate,
    grouping: Option<AdmissionGrouping>,
) -> QueryResult<Vec<AdmissionGroup>> {
    let (key, name, join) = match grouping {
        None => ("'total'", "NULL::text", ""),
        Some(AdmissionGrouping::Month) => ("to_char(e.\"on\", 'YYYY-MM')", "NULL::text", ""),
        Some(AdmissionGrouping::Quarter) => ("to_char(e.\"on\", 'YYYY-\"Q\"Q')", "NULL::text", ""),
        Some(AdmissionGrouping::Year) => ("to_char(e.\"on\", 'YYYY')", "NULL::text", ""),
        Some(AdmissionGrouping::Organisation) => (
            "b.id::text",
            "b.name",
            "JOIN organisations b ON b.path @> o.path AND b.kind IN ('base_committee', 'base_cell')",
        ),
    };
    let query = with_root(
        &format!(
            "SELECT {key} AS key, {name} AS name, count(*) AS count \
             FROM member_events e JOIN organisations o ON o.id = e.organisation_id {join} \
             WHERE e.type = 'admitted' AND e.\"on\" BETWEEN $1 AND $2"
        ),
        root,
        3,
        "GROUP BY 1, 2 ORDER BY 1",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to);
    bind_root(query, root).load(conn).await
}

/// Current members (probationary, official, exempt) under `root`, by political theory level.
pub async fn political_theory(conn: &mut AsyncPgConnection, root: Option<&TreePath>) -> QueryResult<Vec<KeyCount>> {
    let query = with_root(
        "SELECT m.political_theory AS key, count(*) AS count \
         FROM members m JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.status IN ('probationary', 'official', 'exempt')",
        root,
        1,
        "GROUP BY m.political_theory",
    );
    bind_root(query, root).load(conn).await
}
