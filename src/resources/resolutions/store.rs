//! The `resolutions` and `resolution_implementations` tables.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::ids::{ImplementationId, OrganisationId, ResolutionId};
use crate::domain::organisation::OrganisationKind;
use crate::domain::resolution::{Achievements, ImplementationStatus, ResolutionField, ResolutionStatus, Targets};
use crate::schema::sql_types::Ltree;
use crate::schema::{organisations, resolution_implementations, resolutions};
use crate::store::{escape_like, TreePath};

/// Whether a read locks the row it reads for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    Unlocked,
    /// `FOR NO KEY UPDATE` on the row itself (not on the rows joined to it).
    ForUpdate,
}

/// A stored resolution; serialised as the audit trail records it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = resolutions, check_for_backend(Pg))]
pub struct ResolutionRow {
    // A `Uuid` until the coverage report takes a `ResolutionId`.
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub issuing_organisation_id: OrganisationId,
    pub issued_on: NaiveDate,
    pub field: ResolutionField,
    pub summary: Option<String>,
    pub status: ResolutionStatus,
    pub valid_until: Option<NaiveDate>,
    pub targets: Targets,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ResolutionRow {
    /// The resolution's id.
    pub fn resolution_id(&self) -> ResolutionId {
        ResolutionId(self.id)
    }

    /// The values a change may touch, as stored.
    pub fn fields(&self) -> ResolutionFields {
        ResolutionFields {
            number: self.number.clone(),
            title: self.title.clone(),
            issuing_organisation_id: self.issuing_organisation_id,
            issued_on: self.issued_on,
            field: self.field,
            summary: self.summary.clone(),
            status: self.status,
            valid_until: self.valid_until,
            targets: self.targets.clone(),
        }
    }
}

/// The values of a resolution, written whole.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = resolutions, treat_none_as_null = true)]
pub struct ResolutionFields {
    pub number: String,
    pub title: String,
    pub issuing_organisation_id: OrganisationId,
    pub issued_on: NaiveDate,
    pub field: ResolutionField,
    pub summary: Option<String>,
    pub status: ResolutionStatus,
    pub valid_until: Option<NaiveDate>,
    pub targets: Targets,
}

/// A resolution as the demo seed writes it, its targets as JSON; [`insert`] parses them.
#[derive(Debug, Clone)]
pub struct ResolutionValues {
    pub number: String,
    pub title: String,
    pub issuing_organisation_id: Uuid,
    pub issued_on: NaiveDate,
    pub field: ResolutionField,
    pub summary: Option<String>,
    pub status: ResolutionStatus,
    pub valid_until: Option<NaiveDate>,
    pub targets: serde_json::Value,
}

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
#[diesel(table_name = resolution_implementations, treat_none_as_null = true)]
pub struct ImplementationFields {
    pub status: ImplementationStatus,
    pub plan_adopted_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    pub report: Option<String>,
    pub results: Achievements,
}

/// An implementation as the demo seed writes it, its results as JSON; [`insert_implementation`] parses them.
#[derive(Debug, Clone)]
pub struct ImplementationValues {
    pub status: ImplementationStatus,
    pub plan_adopted_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    pub report: Option<String>,
    pub results: serde_json::Value,
}

/// The filters of the resolution list.
#[derive(Debug, Default)]
pub struct ResolutionFilter {
    pub issuing_organisation_id: Option<Uuid>,
    pub field: Option<ResolutionField>,
    pub status: Option<ResolutionStatus>,
    pub year: Option<i32>,
    pub q: Option<String>,
    /// The caller's subtree: resolutions issued inside it or above it (the ones that apply to it).
    pub scope: Option<TreePath>,
}

fn filtered(f: &ResolutionFilter) -> resolutions::BoxedQuery<'static, Pg> {
    let mut query = resolutions::table.into_boxed();
    if let Some(scope) = &f.scope {
        query = query.filter(
            sql::<Bool>("resolutions.issuing_organisation_id IN (SELECT o.id FROM organisations o WHERE o.path <@ ")
                .bind::<Ltree, _>(scope.clone())
                .sql(" OR o.path @> ")
                .bind::<Ltree, _>(scope.clone())
                .sql(")"),
        );
    }
    if let Some(issuer) = f.issuing_organisation_id {
        query = query.filter(resolutions::issuing_organisation_id.eq(issuer));
    }
    if let Some(field) = f.field {
        query = query.filter(resolutions::field.eq(field));
    }
    if let Some(status) = f.status {
        query = query.filter(resolutions::status.eq(status));
    }
    if let Some(year) = f.year {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
        let next = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX);
        query = query.filter(resolutions::issued_on.ge(first).and(resolutions::issued_on.lt(next)));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            sql::<Bool>("resolutions.search LIKE '%' || pb_fold(")
                .bind::<Text, _>(escape_like(q))
                .sql(") || '%'"),
        );
    }
    query
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ResolutionFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<ResolutionRow>> {
    let mut query = filtered(filter).select(ResolutionRow::as_select());
    if let Some(after) = after {
        query = query.filter(resolutions::id.gt(after));
    }
    query.order(resolutions::id).limit(fetch).load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, filter: &ResolutionFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// A resolution with the tree path of its issuing organisation, which decides who may see and change it.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<(ResolutionRow, TreePath)>> {
    resolutions::table
        .inner_join(organisations::table)
        .filter(resolutions::id.eq(id))
        .select((ResolutionRow::as_select(), organisations::path))
        .first(conn)
        .await
        .optional()
}

/// Like [`find`]; with [`Lock::ForUpdate`], locks the resolution's row (not its issuer's) for the transaction.
pub async fn find_with(
    conn: &mut AsyncPgConnection,
    id: ResolutionId,
    lock: Lock,
) -> QueryResult<Option<(ResolutionRow, TreePath)>> {
    if lock == Lock::ForUpdate {
        let locked = resolutions::table
            .find(id)
            .select(resolutions::id)
            .for_no_key_update()
            .first::<Uuid>(conn)
            .await
            .optional()?;
        if locked.is_none() {
            return Ok(None);
        }
    }
    find(conn, id.0).await
}

/// Stores a new resolution.
pub async fn insert_fields(conn: &mut AsyncPgConnection, fields: &ResolutionFields) -> QueryResult<ResolutionRow> {
    diesel::insert_into(resolutions::table)
        .values((resolutions::id.eq(ResolutionId::new()), fields))
        .returning(ResolutionRow::as_returning())
        .get_result(conn)
        .await
}

/// Stores a resolution of the demo seed; targets that do not parse are an error.
pub async fn insert(conn: &mut AsyncPgConnection, values: &ResolutionValues) -> QueryResult<ResolutionRow> {
    let fields = ResolutionFields {
        number: values.number.clone(),
        title: values.title.clone(),
        issuing_organisation_id: OrganisationId(values.issuing_organisation_id),
        issued_on: values.issued_on,
        field: values.field,
        summary: values.summary.clone(),
        status: values.status,
        valid_until: values.valid_until,
        targets: Targets(parse_json(&values.targets)?),
    };
    insert_fields(conn, &fields).await
}

/// A JSON list written by hand, as its items.
fn parse_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> QueryResult<Vec<T>> {
    serde_json::from_value(value.clone()).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: ResolutionId,
    fields: &ResolutionFields,
) -> QueryResult<ResolutionRow> {
    diesel::update(resolutions::table.find(id))
        .set((
            fields,
            resolutions::version.eq(resolutions::version + 1),
            resolutions::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ResolutionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: ResolutionId) -> QueryResult<usize> {
    diesel::delete(resolutions::table.find(id)).execute(conn).await
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
        .select(sql::<Text>("jsonb_array_elements(results) ->> 'indicator'"))
        .load::<String>(conn)
        .await
        .map(|mut indicators| {
            indicators.sort();
            indicators.dedup();
            indicators
        })
}

/// How many resolutions an organisation issued and how many implementations it recorded.
pub async fn organisation_usage(conn: &mut AsyncPgConnection, organisation_id: Uuid) -> QueryResult<(i64, i64)> {
    let issued = resolutions::table
        .filter(resolutions::issuing_organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)
        .await?;
    let implemented = resolution_implementations::table
        .filter(resolution_implementations::organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)
        .await?;
    Ok((issued, implemented))
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

/// Stores an implementation of the demo seed; results that do not parse are an error.
pub async fn insert_implementation(
    conn: &mut AsyncPgConnection,
    resolution_id: Uuid,
    organisation_id: Uuid,
    values: &ImplementationValues,
) -> QueryResult<ImplementationRow> {
    let fields = ImplementationFields {
        status: values.status,
        plan_adopted_on: values.plan_adopted_on,
        reported_on: values.reported_on,
        report: values.report.clone(),
        results: Achievements(parse_json(&values.results)?),
    };
    insert_implementation_fields(
        conn,
        ResolutionId(resolution_id),
        OrganisationId(organisation_id),
        &fields,
    )
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
