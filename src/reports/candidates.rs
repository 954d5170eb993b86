//! `GET /api/v1/reports/candidates`: where the candidates stand on a day, and who waits past a time limit.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use diesel::sql_types::{Date, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{csv_row, report_root, CSV_COLUMNS};
use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::candidate::Stage;
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::responses::*;
use crate::reports::store::KeyCount;
use crate::schema::sql_types::Ltree;
use crate::state::AppState;
use crate::store::TreePath;

const STANDING: &str = include_str!("queries/candidate_standing.sql");

/// The parameters of the candidates report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateReportQuery {
    /// The organisation whose subtree is counted (as the tree stands today); default: the token's subtree, or
    /// everything.
    organisation_id: Option<Uuid>,
    /// The day the candidates are counted on: each at the stage of its latest step by then; default today.
    #[param(example = "2012-12-31")]
    as_of: Option<NaiveDate>,
}

/// Where the candidates stand on a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateReport {
    pub as_of: NaiveDate,
    pub organisation_id: Option<Uuid>,
    /// Candidates proposed by `as_of`.
    #[schema(example = 42, minimum = 0, maximum = 2147483647)]
    pub candidates: i64,
    /// Every stage, with 0 where none.
    #[schema(max_items = 8)]
    pub stages: Vec<StageCount>,
    /// Candidates waiting past a time limit on `as_of` (the committee's decision 60 working days after the
    /// cell's vote, the ceremony 30 working days after the decision), the longest waiting first.
    #[schema(max_items = 1000000)]
    pub overdue: Vec<OverdueCandidate>,
}

/// The number of candidates at one stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageCount {
    pub stage: Stage,
    #[schema(example = 12, minimum = 0, maximum = 2147483647)]
    pub count: i64,
}

/// A candidate waiting past a time limit.
#[derive(Debug, Serialize, ToSchema, QueryableByName)]
pub struct OverdueCandidate {
    #[diesel(sql_type = SqlUuid)]
    pub candidate_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    #[schema(example = "Hà Văn Dũng", max_length = 200)]
    pub full_name: String,
    /// `cell_approved` (waiting for the decision) or `committee_approved` (waiting for the ceremony).
    #[diesel(sql_type = Text)]
    pub stage: Stage,
    #[diesel(sql_type = Date)]
    pub stage_on: NaiveDate,
    /// The last working day the limit allowed.
    #[diesel(sql_type = Date)]
    pub due_by: NaiveDate,
}

async fn stage_counts(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
    root: Option<&TreePath>,
) -> diesel::QueryResult<Vec<KeyCount>> {
    diesel::sql_query(format!(
        "{STANDING} SELECT stage AS key, count(*) AS count FROM standing GROUP BY stage"
    ))
    .bind::<Date, _>(day)
    .bind::<Nullable<Ltree>, _>(root)
    .load(conn)
    .await
}

async fn overdue(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
    root: Option<&TreePath>,
) -> diesel::QueryResult<Vec<OverdueCandidate>> {
    diesel::sql_query(format!(
        "{STANDING} SELECT id AS candidate_id, organisation_id, full_name, stage, stage_on, due_by FROM standing \
         WHERE due_by < $1 ORDER BY due_by, id"
    ))
    .bind::<Date, _>(day)
    .bind::<Nullable<Ltree>, _>(root)
    .load(conn)
    .await
}

/// Report admission candidates
///
/// Counts the candidates proposed by `as_of` (default today) inside the subtree, by the stage of their latest
/// step by then, and lists those waiting past a time limit that day: the committee's decision is due within 60
/// working days of the cell's vote, the ceremony within 30 working days of the decision. Working days are Monday to
/// Friday; public holidays are not skipped, so a limit never ends later than the rule allows. As CSV
/// (`text/csv`): the rows `candidates,total`, `stage,<stage>` and `overdue,total` of the
/// `measure,key,count,percent` layout.
#[utoipa::path(
    tag = "reports",
    params(CandidateReportQuery),
    responses(
        (status = 200, description = "The candidates", content(
            (CandidateReport = "application/json"),
            (String = "text/csv", example = "measure,key,count,percent\r\ncandidates,total,42,\r\n")
        )),
        ReportErrors,
    )
)]
#[get("/candidates")]
pub async fn report_candidates(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<CandidateReportQuery>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let day = query.as_of.unwrap_or_else(today);
    let mut conn = state.read().await?;
    let (root, path) = report_root(&mut conn, &actor, query.organisation_id).await?;
    let counts = stage_counts(&mut conn, day, path.as_ref()).await?;
    let late = overdue(&mut conn, day, path.as_ref()).await?;
    let stages: Vec<StageCount> = Stage::ALL
        .iter()
        .map(|&stage| StageCount {
            stage,
            count: counts.iter().find(|c| c.key == stage.as_str()).map_or(0, |c| c.count),
        })
        .collect();
    let report = CandidateReport {
        as_of: day,
        organisation_id: root,
        candidates: stages.iter().map(|s| s.count).sum(),
        stages,
        overdue: late,
    };
    match format {
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
        ReportFormat::Csv => {
            let mut rows = vec![csv_row("candidates", "total", report.candidates, None)];
            rows.extend(
                report
                    .stages
                    .iter()
                    .map(|s| csv_row("stage", s.stage.as_str(), s.count, None)),
            );
            rows.push(csv_row("overdue", "total", report.overdue.len() as i64, None));
            Ok(csv::respond(
                &format!("candidates-{day}.csv"),
                csv::render(&CSV_COLUMNS, rows),
            ))
        }
    }
}
