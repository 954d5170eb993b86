//! The `resolution_implementations` table.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::ids::{ImplementationId, OrganisationId, ResolutionId};
use crate::domain::resolution::{Achievements, ImplementationStatus};
use crate::schema::sql_types::Ltree;
use crate::schema::{organisations, resolution_implementations};
use crate::store::{fixed_sql, TreePath};

/// A stored implementation; serialised as the audit trail records it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = resolution_implementations, check_for_backend(Pg))]
pub struct ImplementationRow {
    pub id: ImplementationId,
    pub resolution_id: ResolutionId,
    pub organisation_id: OrganisationId,
    pub status: ImplementationStatus,
    pub plan_adopted_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    pub report: Option<String>,
    pub results: Achievements,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImplementationRow {
    /// The values a change may touch, as stored.
    pub fn fields(&self) -> ImplementationFields {
        ImplementationFields {
            status: self.status,
            plan_adopted_on: self.plan_adopted_on,
            reported_on: self.reported_on,
            report: self.report.clone(),
            results: self.results.clone(),
        }
    }
}

/// The values of an implementation, written whole.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = resolution_implementations, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct ImplementationFields {
    pub status: ImplementationStatus,
    pub plan_adopted_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    pub report: Option<String>,
    pub results: Achievements,
}

/// How many implementations a resolution has.
pub async fn implementation_count(conn: &mut AsyncPgConnection, resolution_id: ResolutionId) -> QueryResult<i64> {
    resolution_implementations::table
        .filter(resolution_implementations::resolution_id.eq(resolution_id))
        .count()
        .get_result(conn)
        .await
}

/// The indicators that the implementations of a resolution report results on, in order.
pub async fn reported_indicators(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
) -> QueryResult<Vec<String>> {
    resolution_implementations::table
        .filter(resolution_implementations::resolution_id.eq(resolution_id))
        .select(fixed_sql::<Text>("jsonb_array_elements(results) ->> 'indicator'"))
        .load::<String>(conn)
        .await
        .map(|mut indicators| {
            indicators.sort();
            indicators.dedup();
            indicators
        })
}

/// The implementations of one resolution joined to their organisations, boxed for the scope filter.
type ImplementationsQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Filter<
        diesel::dsl::InnerJoin<resolution_implementations::table, organisations::table>,
        diesel::dsl::Eq<resolution_implementations::resolution_id, ResolutionId>,
    >,
    Pg,
>;

fn implementations_of(resolution_id: ResolutionId, scope: Option<&TreePath>) -> ImplementationsQuery {
    let mut query = resolution_implementations::table
        .inner_join(organisations::table)
        .filter(resolution_implementations::resolution_id.eq(resolution_id))
        .into_boxed();
    if let Some(scope) = scope {
        query = query.filter(sql::<Bool>("organisations.path <@ ").bind::<Ltree, _>(scope.clone()));
    }
    query
}

/// A resolution's implementations by organisations inside `scope`, in order of organisation id, after `after`.
pub async fn implementations(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    scope: Option<&TreePath>,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<ImplementationRow>> {
    let mut query = implementations_of(resolution_id, scope).select(ImplementationRow::as_select());
    if let Some(after) = after {
        query = query.filter(resolution_implementations::organisation_id.gt(after));
    }
    query
        .order(resolution_implementations::organisation_id)
        .limit(fetch)
        .load(conn)
        .await
}

/// How many implementations of a resolution lie inside `scope`.
pub async fn implementations_count(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    scope: Option<&TreePath>,
) -> QueryResult<i64> {
    implementations_of(resolution_id, scope).count().get_result(conn).await
}

/// One organisation's implementation of a resolution, with the organisation's tree path.
pub async fn implementation(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    organisation_id: OrganisationId,
) -> QueryResult<Option<(ImplementationRow, TreePath)>> {
    resolution_implementations::table
        .inner_join(organisations::table)
        .filter(resolution_implementations::resolution_id.eq(resolution_id))
        .filter(resolution_implementations::organisation_id.eq(organisation_id))
        .select((ImplementationRow::as_select(), organisations::path))
        .first(conn)
        .await
        .optional()
}

/// An implementation with its organisation's tree path, its row (not the organisation's: that would conflict with
/// foreign-key checks of unrelated writes) locked for the rest of the transaction.
pub async fn lock_implementation(
    conn: &mut AsyncPgConnection,
    id: ImplementationId,
) -> QueryResult<Option<(ImplementationRow, TreePath)>> {
    let Some(row) = resolution_implementations::table
        .find(id)
        .select(ImplementationRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let path = organisations::table
        .find(row.organisation_id)
        .select(organisations::path)
        .first(conn)
        .await?;
    Ok(Some((row, path)))
}

/// Stores a new implementation.
pub async fn insert_implementation_fields(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    organisation_id: OrganisationId,
    fields: &ImplementationFields,
) -> QueryResult<ImplementationRow> {
    diesel::insert_into(resolution_implementations::table)
        .values((
            resolution_implementations::id.eq(ImplementationId::new()),
            resolution_implementations::resolution_id.eq(resolution_id),
            resolution_implementations::organisation_id.eq(organisation_id),
            fields,
        ))
        .returning(ImplementationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update_implementation(
    conn: &mut AsyncPgConnection,
    id: ImplementationId,
    fields: &ImplementationFields,
) -> QueryResult<ImplementationRow> {
    diesel::update(resolution_implementations::table.find(id))
        .set((
            fields,
            resolution_implementations::version.eq(resolution_implementations::version + 1),
            resolution_implementations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ImplementationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_implementation(conn: &mut AsyncPgConnection, id: ImplementationId) -> QueryResult<usize> {
    diesel::delete(resolution_implementations::table.find(id))
        .execute(conn)
        .await
}
