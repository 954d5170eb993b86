//! partybase: a registry of grassroots party organisations, their members, the thematic resolutions they carry
//! out and their yearly evaluations, served as a JSON API.

pub mod app;
pub mod audit;
pub mod auth;
pub mod background;
pub mod caching;
pub mod cli;
pub mod config;
pub mod csv;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod gate;
pub mod head;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod number;
pub mod observe;
pub mod openapi;
pub mod pagination;
pub mod reports;
pub mod request_id;
pub mod resources;
pub mod schema;
pub mod screen;
pub mod seed;
pub mod server;
pub mod state;
pub mod store;
pub mod write;

pub use app::{app, openapi};
