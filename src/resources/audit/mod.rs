//! The audit trail as read over HTTP.

pub mod http;
