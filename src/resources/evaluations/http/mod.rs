//! `/api/v1/evaluations`, `/api/v1/member-evaluations` and `/api/v1/rating-schemes`: the yearly quality
//! evaluations of base organisations and members, under the rating scheme of each year. The handlers of the two
//! kinds of evaluation share the helpers below, generic over [`Evaluations`].

use actix_web::http::header;
use actix_web::{get, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::rating::{Grade, RatingScheme, Year, SCHEMES};
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::{with_etag, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::PageRequest;
use crate::resources::evaluations::service::{self, Evaluations, Regrading};
use crate::resources::evaluations::store::EvaluationFilter;
use crate::state::AppState;

mod members;
mod organisations;

/// The rating schemes, oldest first, so that clients can build their forms.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingSchemes {
    #[schema(max_items = 20)]
    pub items: Vec<RatingScheme>,
}

/// List rating schemes
///
/// Lists the rating schemes: the years each applies to, its organisation and member grades, and whether `exemplary`
/// and `score` apply.
#[utoipa::path(
    tag = "evaluations",
    responses(
        (status = 200, description = "The schemes, oldest first", body = RatingSchemes),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
    )
)]
#[get("/rating-schemes")]
pub async fn list_rating_schemes(_actor: Actor) -> HttpResponse {
    HttpResponse::Ok().json(RatingSchemes {
        items: SCHEMES.to_vec(),
    })
}

/// Filters of both evaluation lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    #[param(example = 2012, minimum = 1930, maximum = 2200)]
    year: Option<i32>,
    /// The evaluated organisation (for members: their organisation when evaluated).
    organisation_id: Option<Uuid>,
    /// Member evaluations only: this member's.
    member_id: Option<Uuid>,
    /// Evaluations of this organisation and everything below it.
    under: Option<Uuid>,
    grade: Option<Grade>,
}

impl EvaluationQuery {
    /// The filters, and the organisation whose subtree the list is confined to; 400 for a year out of bounds.
    fn parse(self) -> Result<(EvaluationFilter, Option<OrganisationId>), ApiError> {
        let year = self
            .year
            .map(|y| Year::new(y).ok_or_else(|| ApiError::bad_request("year", "must be 1930 to 2200")))
            .transpose()?;
        let filter = EvaluationFilter {
            year,
            organisation_id: self.organisation_id.map(OrganisationId::from),
            member_id: self.member_id.map(MemberId::from),
            grade: self.grade,
        };
        Ok((filter, self.under.map(OrganisationId::from)))
    }
}

/// The year of a new evaluation: 422 unless it is 1930 to the current year.
fn evaluated_year(year: i32) -> Result<Year, ApiError> {
    Year::evaluated(year, today()).map_err(|e| ApiError::Validation(vec![e]))
}

/// A page of the evaluations of one kind that the actor sees, shown as `T`.
async fn list<E: Evaluations, T: From<E::Row> + Serialize>(
    state: &AppState,
    actor: &Actor,
    page: PageRequest,
    selection: (EvaluationFilter, Option<OrganisationId>),
) -> Result<HttpResponse, ApiError> {
    let after = page.after::<E::Id>()?;
    let (filter, under) = selection;
    let mut conn = state.read().await?;
    let listed = service::list::<E>(
        &mut conn,
        actor,
        (&filter, under),
        after,
        page.fetch(),
        page.count_exact,
    )
    .await?;
    Ok(match listed {
        Some((rows, total)) => page.finish(rows, E::id, T::from, total).respond(),
        None => page.empty::<T>().respond(),
    })
}

/// One evaluation, shown as `T` with its ETag; 304 when `If-None-Match` names it.
async fn find<E: Evaluations, T: From<E::Row> + Serialize>(
    state: &AppState,
    actor: &Actor,
    id: E::Id,
    preconditions: &Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::find::<E>(&mut conn, actor, id).await?;
    let version = E::version(&row);
    if let Some(not_modified) = preconditions.not_modified_response(version) {
        return Ok(not_modified);
    }
    Ok(with_etag(HttpResponse::Ok(), version, T::from(row)))
}

/// The answer to a recorded evaluation: 201 with its URL and ETag.
fn created<T: Serialize>(location: String, version: i32, body: T) -> HttpResponse {
    with_etag(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .take(),
        version,
        body,
    )
}

/// Changes an evaluation by a merge patch; the changed evaluation, shown as `T`.
async fn update<E: Evaluations, T: From<E::Row> + Serialize>(
    state: &AppState,
    actor: Actor,
    id: E::Id,
    preconditions: Preconditions,
    patch: Regrading,
) -> Result<HttpResponse, ApiError> {
    let if_match = preconditions.if_match();
    let mut conn = state.write().await?;
    let row = conn
        .transaction(async move |conn| service::update::<E>(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(with_etag(HttpResponse::Ok(), E::version(&row), T::from(row)))
}

/// Deletes an evaluation: 204.
async fn delete<E: Evaluations>(
    state: &AppState,
    actor: Actor,
    id: E::Id,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let if_match = preconditions.if_match();
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| service::delete::<E>(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the evaluation routes and the rating schemes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_rating_schemes)
        .service(organisations::list_evaluations)
        .service(organisations::create_evaluation)
        .service(organisations::find_evaluation)
        .service(organisations::update_evaluation)
        .service(organisations::delete_evaluation)
        .service(members::list_member_evaluations)
        .service(members::create_member_evaluation)
        .service(members::find_member_evaluation)
        .service(members::update_member_evaluation)
        .service(members::delete_member_evaluation);
}
