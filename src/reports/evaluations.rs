//! The evaluation reports: grade counts of a year over base organisations, and over members with the quota.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{csv_row, report_root_during, CSV_COLUMNS};
use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::rating::{scheme_for, Grade, Subject};
use crate::domain::report::percent;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::responses::*;
use crate::reports::store as report;
use crate::state::AppState;

/// The parameters of both evaluation reports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvaluationReportQuery {
    /// The year evaluated.
    #[param(example = 2012, minimum = 1930, maximum = 2200)]
    year: i32,
    /// The organisation whose subtree is counted, as the tree stood at the end of the year; default: the token's
    /// subtree, or everything.
    organisation_id: Option<Uuid>,
}

/// A grade with its count and share.
#[derive(Debug, Serialize, ToSchema)]
pub struct GradeShare {
    pub grade: Grade,
    #[schema(example = 32, minimum = 0, maximum = 2147483647)]
    pub count: i64,
    /// `count / evaluated x 100`, rounded half-up to 2 decimals.
    #[schema(example = 69.57)]
    pub percent: f64,
}

/// The evaluation of the base organisations of a subtree in a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationReport {
    #[schema(example = 2012, minimum = 1930, maximum = 2200)]
    pub year: i32,
    /// The rating scheme of the year.
    #[schema(example = "hd20_2008", max_length = 32)]
    pub scheme: String,
    /// The subtree counted; `null` for the whole registry.
    pub organisation_id: Option<Uuid>,
    /// Base organisations (`base_committee`, `base_cell`) of the subtree that existed in the year, by their kind
    /// and place at its end.
    #[schema(example = 46, minimum = 0, maximum = 2147483647)]
    pub base_organisations: i64,
    /// How many of them were evaluated.
    #[schema(example = 46, minimum = 0, maximum = 2147483647)]
    pub evaluated: i64,
    /// Every grade of the scheme, best first, with 0 where none.
    #[schema(max_items = 20)]
    pub grades: Vec<GradeShare>,
    /// Clean and strong organisations marked exemplary.
    #[schema(example = 6, minimum = 0, maximum = 2147483647)]
    pub exemplary: i64,
}

fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), ApiError> {
    match (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) {
        (Some(first), Some(last)) if (1930..=2200).contains(&year) => Ok((first, last)),
        _ => Err(ApiError::bad_request("year", "must be 1930 to 2200")),
    }
}

fn shares(grades: &[Grade], counts: &[(String, i64)], evaluated: i64) -> Vec<GradeShare> {
    grades
        .iter()
        .map(|g| {
            let count = counts.iter().find(|(k, _)| k == g.as_str()).map_or(0, |(_, n)| *n);
            GradeShare {
                grade: *g,
                count,
                percent: percent(count, evaluated),
            }
        })
        .collect()
}

/// Report organisation evaluations for a year
///
/// How the base organisations of a subtree were graded in a year, with the tree as it stood at the end of that
/// year: each organisation counts with the kind and the place it had on 31 December, so a district ended since
/// still answers for its past, and a cell made a base cell later is not a base organisation of an earlier year.
/// An organisation that did not exist at the end of the year counts nothing (all counts 0). As CSV (`text/csv`):
/// `measure,key,count,percent` rows for `base_organisations`, `evaluated`, each `grade` and `exemplary`.
#[utoipa::path(
    tag = "reports",
    params(EvaluationReportQuery),
    responses(
        (status = 200, description = "The report", content(
            (EvaluationReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\nbase_organisations,,46,\r\n")
        )),
        ReportErrors,
    )
)]
#[get("/evaluations")]
pub async fn report_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<EvaluationReportQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (first, last) = year_bounds(q.year)?;
    let scheme = scheme_for(q.year);
    let mut conn = state.read().await?;
    let (organisation_id, root) = report_root_during(&mut conn, &actor, q.organisation_id, last, last).await?;
    let base_organisations = report::base_organisations(&mut conn, root.as_deref(), first, last).await?;
    let rows = report::organisation_grades(&mut conn, root.as_deref(), q.year, first, last).await?;
    let evaluated: i64 = rows.iter().map(|r| r.count).sum();
    let exemplary: i64 = rows.iter().map(|r| r.exemplary).sum();
    let counts: Vec<(String, i64)> = rows.into_iter().map(|r| (r.grade, r.count)).collect();
    let report = EvaluationReport {
        year: q.year,
        scheme: scheme.id.to_owned(),
        organisation_id,
        base_organisations,
        evaluated,
        grades: shares(scheme.grades(Subject::Organisation), &counts, evaluated),
        exemplary,
    };
    match format {
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
        ReportFormat::Csv => {
            let mut rows = vec![
                csv_row("base_organisations", "", report.base_organisations, None),
                csv_row(
                    "evaluated",
                    "",
                    report.evaluated,
                    Some(percent(report.evaluated, report.base_organisations)),
                ),
            ];
            rows.extend(
                report
                    .grades
                    .iter()
                    .map(|g| csv_row("grade", g.grade.as_str(), g.count, Some(g.percent))),
            );
            rows.push(csv_row(
                "exemplary",
                "",
                report.exemplary,
                Some(percent(report.exemplary, report.evaluated)),
            ));
            Ok(csv::respond(
                &format!("evaluations-{}.csv", report.year),
                csv::render(&CSV_COLUMNS, rows),
            ))
        }
    }
}

/// A base organisation whose members graded excellent exceed 20% of those graded good.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaBreach {
    pub organisation_id: Uuid,
    #[schema(min_length = 1, max_length = 32, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub name: String,
    #[schema(example = 5, minimum = 0, maximum = 2147483647)]
    pub excellent: i64,
    #[schema(example = 20, minimum = 0, maximum = 2147483647)]
    pub good: i64,
}

/// The evaluation of the members of a subtree in a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberEvaluationReport {
    #[schema(example = 2019, minimum = 1930, maximum = 2200)]
    pub year: i32,
    #[schema(example = "qd132_2018", max_length = 32)]
    pub scheme: String,
    pub organisation_id: Option<Uuid>,
    /// Members evaluated in the year (in organisations of the subtree).
    #[schema(example = 2930, minimum = 0, maximum = 2147483647)]
    pub evaluated: i64,
    /// Every member grade of the scheme, best first, with 0 where none.
    #[schema(max_items = 20)]
    pub grades: Vec<GradeShare>,
    /// Base organisations over the excellent quota; always empty before 2018, when there was no quota.
    pub quota_breaches: Vec<QuotaBreach>,
}

/// Report member evaluations for a year
///
/// How the members of a subtree were graded in a year, with the base organisations that exceed the quota of
/// excellent members (at most 20% of those graded good, from 2018). Each evaluation counts in the organisation it
/// was recorded for, placed as the tree stood at the end of the year; the base organisations are those of that day,
/// with their names then. An organisation that did not exist at the end of the year counts nothing. As CSV
/// (`text/csv`): `measure,key,count,percent` rows for `evaluated`, each `grade`, and each `quota_breach` (key: the
/// organisation's code; count: its excellent members; percent: excellent over good).
#[utoipa::path(
    tag = "reports",
    params(EvaluationReportQuery),
    responses(
        (status = 200, description = "The report", content(
            (MemberEvaluationReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\nevaluated,,2930,\r\n")
        )),
        ReportErrors,
    )
)]
#[get("/member-evaluations")]
pub async fn report_member_evaluations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<EvaluationReportQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (_, last) = year_bounds(q.year)?;
    let scheme = scheme_for(q.year);
    let mut conn = state.read().await?;
    let (organisation_id, root) = report_root_during(&mut conn, &actor, q.organisation_id, last, last).await?;
    if scheme.member_quota {
        // On a connection of its own, with the reading one given back: a request never waits for a second
        // connection while it holds one.
        drop(conn);
        report::recount_quota_figures(&mut *state.pooled_write().await?, q.year).await?;
        conn = state.read().await?;
    }
    let counts: Vec<(String, i64)> = report::member_grades(&mut conn, root.as_deref(), q.year, last)
        .await?
        .into_iter()
        .map(|r| (r.key, r.count))
        .collect();
    let evaluated = counts.iter().map(|(_, n)| n).sum();
    let quota_breaches = if scheme.member_quota {
        report::quota_breaches(&mut conn, root.as_deref(), q.year, last)
            .await?
            .into_iter()
            .map(|b| QuotaBreach {
                organisation_id: b.organisation_id,
                code: b.code,
                name: b.name,
                excellent: b.excellent,
                good: b.good,
            })
            .collect()
    } else {
        Vec::new()
    };
    let report = MemberEvaluationReport {
        year: q.year,
        scheme: scheme.id.to_owned(),
        organisation_id,
        evaluated,
        grades: shares(scheme.grades(Subject::Member), &counts, evaluated),
        quota_breaches,
    };
    match format {
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
        ReportFormat::Csv => {
            let mut rows = vec![csv_row("evaluated", "", report.evaluated, None)];
            rows.extend(
                report
                    .grades
                    .iter()
                    .map(|g| csv_row("grade", g.grade.as_str(), g.count, Some(g.percent))),
            );
            rows.extend(
                report
                    .quota_breaches
                    .iter()
                    .map(|b| csv_row("quota_breach", &b.code, b.excellent, Some(percent(b.excellent, b.good)))),
            );
            Ok(csv::respond(
                &format!("member-evaluations-{}.csv", report.year),
                csv::render(&CSV_COLUMNS, rows),
            ))
        }
    }
}
