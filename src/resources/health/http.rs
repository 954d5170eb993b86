//! Liveness and readiness probes, public.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::openapi::responses::Unavailable;
use crate::resources::health::store::{self, Readiness};
use crate::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok", max_length = 16)]
    pub status: String,
}

/// Liveness probe
///
/// The process is alive. It does not touch the database and needs no token.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// Readiness probe
///
/// The service can serve: the database answers and every migration is applied. Needs no token; 503 otherwise.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, response = Unavailable),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    match store::readiness(&mut conn).await {
        Ok(Readiness::Ready) => Ok(HttpResponse::Ok().json(Health { status: "ready".into() })),
        Ok(Readiness::MigrationsPending) => {
            log::warn!("readiness check failed: migrations are pending");
            Err(ApiError::Unavailable)
        }
        Err(e) => {
            log::warn!("readiness check failed: {e}");
            Err(ApiError::Unavailable)
        }
    }
}

/// Registers the probes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(healthz).service(readyz);
}
