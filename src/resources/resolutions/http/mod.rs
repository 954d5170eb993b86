//! `/api/v1/resolutions`: thematic resolutions and their implementations by the organisations under the issuer.
//! Handlers parse the request, call one service operation and render its result.

mod implementations;
mod resolutions;

pub use implementations::{
    create_implementation, delete_implementation, find_implementation, list_implementations, update_implementation,
    CreateImplementation, Implementation, UpdateImplementation,
};
pub use resolutions::{
    create_resolution, delete_resolution, find_resolution, list_resolutions, update_resolution, CreateResolution,
    Resolution, ResolutionQuery, UpdateResolution,
};

/// Registers the resolution routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_resolutions)
        .service(create_resolution)
        .service(find_resolution)
        .service(update_resolution)
        .service(delete_resolution)
        .service(list_implementations)
        .service(create_implementation)
        .service(find_implementation)
        .service(update_implementation)
        .service(delete_implementation);
}
