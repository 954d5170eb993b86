//! Liveness and readiness probes, public.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::embedded_versions;
use crate::error::ApiError;
use crate::openapi::responses::Unavailable;
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

diesel::table! {
    __diesel_schema_migrations (version) {
        version -> VarChar,
    }
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
    let applied: Vec<String> = __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .load(&mut conn)
        .await
        .map_err(|e| {
            log::warn!("readiness check failed: {e}");
            ApiError::Unavailable
        })?;
    if embedded_versions().iter().any(|v| !applied.contains(v)) {
        log::warn!("readiness check failed: migrations are pending");
        return Err(ApiError::Unavailable);
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready".into() }))
}

/// Registers the probes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(healthz).service(readyz);
}
