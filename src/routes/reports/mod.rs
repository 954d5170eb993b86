//! `/api/v1/reports`: read-only figures, as JSON or, with `Accept: text/csv`, as CSV for spreadsheets.

mod resolutions;

/// Registers the report routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(resolutions::report_resolution);
}
