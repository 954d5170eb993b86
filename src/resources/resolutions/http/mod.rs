//! `/api/v1/resolutions`: thematic resolutions and their implementations by the organisations under the issuer.
//! Handlers parse the request, call one service operation and render its result.

mod implementations;
mod resolutions;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::service::{self, Lock};
use super::store::ResolutionRow;
use crate::auth::Actor;
use crate::domain::ids::ResolutionId;
use crate::error::ApiError;
use crate::store::TreePath;
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

/// Reads a resolution the actor may see, with its issuer's path and the actor's scope path.
// Kept for the coverage report until it calls `service::visible`; then this goes.
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<(ResolutionRow, TreePath, Option<TreePath>), ApiError> {
    let lock = if lock { Lock::ForUpdate } else { Lock::Unlocked };
    let found = service::visible(conn, actor, ResolutionId(id), lock).await?;
    Ok((found.row, found.issuer, found.scope))
}
