//! `GET /api/v1/reports/meetings?year=`: how regularly each cell met, how many came, and who stayed away.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use chrono::Datelike;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::report_root;
use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::report::percent;
use crate::domain::today;
use crate::error::ApiError;
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, PageParams};
use crate::schema::sql_types::Ltree;
use crate::state::AppState;
use crate::store::TreePath;

/// The parameters of the meetings report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeetingReportQuery {
    #[param(example = 2012, minimum = 1930, maximum = 2999)]
    year: i32,
    /// The organisation whose subtree is counted (as the tree stands today); default: the token's subtree, or
    /// everything.
    organisation_id: Option<Uuid>,
}

/// The meetings of a year, per cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingReport {
    #[schema(example = 2012, minimum = 1930, maximum = 2999)]
    pub year: i32,
    pub organisation_id: Option<Uuid>,
    /// A page of the cells and base cells of the subtree active during the year, in code order (`limit` of them,
    /// after `cursor`).
    #[schema(max_items = 200)]
    pub organisations: Vec<CellMeetings>,
    /// Pass as `cursor` to get the next page of organisations; `null` on the last page.
    #[schema(max_length = 1024, pattern = r"^[A-Za-z0-9_-]+$")]
    pub next_cursor: Option<String>,
    /// How many organisations the whole report has; present only with `count=exact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 24, minimum = 0, maximum = 2147483647)]
    pub total: Option<i64>,
}

/// One cell's meetings in the year.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellMeetings {
    pub organisation_id: Uuid,
    #[schema(example = "TS-01-C1", max_length = 32)]
    pub code: String,
    #[schema(example = "Chi bộ khu 1", max_length = 200)]
    pub name: String,
    /// Meetings of every kind.
    #[schema(example = 16, minimum = 0, maximum = 2147483647)]
    pub meetings: i64,
    #[schema(example = 12, minimum = 0, maximum = 2147483647)]
    pub regular_meetings: i64,
    /// The months (1-12) that ended by today without a regular meeting.
    #[schema(max_items = 12)]
    pub months_without_regular: Vec<MonthNumber>,
    /// Thematic meetings in each quarter, first to fourth.
    #[schema(min_items = 4, max_items = 4)]
    pub thematic_per_quarter: Vec<MeetingCount>,
    /// Members present / members expected over all meetings x 100, rounded half-up to 2 decimals; 0 without
    /// meetings.
    #[schema(example = 91.5, minimum = 0, maximum = 100)]
    pub attendance_rate: f64,
    /// Meetings where more than 85% were present and nobody was absent without an excuse.
    #[schema(example = 10, minimum = 0, maximum = 2147483647)]
    pub good_quality_meetings: i64,
    /// Members absent without an excuse from meetings in three or more months of the year.
    #[schema(max_items = 2000)]
    pub absent_without_excuse: Vec<AbsentMember>,
}

/// A month of the year, 1 to 12.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(example = 5, minimum = 1, maximum = 12)]
pub struct MonthNumber(i32);

/// A number of meetings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(example = 1, minimum = 0, maximum = 2147483647)]
pub struct MeetingCount(i64);

/// A member absent without an excuse in three or more months.
#[derive(Debug, Serialize, ToSchema, QueryableByName)]
pub struct AbsentMember {
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    #[diesel(sql_type = Text)]
    #[schema(example = "Nguyễn Văn An", max_length = 200)]
    pub full_name: String,
    #[diesel(sql_type = SqlUuid)]
    #[serde(skip)]
    organisation_id: Uuid,
    /// The months with an unexcused absence.
    #[diesel(sql_type = BigInt)]
    #[schema(example = 3, minimum = 3, maximum = 12)]
    pub months: i64,
}

/// A cell's kept figures of the year (`meeting_years`); the monthly counts are NULL for a cell without a meeting.
#[derive(Debug, QueryableByName)]
struct CellRow {
    #[diesel(sql_type = SqlUuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    meetings: i64,
    /// Regular meetings in each month, January first.
    #[diesel(sql_type = Nullable<Array<Integer>>)]
    regular: Option<Vec<i32>>,
    /// Thematic meetings in each month, January first.
    #[diesel(sql_type = Nullable<Array<Integer>>)]
    thematic: Option<Vec<i32>>,
    #[diesel(sql_type = BigInt)]
    expected: i64,
    #[diesel(sql_type = BigInt)]
    present: i64,
    #[diesel(sql_type = BigInt)]
    good_quality: i64,
}

impl CellRow {
    /// The regular meetings in month `m` (1-12).
    fn regular_in(&self, m: i32) -> i64 {
        self.regular
            .as_ref()
            .and_then(|months| months.get(m as usize - 1))
            .map_or(0, |&n| i64::from(n))
    }

    /// The thematic meetings in each quarter, first to fourth.
    fn thematic_per_quarter(&self) -> Vec<MeetingCount> {
        let months = self.thematic.as_deref().unwrap_or_default();
        (0..4)
            .map(|q| MeetingCount(months.iter().skip(3 * q).take(3).map(|&n| i64::from(n)).sum()))
            .collect()
    }

    /// The cell as the report lists it, `ended` months of the year having ended.
    fn into_cell(self, ended: i32, absent_without_excuse: Vec<AbsentMember>) -> CellMeetings {
        let regular_meetings = (1..=12).map(|m| self.regular_in(m)).sum();
        let months_without_regular = (1..=ended)
            .filter(|&m| self.regular_in(m) == 0)
            .map(MonthNumber)
            .collect();
        let thematic_per_quarter = self.thematic_per_quarter();
        CellMeetings {
            organisation_id: self.organisation_id,
            code: self.code,
            name: self.name,
            meetings: self.meetings,
            regular_meetings,
            months_without_regular,
            thematic_per_quarter,
            attendance_rate: percent(self.present, self.expected),
            good_quality_meetings: self.good_quality,
            absent_without_excuse,
        }
    }
}

/// The organisations the report is about: the cells and base cells inside the subtree at path `$2` (NULL:
/// everywhere) that were active during year `$1`.
const REPORTED: &str = "o.kind IN ('base_cell', 'cell') \
     AND ($2::ltree IS NULL OR o.path <@ $2::ltree) \
     AND (o.established_on IS NULL OR o.established_on <= make_date($1, 12, 31)) \
     AND (o.dissolved_on IS NULL OR o.dissolved_on > make_date($1, 1, 1))";

/// The organisations of the report in code order, those after the code `after` and at most `fetch` of them
/// (`None`: all), each with the figures kept for its meetings of the year (`meeting_years`; NULL for a cell without
/// one): the meetings, the regular and thematic meetings of each month, the members expected and present over all
/// meetings, and the meetings of good quality (more than 85% present, nobody absent without an excuse). The page is
/// cut before the figures are joined, so that a page costs the same whatever the subtree.
async fn cells(
    conn: &mut AsyncPgConnection,
    year: i32,
    root: Option<&TreePath>,
    after: Option<&str>,
    fetch: Option<i64>,
) -> diesel::QueryResult<Vec<CellRow>> {
    // A small subtree's cells are sorted by an expression equal to the code, which no index holds.
    let order = match root {
        Some(root) if crate::store::is_sorted_subtree(conn, root).await? => "o.code || ''",
        _ => "o.code",
    };
    diesel::sql_query(format!(
        "SELECT o.id AS organisation_id, o.code, o.name, \
                coalesce(k.meetings, 0)::bigint AS meetings, k.regular, k.thematic, \
                coalesce(k.expected, 0)::bigint AS expected, coalesce(k.present, 0)::bigint AS present, \
                coalesce(k.good_quality, 0)::bigint AS good_quality \
         FROM (SELECT o.id, o.code, o.name FROM organisations o \
               WHERE {REPORTED} AND ($3::text IS NULL OR o.code > $3) ORDER BY {order} LIMIT $4) o \
         LEFT JOIN meeting_years k ON k.organisation_id = o.id AND k.year = $1 \
         ORDER BY o.code"
    ))
    .bind::<Integer, _>(year)
    .bind::<Nullable<Ltree>, _>(root)
    .bind::<Nullable<Text>, _>(after)
    .bind::<Nullable<BigInt>, _>(fetch)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many organisations the whole report has.
async fn count_cells(conn: &mut AsyncPgConnection, year: i32, root: Option<&TreePath>) -> diesel::QueryResult<i64> {
    diesel::sql_query(format!("SELECT count(*) AS n FROM organisations o WHERE {REPORTED}"))
        .bind::<Integer, _>(year)
        .bind::<Nullable<Ltree>, _>(root)
        .get_result::<Count>(conn)
        .await
        .map(|count| count.n)
}

/// The members absent without an excuse in three or more months of `year`, at meetings of `organisations`.
async fn absent(
    conn: &mut AsyncPgConnection,
    year: i32,
    organisations: &[Uuid],
) -> diesel::QueryResult<Vec<AbsentMember>> {
    diesel::sql_query(include_str!("queries/meetings_absent.sql"))
        .bind::<Integer, _>(year)
        .bind::<Array<SqlUuid>, _>(organisations)
        .load(conn)
        .await
}

/// The months of `year` that have ended by `today`.
fn ended_months(year: i32, today: chrono::NaiveDate) -> i32 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Less => 12,
        std::cmp::Ordering::Equal => today.month0() as i32,
        std::cmp::Ordering::Greater => 0,
    }
}

/// Report cell meetings
///
/// For each cell and base cell of the subtree active during `year`: the meetings held, the regular meetings and
/// the months (ended by today) without one, thematic meetings per quarter, the attendance rate, the meetings of
/// good quality (more than 85% present and nobody absent without an excuse) and the members absent without an
/// excuse in three or more months of the year. The organisations come in pages, as a list's items do (`limit`,
/// `cursor`, `next_cursor`, the `Link` header, `count=exact`): a country has hundreds of thousands of cells. As CSV
/// (`text/csv`): one row per organisation, every organisation of the report (no page limit; `limit`, `cursor`
/// and `count` do not apply).
#[utoipa::path(
    tag = "reports",
    params(MeetingReportQuery, PageParams),
    responses(
        (status = 200, description = "The meetings", content(
            (MeetingReport = "application/json"),
            (String = "text/csv", example = "organisation_id,code,name,meetings,regular_meetings,months_without_regular,thematic_q1,thematic_q2,thematic_q3,thematic_q4,attendance_rate,good_quality_meetings,absent_without_excuse\r\n")
        ),
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page (JSON)"))),
        ReportErrors,
    )
)]
#[get("/meetings")]
pub async fn report_meetings(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<MeetingReportQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters: query } = query;
    if !(1930..=2999).contains(&query.year) {
        return Err(ApiError::bad_request("year", "must be 1930 to 2999"));
    }
    let after: Option<String> = page.after()?;
    let mut conn = state.read().await?;
    let (root, path) = report_root(&mut conn, &actor, query.organisation_id).await?;
    let (after, fetch) = match format {
        ReportFormat::Json => (after.as_deref(), Some(page.fetch())),
        ReportFormat::Csv => (None, None),
    };
    let mut rows = cells(&mut conn, query.year, path.as_ref(), after, fetch).await?;
    let (next_cursor, next_link) = match format {
        ReportFormat::Json => page.cut(&mut rows, |row| row.code.clone()),
        ReportFormat::Csv => (None, None),
    };
    let total = match format {
        ReportFormat::Json if page.count_exact => Some(count_cells(&mut conn, query.year, path.as_ref()).await?),
        _ => None,
    };
    let listed: Vec<Uuid> = rows.iter().map(|row| row.organisation_id).collect();
    let mut absent_by_organisation: HashMap<Uuid, Vec<AbsentMember>> = HashMap::new();
    for member in absent(&mut conn, query.year, &listed).await? {
        absent_by_organisation
            .entry(member.organisation_id)
            .or_default()
            .push(member);
    }
    let ended = ended_months(query.year, today());
    let organisations = rows
        .into_iter()
        .map(|r| {
            let absent = absent_by_organisation.remove(&r.organisation_id).unwrap_or_default();
            r.into_cell(ended, absent)
        })
        .collect();
    let report = MeetingReport {
        year: query.year,
        organisation_id: root,
        organisations,
        next_cursor,
        total,
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
            let columns = [
                "organisation_id",
                "code",
                "name",
                "meetings",
                "regular_meetings",
                "months_without_regular",
                "thematic_q1",
                "thematic_q2",
                "thematic_q3",
                "thematic_q4",
                "attendance_rate",
                "good_quality_meetings",
                "absent_without_excuse",
            ];
            let rows = report.organisations.iter().map(|o| {
                let mut row = vec![
                    o.organisation_id.to_string(),
                    o.code.clone(),
                    o.name.clone(),
                    o.meetings.to_string(),
                    o.regular_meetings.to_string(),
                    o.months_without_regular.len().to_string(),
                ];
                row.extend(o.thematic_per_quarter.iter().map(|q| q.0.to_string()));
                row.push(format!("{:.2}", o.attendance_rate));
                row.push(o.good_quality_meetings.to_string());
                row.push(o.absent_without_excuse.len().to_string());
                row
            });
            let body = csv::render(&columns, rows);
            Ok(csv::respond(&format!("meetings-{}.csv", report.year), body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ended_months_can_lack_a_meeting() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(ended_months(2025, day), 12);
        assert_eq!(ended_months(2026, day), 11);
        assert_eq!(ended_months(2027, day), 0);
    }
}
