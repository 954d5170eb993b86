//! The tree as it stood on a past day: the `organisation_versions` table, kept by a trigger on every write of an
//! organisation (see the migration `tree_through_time`), read here.
//!
//! An organisation is in the tree on day D when it was established by D (or its establishment is unknown) and not
//! dissolved by D; it then sits under the parent, with the name, kind and path of its version that covers D. The
//! subtree of X on day D is every version covering D whose path lies under X's path of that day, found on the
//! GiST index over (path, valid_during). Scope stays today's: a token sees what lies in its subtree now.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{OrganisationFilter, OrganisationRow};
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::schema::sql_types::Ltree;
use crate::store::TreePath;

/// The columns of an organisation as of `$1`, from `organisations o` and its version `v` covering that day.
const DATED_COLUMNS: &str = "o.id, o.code, v.name, v.kind, o.sector, v.parent_id, v.path, o.established_on, \
    o.dissolved_on, o.address, o.note, o.version, o.created_at, o.updated_at, \
    ARRAY(SELECT s.organisation_id FROM organisation_successions s WHERE s.successor_id = o.id ORDER BY 1) \
        AS predecessor_ids, \
    ARRAY(SELECT s.successor_id FROM organisation_successions s WHERE s.organisation_id = o.id ORDER BY 1) \
        AS successor_ids";

/// The join of organisations with their version covering `$1`, limited to those that existed on that day.
const DATED_FROM: &str = "FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id \
    WHERE v.valid_during @> $1::date \
      AND (o.established_on IS NULL OR o.established_on <= $1::date) \
      AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)";

/// An organisation as it stood on a day.
#[derive(Debug, QueryableByName)]
struct DatedRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: OrganisationKind,
    #[diesel(sql_type = Nullable<Text>)]
    sector: Option<Sector>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    parent_id: Option<Uuid>,
    #[diesel(sql_type = Ltree)]
    path: TreePath,
    #[diesel(sql_type = Nullable<Date>)]
    established_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    dissolved_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    address: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    note: Option<String>,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Array<SqlUuid>)]
    predecessor_ids: Vec<Uuid>,
    #[diesel(sql_type = Array<SqlUuid>)]
    successor_ids: Vec<Uuid>,
}

impl From<DatedRow> for OrganisationRow {
    fn from(r: DatedRow) -> Self {
        OrganisationRow {
            id: OrganisationId(r.id),
            code: r.code,
            name: r.name,
            kind: r.kind,
            sector: r.sector,
            parent_id: r.parent_id.map(OrganisationId),
            path: r.path,
            established_on: r.established_on,
            dissolved_on: r.dissolved_on,
            address: r.address,
            note: r.note,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            predecessor_ids: r.predecessor_ids,
            successor_ids: r.successor_ids,
        }
    }
}

/// The path an organisation had on `day`, when it existed then.
pub async fn path_on(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    day: NaiveDate,
) -> QueryResult<Option<TreePath>> {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = Ltree)]
        path: TreePath,
    }
    let row: Option<P> = diesel::sql_query(format!("SELECT v.path {DATED_FROM} AND o.id = $2"))
        .bind::<Date, _>(day)
        .bind::<SqlUuid, _>(id.0)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|p| p.path))
}

/// The list query as of `$1`. `scope` is today's path of the caller's subtree, `under` the path of the `under`
/// organisation on that day; both as [`OrganisationFilter`] carries them.
fn list_sql(select: &str, tail: &str) -> String {
    format!(
        "SELECT {select} {DATED_FROM} \
           AND ($2::ltree IS NULL OR o.path <@ $2::ltree) \
           AND ($3::ltree IS NULL OR (v.path <@ $3::ltree AND v.path <> $3::ltree)) \
           AND ($4::uuid IS NULL OR v.parent_id = $4::uuid) \
           AND ($5::text[] IS NULL OR v.kind = ANY($5::text[])) \
           AND ($6::text IS NULL OR o.sector = $6::text) \
           AND ($7::text IS NULL OR pb_fold(o.code || ' ' || v.name) LIKE '%' || pb_fold($7::text) || '%') \
           AND ($8::boolean IS NULL OR $8::boolean) \
           {tail}"
    )
}

macro_rules! bind_filter {
    ($query:expr, $day:expr, $filter:expr) => {
        $query
            .bind::<Date, _>($day)
            .bind::<Nullable<Ltree>, _>($filter.scope.clone())
            .bind::<Nullable<Ltree>, _>($filter.under.clone())
            .bind::<Nullable<SqlUuid>, _>($filter.parent_id.map(|p| p.0))
            .bind::<Nullable<Array<Text>>, _>(
                $filter
                    .kinds
                    .as_ref()
                    .map(|k| k.iter().map(|k| k.as_str().to_owned()).collect::<Vec<_>>()),
            )
            .bind::<Nullable<Text>, _>($filter.sector.map(|s| s.as_str().to_owned()))
            .bind::<Nullable<Text>, _>(
                $filter
                    .q
                    .as_deref()
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(crate::store::escape_like),
            )
            .bind::<Nullable<Bool>, _>($filter.active)
    };
}

/// One page of the organisations as they stood on `day`, after `after` in id order. Every organisation of that
/// day was active then, so `active = false` selects none.
pub async fn list_on(
    conn: &mut AsyncPgConnection,
    filter: &OrganisationFilter,
    day: NaiveDate,
    after: Option<OrganisationId>,
    fetch: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    let sql = list_sql(
        DATED_COLUMNS,
        "AND ($9::uuid IS NULL OR o.id > $9::uuid) ORDER BY o.id LIMIT $10",
    );
    let rows: Vec<DatedRow> = bind_filter!(diesel::sql_query(sql), day, filter)
        .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.0))
        .bind::<BigInt, _>(fetch)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(OrganisationRow::from).collect())
}

/// How many organisations of `day` match the filter.
pub async fn count_on(conn: &mut AsyncPgConnection, filter: &OrganisationFilter, day: NaiveDate) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = bind_filter!(diesel::sql_query(list_sql("count(*) AS n", "")), day, filter)
        .get_result(conn)
        .await?;
    Ok(n.n)
}

/// An organisation as it stood on `day`, if it existed then and lies in `scope` (today's path; `None`: anywhere).
pub async fn find_on(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    day: NaiveDate,
    scope: Option<&TreePath>,
) -> QueryResult<Option<OrganisationRow>> {
    let sql =
        format!("SELECT {DATED_COLUMNS} {DATED_FROM} AND o.id = $2 AND ($3::ltree IS NULL OR o.path <@ $3::ltree)");
    let row: Option<DatedRow> = diesel::sql_query(sql)
        .bind::<Date, _>(day)
        .bind::<SqlUuid, _>(id.0)
        .bind::<Nullable<Ltree>, _>(scope.cloned())
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(OrganisationRow::from))
}

/// The ancestors of the organisation with path `path` on `day`, as they stood then, inside `scope`: root first.
pub async fn ancestors_on(
    conn: &mut AsyncPgConnection,
    path: &TreePath,
    day: NaiveDate,
    scope: Option<&TreePath>,
) -> QueryResult<Vec<OrganisationRow>> {
    let sql = format!(
        "SELECT {DATED_COLUMNS} {DATED_FROM} AND v.path @> $2::ltree AND v.path <> $2::ltree \
           AND ($3::ltree IS NULL OR o.path <@ $3::ltree) ORDER BY nlevel(v.path)"
    );
    let rows: Vec<DatedRow> = diesel::sql_query(sql)
        .bind::<Date, _>(day)
        .bind::<Ltree, _>(path.clone())
        .bind::<Nullable<Ltree>, _>(scope.cloned())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(OrganisationRow::from).collect())
}

/// One stored version of an organisation: `from` is `None` for the first (it reaches back to the start of the
/// records), `to` is `None` for the current one.
#[derive(Debug, Clone, QueryableByName)]
pub struct VersionRow {
    #[diesel(sql_type = Nullable<Date>)]
    pub from: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub to: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub parent_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: OrganisationKind,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub reorganisation_id: Option<Uuid>,
}

/// Every stored version of an organisation, oldest first.
pub async fn versions(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Vec<VersionRow>> {
    diesel::sql_query(
        "SELECT lower(valid_during) AS from, upper(valid_during) AS to, parent_id, name, kind, reorganisation_id \
         FROM organisation_versions WHERE organisation_id = $1 ORDER BY lower(valid_during) NULLS FIRST",
    )
    .bind::<SqlUuid, _>(id.0)
    .load(conn)
    .await
}
