//! The membership reports: admissions over a period, and political theory levels of current members.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{csv_row, report_root, report_root_during, CSV_COLUMNS};
use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::member::PoliticalTheory;
use crate::domain::report::percent;
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::responses::*;
use crate::reports::store::{self as report, AdmissionGrouping};
use crate::state::AppState;

/// How to group admissions.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Keys `YYYY-MM`.
    Month,
    /// Keys `YYYY-Q1` .. `YYYY-Q4`.
    Quarter,
    /// Keys `YYYY`.
    Year,
    /// Keys: the id of the base organisation the member was admitted into, as the tree stood on the admission day
    /// (with its `name` on the latest admission day counted for it).
    Organisation,
}

/// The parameters of the admissions report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdmissionQuery {
    /// First day counted.
    #[param(example = "2012-01-01")]
    from: NaiveDate,
    /// Last day counted.
    #[param(example = "2012-12-31")]
    to: NaiveDate,
    /// The organisation whose subtree is counted, as the tree stood on each admission day; default: the token's
    /// subtree, or everything.
    organisation_id: Option<Uuid>,
    /// Without it, only the total.
    group_by: Option<GroupBy>,
}

/// A group of admissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionCount {
    #[schema(example = "2012-Q1", max_length = 36)]
    pub key: String,
    /// The base organisation's name, when grouped by organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\x00]*$")]
    pub name: Option<String>,
    #[schema(example = 42, minimum = 0, maximum = 2147483647)]
    pub count: i64,
}

/// Admissions in a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionReport {
    #[schema(example = "2012-01-01")]
    pub from: NaiveDate,
    #[schema(example = "2012-12-31")]
    pub to: NaiveDate,
    pub organisation_id: Option<Uuid>,
    /// Members admitted with `admitted_on` in `[from, to]`.
    #[schema(example = 306, minimum = 0, maximum = 2147483647)]
    pub total: i64,
    /// Groups in key order; empty without `group_by`.
    pub groups: Vec<AdmissionCount>,
}

/// Report admissions between two dates
///
/// Members admitted between two dates (`to` not before `from`, 422), counted where they were admitted, as the tree
/// stood on the admission day: an admission counts under the organisations above the one admitted into on that
/// day (a district ended since still answers for its past), and `group_by=organisation` names the base
/// organisation of that day. An organisation that did not exist at any time of the period counts none. As CSV
/// (`text/csv`): `measure,key,count,percent` rows for the `total` and each `group`.
#[utoipa::path(
    tag = "reports",
    params(AdmissionQuery),
    responses(
        (status = 200, description = "The report", content(
            (AdmissionReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\ntotal,,306,\r\n")
        )),
        ReportErrors,
        (status = 422, response = Unprocessable),
    )
)]
#[get("/admissions")]
pub async fn report_admissions(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<AdmissionQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    if q.to < q.from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    let grouping = q.group_by.map(|g| match g {
        GroupBy::Month => AdmissionGrouping::Month,
        GroupBy::Quarter => AdmissionGrouping::Quarter,
        GroupBy::Year => AdmissionGrouping::Year,
        GroupBy::Organisation => AdmissionGrouping::Organisation,
    });
    let mut conn = state.read().await?;
    let (organisation_id, root) = report_root_during(&mut conn, &actor, q.organisation_id, q.from, q.to).await?;
    let mut kept = false;
    if root.is_none() && grouping == Some(AdmissionGrouping::Organisation) {
        // On a connection of its own, with the reading one given back: a request never waits for a second
        // connection while it holds one.
        drop(conn);
        kept = report::catch_up_admission_bases(&mut *state.pooled_write().await?, q.to, report::ADMISSION_PATIENCE_MS)
            .await?;
        conn = state.read().await?;
    }
    let groups = report::admissions(&mut conn, root.as_deref(), q.from, q.to, grouping, kept).await?;
    let total = groups.iter().map(|g| g.count).sum();
    let groups = if grouping.is_some() {
        groups
            .into_iter()
            .map(|g| AdmissionCount {
                key: g.key,
                name: g.name,
                count: g.count,
            })
            .collect()
    } else {
        Vec::new()
    };
    let report = AdmissionReport {
        from: q.from,
        to: q.to,
        organisation_id,
        total,
        groups,
    };
    match format {
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
        ReportFormat::Csv => {
            let mut rows = vec![csv_row("total", "", report.total, None)];
            rows.extend(
                report
                    .groups
                    .iter()
                    .map(|g| csv_row("group", &g.key, g.count, Some(percent(g.count, total)))),
            );
            Ok(csv::respond(
                &format!("admissions-{}-{}.csv", report.from, report.to),
                csv::render(&CSV_COLUMNS, rows),
            ))
        }
    }
}

/// The parameters of the political theory report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TheoryQuery {
    /// The organisation whose subtree is counted; default: the token's subtree, or everything.
    organisation_id: Option<Uuid>,
    /// Count the members current at the end of this day, from their histories (their status after the last
    /// entry by then, in the organisation it puts them in), under the organisation's subtree as the tree stood
    /// that day; nothing when the organisation did not exist then. Default: today, from the members as they are.
    #[param(example = "2012-12-31")]
    as_of: Option<NaiveDate>,
}

/// A level with its count and share.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelShare {
    pub level: PoliticalTheory,
    #[schema(example = 1200, minimum = 0, maximum = 2147483647)]
    pub count: i64,
    #[schema(example = 41.2)]
    pub percent: f64,
}

/// A count with its share.
#[derive(Debug, Serialize, ToSchema)]
pub struct Share {
    #[schema(example = 640, minimum = 0, maximum = 2147483647)]
    pub count: i64,
    #[schema(example = 21.98)]
    pub percent: f64,
}

/// Political theory levels of current members.
#[derive(Debug, Serialize, ToSchema)]
pub struct TheoryReport {
    pub organisation_id: Option<Uuid>,
    /// The day counted: `as_of`, or today.
    #[schema(example = "2012-12-31")]
    pub as_of: NaiveDate,
    /// Members current on that day: probationary, official, exempt.
    #[schema(example = 2912, minimum = 0, maximum = 2147483647)]
    pub members: i64,
    /// Every level, with 0 where none; percent of `members`, rounded half-up to 2 decimals.
    #[schema(max_items = 20)]
    pub levels: Vec<LevelShare>,
    /// Intermediate and advanced together.
    pub intermediate_or_higher: Share,
}

/// Report political theory training
///
/// Political theory training of the current members of a subtree. With `as_of`, the members current at the end of
/// that day, each counted in the organisation their history puts them in then, under the subtree as the tree stood
/// that day: a district ended since still answers for its past, and a root that did not exist then counts no one.
/// Levels are the members' recorded levels (they have no history). As CSV (`text/csv`): `measure,key,count,percent`
/// rows for `members`, each `level` and `intermediate_or_higher`.
#[utoipa::path(
    tag = "reports",
    params(TheoryQuery),
    responses(
        (status = 200, description = "The report", content(
            (TheoryReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\nmembers,,2912,\r\n")
        )),
        ReportErrors,
    )
)]
#[get("/political-theory")]
pub async fn report_political_theory(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<TheoryQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut conn = state.read().await?;
    let (organisation_id, counts) = match q.as_of {
        None => {
            let (organisation_id, root) = report_root(&mut conn, &actor, q.organisation_id).await?;
            (
                organisation_id,
                report::political_theory(&mut conn, root.as_ref()).await?,
            )
        }
        Some(day) => {
            let (organisation_id, root) = report_root_during(&mut conn, &actor, q.organisation_id, day, day).await?;
            (
                organisation_id,
                report::political_theory_on(&mut conn, root.as_deref(), day).await?,
            )
        }
    };
    let members: i64 = counts.iter().map(|c| c.count).sum();
    let count_of = |level: PoliticalTheory| counts.iter().find(|c| c.key == level.as_str()).map_or(0, |c| c.count);
    let levels: Vec<LevelShare> = PoliticalTheory::ALL
        .iter()
        .map(|l| LevelShare {
            level: *l,
            count: count_of(*l),
            percent: percent(count_of(*l), members),
        })
        .collect();
    let higher = count_of(PoliticalTheory::Intermediate) + count_of(PoliticalTheory::Advanced);
    let report = TheoryReport {
        organisation_id,
        as_of: q.as_of.unwrap_or_else(today),
        members,
        levels,
        intermediate_or_higher: Share {
            count: higher,
            percent: percent(higher, members),
        },
    };
    match format {
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
        ReportFormat::Csv => {
            let mut rows = vec![csv_row("members", "", report.members, None)];
            rows.extend(
                report
                    .levels
                    .iter()
                    .map(|l| csv_row("level", l.level.as_str(), l.count, Some(l.percent))),
            );
            rows.push(csv_row(
                "intermediate_or_higher",
                "",
                report.intermediate_or_higher.count,
                Some(report.intermediate_or_higher.percent),
            ));
            Ok(csv::respond(
                &format!("political-theory-{}.csv", report.as_of),
                csv::render(&CSV_COLUMNS, rows),
            ))
        }
    }
}
