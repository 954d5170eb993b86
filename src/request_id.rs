//! The request id: taken from `X-Request-Id` when the caller sends a usable one, made up otherwise, echoed on the
//! response, logged by the access log and recorded with every change.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's id when it is 1 to 64 visible ASCII characters, so that it cannot forge log lines.
fn usable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned())
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ids_are_taken() {
        assert_eq!(usable(&HeaderValue::from_static("abc-123")), Some("abc-123".into()));
        assert_eq!(usable(&HeaderValue::from_static("a b")), None);
        assert_eq!(usable(&HeaderValue::from_str(&"x".repeat(65)).unwrap()), None);
    }
}
