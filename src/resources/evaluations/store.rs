//! The `evaluations` (organisations) and `member_evaluations` tables.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::rating::Grade;
use crate::domain::score::Score;
use crate::schema::sql_types::Ltree;
use crate::schema::{evaluations, member_evaluations};
use crate::store::TreePath;

/// A stored evaluation of an organisation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = evaluations, check_for_backend(Pg))]
pub struct EvaluationRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub year: i32,
    pub grade: Grade,
    pub exemplary: bool,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable values of an organisation's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = evaluations, treat_none_as_null = true)]
pub struct EvaluationValues {
    pub grade: Grade,
    pub exemplary: bool,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = evaluations)]
struct NewEvaluation {
    id: Uuid,
    organisation_id: Uuid,
    year: i32,
    #[diesel(embed)]
    values: EvaluationValues,
}

/// A stored evaluation of a member.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = member_evaluations, check_for_backend(Pg))]
pub struct MemberEvaluationRow {
    pub id: Uuid,
    pub member_id: Uuid,
    pub organisation_id: Uuid,
    pub year: i32,
    pub grade: Grade,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable values of a member's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = member_evaluations, treat_none_as_null = true)]
pub struct MemberEvaluationValues {
    pub grade: Grade,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = member_evaluations)]
struct NewMemberEvaluation {
    id: Uuid,
    member_id: Uuid,
    organisation_id: Uuid,
    year: i32,
    #[diesel(embed)]
    values: MemberEvaluationValues,
}

/// The filters both evaluation lists take.
#[derive(Debug, Default)]
pub struct EvaluationFilter {
    pub year: Option<i32>,
    /// The evaluated organisation, or the member's organisation at evaluation time.
    pub organisation_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    /// Evaluations of organisations in this subtree (the root included).
    pub under: Option<TreePath>,
    pub grade: Option<Grade>,
    /// The caller's subtree.
    pub scope: Option<TreePath>,
}

fn organisation_in(
    column: &str,
    root: &TreePath,
) -> diesel::expression::SqlLiteral<Bool, impl diesel::query_builder::QueryFragment<Pg>> {
    sql::<Bool>(&format!(
        "{column} IN (SELECT o.id FROM organisations o WHERE o.path <@ "
    ))
    .bind::<Ltree, _>(root.clone())
    .sql(")")
}

fn evaluations_filtered(f: &EvaluationFilter) -> evaluations::BoxedQuery<'static, Pg> {
    let mut query = evaluations::table.into_boxed();
    for root in [&f.scope, &f.under].into_iter().flatten() {
        query = query.filter(organisation_in("evaluations.organisation_id", root));
    }
    if let Some(year) = f.year {
        query = query.filter(evaluations::year.eq(year));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(evaluations::organisation_id.eq(org));
    }
    if let Some(grade) = f.grade {
        query = query.filter(evaluations::grade.eq(grade));
    }
    query
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    f: &EvaluationFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<EvaluationRow>> {
    let mut query = evaluations_filtered(f).select(EvaluationRow::as_select());
    if let Some(after) = after {
        query = query.filter(evaluations::id.gt(after));
    }
    query.order(evaluations::id).limit(fetch).load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, f: &EvaluationFilter) -> QueryResult<i64> {
    evaluations_filtered(f).count().get_result(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<EvaluationRow>> {
    let query = evaluations::table.find(id).select(EvaluationRow::as_select());
    if lock {
        query.for_no_key_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    year: i32,
    values: &EvaluationValues,
) -> QueryResult<EvaluationRow> {
    diesel::insert_into(evaluations::table)
        .values(NewEvaluation {
            id: Uuid::now_v7(),
            organisation_id,
            year,
            values: values.clone(),
        })
        .returning(EvaluationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, values: &EvaluationValues) -> QueryResult<EvaluationRow> {
    diesel::update(evaluations::table.find(id))
        .set((
            values,
            evaluations::version.eq(evaluations::version + 1),
            evaluations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(EvaluationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(evaluations::table.find(id)).execute(conn).await
}

/// How many evaluations name an organisation (as the evaluated one, or as a member's organisation).
pub async fn organisation_usage(conn: &mut AsyncPgConnection, organisation_id: Uuid) -> QueryResult<i64> {
    let own: i64 = evaluations::table
        .filter(evaluations::organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)
        .await?;
    let members: i64 = member_evaluations::table
        .filter(member_evaluations::organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(own + members)
}

/// How many evaluations a member has.
pub async fn member_usage(conn: &mut AsyncPgConnection, member_id: Uuid) -> QueryResult<i64> {
    member_evaluations::table
        .filter(member_evaluations::member_id.eq(member_id))
        .count()
        .get_result(conn)
        .await
}

fn member_evaluations_filtered(f: &EvaluationFilter) -> member_evaluations::BoxedQuery<'static, Pg> {
    let mut query = member_evaluations::table.into_boxed();
    for root in [&f.scope, &f.under].into_iter().flatten() {
        query = query.filter(organisation_in("member_evaluations.organisation_id", root));
    }
    if let Some(year) = f.year {
        query = query.filter(member_evaluations::year.eq(year));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(member_evaluations::organisation_id.eq(org));
    }
    if let Some(member) = f.member_id {
        query = query.filter(member_evaluations::member_id.eq(member));
    }
    if let Some(grade) = f.grade {
        query = query.filter(member_evaluations::grade.eq(grade));
    }
    query
}

pub async fn list_members(
    conn: &mut AsyncPgConnection,
    f: &EvaluationFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<MemberEvaluationRow>> {
    let mut query = member_evaluations_filtered(f).select(MemberEvaluationRow::as_select());
    if let Some(after) = after {
        query = query.filter(member_evaluations::id.gt(after));
    }
    query.order(member_evaluations::id).limit(fetch).load(conn).await
}

pub async fn count_members(conn: &mut AsyncPgConnection, f: &EvaluationFilter) -> QueryResult<i64> {
    member_evaluations_filtered(f).count().get_result(conn).await
}

pub async fn find_member(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<MemberEvaluationRow>> {
    let query = member_evaluations::table
        .find(id)
        .select(MemberEvaluationRow::as_select());
    if lock {
        query.for_no_key_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn insert_member(
    conn: &mut AsyncPgConnection,
    member_id: Uuid,
    organisation_id: Uuid,
    year: i32,
    values: &MemberEvaluationValues,
) -> QueryResult<MemberEvaluationRow> {
    diesel::insert_into(member_evaluations::table)
        .values(NewMemberEvaluation {
            id: Uuid::now_v7(),
            member_id,
            organisation_id,
            year,
            values: values.clone(),
        })
        .returning(MemberEvaluationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update_member(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    values: &MemberEvaluationValues,
) -> QueryResult<MemberEvaluationRow> {
    diesel::update(member_evaluations::table.find(id))
        .set((
            values,
            member_evaluations::version.eq(member_evaluations::version + 1),
            member_evaluations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MemberEvaluationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_member(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(member_evaluations::table.find(id)).execute(conn).await
}
