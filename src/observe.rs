//! The outermost middleware: times every request, counts it in the metrics, writes its access log record, and
//! wakes the change feed after a write.
//!
//! The record names the route template, never the path or the query (a search text or an id in a URL stays out
//! of the log), with the request id, the method, the status, the time taken and the token's name as key-values.
//! Health probes and metric scrapes, which arrive every few seconds, are logged at `debug`; the rest at `info`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::gate::Authentication;
use crate::metrics::UNMATCHED_ROUTE;
use crate::request_id::RequestId;
use crate::state::AppState;

/// The log target of the access records.
pub const ACCESS_TARGET: &str = "partybase::access";

/// Routes polled by machines, logged at `debug`.
const POLLED: &[&str] = &["/healthz", "/readyz", "/metrics"];

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    // Errors reach here as responses: the handlers' and extractors' through actix, the rest through the error
    // handlers inside. The request cannot be kept aside to answer one that does not: routing needs it alone.
    let response = next.call(req).await?.map_into_boxed_body();
    let elapsed = started.elapsed();
    let request = response.request();
    let route = request.match_pattern().unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let status = response.status().as_u16();
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        state.metrics.request(&method, &route, status, elapsed.as_secs_f64());
        // A write that succeeded has committed by now: wake the feed's numbering and its long polls.
        if !request.method().is_safe() && response.status().is_success() {
            state.changes.send_modify(|n| *n += 1);
        }
    }
    let extensions = request.extensions();
    let request_id = extensions.get::<RequestId>().map(|id| id.0.as_str());
    let actor = match extensions.get::<Authentication>() {
        Some(Authentication::Valid(identity)) => Some(identity.name.as_str()),
        _ => None,
    };
    let level = if POLLED.contains(&route.as_str()) {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    let duration_ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    log::log!(
        target: ACCESS_TARGET,
        level,
        request_id,
        method = method.as_str(),
        route = route.as_str(),
        status,
        duration_ms,
        actor;
        "{method} {route} {status}"
    );
    drop(extensions);
    Ok(response)
}
