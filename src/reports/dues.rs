//! `GET /api/v1/reports/dues?year=`: dues collected per organisation and month, and the members who have not paid
//! for three or more months of the year.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{csv_row, report_root, CSV_COLUMNS};
use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::report::percent;
use crate::domain::today;
use crate::error::ApiError;
use crate::openapi::responses::*;
use crate::pagination::ListQuery;
use crate::resources::dues::service::Period;
use crate::schema::sql_types::Ltree;
use crate::state::AppState;
use crate::store::TreePath;

const EXPECTED: &str = include_str!("queries/dues_expected.sql");

/// Unpaid months from which a member is listed.
pub const UNPAID_MONTHS: i64 = 3;

/// The parameters of the dues report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DuesReportQuery {
    #[param(example = 2012, minimum = 1930, maximum = 2999)]
    year: i32,
    /// The organisation whose subtree is counted (its members as they are placed today); default: the token's
    /// subtree, or everything.
    organisation_id: Option<Uuid>,
    /// The report date; default today. Months after it are not counted.
    #[param(example = "2012-12-31")]
    as_of: Option<NaiveDate>,
}

/// Dues of a year by the report date.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuesReport {
    #[schema(example = 2012, minimum = 1930, maximum = 2999)]
    pub year: i32,
    pub as_of: NaiveDate,
    pub organisation_id: Option<Uuid>,
    /// The whole subtree, month by month (the months begun by `as_of`).
    #[schema(max_items = 12)]
    pub months: Vec<MonthDues>,
    /// This page's organisations with members expected to pay, month by month, in id order.
    #[schema(max_items = 200)]
    pub organisations: Vec<OrganisationDues>,
    /// Members of this page's organisations, expected to pay, who had not paid for three or more months of the
    /// year that ended by `as_of`.
    #[schema(max_items = 10000000)]
    pub unpaid_members: Vec<UnpaidMember>,
    /// Pass as `cursor` to get the next page of organisations; `null` on the last page.
    #[schema(max_length = 1024, pattern = r"^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
}

/// The dues of one month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthDues {
    #[schema(example = "2012-05", max_length = 7)]
    pub period: String,
    /// Members expected to pay: admitted by the end of the month, probationary or official then (exempt members
    /// are not expected).
    #[schema(example = 120, minimum = 0, maximum = 2147483647)]
    pub expected: i64,
    /// Of those, the members who paid for the month.
    #[schema(example = 112, minimum = 0, maximum = 2147483647)]
    pub paid: i64,
    /// `paid` / `expected` x 100, rounded half-up to 2 decimals; 0 when nobody is expected.
    #[schema(example = 93.33, minimum = 0, maximum = 100)]
    pub percent: f64,
    /// The total they paid, in đồng.
    #[schema(example = 4200000, minimum = 0, maximum = 9_000_000_000_000_000_i64)]
    pub amount: i64,
}

/// One organisation's dues, month by month.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDues {
    pub organisation_id: Uuid,
    #[schema(max_items = 12)]
    pub months: Vec<MonthDues>,
}

/// A member who has not paid for three or more months.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnpaidMember {
    pub member_id: Uuid,
    #[schema(example = "Nguyễn Văn An", max_length = 200)]
    pub full_name: String,
    pub organisation_id: Uuid,
    /// The months not paid for, in order.
    #[schema(max_items = 12)]
    pub unpaid_months: Vec<Month>,
    /// The longest run of consecutive unpaid months (a member behind for three months in all may have paid between
    /// them).
    #[schema(example = 3, minimum = 1, maximum = 12)]
    pub consecutive: i64,
}

/// A month, `YYYY-MM`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "2012-05", max_length = 7, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
pub struct Month(String);

/// An organisation's figures for one month, as the report lists them.
#[derive(Debug)]
struct MonthRow {
    organisation_id: Uuid,
    period: String,
    expected: i64,
    paid: i64,
    amount: i64,
}

/// A member behind, with the months it did not pay for.
#[derive(Debug)]
struct UnpaidRow {
    member_id: Uuid,
    full_name: String,
    organisation_id: Uuid,
    unpaid: Vec<String>,
}

/// The organisations whose kept figures a statement reads.
#[derive(Debug, Clone, Copy)]
enum Within<'a> {
    /// Those inside the subtree at this path (`None`: everywhere), bound as `$1`.
    Subtree(Option<&'a TreePath>),
    /// These, a page of the report, bound as the statement's last parameter.
    Page(&'a [Uuid]),
}

impl<'a> Within<'a> {
    fn root(self) -> Option<&'a TreePath> {
        match self {
            Within::Subtree(root) => root,
            Within::Page(_) => None,
        }
    }

    fn page(self) -> &'a [Uuid] {
        match self {
            Within::Subtree(_) => &[],
            Within::Page(ids) => ids,
        }
    }

    /// Whether these are the whole registry or a top-level organisation's subtree, which holds most of it.
    fn is_most(self) -> bool {
        match self {
            Within::Subtree(root) => root.is_none_or(TreePath::is_top),
            Within::Page(_) => false,
        }
    }

    /// The condition on `organisation_id`, the page's ids being parameter `$page`. A subtree's and everywhere's are
    /// two texts rather than one with `OR`, which would keep PostgreSQL from reaching a subtree's rows through their
    /// organisation's index.
    fn condition(self, page: usize) -> String {
        match self {
            Within::Subtree(Some(_)) => {
                "organisation_id IN (SELECT id FROM organisations WHERE path <@ $1::ltree)".into()
            }
            Within::Subtree(None) => "$1::ltree IS NULL".into(),
            Within::Page(_) => format!("organisation_id = ANY(${page})"),
        }
    }

    /// For a statement that reads several tables of kept figures: what to put before it, and the condition on
    /// `organisation_id` of a row read otherwise than by `kept`. A subtree's organisations are then found once.
    fn once(self, page: usize) -> (&'static str, String) {
        match self {
            Within::Subtree(Some(_)) => (
                "WITH subtree AS MATERIALIZED (SELECT id FROM organisations WHERE path <@ $1::ltree ORDER BY id) ",
                "organisation_id IN (SELECT id FROM subtree)".into(),
            ),
            _ => ("", self.condition(page)),
        }
    }

    /// What a read of the kept figures in `table` that meet `and` (`AND ...`, or nothing) selects from, in a
    /// statement that begins with `once`'s text. A subtree's rows are read by key for each of its organisations, in
    /// id order, so that each table is read along its own key: a province's months took 92-102 ms in psql against
    /// 108-118 ms when the organisations were found through a hash of their ids. Each organisation's read is kept
    /// apart (`OFFSET 0`): joined, a province's open spans were hashed from the whole table whenever the table's
    /// pages were not all marked visible (after a load, or between two vacuums), 70 ms where the reads by key take
    /// 15-20.
    fn kept(self, table: &str, page: usize, and: &str) -> String {
        match self {
            Within::Subtree(Some(_)) => format!(
                "subtree CROSS JOIN LATERAL \
                 (SELECT * FROM {table} WHERE {table}.organisation_id = subtree.id {and} OFFSET 0) {table}"
            ),
            _ => format!("{table} WHERE {} {and}", self.condition(page)),
        }
    }
}

/// The key the month figures are grouped by: each organisation, or (`false`) one group for all of them, under the
/// nil id.
fn month_key(by_organisation: bool) -> &'static str {
    if by_organisation {
        "organisation_id"
    } else {
        "'00000000-0000-0000-0000-000000000000'::uuid"
    }
}

/// The element-wise sum of the twelve-element arrays in `column` over a group.
fn twelve_sums(column: &str) -> String {
    let sums: Vec<String> = (1..=12).map(|k| format!("coalesce(sum({column}[{k}]), 0)")).collect();
    format!("ARRAY[{}]::bigint[]", sums.join(", "))
}

/// One row of the kept figures of an organisation: its open spans (`after` 0), the net of the spans begun `after`
/// months after January (12 for after the year), (`after` -1) its payments, or (`after` -2)
/// what the partial month's figures on the report date differ by from its figures at the month's end.
#[derive(Debug, QueryableByName)]
struct KeptRow {
    #[diesel(sql_type = Integer)]
    after: i32,
    #[diesel(sql_type = SqlUuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = BigInt)]
    members: i64,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    paid: Option<Vec<i64>>,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    amount: Option<Vec<i64>>,
}

#[derive(Debug, QueryableByName)]
struct BehindRow {
    #[diesel(sql_type = SqlUuid)]
    member_id: Uuid,
    #[diesel(sql_type = Text)]
    full_name: String,
    #[diesel(sql_type = SqlUuid)]
    organisation_id: Uuid,
    /// Bit `m - 1` for each unpaid month `m`.
    #[diesel(sql_type = Integer)]
    unpaid: i32,
}

/// One organisation's figures for the twelve months of the year.
#[derive(Debug, Default)]
struct KeptMonths {
    open: i64,
    /// `after[k]`: the net of spans begun (+1) and ended (-1) `k` months after January, 12 for after the year.
    after: [i64; 13],
    paid: [i64; 12],
    amount: [i64; 12],
    /// The members expected in the partial month on the report date less those expected at its end.
    partial: i64,
}

impl KeptMonths {
    /// The members expected at the end of month `k` (0 for January): those in open spans less the net of the spans
    /// that began after it.
    fn expected(&self, k: usize) -> i64 {
        self.open - self.after[k + 1..].iter().sum::<i64>()
    }
}

/// The part of the month rows' statement that corrects the partial month (month `last` of the year, 0 for January)
/// from its end back to the report date `$4` (its end `$5`, its period `$6`): for the members whose history has an
/// entry dated after the report date and by the month's end that changed their status, the only ones whose status
/// can differ between the two days, whether they were expected on the report date less whether they are at the
/// month's end, with their payments for the month. The organisations are those `within` names.
///
/// Two forms, each right for one size:
/// - `most` (the whole registry, or a top-level organisation's subtree): the entries of those days are read from the
///   index by day alone (`member_events_on_idx`), and each member's kept row by key. An entry is never dated before
///   a member's latest one, so the `status_before` of a member's first entry after the report date is its status
///   on that day (none before its admission). Only a member with several entries on that first day has its last
///   entry by the report date looked up instead, as their order within the day is not in the index (ordering them
///   by status too only makes the pick the lookup replaces the same every time). Its payment is the one its kept
///   row counts. The country as of 2024-07-15 (44,225 members with entries in the rest of July): 430-450 ms in
///   psql, where the page through the other form took 1.9-3.7 s (and passed the statement timeout on a cold cache).
/// - otherwise, the organisations' kept rows are read from their covering index and kept when the member has such
///   an entry (the entries of those days hashed); the few left have their last entry by the report date, their
///   admission and their payment looked up. A province: 157 ms, where the first form read every member with such
///   an entry in the whole registry (400-580 ms).
fn partial_correction(key: &str, last: usize, within: &str, most: bool) -> String {
    let changed = if most {
        format!(
            "SELECT dm.organisation_id, dm.amounts[$2 + {last}] AS amount, \
                    coalesce(w.on_day IN ('probationary', 'official'), false)::int \
                    - coalesce(pb_dues_expected(dm.open_from, dm.closed, $2 + {last}), false)::int AS change \
             FROM (SELECT member_id, \
                          CASE WHEN (array_agg(\"on\" ORDER BY \"on\"))[2] = min(\"on\") \
                               THEN (SELECT e.status_after FROM member_events e \
                                     WHERE e.member_id = w.member_id AND e.\"on\" <= $4 \
                                     ORDER BY e.\"on\" DESC, e.recorded_at DESC, e.id DESC LIMIT 1) \
                               ELSE (array_agg(status_before ORDER BY \"on\", status_before))[1] END AS on_day \
                   FROM member_events w WHERE \"on\" > $4 AND \"on\" <= $5 \
                   GROUP BY member_id HAVING bool_or(status_before IS DISTINCT FROM status_after)) w \
             JOIN dues_members dm ON dm.member_id = w.member_id"
        )
    } else {
        format!(
            "SELECT dm.organisation_id, d.amount, \
                    (mb.admitted_on <= $5 \
                     AND coalesce(on_day.status_after IN ('probationary', 'official'), false))::int \
                    - coalesce(pb_dues_expected(dm.open_from, dm.closed, $2 + {last}), false)::int AS change \
             FROM dues_members dm \
             JOIN members mb ON mb.id = dm.member_id \
             LEFT JOIN LATERAL (SELECT e.status_after FROM member_events e \
                                WHERE e.member_id = dm.member_id AND e.\"on\" <= $4 \
                                ORDER BY e.\"on\" DESC, e.recorded_at DESC, e.id DESC LIMIT 1) on_day ON true \
             LEFT JOIN dues d ON d.member_id = dm.member_id AND d.period = $6 \
             WHERE EXISTS (SELECT 1 FROM member_events w \
                           WHERE w.member_id = dm.member_id AND w.\"on\" > $4 AND w.\"on\" <= $5 \
                             AND w.status_before IS DISTINCT FROM w.status_after)"
        )
    };
    format!(
        "UNION ALL \
         SELECT -2, {key}, sum(change)::bigint, \
                ARRAY[coalesce(sum(change) FILTER (WHERE amount IS NOT NULL), 0)]::bigint[], \
                ARRAY[coalesce(sum(change * amount), 0)]::bigint[] \
         FROM ({changed}) x \
         WHERE change <> 0 AND {within} GROUP BY 2"
    )
}

/// The month rows of the report from the kept figures (`dues_open`, `dues_spans`, `dues_counts`), for the first
/// `begun` months of `year`. With `partial` (a report date before the end of the last month begun), that month is
/// taken on the report date: the kept figures at its end, corrected by `partial_correction`.
async fn kept_month_rows(
    conn: &mut AsyncPgConnection,
    year: i32,
    begun: u32,
    partial: Option<NaiveDate>,
    organisations: Within<'_>,
    by_organisation: bool,
) -> diesel::QueryResult<Vec<MonthRow>> {
    let (listed, within) = organisations.once(7);
    let key = month_key(by_organisation);
    let last = begun as usize - 1;
    let month_end = partial.and_then(|day| {
        let next = NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?.checked_add_months(chrono::Months::new(1))?;
        next.pred_opt()
    });
    // The partial month's correction (its parameters, $4 to $6, are bound either way).
    let correction = if partial.is_some() {
        partial_correction(key, last, &within, organisations.is_most())
    } else {
        String::new()
    };
    // One statement, so that the tables are read as of one moment: an admission committed between two reads would
    // otherwise count in one and not the other.
    let kept: Vec<KeptRow> = diesel::sql_query(format!(
        "{listed}SELECT 0 AS after, {key} AS organisation_id, sum(members)::bigint AS members, \
                NULL::bigint[] AS paid, NULL::bigint[] AS amount \
         FROM {open} GROUP BY 2 \
         UNION ALL \
         SELECT least(month - $2, 12), {key}, sum(members)::bigint, NULL, NULL \
         FROM {spans} GROUP BY 1, 2 \
         UNION ALL \
         SELECT -1, {key}, 0, {paid}, {amount} FROM {counts} GROUP BY 2 \
         {correction}",
        open = organisations.kept("dues_open", 7, ""),
        spans = organisations.kept("dues_spans", 7, "AND month > $2"),
        counts = organisations.kept("dues_counts", 7, "AND year = $3"),
        paid = twelve_sums("paid"),
        amount = twelve_sums("amount"),
    ))
    .bind::<Nullable<Ltree>, _>(organisations.root())
    .bind::<Integer, _>(year * 12)
    .bind::<Integer, _>(year)
    .bind::<Nullable<Date>, _>(partial)
    .bind::<Nullable<Date>, _>(month_end)
    .bind::<Text, _>(format!("{year:04}-{:02}", last + 1))
    .bind::<Array<SqlUuid>, _>(organisations.page())
    .load(conn)
    .await?;
    let mut orgs: BTreeMap<Uuid, KeptMonths> = BTreeMap::new();
    for row in kept {
        let figures = orgs.entry(row.organisation_id).or_default();
        let (paid, amount) = (row.paid.unwrap_or_default(), row.amount.unwrap_or_default());
        match row.after {
            0 => figures.open += row.members,
            -1 => {
                for k in 0..12 {
                    figures.paid[k] += paid.get(k).copied().unwrap_or(0);
                    figures.amount[k] += amount.get(k).copied().unwrap_or(0);
                }
            }
            -2 => {
                figures.partial += row.members;
                figures.paid[last] += paid.as_slice().first().copied().unwrap_or(0);
                figures.amount[last] += amount.as_slice().first().copied().unwrap_or(0);
            }
            after => figures.after[after.clamp(1, 12) as usize] += row.members,
        }
    }
    let mut rows = Vec::new();
    for (organisation_id, kept) in orgs {
        for k in 0..=last {
            let expected = kept.expected(k) + if k == last { kept.partial } else { 0 };
            if expected > 0 {
                rows.push(MonthRow {
                    organisation_id,
                    period: format!("{year:04}-{:02}", k + 1),
                    expected,
                    paid: kept.paid[k],
                    amount: kept.amount[k],
                });
            }
        }
    }
    Ok(rows)
}

/// The members behind from the kept figures: the months of `year` each member was expected to pay for, among the
/// first `ended` (those ended by the report date), less the months it paid for; three or more. Their names are the
/// ones their kept rows hold (a rename is caught up on like any other change), so that the country's members behind
/// are found without reading every member. The months of the year in a member's closed spans are taken by a
/// subquery in the statement rather than by a function (`pb_year_mask`, which this replaced): PostgreSQL runs a SQL
/// function that reads a set as a query of its own on every call, about 11 µs each, several times the subquery's cost.
async fn kept_unpaid_rows(
    conn: &mut AsyncPgConnection,
    year: i32,
    ended: u32,
    organisations: Within<'_>,
) -> diesel::QueryResult<Vec<UnpaidRow>> {
    let ended_mask = (1i32 << ended) - 1;
    let within = organisations.condition(5);
    let rows: Vec<BehindRow> = diesel::sql_query(format!(
        "SELECT x.member_id, x.full_name, x.organisation_id, x.unpaid \
         FROM (SELECT member_id, full_name, organisation_id, \
                      (CASE WHEN open_from < $3 + 12 THEN (4095 << greatest(open_from - $3, 0)) & 4095 ELSE 0 END \
                       | CASE WHEN closed && int4range($3, $3 + 12) \
                              THEN (SELECT coalesce(bit_or((1 << (upper(r) - $3)) - (1 << (lower(r) - $3))), 0) \
                                    FROM unnest(closed * int4multirange(int4range($3, $3 + 12))) r) \
                              ELSE 0 END) \
                      & ~coalesce(paid[$2], 0) & $4 AS unpaid \
               FROM dues_members WHERE {within}) x \
         WHERE bit_count(x.unpaid::bit(12)) >= {UNPAID_MONTHS} \
         ORDER BY x.organisation_id, x.member_id"
    ))
    .bind::<Nullable<Ltree>, _>(organisations.root())
    .bind::<Integer, _>(year)
    .bind::<Integer, _>(year * 12)
    .bind::<Integer, _>(ended_mask)
    .bind::<Array<SqlUuid>, _>(organisations.page())
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| UnpaidRow {
            member_id: row.member_id,
            full_name: row.full_name,
            organisation_id: row.organisation_id,
            unpaid: (0..12)
                .filter(|k| row.unpaid & (1 << k) != 0)
                .map(|k| format!("{year:04}-{:02}", k + 1))
                .collect(),
        })
        .collect())
}

/// Notes of changed members counted per transaction. On the quick registry (280,000 members) a batch of 1,000 took
/// about 60 ms, and from about 1,500 PostgreSQL planned whole-table scans instead (600 ms), a turn that larger
/// registries reach later; on the national registry a batch of 1,000 takes 150-810 ms.
const CATCH_UP_BATCH: i32 = 1000;

#[derive(QueryableByName)]
struct LastNote {
    #[diesel(sql_type = Nullable<BigInt>)]
    last: Option<i64>,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Integer)]
    taken: i32,
}

/// Brings the kept dues figures up to date with every write committed before the call (the writes only note their
/// members, see migration `dues_kept_deferred`), a batch per transaction; returns how many notes it took. Notes
/// written meanwhile are left for the next call, so that a stream of writes cannot keep it going.
pub async fn catch_up_dues(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    let Some(last) = diesel::sql_query("SELECT max(id) AS last FROM dues_stale")
        .get_result::<LastNote>(conn)
        .await?
        .last
    else {
        return Ok(0);
    };
    let mut total = 0;
    loop {
        let taken = diesel::sql_query("SELECT dues_catch_up($1, $2) AS taken")
            .bind::<BigInt, _>(last)
            .bind::<Integer, _>(CATCH_UP_BATCH)
            .get_result::<Taken>(conn)
            .await?
            .taken;
        total += taken as usize;
        if taken < CATCH_UP_BATCH {
            return Ok(total);
        }
    }
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = BigInt)]
    notes: i64,
}

/// The notes of changed members not yet counted into the kept dues figures.
pub async fn dues_notes_waiting(conn: &mut AsyncPgConnection) -> Result<i64, ApiError> {
    Ok(diesel::sql_query("SELECT count(*) AS notes FROM dues_stale")
        .get_result::<Waiting>(conn)
        .await?
        .notes)
}

/// Whether the kept figures hold the report date `day`'s month as it stood on that date. They hold each month's
/// status at its end, and the report takes the status on `day` for the month `day` falls in: the same when `day`
/// ends its month, lies outside the year, or is today or later (no history entry is dated after today).
fn whole_month(year: i32, day: NaiveDate, today: NaiveDate) -> bool {
    day >= today || day.year() != year || day.succ_opt().is_none_or(|next| next.month() != day.month())
}

/// The months of `year` begun by `day`, and those ended by it.
fn months_by(year: i32, day: NaiveDate) -> (u32, u32) {
    match day.year().cmp(&year) {
        Ordering::Less => (0, 0),
        Ordering::Greater => (12, 12),
        // A month has ended when its last day is before `day`.
        Ordering::Equal => (day.month(), day.month() - 1),
    }
}

/// What the report reads of the kept figures.
#[derive(Debug, Clone, Copy)]
struct Source {
    /// The months of the year begun by the report date.
    begun: u32,
    /// Those of them over by the report date.
    ended: u32,
    /// The report date, when the last month begun is taken on it rather than at its end.
    partial: Option<NaiveDate>,
}

impl Source {
    fn of(year: i32, day: NaiveDate, today: NaiveDate) -> Source {
        let (begun, ended) = months_by(year, day);
        let partial = (!whole_month(year, day, today)).then_some(day);
        Source { begun, ended, partial }
    }

    async fn months(
        self,
        conn: &mut AsyncPgConnection,
        year: i32,
        organisations: Within<'_>,
        by_organisation: bool,
    ) -> QueryResult<Vec<MonthRow>> {
        if self.begun == 0 {
            return Ok(Vec::new());
        }
        kept_month_rows(conn, year, self.begun, self.partial, organisations, by_organisation).await
    }

    async fn behind(
        self,
        conn: &mut AsyncPgConnection,
        year: i32,
        organisations: Within<'_>,
    ) -> QueryResult<Vec<UnpaidRow>> {
        kept_unpaid_rows(conn, year, self.ended, organisations).await
    }
}

/// The organisations of a page of the report, in id order: those inside the subtree at `root` (`None`:
/// everywhere) after `after` that have kept figures the year can read (open spans, spans begun or ended since its
/// start, payments counted in it), at most `fetch` of them. An organisation among them with nobody expected in any
/// month is left out of the page's `organisations`.
async fn page_organisations(
    conn: &mut AsyncPgConnection,
    year: i32,
    root: Option<&TreePath>,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Listed {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Listed> = diesel::sql_query(
        "SELECT o.id FROM organisations o \
         WHERE ($1::ltree IS NULL OR o.path <@ $1::ltree) AND ($2::uuid IS NULL OR o.id > $2) \
           AND (EXISTS (SELECT 1 FROM dues_open d WHERE d.organisation_id = o.id) \
                OR EXISTS (SELECT 1 FROM dues_spans s WHERE s.organisation_id = o.id AND s.month > $3) \
                OR EXISTS (SELECT 1 FROM dues_counts c WHERE c.year = $4 AND c.organisation_id = o.id)) \
         ORDER BY o.id LIMIT $5",
    )
    .bind::<Nullable<Ltree>, _>(root)
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<Integer, _>(year * 12)
    .bind::<Integer, _>(year)
    .bind::<BigInt, _>(fetch)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// A member expected to pay for a month.
#[derive(Debug, QueryableByName)]
pub struct ExpectedPayment {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    /// `YYYY-MM`.
    #[diesel(sql_type = Text)]
    pub period: String,
}

/// Every member expected to pay for each month of `year` begun by `day`, by the rule this report counts them with
/// (for the demo, which pays the dues this report then reads back), ordered by member and month.
pub async fn expected_payments(
    conn: &mut AsyncPgConnection,
    year: i32,
    day: NaiveDate,
) -> diesel::QueryResult<Vec<ExpectedPayment>> {
    diesel::sql_query(format!(
        "{EXPECTED} SELECT x.member_id, x.period FROM expected x ORDER BY x.member_id, x.period"
    ))
    .bind::<Integer, _>(year)
    .bind::<Date, _>(day)
    .bind::<Nullable<Ltree>, _>(None::<TreePath>)
    .load(conn)
    .await
}

/// The longest run of consecutive months in an ordered list of `YYYY-MM` periods.
fn longest_run(periods: &[String]) -> i64 {
    let months: Vec<i32> = periods
        .iter()
        .filter_map(|p| Period::parse(p))
        .map(|p| p.year * 12 + p.month as i32)
        .collect();
    let (mut best, mut run) = (0, 0);
    for (i, month) in months.iter().enumerate() {
        run = if i > 0 && months[i - 1] + 1 == *month {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    best
}

fn month(period: String, expected: i64, paid: i64, amount: i64) -> MonthDues {
    MonthDues {
        period,
        expected,
        paid,
        percent: percent(paid, expected),
        amount,
    }
}

/// Report party dues
///
/// Over the members of the subtree (placed where they are today), for each month of `year` begun by `as_of`
/// (default today): the members expected to pay (admitted by the end of the month, probationary or official at
/// its end, or on `as_of` for the month `as_of` falls in; exempt members and months before the admission are not
/// counted), those who paid and the amount they paid, for the whole subtree (`months`) and per organisation.
/// `unpaid_members` lists the members who had not paid for three or more of the months that ended by `as_of`, with
/// the longest run of consecutive months (`consecutive`), so a client can pick those behind for three consecutive
/// months. The organisations come in pages, in id order, as a list's items do (`limit`, `cursor`, `next_cursor`,
/// the `Link` header; a country has hundreds of thousands of them): each page has the whole subtree's `months`,
/// and the figures and members behind of its organisations. A page can hold fewer organisations than `limit`
/// (one with nobody expected in the year is left out) and still have a next one. As CSV (`text/csv`): the rows
/// `expected,<month>`, `paid,<month>` (with its percent), `amount,<month>` and `unpaid_members,total` (the whole
/// subtree's members behind) of the `measure,key,count,percent` layout; `limit` and `cursor` do not apply.
#[utoipa::path(
    tag = "reports",
    params(DuesReportQuery,
        ("limit" = Option<i64>, Query, description = "Organisations per page, 1 to 200; default 50.", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page; empty or absent: the first page.",
            max_length = 1024, pattern = r"^[A-Za-z0-9_-]*$")),
    responses(
        (status = 200, description = "The dues", content(
            (DuesReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\nexpected,2012-01,120,\r\n")
        ),
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page (JSON)"))),
        ReportErrors,
    )
)]
#[get("/dues")]
pub async fn report_dues(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<DuesReportQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters: query } = query;
    if !(1930..=2999).contains(&query.year) {
        return Err(ApiError::bad_request("year", "must be 1930 to 2999"));
    }
    if page.count_exact {
        return Err(ApiError::bad_request("count", "does not apply to this report"));
    }
    let today = today();
    let day = query.as_of.unwrap_or(today);
    if day.year() < 1 {
        return Err(ApiError::bad_request("as_of", "must be a day of year 1 or later"));
    }
    let after: Option<Uuid> = page.after()?;
    // Before the read connection is taken: a request holding one while waiting for another could, with enough such
    // requests at once, leave every connection of the pool held by a request waiting for one.
    let counted = catch_up_dues(&mut *state.pooled_write().await?).await?;
    state.metrics.dues_counted(counted);
    let mut conn = state.read().await?;
    let (root, path) = report_root(&mut conn, &actor, query.organisation_id).await?;
    let (year, path) = (query.year, path.as_ref());
    let source = Source::of(year, day, today);
    let totals = source.months(&mut conn, year, Within::Subtree(path), false).await?;
    let (rows, unpaid, next_cursor, next_link) = match format {
        ReportFormat::Json => {
            let mut listed = page_organisations(&mut conn, year, path, after, page.fetch()).await?;
            let (next_cursor, next_link) = page.cut(&mut listed, |id| *id);
            let rows = source.months(&mut conn, year, Within::Page(&listed), true).await?;
            let unpaid = source.behind(&mut conn, year, Within::Page(&listed)).await?;
            (rows, unpaid, next_cursor, next_link)
        }
        ReportFormat::Csv => {
            let unpaid = source.behind(&mut conn, year, Within::Subtree(path)).await?;
            (Vec::new(), unpaid, None, None)
        }
    };
    let months = totals
        .into_iter()
        .map(|row| month(row.period, row.expected, row.paid, row.amount))
        .collect();
    let mut organisations: Vec<OrganisationDues> = Vec::new();
    for row in rows {
        let entry = month(row.period, row.expected, row.paid, row.amount);
        match organisations.last_mut() {
            Some(o) if o.organisation_id == row.organisation_id => o.months.push(entry),
            _ => organisations.push(OrganisationDues {
                organisation_id: row.organisation_id,
                months: vec![entry],
            }),
        }
    }
    let report = DuesReport {
        year,
        as_of: day,
        organisation_id: root,
        months,
        organisations,
        unpaid_members: unpaid
            .into_iter()
            .map(|u| UnpaidMember {
                consecutive: longest_run(&u.unpaid),
                member_id: u.member_id,
                full_name: u.full_name,
                organisation_id: u.organisation_id,
                unpaid_months: u.unpaid.into_iter().map(Month).collect(),
            })
            .collect(),
        next_cursor,
    };
    match format {
        ReportFormat::Json => {
            let mut response = HttpResponse::Ok();
            if let Some(link) = next_link {
                response.insert_header((header::LINK, link));
            }
            Ok(response.json(report))
        }
        ReportFormat::Csv => {
            let mut rows = Vec::new();
            for m in &report.months {
                rows.push(csv_row("expected", &m.period, m.expected, None));
                rows.push(csv_row("paid", &m.period, m.paid, Some(m.percent)));
                rows.push(csv_row("amount", &m.period, m.amount, None));
            }
            rows.push(csv_row(
                "unpaid_members",
                "total",
                report.unpaid_members.len() as i64,
                None,
            ));
            let name = format!("dues-{}.csv", report.year);
            Ok(csv::respond(&name, csv::render(&CSV_COLUMNS, rows)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_run_counts_consecutive_months_across_a_year_end() {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(longest_run(&list(&["2012-01", "2012-03", "2012-05"])), 1);
        assert_eq!(
            longest_run(&list(&["2012-01", "2012-02", "2012-04", "2012-05", "2012-06"])),
            3
        );
        assert_eq!(longest_run(&list(&["2011-12", "2012-01"])), 2);
        assert_eq!(longest_run(&[]), 0);
    }
}
