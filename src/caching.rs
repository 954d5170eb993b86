//! `Cache-Control` on every response: the API documentation may be kept by any cache for a few minutes; API
//! answers, probes, metrics and every error must not be stored anywhere, since they hold personal data or change
//! from one request to the next.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// What the documentation's answers carry.
pub const PUBLIC: &str = "public, max-age=300";
/// What every other answer carries.
pub const NO_STORE: &str = "no-store";

/// Paths of the documentation: the OpenAPI document and Swagger UI.
fn is_documentation(path: &str) -> bool {
    path == "/openapi.json" || path == "/docs" || path.starts_with("/swagger-ui/")
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let documentation = is_documentation(req.path());
    let mut response = next.call(req).await?;
    let status = response.status();
    let policy = if documentation && (status.is_success() || status.is_redirection()) {
        PUBLIC
    } else {
        NO_STORE
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    Ok(response)
}
