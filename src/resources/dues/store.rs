//! The `dues` table: one payment per member and month.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::ids::{DueId, MemberId, OrganisationId};
use crate::schema::dues;
use crate::store::{organisation_in_scope, organisation_under, TreePath};

/// A stored payment.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dues, check_for_backend(Pg))]
pub struct DueRow {
    pub id: DueId,
    pub member_id: MemberId,
    /// The member's organisation when the payment was recorded.
    pub organisation_id: OrganisationId,
    /// `YYYY-MM`.
    pub period: String,
    #[diesel(embed)]
    #[serde(flatten)]
    pub values: DueValues,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a change of a payment may correct.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable, Serialize)]
#[diesel(table_name = dues, treat_none_as_default_value = false, treat_none_as_null = true, check_for_backend(Pg))]
pub struct DueValues {
    /// Whole đồng.
    pub amount: i64,
    pub paid_on: NaiveDate,
    pub note: Option<String>,
}

/// A payment to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = dues, treat_none_as_default_value = false)]
pub struct NewDue {
    pub id: DueId,
    pub member_id: MemberId,
    pub organisation_id: OrganisationId,
    pub period: String,
    #[diesel(embed)]
    pub values: DueValues,
}

/// The filters of the payment list; the subtrees by path.
#[derive(Debug, Default)]
pub struct DueFilter {
    pub scope: Option<TreePath>,
    pub under: Option<TreePath>,
    pub organisation_id: Option<OrganisationId>,
    pub member_id: Option<MemberId>,
    /// `YYYY-MM`, or `YYYY-` for a whole year.
    pub period_prefix: Option<String>,
}

fn filtered(f: &DueFilter) -> dues::BoxedQuery<'static, Pg> {
    let mut query = dues::table.into_boxed();
    if let Some(scope) = &f.scope {
        query = query.filter(organisation_under("dues.organisation_id", scope));
    }
    if let Some(under) = &f.under {
        query = query.filter(organisation_under("dues.organisation_id", under));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(dues::organisation_id.eq(org));
    }
    if let Some(member) = f.member_id {
        query = query.filter(dues::member_id.eq(member));
    }
    if let Some(prefix) = &f.period_prefix {
        query = query.filter(dues::period.like(format!("{prefix}%")));
    }
    query
}

/// One page of payments in creation order, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &DueFilter,
    after: Option<DueId>,
    fetch: i64,
) -> QueryResult<Vec<DueRow>> {
    let mut query = filtered(filter).select(DueRow::as_select());
    if let Some(after) = after {
        query = query.filter(dues::id.gt(after));
    }
    query.order(dues::id).limit(fetch).load(conn).await
}

/// How many payments the whole list has.
pub async fn count(conn: &mut AsyncPgConnection, filter: &DueFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// A member's payments, oldest period first.
pub async fn of_member(conn: &mut AsyncPgConnection, member_id: MemberId) -> QueryResult<Vec<DueRow>> {
    dues::table
        .filter(dues::member_id.eq(member_id))
        .order(dues::period)
        .select(DueRow::as_select())
        .load(conn)
        .await
}

/// Reads a payment collected inside `scope` (`None`: anywhere), locked for the rest of the transaction when
/// `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: DueId,
    scope: Option<Uuid>,
    lock: bool,
) -> QueryResult<Option<DueRow>> {
    let query = dues::table
        .filter(dues::id.eq(id))
        .filter(organisation_in_scope("dues.organisation_id", scope))
        .select(DueRow::as_select());
    match lock {
        false => query.first(conn).await,
        true => query.for_no_key_update().first(conn).await,
    }
    .optional()
}

/// Stores a payment.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    member_id: MemberId,
    organisation_id: OrganisationId,
    period: String,
    values: &DueValues,
) -> QueryResult<DueRow> {
    diesel::insert_into(dues::table)
        .values(NewDue {
            id: DueId::new(),
            member_id,
            organisation_id,
            period,
            values: values.clone(),
        })
        .returning(DueRow::as_returning())
        .get_result(conn)
        .await
}

/// Rows per multi-row insert, below PostgreSQL's 65,535 parameters per statement.
const BATCH: usize = 8000;

/// Stores many payments with multi-row inserts; returns the stored rows.
pub async fn insert_many(conn: &mut AsyncPgConnection, new: &[NewDue]) -> QueryResult<Vec<DueRow>> {
    let mut rows = Vec::with_capacity(new.len());
    for batch in new.chunks(BATCH) {
        let stored: Vec<DueRow> = diesel::insert_into(dues::table)
            .values(batch)
            .returning(DueRow::as_returning())
            .get_results(conn)
            .await?;
        rows.extend(stored);
    }
    Ok(rows)
}

/// Writes corrected values, bumps the version, returns the stored row.
pub async fn update(conn: &mut AsyncPgConnection, id: DueId, values: &DueValues) -> QueryResult<DueRow> {
    diesel::update(dues::table.find(id))
        .set((
            values,
            dues::version.eq(dues::version + 1),
            dues::updated_at.eq(diesel::dsl::now),
        ))
        .returning(DueRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes a payment.
pub async fn delete(conn: &mut AsyncPgConnection, id: DueId) -> QueryResult<usize> {
    diesel::delete(dues::table.find(id)).execute(conn).await
}
