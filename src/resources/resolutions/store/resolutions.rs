//! The `resolutions` table.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::Lock;
use crate::domain::ids::{OrganisationId, ResolutionId};
use crate::domain::resolution::{ResolutionField, ResolutionStatus, Targets};
use crate::schema::sql_types::Ltree;
use crate::schema::{organisations, resolution_implementations, resolutions};
use crate::store::{escape_like, TreePath};

/// A stored resolution; serialised as the audit trail records it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = resolutions, check_for_backend(Pg))]
pub struct ResolutionRow {
    pub id: ResolutionId,
    #[diesel(embed)]
    #[serde(flatten)]
    pub fields: ResolutionFields,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The values of a resolution, written whole.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset, Queryable, Selectable, Serialize)]
#[diesel(table_name = resolutions, treat_none_as_default_value = false, treat_none_as_null = true, check_for_backend(Pg))]
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

/// Like [`find`], with the resolution's row (not its issuer's) locked as `lock` says for the transaction.
pub async fn find_with(
    conn: &mut AsyncPgConnection,
    id: ResolutionId,
    lock: Lock,
) -> QueryResult<Option<(ResolutionRow, TreePath)>> {
    let row = resolutions::table.find(id).select(resolutions::id);
    let locked = match lock {
        Lock::Unlocked => Some(id.0),
        Lock::ForUpdate => row.for_no_key_update().first::<Uuid>(conn).await.optional()?,
        Lock::Share => row.for_share().first::<Uuid>(conn).await.optional()?,
    };
    if locked.is_none() {
        return Ok(None);
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

/// How many resolutions an organisation issued and how many implementations it recorded.
pub async fn organisation_usage(
    conn: &mut AsyncPgConnection,
    organisation_id: OrganisationId,
) -> QueryResult<(i64, i64)> {
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
