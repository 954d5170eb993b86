//! Webhooks: subscriptions to the change feed, delivered by the service's background work.

pub mod deliver;
pub mod http;
pub mod service;
pub mod store;
pub mod target;
