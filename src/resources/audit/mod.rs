//! The audit trail as read over HTTP (`http`) and the queries behind it (`store`).

pub mod http;
pub mod store;
