//! The `evaluations` (organisations) and `member_evaluations` tables. The queries the two tables share are
//! written once, in [`evaluation_queries`], and stand in the modules [`organisations`] and [`members`].

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::domain::ids::{EvaluationId, MemberEvaluationId, MemberId, OrganisationId};
use crate::domain::rating::{Grade, Year};
use crate::domain::score::Score;
use crate::schema::{evaluations, member_evaluations};
use crate::store::TreePath;

/// A stored evaluation of an organisation; also what the audit trail records of it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = evaluations, check_for_backend(Pg))]
pub struct EvaluationRow {
    pub id: EvaluationId,
    pub organisation_id: OrganisationId,
    pub year: Year,
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
#[diesel(table_name = evaluations, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct EvaluationValues {
    pub grade: Grade,
    pub exemplary: bool,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = evaluations, treat_none_as_default_value = false)]
struct NewEvaluation {
    id: EvaluationId,
    organisation_id: OrganisationId,
    year: i32,
    #[diesel(embed)]
    values: EvaluationValues,
}

/// A stored evaluation of a member; also what the audit trail records of it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = member_evaluations, check_for_backend(Pg))]
pub struct MemberEvaluationRow {
    pub id: MemberEvaluationId,
    pub member_id: MemberId,
    pub organisation_id: OrganisationId,
    pub year: Year,
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
#[diesel(table_name = member_evaluations, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct MemberEvaluationValues {
    pub grade: Grade,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = member_evaluations, treat_none_as_default_value = false)]
struct NewMemberEvaluation {
    id: MemberEvaluationId,
    member_id: MemberId,
    organisation_id: OrganisationId,
    year: Year,
    #[diesel(embed)]
    values: MemberEvaluationValues,
}

/// The filters both evaluation lists take.
#[derive(Debug, Default)]
pub struct EvaluationFilter {
    pub year: Option<Year>,
    /// The evaluated organisation, or the member's organisation at evaluation time.
    pub organisation_id: Option<OrganisationId>,
    /// Members' evaluations only.
    pub member_id: Option<MemberId>,
    pub grade: Option<Grade>,
}

/// Whether a read locks the row for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    None,
    /// `FOR NO KEY UPDATE`: the row is about to change or go.
    ForUpdate,
}

/// The queries of one evaluation table, the same for both: find, list, count, update and delete; with a
/// `member_id` column, lists filter on it too.
macro_rules! evaluation_queries {
    ($table:ident, $row:ty, $id:ty, $values:ty $(, $member_id:ident)?) => {
        use diesel::dsl::sql;
        use diesel::sql_types::Bool;

        use super::*;
        use crate::schema::sql_types::Ltree;

        pub async fn find(conn: &mut AsyncPgConnection, id: $id, lock: Lock) -> QueryResult<Option<$row>> {
            let query = $table::table.find(id).select(<$row>::as_select());
            match lock {
                Lock::None => query.first(conn).await.optional(),
                Lock::ForUpdate => query.for_no_key_update().first(conn).await.optional(),
            }
        }

        /// The evaluations `filter` selects among those recorded for organisations inside every one of the
        /// subtrees `within` (the caller's scope, an `under` filter).
        fn filtered(filter: &EvaluationFilter, within: &[TreePath]) -> $table::BoxedQuery<'static, Pg> {
            let mut query = $table::table.into_boxed();
            for root in within {
                let inside = sql::<Bool>(concat!(
                    stringify!($table),
                    ".organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ "
                ))
                .bind::<Ltree, _>(root.clone())
                .sql(")");
                query = query.filter(inside);
            }
            if let Some(year) = filter.year {
                query = query.filter($table::year.eq(year));
            }
            if let Some(organisation_id) = filter.organisation_id {
                query = query.filter($table::organisation_id.eq(organisation_id));
            }
            if let Some(grade) = filter.grade {
                query = query.filter($table::grade.eq(grade));
            }
            $(
                if let Some(member_id) = filter.member_id {
                    query = query.filter($table::$member_id.eq(member_id));
                }
            )?
            query
        }

        /// One page of [`filtered`], in id order after `after`.
        pub async fn list(
            conn: &mut AsyncPgConnection,
            filter: &EvaluationFilter,
            within: &[TreePath],
            after: Option<$id>,
            fetch: i64,
        ) -> QueryResult<Vec<$row>> {
            let mut query = filtered(filter, within).select(<$row>::as_select());
            if let Some(after) = after {
                query = query.filter($table::id.gt(after));
            }
            query.order($table::id).limit(fetch).load(conn).await
        }

        pub async fn count(
            conn: &mut AsyncPgConnection,
            filter: &EvaluationFilter,
            within: &[TreePath],
        ) -> QueryResult<i64> {
            filtered(filter, within).count().get_result(conn).await
        }

        /// Stores new values, with the next version.
        pub async fn update(conn: &mut AsyncPgConnection, id: $id, values: &$values) -> QueryResult<$row> {
            diesel::update($table::table.find(id))
                .set((
                    values,
                    $table::version.eq($table::version + 1),
                    $table::updated_at.eq(diesel::dsl::now),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)
                .await
        }

        pub async fn delete(conn: &mut AsyncPgConnection, id: $id) -> QueryResult<usize> {
            diesel::delete($table::table.find(id)).execute(conn).await
        }
    };
}

/// The queries of the organisations' evaluations.
pub mod organisations {
    evaluation_queries!(evaluations, EvaluationRow, EvaluationId, EvaluationValues);
}

/// The queries of the members' evaluations.
pub mod members {
    evaluation_queries!(
        member_evaluations,
        MemberEvaluationRow,
        MemberEvaluationId,
        MemberEvaluationValues,
        member_id
    );
}

/// Records an organisation's evaluation of a year.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    organisation_id: impl Into<OrganisationId>,
    year: i32,
    values: &EvaluationValues,
) -> QueryResult<EvaluationRow> {
    diesel::insert_into(evaluations::table)
        .values(NewEvaluation {
            id: EvaluationId::new(),
            organisation_id: organisation_id.into(),
            year,
            values: values.clone(),
        })
        .returning(EvaluationRow::as_returning())
        .get_result(conn)
        .await
}

/// Records a member's evaluation of a year, for the organisation it counts in.
pub async fn insert_member(
    conn: &mut AsyncPgConnection,
    member_id: MemberId,
    organisation_id: OrganisationId,
    year: Year,
    values: &MemberEvaluationValues,
) -> QueryResult<MemberEvaluationRow> {
    diesel::insert_into(member_evaluations::table)
        .values(NewMemberEvaluation {
            id: MemberEvaluationId::new(),
            member_id,
            organisation_id,
            year,
            values: values.clone(),
        })
        .returning(MemberEvaluationRow::as_returning())
        .get_result(conn)
        .await
}

/// How many evaluations name an organisation (as the evaluated one, or as a member's organisation).
pub async fn organisation_usage(
    conn: &mut AsyncPgConnection,
    organisation_id: impl Into<OrganisationId>,
) -> QueryResult<i64> {
    let organisation_id = organisation_id.into();
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
pub async fn member_usage(conn: &mut AsyncPgConnection, member_id: impl Into<MemberId>) -> QueryResult<i64> {
    member_evaluations::table
        .filter(member_evaluations::member_id.eq(member_id.into()))
        .count()
        .get_result(conn)
        .await
}
