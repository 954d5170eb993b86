//! HTTP handlers, one module per resource.

pub mod audit_events;
pub mod evaluations;
pub mod health;
pub mod members;
pub mod organisations;
pub mod reports;
pub mod resolutions;
pub mod tokens;
