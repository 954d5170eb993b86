//! The coverage of a resolution: who under its issuer has started implementing it.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::organisation::OrganisationKind;
use crate::domain::resolution::ImplementationStatus;
use crate::schema::sql_types::Ltree;
use crate::store::TreePath;

/// One row of the coverage report: an active base organisation under the issuer and how far it got.
#[derive(Debug, Clone, QueryableByName)]
pub struct CoverageRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: OrganisationKind,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub status: Option<ImplementationStatus>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    pub plan_adopted_on: Option<NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    pub reported_on: Option<NaiveDate>,
}

/// The coverage totals of a resolution over the active base organisations under `issuer` (and inside `scope`).
#[derive(Debug, Clone, QueryableByName)]
pub struct CoverageTotals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub organisations: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub planned: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub in_progress: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub completed: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub not_started: i64,
}

const COVERAGE_FROM: &str = "FROM organisations o \
     LEFT JOIN resolution_implementations i ON i.organisation_id = o.id AND i.resolution_id = $1 \
     WHERE o.path <@ $2 AND o.path <> $2 AND o.path <@ $3 \
       AND o.kind IN ('base_committee', 'base_cell') \
       AND (o.dissolved_on IS NULL OR o.dissolved_on > $4)";

/// Coverage totals, counted by PostgreSQL.
pub async fn coverage_totals(
    conn: &mut AsyncPgConnection,
    resolution_id: Uuid,
    issuer: &TreePath,
    scope: &TreePath,
    today: NaiveDate,
) -> QueryResult<CoverageTotals> {
    diesel::sql_query(format!(
        "SELECT count(*) AS organisations, \
         count(*) FILTER (WHERE i.status = 'planned') AS planned, \
         count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress, \
         count(*) FILTER (WHERE i.status = 'completed') AS completed, \
         count(*) FILTER (WHERE i.id IS NULL) AS not_started {COVERAGE_FROM}"
    ))
    .bind::<diesel::sql_types::Uuid, _>(resolution_id)
    .bind::<Ltree, _>(issuer.clone())
    .bind::<Ltree, _>(scope.clone())
    .bind::<diesel::sql_types::Date, _>(today)
    .get_result(conn)
    .await
}

/// Coverage, one row per organisation in code order.
pub async fn coverage_rows(
    conn: &mut AsyncPgConnection,
    resolution_id: Uuid,
    issuer: &TreePath,
    scope: &TreePath,
    today: NaiveDate,
) -> QueryResult<Vec<CoverageRow>> {
    diesel::sql_query(format!(
        "SELECT o.id AS organisation_id, o.code, o.name, o.kind, i.status, i.plan_adopted_on, i.reported_on \
         {COVERAGE_FROM} ORDER BY o.code"
    ))
    .bind::<diesel::sql_types::Uuid, _>(resolution_id)
    .bind::<Ltree, _>(issuer.clone())
    .bind::<Ltree, _>(scope.clone())
    .bind::<diesel::sql_types::Date, _>(today)
    .load(conn)
    .await
}
