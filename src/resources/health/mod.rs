//! Liveness and readiness probes: the HTTP layer (`http`) and what readiness reads (`store`).

pub mod http;
pub mod store;
