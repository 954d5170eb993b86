//! `GET /api/v1/reports/resolutions/{id}`: who has started implementing a resolution, and who has not.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::csv::{self, ReportFormat};
use crate::domain::ids::ResolutionId;
use crate::domain::today;
use crate::error::ApiError;
use crate::openapi::responses::*;
use crate::reports::store as report;
use crate::resources::resolutions::service::{self, Lock};
use crate::state::AppState;

/// Implementation coverage of a resolution over the active base organisations under its issuer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionCoverage {
    pub resolution_id: Uuid,
    #[schema(
        example = "05-NQ/HU",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub number: String,
    /// Base organisations (`base_committee`, `base_cell`) under the issuer on the last day the resolution
    /// applied, inside the token's subtree.
    #[schema(example = 46, minimum = 0, maximum = 2147483647)]
    pub organisations: i64,
    #[schema(example = 10, minimum = 0, maximum = 2147483647)]
    pub planned: i64,
    #[schema(example = 20, minimum = 0, maximum = 2147483647)]
    pub in_progress: i64,
    #[schema(example = 6, minimum = 0, maximum = 2147483647)]
    pub completed: i64,
    /// Organisations with no implementation record.
    #[schema(example = 10, minimum = 0, maximum = 2147483647)]
    pub not_started: i64,
}

/// Report a resolution's implementation coverage
///
/// Implementation coverage of a resolution over the base organisations under its issuer, counted on the last day
/// the resolution applied: today, or its `valid_until` when earlier, or the day before its issuer ended; each
/// organisation as it stood that day (so a district's resolution still counts its base organisations after a
/// reorganisation ended the district). As CSV (`text/csv`): one row per organisation with its status
/// (`not_started` when it has no implementation record), in code order.
#[utoipa::path(
    tag = "reports",
    params(("id" = Uuid, Path, description = "Resolution id")),
    responses(
        (status = 200, description = "The coverage", content(
            (ResolutionCoverage = "application/json"),
            (String = "text/csv", example = "organisation_id,code,name,kind,status,plan_adopted_on,reported_on\r\n")
        )),
        ReportErrors,
    )
)]
#[get("/resolutions/{id}")]
pub async fn report_resolution(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    format: ReportFormat,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let found = service::visible(&mut conn, &actor, ResolutionId(*id), Lock::Unlocked).await?;
    let (resolution, scope) = (found.row, found.scope);
    let today = today();
    match format {
        ReportFormat::Json => {
            let totals = report::coverage_totals(&mut conn, resolution.id, scope.as_ref(), today).await?;
            Ok(HttpResponse::Ok().json(ResolutionCoverage {
                resolution_id: resolution.id.0,
                number: resolution.fields.number,
                organisations: totals.organisations,
                planned: totals.planned,
                in_progress: totals.in_progress,
                completed: totals.completed,
                not_started: totals.not_started,
            }))
        }
        ReportFormat::Csv => {
            let rows = report::coverage_rows(&mut conn, resolution.id, scope.as_ref(), today).await?;
            let body = csv::render(
                &[
                    "organisation_id",
                    "code",
                    "name",
                    "kind",
                    "status",
                    "plan_adopted_on",
                    "reported_on",
                ],
                rows.into_iter().map(|r| {
                    vec![
                        r.organisation_id.to_string(),
                        r.code,
                        r.name,
                        r.kind.to_string(),
                        r.status.map_or_else(|| "not_started".to_owned(), |s| s.to_string()),
                        r.plan_adopted_on.map(|d| d.to_string()).unwrap_or_default(),
                        r.reported_on.map(|d| d.to_string()).unwrap_or_default(),
                    ]
                }),
            );
            Ok(csv::respond(&format!("resolution-{}.csv", resolution.id), body))
        }
    }
}
