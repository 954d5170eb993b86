//! The aggregate queries behind the reports: PostgreSQL counts, Rust only arranges the totals.
//!
//! Each query is a file in `queries/` with fixed parameters. The subtree root path is one of them, `NULL` for
//! everywhere: statements without a cached plan are planned with their values, so `$n IS NULL OR path <@ $n`
//! folds to the one condition that applies, and the planner sizes the subtree from the path it is given.
//!
//! The reports on a year or a period count the tree as it stood then, from `organisation_versions`: their root is
//! the array of the paths the root organisation had at the time ([`root_paths`]), matched with `path <@ ANY(...)`,
//! which the GiST index on (path, valid_during) serves together with the day. An empty array (the root did not
//! exist then) matches nothing. A pattern on the root's label (`path ~ '*.label.*'`) would need no lookup of the
//! root, but the index can only test it against signatures and reads the whole index for it.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::ids::{OrganisationId, ResolutionId};
use crate::domain::organisation::OrganisationKind;
use crate::domain::resolution::ImplementationStatus;
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

/// The paths organisation `id` had on the days of `[first, last]` when it existed: one for a day, more when it
/// moved during a period, none when it did not exist then.
pub async fn root_paths(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<Vec<TreePath>> {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = Ltree)]
        path: TreePath,
    }
    let rows: Vec<P> = diesel::sql_query(include_str!("queries/root_paths.sql"))
        .bind::<SqlUuid, _>(id.0)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|p| p.path).collect())
}

/// Whether an organisation is alone at the top of the tree.
#[derive(QueryableByName)]
struct Sole {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    sole: bool,
}

/// Whether organisation `id` was the only one at the top of the tree on every day of `[first, last]`, so that its
/// subtree of the time is the whole registry and a report can count everything instead (`queries/sole_top_level.sql`).
pub async fn sole_top_level(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<bool> {
    let s: Sole = diesel::sql_query(include_str!("queries/sole_top_level.sql"))
        .bind::<SqlUuid, _>(id.0)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .get_result(conn)
        .await?;
    Ok(s.sole)
}

/// Base organisations that existed at some point of `[first, last]`, placed where they stood on `last`, under
/// `root` (the root's paths of that day; `None`: everywhere).
pub async fn base_organisations(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(include_str!("queries/base_organisations.sql"))
        .bind::<Date, _>(last)
        .bind::<Date, _>(first)
        .bind::<Nullable<Array<Ltree>>, _>(root)
        .get_result(conn)
        .await?;
    Ok(n.n)
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

/// The evaluations of `year` over the base organisations of [`base_organisations`].
pub async fn organisation_grades(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    year: i32,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<Vec<GradeCount>> {
    diesel::sql_query(include_str!("queries/organisation_grades.sql"))
        .bind::<Integer, _>(year)
        .bind::<Date, _>(last)
        .bind::<Date, _>(first)
        .bind::<Nullable<Array<Ltree>>, _>(root)
        .load(conn)
        .await
}

/// The member evaluations of a year by grade, over members evaluated in organisations that stood under `root`
/// (the root's paths on `last`; `None`: everywhere) on `last`, the last day of the year.
pub async fn member_grades(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    year: i32,
    last: NaiveDate,
) -> QueryResult<Vec<KeyCount>> {
    diesel::sql_query(include_str!("queries/member_grades.sql"))
        .bind::<Integer, _>(year)
        .bind::<Date, _>(last)
        .bind::<Nullable<Array<Ltree>>, _>(root)
        .load(conn)
        .await
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

/// The base organisations under `root` that breach the excellent quota in `year`, in code order, with the tree
/// (kinds, places and names) of `last`, the last day of the year: from the figures kept per base organisation and
/// year when they are up to date (see [`recount_quota_figures`], which runs first), otherwise counted from the
/// evaluation counts through the tree; see the query's comment. A root below base level (a cell) has no base
/// organisation of its own to breach the quota, so its report lists none rather than judge a base organisation on
/// part of it.
pub async fn quota_breaches(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    year: i32,
    last: NaiveDate,
) -> QueryResult<Vec<QuotaBreach>> {
    diesel::sql_query(include_str!("queries/quota_breaches.sql"))
        .bind::<Integer, _>(year)
        .bind::<Date, _>(last)
        .bind::<Nullable<Array<Ltree>>, _>(root)
        .load(conn)
        .await
}

/// Brings the excellent and good members kept per base organisation for `year` up to date when a change of the
/// tree that reached the year's last day left them out of date (migration `member_evaluation_bases_kept`), unless
/// writers of evaluations or of the tree are at work: it never waits for them, and the report then counts
/// without the kept figures. A year kept up to date costs one look-up; a recount, about 2 s at national scale. A
/// recount that runs past the statement timeout is given up in the same way, so that the report still answers
/// within the timeout.
pub async fn recount_quota_figures(conn: &mut AsyncPgConnection, year: i32) -> QueryResult<()> {
    match diesel::sql_query("SELECT member_evaluation_bases_recount($1)")
        .bind::<Integer, _>(year)
        .execute(conn)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::ran_past_statement_timeout(&e) => {
            log::warn!("the quota figures of {year} could not be counted again within the statement timeout");
            Ok(())
        }
        Err(e) => Err(e),
    }
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

#[derive(QueryableByName)]
struct CaughtUp {
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    kept: Option<bool>,
}

/// Calls one catching up of the admissions by base organisation may make: each counts again at most a quarter of
/// admissions (1.3-1.9 s for a quarter of 2024 at national scale), so that after a reorganisation dated back years
/// a report leaves the rest to the background work and the reports after it.
const ADMISSION_RECOUNTS: usize = 4;

/// How long a report waits for the lock of the admissions by base organisation (held by the background work while
/// it counts notes in, and shared by writers of the tree), in milliseconds, before it counts without them.
pub const ADMISSION_PATIENCE_MS: i32 = 1000;

/// Brings the admissions kept per day and base organisation up to date through `to` (migration
/// `admission_bases_kept`): counts in the notes of admissions written or removed since the last time, and counts
/// again the days a change of the tree left out of date. True when they are up to date through `to`; false when
/// the lock stayed taken for `patience_ms` (0: not waited for), when the days to count again take more than
/// [`ADMISSION_RECOUNTS`] calls, or when a call runs past the statement timeout. With nothing noted and nothing
/// out of date, it costs one look-up.
pub async fn catch_up_admission_bases(
    conn: &mut AsyncPgConnection,
    to: NaiveDate,
    patience_ms: i32,
) -> QueryResult<bool> {
    for _ in 0..ADMISSION_RECOUNTS {
        match diesel::sql_query("SELECT admission_bases_catch_up($1, $2) AS kept")
            .bind::<Date, _>(to)
            .bind::<Integer, _>(patience_ms)
            .get_result::<CaughtUp>(conn)
            .await
        {
            Ok(CaughtUp { kept: Some(false) }) => continue,
            Ok(CaughtUp { kept }) => return Ok(kept.is_some()),
            Err(e) if crate::error::ran_past_statement_timeout(&e) => {
                log::warn!(
                    "the admissions by base organisation could not be brought up to date within the statement timeout"
                );
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// What the admissions kept by base organisation have yet to count in: the notes of admissions written or removed,
/// and the days through `today` a change of the tree left out of date.
#[derive(Debug, QueryableByName)]
pub struct AdmissionBacklog {
    #[diesel(sql_type = BigInt)]
    pub notes: i64,
    #[diesel(sql_type = BigInt)]
    pub days: i64,
}

/// The notes and days the admissions kept by base organisation have yet to count in (see [`AdmissionBacklog`]).
/// Everything kept is `until` infinity; everything out of date is minus infinity, whose days are counted from the
/// first admission.
pub async fn admission_backlog(conn: &mut AsyncPgConnection, today: NaiveDate) -> QueryResult<AdmissionBacklog> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM admission_notes) AS notes, \
                (SELECT CASE WHEN until > $1 THEN 0 \
                             WHEN until = '-infinity' THEN \
                                  $1 - (SELECT coalesce(min(\"on\"), $1) FROM member_events WHERE type = 'admitted') + 1 \
                             ELSE $1 - until + 1 END::bigint \
                 FROM admission_bases_kept) AS days",
    )
    .bind::<Date, _>(today)
    .get_result(conn)
    .await
}

/// A group of the kept admissions by base organisation; the one row with no key says the days asked for are not
/// kept.
#[derive(QueryableByName)]
struct KeptAdmissionGroup {
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Admissions with the admission date in `[from, to]` into organisations that stood under `root` (the root's paths
/// during the period; `None`: everywhere) on the admission day, counted from the admission entries of the members'
/// histories (so a later transfer does not move an admission). The whole registry's admissions, unless grouped by
/// organisation, are counted without the tree, which cannot change them (`queries/admissions_everywhere.sql`);
/// grouped by organisation, they are read from the figures kept per day and base organisation when `kept` (the
/// caller brought them up to date through `to`, see [`catch_up_admission_bases`]) and no change of the tree has
/// made them out of date since.
pub async fn admissions(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    from: NaiveDate,
    to: NaiveDate,
    grouping: Option<AdmissionGrouping>,
    kept: bool,
) -> QueryResult<Vec<AdmissionGroup>> {
    let grouping = match grouping {
        None => "total",
        Some(AdmissionGrouping::Month) => "month",
        Some(AdmissionGrouping::Quarter) => "quarter",
        Some(AdmissionGrouping::Year) => "year",
        Some(AdmissionGrouping::Organisation) => "organisation",
    };
    if root.is_none() && grouping != "organisation" {
        return diesel::sql_query(include_str!("queries/admissions_everywhere.sql"))
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .bind::<Text, _>(grouping)
            .load(conn)
            .await;
    }
    if root.is_none() && kept {
        let kept: Vec<KeptAdmissionGroup> = diesel::sql_query(include_str!("queries/admissions_kept.sql"))
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .load(conn)
            .await?;
        if kept.iter().all(|group| group.key.is_some()) {
            return Ok(kept
                .into_iter()
                .filter_map(|group| {
                    Some(AdmissionGroup {
                        key: group.key?,
                        name: group.name,
                        count: group.count,
                    })
                })
                .collect());
        }
    }
    diesel::sql_query(include_str!("queries/admissions.sql"))
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .bind::<Nullable<Array<Ltree>>, _>(root)
        .bind::<Text, _>(grouping)
        .load(conn)
        .await
}

/// Current members (probationary, official, exempt) under `root`, by political theory level.
pub async fn political_theory(conn: &mut AsyncPgConnection, root: Option<&TreePath>) -> QueryResult<Vec<KeyCount>> {
    diesel::sql_query(include_str!("queries/political_theory.sql"))
        .bind::<Nullable<Ltree>, _>(root)
        .load(conn)
        .await
}

/// Members current on `day` by political theory level, counted where their history places them on that day: under
/// `root` (the root's paths of that day) as the tree stood then, or, with `None`, in the whole registry.
pub async fn political_theory_on(
    conn: &mut AsyncPgConnection,
    root: Option<&[TreePath]>,
    day: NaiveDate,
) -> QueryResult<Vec<KeyCount>> {
    match root {
        Some(paths) => {
            diesel::sql_query(include_str!("queries/political_theory_on.sql"))
                .bind::<Date, _>(day)
                .bind::<Array<Ltree>, _>(paths)
                .load(conn)
                .await
        }
        None => {
            diesel::sql_query(include_str!("queries/political_theory_everywhere_on.sql"))
                .bind::<Date, _>(day)
                .load(conn)
                .await
        }
    }
}

/// One row of the coverage report: a base organisation under the issuer on the last day the resolution applied, and
/// how far it got.
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

/// Coverage totals, counted by PostgreSQL.
pub async fn coverage_totals(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    scope: Option<&TreePath>,
    today: NaiveDate,
) -> QueryResult<CoverageTotals> {
    diesel::sql_query(include_str!("queries/coverage_totals.sql"))
        .bind::<diesel::sql_types::Uuid, _>(resolution_id)
        .bind::<diesel::sql_types::Date, _>(today)
        .bind::<Nullable<Ltree>, _>(scope.cloned())
        .get_result(conn)
        .await
}

/// Coverage, one row per organisation in code order.
pub async fn coverage_rows(
    conn: &mut AsyncPgConnection,
    resolution_id: ResolutionId,
    scope: Option<&TreePath>,
    today: NaiveDate,
) -> QueryResult<Vec<CoverageRow>> {
    diesel::sql_query(include_str!("queries/coverage_rows.sql"))
        .bind::<diesel::sql_types::Uuid, _>(resolution_id)
        .bind::<diesel::sql_types::Date, _>(today)
        .bind::<Nullable<Ltree>, _>(scope.cloned())
        .load(conn)
        .await
}
